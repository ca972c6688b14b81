"""InMemoryTransport: the test double users build their own tests on."""

from __future__ import annotations

import pytest

from xportcn_async import (
    ConnectionDroppedError,
    InMemoryTransport,
    Request,
    Response,
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
