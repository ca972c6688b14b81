"""Every real transport against real servers on 127.0.0.1: each test that takes the
``transport`` fixture (tests/conftest.py) runs once with aiohttp and once with reqwest, so
that the fast transport keeps every rule of the default one: what is sent, "never sent"
against "may have reached the server" in each way a connection can fail, timeouts that do not
count waiting for a slot, connection limits, no redirects, no signature in any error, and the
bounded response size. Tests named ``test_aiohttp_*`` are about aiohttp itself (a session of
yours); ``test_reqwest_*`` about pyreqwest (proxies, fork). No mocking, so these also run
against the newest aiohttp, where aioresponses cannot."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

import xportcn_async
from tests.conftest import exception_texts, unclosed_reports
from xportcn_async import (
    DEFAULT_MAX_RESPONSE_SIZE,
    AiohttpTransport,
    APIError,
    BookingRequest,
    ConnectError,
    ConnectionDroppedError,
    Credentials,
    EnvelopeStyle,
    EstimateFreightRequest,
    OutcomeUnknownError,
    Request,
    RequestTimeoutError,
    ReqwestTransport,
    ResponseTooLargeError,
    RetryPolicy,
    Signing,
    Timeout,
    Transport,
    XportcnClient,
    from_wire,
    signature,
)

MakeTransport = Callable[..., Transport]
SIGN = "".join(("SECRET", "SIGN"))  # so that a traceback quoting the source does not hold it

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
    transport: str,
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
    async with XportcnClient(credentials, base_url=base + "/api", transport=transport) as client:
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
    assert headers["content-length"] == str(len(body))


async def test_a_real_503_is_retried_and_each_attempt_is_signed_anew(
    transport: str,
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
    async with XportcnClient(
        credentials, base_url=base, retry=fast_retry, transport=transport
    ) as client:
        estimate = await client.logistics.estimate_freight(from_wire(wire, EstimateFreightRequest))
    assert estimate.item_id == "1"
    assert len(nonces) == 2 and nonces[0] != nonces[1]


async def test_a_server_that_hangs_up_after_reading_a_booking_gives_outcome_unknown(
    transport: str,
    credentials: Credentials,
    fast_retry: RetryPolicy,
    booking_request: BookingRequest,
) -> None:
    received: list[bytes] = []

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append((await read_request(reader))[1])
        writer.close()  # the booking arrived; the answer never will
        await writer.wait_closed()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with XportcnClient(
            credentials, base_url=f"http://127.0.0.1:{port}", retry=fast_retry, transport=transport
        ) as client:
            with pytest.raises(OutcomeUnknownError) as info:
                await client.logistics.book(booking_request)
    finally:
        server.close()
        await server.wait_closed()
    assert len(received) == 1  # sent once, never repeated
    assert isinstance(info.value.cause, ConnectionDroppedError)
    assert info.value.cause.may_have_reached_server


def test_no_unclosed_session_reports_with_a_real_server(
    transport: str,
    credentials: Credentials,
    booking_request: BookingRequest,
    booking_response: bytes,
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
            async with XportcnClient(credentials, base_url=base, transport=transport) as client:
                await asyncio.gather(*(client.logistics.book(booking_request) for _ in range(5)))
        finally:
            await server.close()

    assert unclosed_reports(book_five) == []


async def test_a_server_that_never_answers_gives_a_timeout_without_the_signature(
    transport: str, credentials: Credentials, examples_dir: Path
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
            transport=transport,
        ) as client:
            with pytest.raises(RequestTimeoutError) as info:
                await client.logistics.estimate_freight(from_wire(wire, EstimateFreightRequest))
    finally:
        done.set()
        server.close()
        await server.wait_closed()
    (sign,) = signs
    assert info.value.may_have_reached_server
    for text in exception_texts(info.value):
        assert sign not in text
        assert credentials.access_secret not in text


async def test_a_redirect_is_not_followed(
    transport: str, serve: Callable[[Handler], Awaitable[str]], credentials: Credentials
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
        credentials, base_url=base, retry=RetryPolicy(max_retries=0), transport=transport
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
async def test_aiohttp_user_session_pool_wait_does_not_count_against_the_timeout(
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


async def test_aiohttp_user_session_without_a_connection_limit_is_not_limited(
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


# -- how a connection can fail: never sent, or may have reached the server ------------------


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@contextlib.contextmanager
def full_backlog() -> Iterator[int]:
    """A 127.0.0.1 port whose accept queue is full: the kernel drops further SYNs, so a new
    connection neither opens nor fails until the connect timeout ends it."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port: int = server.getsockname()[1]
        fillers = [socket.socket() for _ in range(8)]
        try:
            for filler in fillers:
                filler.setblocking(False)
                with contextlib.suppress(BlockingIOError):
                    filler.connect(("127.0.0.1", port))
            yield port
        finally:
            for filler in fillers:
                filler.close()


@contextlib.asynccontextmanager
async def raw_server(
    handle: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> AsyncIterator[str]:
    """A hand-written HTTP server on 127.0.0.1 (to misbehave on purpose); its base URL."""
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """One HTTP/1.1 request with a Content-Length body: (head, body)."""
    head = await reader.readuntil(b"\r\n\r\n")
    match = re.search(rb"content-length:\s*(\d+)", head, re.IGNORECASE)
    return head, await reader.readexactly(int(match.group(1)) if match else 0)


async def test_connection_refused_is_connect_error_after_retries(
    transport: str, credentials: Credentials, booking_request: BookingRequest
) -> None:
    port = closed_port()
    policy = RetryPolicy(max_retries=2, initial_delay=0.001, max_delay=0.002)
    attempts: list[int] = []
    async with XportcnClient(
        credentials,
        base_url=f"http://127.0.0.1:{port}",
        retry=policy,
        on_request=lambda e: attempts.append(e.attempt),
        transport=transport,
    ) as client:
        with pytest.raises(ConnectError) as info:
            await client.logistics.book(booking_request)
    # Never sent, so a booking is safe to retry, and the caller gets a plain ConnectError.
    assert attempts == [1, 2, 3]
    assert info.value.may_have_reached_server is False
    assert f"127.0.0.1:{port}" in str(info.value)
    assert not re.search(r"sign=(?!\*\*\*)", str(info.value))  # masked, if there at all
    assert info.value.__cause__ is None and info.value.__context__ is None


async def test_a_connect_timeout_was_never_sent_so_a_booking_is_retried(
    transport: str, credentials: Credentials, booking_request: BookingRequest
) -> None:
    attempts: list[int] = []
    with full_backlog() as port:
        async with XportcnClient(
            credentials,
            base_url=f"http://127.0.0.1:{port}",
            retry=RetryPolicy(max_retries=1, initial_delay=0.001, max_delay=0.002),
            timeout=Timeout(total=30.0, connect=0.2),
            on_request=lambda e: attempts.append(e.attempt),
            transport=transport,
        ) as client:
            with pytest.raises(RequestTimeoutError) as info:
                await client.logistics.book(booking_request)
    assert attempts == [1, 2]  # retried, and raised as is: never OutcomeUnknownError
    assert info.value.may_have_reached_server is False
    assert not re.search(r"sign=(?!\*\*\*)", str(info.value))  # masked, if there at all


async def test_a_server_that_closes_after_reading_the_request_may_have_it(
    transport: str, make_transport: MakeTransport
) -> None:
    received: list[bytes] = []

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append((await read_request(reader))[1])
        writer.close()

    async with raw_server(hang_up) as base:
        sender = make_transport()
        try:
            with pytest.raises(ConnectionDroppedError) as info:
                await sender.send(Request("POST", f"{base}/x?sign={SIGN}", {}, b"{}"))
        finally:
            await sender.aclose()
    assert received == [b"{}"]
    assert info.value.may_have_reached_server is True
    for text in exception_texts(info.value):
        assert SIGN not in text


@pytest.mark.parametrize(
    "reply",
    [
        b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"requestId"',
        b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"req\r\n',
    ],
    ids=["content-length", "chunked"],
)
async def test_a_truncated_body_on_a_booking_is_outcome_unknown(
    transport: str,
    credentials: Credentials,
    booking_request: BookingRequest,
    reply: bytes,
) -> None:
    received: list[bytes] = []

    async def truncate(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append((await read_request(reader))[1])
        writer.write(reply)
        await writer.drain()
        writer.close()

    async with (
        raw_server(truncate) as base,
        XportcnClient(
            credentials,
            base_url=base,
            retry=RetryPolicy(max_retries=3, initial_delay=0.001),
            transport=transport,
        ) as client,
    ):
        with pytest.raises(OutcomeUnknownError) as info:
            await client.logistics.book(booking_request)
    assert len(received) == 1
    assert isinstance(info.value.cause, ConnectionDroppedError)
    for text in exception_texts(info.value):
        assert credentials.access_secret not in text


async def test_a_stale_idle_connection_is_replaced_and_the_booking_sent_once(
    transport: str,
    credentials: Credentials,
    booking_request: BookingRequest,
    booking_response: bytes,
) -> None:
    # The server answers on a keep-alive connection, then closes it while it is idle in the
    # client's pool. The next booking must go out once, on a new connection.
    bookings: list[int] = []
    connections = 0
    idle_closed = asyncio.Event()

    async def once_per_connection(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        nonlocal connections
        connections += 1
        number = connections
        await read_request(reader)
        bookings.append(number)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + b"Content-Length: %d\r\n\r\n" % len(booking_response)
            + booking_response
        )
        await writer.drain()
        writer.close()  # keep-alive was offered; the connection dies idle in the pool
        await writer.wait_closed()
        idle_closed.set()

    async with (
        raw_server(once_per_connection) as base,
        XportcnClient(
            credentials, base_url=base, retry=RetryPolicy(max_retries=0), transport=transport
        ) as client,
    ):
        await client.logistics.book(booking_request)
        await idle_closed.wait()
        for _ in range(20):  # let the client's side read the FIN that already arrived
            await asyncio.sleep(0)
        booking = await client.logistics.book(booking_request)
    assert booking.order_id == "21"
    assert bookings == [1, 2]  # each booking once, the second on a new connection


# -- timeouts and connection limits ----------------------------------------------------------


async def test_waiting_for_a_connection_slot_does_not_count_against_the_timeout(
    transport: str,
    make_transport: MakeTransport,
    serve: Callable[[Handler], Awaitable[str]],
    credentials: Credentials,
) -> None:
    # One slot, requests that each take a quarter of the timeout, six at once: they queue,
    # and the queueing must not count against their timeout.
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.25)
        return web.json_response({"requestId": "r", "code": 200, "msg": "ok", "data": 1})

    base = await serve(slow)
    sender = make_transport(limit=1)
    try:
        async with XportcnClient(
            credentials,
            base_url=base,
            transport=sender,
            timeout=Timeout(total=1.0),
            retry=RetryPolicy(max_retries=0),
        ) as client:
            results = await asyncio.gather(
                *(client.call("/x", {}, idempotent=True) for _ in range(6)),
                return_exceptions=True,
            )
    finally:
        await sender.aclose()
    assert results == [1] * 6


async def test_the_connection_limit_caps_requests_and_connections(
    transport: str, credentials: Credentials, serve: Callable[[Handler], Awaitable[str]]
) -> None:
    active = 0
    most = 0
    peers: set[object] = set()

    async def count(request: web.Request) -> web.Response:
        nonlocal active, most
        peers.add(request.transport.get_extra_info("peername") if request.transport else None)
        active += 1
        most = max(most, active)
        await asyncio.sleep(0.02)
        active -= 1
        return web.json_response({"requestId": "r", "code": 200, "msg": "ok", "data": 1})

    base = await serve(count)
    async with XportcnClient(
        credentials, base_url=base, transport=transport, connection_limit=2
    ) as client:
        results = await asyncio.gather(*(client.call("/x", {}) for _ in range(12)))
    assert results == [1] * 12
    assert most == 2
    assert len(peers) <= 2


# -- the transport object --------------------------------------------------------------------


async def test_transport_refuses_to_send_after_aclose(make_transport: MakeTransport) -> None:
    sender = make_transport()
    await sender.aclose()
    with pytest.raises(RuntimeError):
        await sender.send(Request("POST", "http://127.0.0.1:1/x", {}, b"{}"))


def test_connection_limit_must_be_positive(make_transport: MakeTransport) -> None:
    with pytest.raises(ValueError):
        make_transport(limit=0)


# -- max_response_size ------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """``app`` on 127.0.0.1 (a free port), as a base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    runner = web.AppRunner(app)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        await runner.cleanup()


def test_max_response_size_defaults_to_4_mib_and_must_be_positive(
    make_transport: MakeTransport,
) -> None:
    assert make_transport().max_response_size == DEFAULT_MAX_RESPONSE_SIZE == 4 * 1024 * 1024
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="max_response_size"):
            make_transport(max_response_size=bad)


async def test_a_content_length_over_the_limit_fails_before_the_body_is_read(
    make_transport: MakeTransport,
) -> None:
    release = asyncio.Event()

    async def announce(request: web.Request) -> web.StreamResponse:
        # Announces 1 GB, sends 1 KiB and then nothing: reading the body would hang until the
        # (long) timeout, so only a check of Content-Length can end this call.
        response = web.StreamResponse(headers={"content-length": str(10**9)})
        await response.prepare(request)
        await response.write(b"x" * 1024)
        await release.wait()
        return response

    app = web.Application()
    app.router.add_post("/big", announce)
    async with serving(app) as base:
        sender = make_transport(max_response_size=64 * 1024)
        try:
            request = Request("POST", f"{base}/big?sign=SECRETSIGN", {}, b"{}", Timeout(total=300))
            with pytest.raises(ResponseTooLargeError) as info:
                await sender.send(request)
        finally:
            release.set()
            await sender.aclose()
    err = info.value
    assert (err.limit, err.content_length) == (64 * 1024, 10**9)
    assert err.may_have_reached_server
    assert "SECRETSIGN" not in str(err) and "/big" not in str(err)
    assert err.__context__ is None and err.__cause__ is None


async def test_a_body_growing_past_the_limit_is_cut_off(make_transport: MakeTransport) -> None:
    total = 64 * 1024 * 1024
    written: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()  # chunked: no Content-Length to check
        await response.prepare(request)
        sent = 0
        try:
            while sent < total:
                await response.write(b"[" * 65536)
                sent += 65536
        except ConnectionResetError:  # the client hung up
            pass
        finally:
            written.set_result(sent)
        return response

    app = web.Application()
    app.router.add_post("/endless", endless)
    async with serving(app) as base:
        sender = make_transport(max_response_size=256 * 1024)
        try:
            with pytest.raises(ResponseTooLargeError) as info:
                await sender.send(Request("POST", f"{base}/endless", {}, b"{}"))
            sent = await written
        finally:
            await sender.aclose()
    assert info.value.content_length is None and info.value.limit == 256 * 1024
    assert "cut off" in str(info.value)
    assert info.value.__context__ is None and info.value.__cause__ is None
    assert sent < total  # the client stopped reading; the server could not send it all


async def test_a_booking_whose_reply_is_too_large_is_outcome_unknown_and_not_retried(
    make_transport: MakeTransport, credentials: Credentials, booking_request: BookingRequest
) -> None:
    calls: list[str] = []

    async def huge(request: web.Request) -> web.Response:
        calls.append(request.query.get("sign", ""))
        return web.Response(body=b" " * (2 * 1024 * 1024), content_type="application/json")

    app = web.Application()
    app.router.add_post("/open/pp/logistics/orderBookingFreight", huge)
    app.router.add_post("/open/address/list", huge)
    async with serving(app) as base:
        sender = make_transport(max_response_size=1024 * 1024)
        try:
            async with XportcnClient(
                credentials, base_url=base, transport=sender, retry=RetryPolicy(max_retries=3)
            ) as client:
                with pytest.raises(OutcomeUnknownError) as booking:
                    await client.logistics.book(booking_request, retry_ambiguous=True)
                with pytest.raises(ResponseTooLargeError):
                    await client.addresses.list()  # a read: not retried either
        finally:
            await sender.aclose()
    assert isinstance(booking.value.cause, ResponseTooLargeError)
    assert len(calls) == 2  # one attempt each: the same request would bring the same answer
    assert calls[0] and calls[0] not in str(booking.value) and calls[0] not in repr(booking.value)


async def test_a_compressed_reply_that_inflates_past_the_limit_is_cut_off(
    make_transport: MakeTransport,
) -> None:
    # Its Content-Length (the compressed size) is within the limit, and all of it arrives at
    # once: only the size of what it decodes to can stop it.
    inflated = b" " * (1024 * 1024)
    compressed = gzip.compress(inflated)

    async def deflating(request: web.Request) -> web.Response:
        return web.Response(
            body=compressed,
            headers={"content-encoding": "gzip", "content-type": "application/json"},
        )

    app = web.Application()
    app.router.add_post("/gz", deflating)
    async with serving(app) as base:
        sender = make_transport(max_response_size=64 * 1024)
        try:
            with pytest.raises(ResponseTooLargeError) as info:
                await sender.send(Request("POST", f"{base}/gz?sign={SIGN}", {}, b"{}"))
            # Within the limit, the same reply is decoded and whole.
            roomy = make_transport(max_response_size=2 * len(inflated))
            try:
                response = await roomy.send(Request("POST", f"{base}/gz", {}, b"{}"))
            finally:
                await roomy.aclose()
        finally:
            await sender.aclose()
    assert len(compressed) < 64 * 1024
    assert info.value.limit == 64 * 1024 and SIGN not in str(info.value)
    assert response.body == inflated


async def test_a_connection_left_with_an_unread_body_is_not_reused(
    make_transport: MakeTransport,
) -> None:
    """A reply refused for its size, still arriving, leaves its connection mid-body: the next
    request must not be sent on it (it would read the rest of the old reply as its own)."""
    peers: list[object] = []
    release = asyncio.Event()

    async def big(request: web.Request) -> web.StreamResponse:
        peers.append(request.transport.get_extra_info("peername") if request.transport else None)
        response = web.StreamResponse(headers={"content-length": str(256 * 1024)})
        await response.prepare(request)
        await response.write(b" " * 1024)
        await release.wait()
        return response

    async def small(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername") if request.transport else None)
        return web.Response(body=b"{}", content_type="application/json")

    app = web.Application()
    app.router.add_post("/big", big)
    app.router.add_post("/small", small)
    async with serving(app) as base:
        sender = make_transport(max_response_size=64 * 1024, limit=1)
        try:
            with pytest.raises(ResponseTooLargeError):
                await sender.send(Request("POST", f"{base}/big", {}, b"{}", Timeout(total=300)))
            for _ in range(2):
                response = await sender.send(Request("POST", f"{base}/small", {}, b"{}"))
                assert response.body == b"{}"
        finally:
            release.set()
            await sender.aclose()
    assert peers[0] not in peers[1:]  # a new connection after the refused reply ...
    assert peers[1] == peers[2]  # ... which is then pooled as usual


async def test_aiohttp_requests_carry_the_sdk_user_agent(
    serve: Callable[[Handler], Awaitable[str]],
) -> None:
    """Our own ``User-Agent`` (not aiohttp's banner, and not none: skipping aiohttp's with
    ``skip_auto_headers`` costs every request a slower path in aiohttp)."""
    agents: list[str | None] = []

    async def handler(request: web.Request) -> web.Response:
        agents.append(request.headers.get("User-Agent"))
        return web.Response(body=b"{}")

    base = await serve(handler)
    sender = AiohttpTransport()
    try:
        for _ in range(2):
            await sender.send(Request("POST", f"{base}/a?timestamp=1&sign=AB", {}, b"{}"))
    finally:
        await sender.aclose()
    assert agents == [f"xportcn-async/{xportcn_async.__version__}"] * 2


# -- proxies from the environment --------------------------------------------------------------


async def test_proxy_variables_are_ignored_by_default(
    transport: str,
    monkeypatch: pytest.MonkeyPatch,
    serve: Callable[[Handler], Awaitable[str]],
    credentials: Credentials,
) -> None:
    # As aiohttp's default (trust_env=False): a proxy in the environment never sees the
    # signed requests. This one would refuse the connection.
    proxy = f"http://127.0.0.1:{closed_port()}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, proxy)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)

    async def ok(request: web.Request) -> web.Response:
        return web.json_response({"requestId": "r", "code": 200, "msg": "ok", "data": 1})

    base = await serve(ok)
    async with XportcnClient(credentials, base_url=base, transport=transport) as client:
        assert await client.call("/x", {}) == 1


@pytest.mark.reqwest
async def test_reqwest_trust_env_sends_through_the_environment_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    targets: list[bytes] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head, _ = await read_request(reader)
        targets.append(head.split(b" ")[1])
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await writer.drain()
        writer.close()

    async with raw_server(proxy) as proxy_url:
        for name in ("HTTP_PROXY", "http_proxy"):
            monkeypatch.setenv(name, proxy_url)
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        sender = ReqwestTransport(trust_env=True)
        try:
            response = await sender.send(Request("POST", "http://api.invalid/x", {}, b"{}"))
        finally:
            await sender.aclose()
    assert response.status == 204
    assert targets == [b"http://api.invalid/x"]  # the absolute URL: it went through the proxy


# -- fork -------------------------------------------------------------------------------------

FORK_PROGRAM = """
import asyncio, os
from xportcn_async import Request, TransportError
from xportcn_async import ReqwestTransport

async def send(transport):
    try:
        await transport.send(Request("POST", "http://127.0.0.1:{port}/x", {{}}, b"{{}}"))
    except TransportError as exc:
        return type(exc).__name__
    except RuntimeError as exc:
        return "RuntimeError: " + str(exc)

transport = ReqwestTransport()
print("parent", asyncio.run(send(transport)), flush=True)
pid = os.fork()
if pid == 0:
    print("child", asyncio.run(send(transport)), flush=True)
    asyncio.run(transport.aclose())
    os._exit(0)
os.waitpid(pid, 0)
asyncio.run(transport.aclose())  # unclosed, pyreqwest's thread may abort the exit
"""


@pytest.mark.reqwest
def test_reqwest_transport_used_before_fork_refuses_in_the_child_instead_of_hanging() -> None:
    program = FORK_PROGRAM.format(port=closed_port())
    done = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "parent ConnectError"
    assert lines[1].startswith(
        "child RuntimeError: this ReqwestTransport sent requests before fork()"
    )


EXIT_PROGRAM = """
import asyncio, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xportcn_async import ReqwestTransport, Request

class Reply(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the transport's pool holds the connections

    def do_POST(self):
        self.rfile.read(int(self.headers["content-length"]))
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{{}}")

    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Reply)
threading.Thread(target=server.serve_forever, daemon=True).start()

async def main():
    transport = ReqwestTransport()
    request = Request("POST", f"http://127.0.0.1:{{server.server_port}}/x", {{}}, b"{{}}")
    await asyncio.gather(*(transport.send(request) for _ in range(50)))
    await transport.aclose()  # the last thing before the interpreter shuts down

asyncio.run(main())
print("done", flush=True)
"""


@pytest.mark.reqwest
def test_a_program_that_exits_right_after_closing_the_reqwest_transport_exits_cleanly() -> None:
    # pyreqwest's runtime thread went on dropping connections after close() and took the GIL
    # during interpreter shutdown: about one exit in three aborted (SIGABRT, "Fatal Python
    # error: PyGILState_Release"). Ten clean exits in a row would happen by chance about one
    # time in a hundred with that bug.
    for _ in range(10):
        done = subprocess.run(
            [sys.executable, "-c", EXIT_PROGRAM.format()],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
        )
        assert (done.returncode, done.stdout) == (0, "done\n"), done.stderr[-2000:]


# -- the allocator ------------------------------------------------------------------------------
