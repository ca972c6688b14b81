"""Secrets never leak (logs, reprs, errors, hooks), and the observability hooks report what
users need: operation, attempt, status, request id, latency."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import exception_texts
from xportcn_async import (
    AuthenticationError,
    BookingRequest,
    ConnectError,
    ConnectionDroppedError,
    Credentials,
    EnvelopeStyle,
    InMemoryTransport,
    OutcomeUnknownError,
    Request,
    RequestEvent,
    RequestTimeoutError,
    Response,
    ResponseEvent,
    RetryPolicy,
    ServerError,
    Signing,
    XportcnClient,
    XportcnError,
)


def ok_k(data: Any, request_id: str) -> Response:
    return Response.json({"requestId": request_id, "code": 200, "msg": "ok", "data": data})


async def test_secret_and_signatures_never_appear_in_logs_reprs_or_errors(
    caplog: pytest.LogCaptureFixture,
    credentials: Credentials,
    fast_retry: RetryPolicy,
    booking_request: BookingRequest,
    examples_dir: Path,
) -> None:
    booking_ok = Response(
        200,
        {"x-request-id": "rid-book"},
        (examples_dir / "logistics/orderBookingFreight.response.json").read_bytes(),
    )
    transport = InMemoryTransport(
        script=[
            # addresses.list: 503, timeout, then success
            Response(503, {}, b"<html>busy</html>"),
            RequestTimeoutError("slow"),
            ok_k([], "rid-list"),
            # booking: could not connect, then success
            ConnectError("refused"),
            booking_ok,
            # booking: dropped -> outcome unknown
            ConnectionDroppedError("reset"),
            # call: a K error with a request id
            Response.json({"requestId": "rid-err", "code": 401, "msg": "签名错误"}),
            # call: 500 on every attempt -> retries exhausted
            *[Response(500, {}, b"Internal Server Error")] * 4,
        ]
    )
    errors: list[BaseException] = []
    events: list[RequestEvent | ResponseEvent] = []
    caplog.set_level(logging.DEBUG, logger="xportcn_async")
    async with XportcnClient(
        credentials,
        transport=transport,
        retry=fast_retry,
        on_request=events.append,
        on_response=events.append,
    ) as client:
        await client.addresses.list()
        await client.logistics.book(booking_request)
        for attempt in (
            client.logistics.book(booking_request),
            client.call("/alibaba/ka/order/detail", {"orderId": "1"}),
            client.call("/alibaba/ka/order/detail", {"orderId": "2"}, idempotent=True),
        ):
            try:
                await attempt
            except XportcnError as exc:
                errors.append(exc)
        client_repr = repr(client)

    assert [type(e) for e in errors] == [OutcomeUnknownError, AuthenticationError, ServerError]
    assert len(transport.calls) == 11
    signatures = {c.headers["signature"] for c in transport.calls}
    assert len(signatures) == 11

    # Things were logged at DEBUG: the test is not vacuous.
    debug = [r for r in caplog.records if r.name.startswith("xportcn_async")]
    assert len(debug) >= 11
    assert "logistics.book" in caplog.text

    texts = [caplog.text, client_repr, repr(credentials)]
    texts += [repr(c) for c in transport.calls]
    texts += [repr(e) for e in events]
    for err in errors:
        texts += exception_texts(err)
    secret = credentials.access_secret
    for text in texts:
        assert secret not in text
        for sig in signatures:
            assert sig not in text


def test_request_repr_masks_the_signature_header_and_query() -> None:
    req = Request(
        "POST",
        "https://h/api/open/pp/logistics/x?timestamp=1&sign=ABCDEF0123456789ABCDEF0123456789",
        {"signature": "ABCDEF0123456789ABCDEF0123456789", "access-key": "ak", "nonce-str": "n"},
        b"{}",
    )
    text = repr(req)
    assert "ABCDEF0123456789ABCDEF0123456789" not in text
    assert "access-key" in text and "timestamp=1" in text
    assert str(req) == text or "ABCDEF0123456789ABCDEF0123456789" not in str(req)


async def test_hooks_report_each_attempt_without_secrets(
    credentials: Credentials, fast_retry: RetryPolicy
) -> None:
    requests: list[RequestEvent] = []
    responses: list[ResponseEvent] = []
    transport = InMemoryTransport(
        script=[
            Response.json({"requestId": "rid-1", "code": 503, "msg": "busy"}, status=503),
            ConnectionDroppedError("reset"),
            ok_k([{"id": 1}], "rid-3"),
        ]
    )
    async with XportcnClient(
        credentials,
        transport=transport,
        retry=fast_retry,
        on_request=requests.append,
        on_response=responses.append,
    ) as client:
        await client.addresses.list()

    assert [(e.operation, e.path, e.attempt) for e in requests] == [
        ("addresses.list", "/open/address/list", 1),
        ("addresses.list", "/open/address/list", 2),
        ("addresses.list", "/open/address/list", 3),
    ]
    assert [(e.operation, e.attempt, e.status, e.request_id) for e in responses] == [
        ("addresses.list", 1, 503, "rid-1"),
        ("addresses.list", 2, None, None),
        ("addresses.list", 3, 200, "rid-3"),
    ]
    assert isinstance(responses[0].error, ServerError)
    assert isinstance(responses[1].error, ConnectionDroppedError)
    assert responses[2].error is None
    assert all(e.elapsed >= 0.0 for e in responses)
    for event in [*requests, *responses]:
        text = repr(event)
        assert credentials.access_secret not in text
        for call in transport.calls:
            assert call.headers["signature"] not in text
            assert call.headers["nonce-str"] not in text


async def test_hooks_see_the_request_id_of_style_l_responses_from_the_header(
    credentials: Credentials,
) -> None:
    responses: list[ResponseEvent] = []
    ok = Response.json(
        {"errorCode": 200, "errorMsg": None, "success": True, "data": True},
        headers={"x-request-id": "rid-L"},
    )
    async with XportcnClient(
        credentials, transport=InMemoryTransport(script=[ok]), on_response=responses.append
    ) as client:
        assert (
            await client.call(
                "/open/pp/logistics/y",
                {},
                auth=Signing.HEADERS_AND_QUERY,
                envelope=EnvelopeStyle.LOGISTICS,
            )
            is True
        )
    assert responses[0].request_id == "rid-L"
    assert responses[0].status == 200


async def test_a_raising_hook_is_logged_without_secrets_and_the_call_succeeds(
    caplog: pytest.LogCaptureFixture,
    credentials: Credentials,
    booking_request: BookingRequest,
    examples_dir: Path,
) -> None:
    booking_ok = Response(
        200, {}, (examples_dir / "logistics/orderBookingFreight.response.json").read_bytes()
    )

    def broken(event: RequestEvent | ResponseEvent) -> None:
        raise ValueError(f"cannot record {event!r}")

    transport = InMemoryTransport(script=[booking_ok])
    caplog.set_level(logging.DEBUG, logger="xportcn_async")
    async with XportcnClient(
        credentials, transport=transport, on_request=broken, on_response=broken
    ) as client:
        booking = await client.logistics.book(booking_request)
    assert booking.order_id == "21"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert all(r.name == "xportcn_async" for r in warnings)
    assert "logistics.book" in caplog.text and "ValueError" in caplog.text
    (call,) = transport.calls
    assert credentials.access_secret not in caplog.text
    assert call.headers["signature"] not in caplog.text
