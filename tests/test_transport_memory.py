"""InMemoryTransport: the test double users build their own tests on."""

from __future__ import annotations

import pytest

from xportcn_async import (
    DEFAULT_MAX_RESPONSE_SIZE,
    ConnectionDroppedError,
    InMemoryTransport,
    Request,
    Response,
    ResponseTooLargeError,
    Transport,
)


def req(path: str = "/x") -> Request:
    return Request("POST", "https://h/api" + path, {"signature": "S"}, b"{}")


def test_it_satisfies_the_transport_protocol() -> None:
    assert isinstance(InMemoryTransport(), Transport)


async def test_script_is_served_in_order_then_the_handler_takes_over() -> None:
    handled: list[Request] = []

    async def handler(request: Request) -> Response:
        handled.append(request)
        return Response(201)

    first, second = Response(200, {}, b"1"), Response(503)
    dropped = ConnectionDroppedError("reset")
    transport = InMemoryTransport(handler, script=[first, dropped, second])
    assert await transport.send(req("/a")) is first
    with pytest.raises(ConnectionDroppedError) as info:
        await transport.send(req("/b"))
    assert info.value is dropped
    assert await transport.send(req("/c")) is second
    assert (await transport.send(req("/d"))).status == 201
    assert [c.url.rsplit("/", 1)[1] for c in transport.calls] == ["a", "b", "c", "d"]
    assert [h.url for h in handled] == ["https://h/api/d"]


async def test_push_appends_steps() -> None:
    transport = InMemoryTransport(script=[Response(200, {}, b"1")])
    transport.push(Response(200, {}, b"2"), Response(200, {}, b"3"))
    bodies = [(await transport.send(req())).body for _ in range(3)]
    assert bodies == [b"1", b"2", b"3"]


async def test_an_exhausted_script_without_handler_fails_loudly_and_names_no_query() -> None:
    transport = InMemoryTransport()
    with pytest.raises(AssertionError) as info:
        await transport.send(
            Request("POST", "https://h/api/y?timestamp=1&sign=SECRETSIGN", {}, b"")
        )
    assert "/api/y" in str(info.value)
    assert "SECRETSIGN" not in str(info.value)


async def test_recording_can_be_turned_off() -> None:
    transport = InMemoryTransport(script=[Response(200)] * 3, record=False)
    for _ in range(3):
        await transport.send(req())
    assert transport.calls == []


async def test_closed_transport_refuses_requests() -> None:
    transport = InMemoryTransport(script=[Response(200)])
    await transport.aclose()
    assert transport.closed
    with pytest.raises(RuntimeError):
        await transport.send(req())


async def test_responses_over_max_response_size_raise_like_the_real_transport() -> None:
    fits = Response(200, {}, b"x" * 100)
    too_long = Response(200, {}, b"x" * 101)
    announced = Response(200, {"content-length": "5000"}, b"")
    absurd = Response(200, {"content-length": "9" * 5000}, b"")
    transport = InMemoryTransport(script=[fits, too_long, announced, absurd], max_response_size=100)
    assert await transport.send(req()) is fits
    with pytest.raises(ResponseTooLargeError) as info:
        await transport.send(req("/x?sign=SECRETSIGN"))
    assert info.value.content_length is None and "SECRETSIGN" not in str(info.value)
    with pytest.raises(ResponseTooLargeError) as info:
        await transport.send(req())
    assert info.value.content_length == 5000
    with pytest.raises(ResponseTooLargeError):
        await transport.send(req())
    assert InMemoryTransport().max_response_size == DEFAULT_MAX_RESPONSE_SIZE


async def test_a_handler_reply_over_the_limit_is_refused_too() -> None:
    async def handler(request: Request) -> Response:
        return Response(200, {}, b"y" * 11)

    with pytest.raises(ResponseTooLargeError):
        await InMemoryTransport(handler, max_response_size=10).send(req())
