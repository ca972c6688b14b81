"""The real aiohttp transport against real servers on 127.0.0.1 (no mocking, so these also
run against the newest aiohttp, where aioresponses cannot)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.conftest import exception_texts, unclosed_reports
from xportcn_async import (
    AiohttpTransport,
    APIError,
    BookingRequest,
    ConnectionDroppedError,
    Credentials,
    EnvelopeStyle,
    EstimateFreightRequest,
    OutcomeUnknownError,
    RequestTimeoutError,
    RetryPolicy,
    Signing,
    Timeout,
    XportcnClient,
    from_wire,
    signature,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    """Start an aiohttp.web server on 127.0.0.1 answering every path with ``handler``;
    returns its base URL."""
    servers: list[TestServer] = []

    async def start(handler: Handler) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return f"http://127.0.0.1:{server.port}"

    yield start
    for server in servers:
        await server.close()


async def test_what_a_real_server_receives(
    serve: Callable[[Handler], Awaitable[str]],
    credentials: Credentials,
    booking_request: BookingRequest,
    booking_response: bytes,
    examples_dir: Path,
) -> None:
    seen: list[tuple[str, str, dict[str, str], dict[str, str], bytes]] = []

    async def handler(request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        seen.append((request.method, request.path, headers, dict(request.query), body))
        return web.Response(body=booking_response, content_type="application/json")

    base = await serve(handler)
    async with XportcnClient(credentials, base_url=base + "/api") as client:
        booking = await client.logistics.book(booking_request)
    assert booking.order_id == "21"

    ((method, path, headers, query, body),) = seen
    assert method == "POST"
    assert path == "/api/open/pp/logistics/orderBookingFreight"
    assert headers["content-type"].startswith("application/json")
    assert headers["access-key"] == credentials.access_key
    assert headers["user-id"] == credentials.user_id
    assert re.fullmatch(r"\d{13}", headers["timestamp"])
    assert re.fullmatch(r"[A-Za-z0-9]{32}", headers["nonce-str"])
    assert headers["signature"] == signature(
        credentials.access_key,
        headers["timestamp"],
        headers["nonce-str"],
        credentials.access_secret,
    )
    assert query == {"timestamp": headers["timestamp"], "sign": headers["signature"]}
    assert credentials.access_secret.encode() not in body
    text = (examples_dir / "logistics/orderBookingFreight.request.json").read_text("utf-8")
    assert json.loads(body, object_pairs_hook=list) == json.loads(text, object_pairs_hook=list)


async def test_a_real_503_is_retried_and_each_attempt_is_signed_anew(
    serve: Callable[[Handler], Awaitable[str]],
    credentials: Credentials,
    fast_retry: RetryPolicy,
    examples_dir: Path,
) -> None:
    nonces: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        nonces.append(request.headers["nonce-str"])
        if len(nonces) == 1:
            return web.Response(status=503, text="<html>busy</html>", content_type="text/html")
        return web.json_response(
            {"errorCode": 200, "errorMsg": None, "success": True, "data": {"itemId": "1"}}
        )

    base = await serve(handler)
    wire = json.loads((examples_dir / "logistics/itemLogisticsPrice.request.json").read_text())
    async with XportcnClient(credentials, base_url=base, retry=fast_retry) as client:
        estimate = await client.logistics.estimate_freight(from_wire(wire, EstimateFreightRequest))
    assert estimate.item_id == "1"
    assert len(nonces) == 2 and nonces[0] != nonces[1]


async def test_a_server_that_hangs_up_after_reading_a_booking_gives_outcome_unknown(
    credentials: Credentials, fast_retry: RetryPolicy, booking_request: BookingRequest
) -> None:
    received: list[bytes] = []

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        match = re.search(rb"content-length:\s*(\d+)", head, re.IGNORECASE)
        received.append(await reader.readexactly(int(match.group(1)) if match else 0))
        writer.close()  # the booking arrived; the answer never will
        await writer.wait_closed()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with XportcnClient(
            credentials, base_url=f"http://127.0.0.1:{port}", retry=fast_retry
        ) as client:
            with pytest.raises(OutcomeUnknownError) as info:
                await client.logistics.book(booking_request)
    finally:
        server.close()
        await server.wait_closed()
    assert len(received) == 1  # sent once, never repeated
    assert isinstance(info.value.cause, ConnectionDroppedError)


def test_no_unclosed_session_reports_with_a_real_server(
    credentials: Credentials, booking_request: BookingRequest, booking_response: bytes
) -> None:
    async def handler(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=booking_response, content_type="application/json")

    async def book_five() -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        try:
            base = f"http://127.0.0.1:{server.port}"
            async with XportcnClient(credentials, base_url=base) as client:
                await asyncio.gather(*(client.logistics.book(booking_request) for _ in range(5)))
        finally:
            await server.close()

    assert unclosed_reports(book_five) == []


async def test_a_server_that_never_answers_gives_a_timeout_without_the_signature(
    credentials: Credentials, examples_dir: Path
) -> None:
    # Accepts the connection and reads the request, then never answers.
    signs: list[str] = []
    done = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        match = re.search(rb"[?&]sign=([0-9A-F]+)", head)
        if match:
            signs.append(match.group(1).decode())
        await done.wait()
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    wire = json.loads((examples_dir / "logistics/itemLogisticsPrice.request.json").read_text())
    try:
        async with XportcnClient(
            credentials,
            base_url=f"http://127.0.0.1:{port}",
            retry=RetryPolicy(max_retries=0),
            timeout=Timeout(total=0.2),
        ) as client:
            with pytest.raises(RequestTimeoutError) as info:
                await client.logistics.estimate_freight(from_wire(wire, EstimateFreightRequest))
    finally:
        done.set()
        server.close()
        await server.wait_closed()
    (sign,) = signs
    for text in exception_texts(info.value):
        assert sign not in text
        assert credentials.access_secret not in text


async def test_a_redirect_is_not_followed(
    serve: Callable[[Handler], Awaitable[str]], credentials: Credentials
) -> None:
    # Following it would send the signature (header and query) to another URL.
    hits: list[str] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        hits.append(request.path)
        if request.path == "/elsewhere":
            return web.json_response({"requestId": "r", "code": 200, "msg": "ok", "data": 1})
        return web.Response(status=307, headers={"Location": "/elsewhere"})

    base = await serve(handler)
    async with XportcnClient(
        credentials, base_url=base, retry=RetryPolicy(max_retries=0)
    ) as client:
        with pytest.raises(APIError) as info:
            await client.call(
                "/open/pp/logistics/x",
                {},
                auth=Signing.HEADERS_AND_QUERY,
                envelope=EnvelopeStyle.LOGISTICS,
            )
    assert info.value.http_status == 307
    assert hits == ["/open/pp/logistics/x"]


@pytest.mark.parametrize(
    "connector_options",
    [{"limit": 1}, {"limit": 100, "limit_per_host": 1}],
    ids=["limit", "limit_per_host"],
)
async def test_a_user_session_pool_wait_does_not_count_against_the_timeout(
    serve: Callable[[Handler], Awaitable[str]],
    credentials: Credentials,
    connector_options: dict[str, int],
) -> None:
    # One connection, requests that each take a quarter of the timeout, six at once: they
    # queue for the connection, and the queueing must not count against their timeout.
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.25)
        return web.json_response({"requestId": "r", "code": 200, "msg": "ok", "data": 1})

    base = await serve(slow)
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(**connector_options))
    async with (
        session,
        XportcnClient(
            credentials,
            base_url=base,
            transport=AiohttpTransport(session=session),
            timeout=Timeout(total=1.0),
            retry=RetryPolicy(max_retries=0),
        ) as client,
    ):
        results = await asyncio.gather(
            *(client.call("/x", {}, idempotent=True) for _ in range(6)),
            return_exceptions=True,
        )
    assert results == [1] * 6


async def test_a_user_session_without_a_connection_limit_is_not_limited(
    serve: Callable[[Handler], Awaitable[str]], credentials: Credentials
) -> None:
    async def ok(request: web.Request) -> web.Response:
        return web.json_response({"requestId": "r", "code": 200, "msg": "ok", "data": 1})

    base = await serve(ok)
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    async with (
        session,
        XportcnClient(
            credentials, base_url=base, transport=AiohttpTransport(session=session)
        ) as client,
    ):
        results = await asyncio.gather(*(client.call("/x", {}) for _ in range(5)))
    assert results == [1] * 5
