"""The httptools transport's own HTTP/1.1 client, against hand-written servers on 127.0.0.1:
keep-alive pooling, ``Connection: close`` and HTTP/1.0, framing (chunked, close-delimited, no
body), stale and unsolicited data, the connection limit across origins, cancellation, TLS
with a private CA, compression, what is written on the wire, and bulk bookings end to end
against the sandbox. (The rules every transport shares run against it in
tests/test_transport_loopback.py.)"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import socket
import ssl
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import exception_texts
from tests.test_transport_loopback import closed_port, full_backlog, raw_server, read_request
from xportcn_async import (
    BookingRequest,
    ConnectError,
    ConnectionDroppedError,
    HttptoolsTransport,
    Request,
    RequestTimeoutError,
    ResponseTooLargeError,
    RetryPolicy,
    Timeout,
    TransportError,
    XportcnClient,
    from_wire,
)
from xportcn_async._version import __version__
from xportcn_async.batch import Status
from xportcn_async.sandbox import Faults, serve

pytestmark = pytest.mark.httptools

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
SIGN = "".join(("SECRET", "SIGN"))


class Server:
    """A keep-alive HTTP/1.1 server on 127.0.0.1 answering each request with ``reply``
    (bytes, or a function of the request's number), recording connections and requests."""

    def __init__(self, reply: bytes | Callable[[int], bytes] = OK) -> None:
        self.reply = reply
        self.connections = 0
        self.requests: list[tuple[int, bytes, bytes]] = []  # (connection, head, body)
        self.closed_by_client: list[int] = []
        self.closed = asyncio.Event()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        try:
            while True:
                try:
                    head, body = await read_request(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    self.closed_by_client.append(number)
                    self.closed.set()
                    return
                self.requests.append((number, head, body))
                reply = self.reply(len(self.requests)) if callable(self.reply) else self.reply
                writer.write(reply)
                await writer.drain()
        finally:
            writer.close()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[str]:
        async with raw_server(self.handle) as base:
            yield base


@contextlib.asynccontextmanager
async def transport(**options: object) -> AsyncIterator[HttptoolsTransport]:
    sender = HttptoolsTransport(**options)  # type: ignore[arg-type]
    try:
        yield sender
    finally:
        await sender.aclose()


def post(base: str, path: str = "/x", body: bytes = b"{}", **kwargs: object) -> Request:
    return Request("POST", f"{base}{path}", {"content-type": "application/json"}, body, **kwargs)  # type: ignore[arg-type]


async def wait_for(event: asyncio.Event) -> None:
    """Waits for ``event``; the bound only keeps a broken test from hanging."""
    await asyncio.wait_for(event.wait(), 30)


# -- what is written ----------------------------------------------------------------------------


async def test_the_request_head_is_minimal_and_exact() -> None:
    server = Server()
    async with server.running() as base, transport() as sender:
        port = base.rsplit(":", 1)[1]
        request = Request(
            "POST",
            f"{base}/api/open/pp/x?timestamp=1&sign={SIGN}",
            {"content-type": "application/json", "Signature": SIGN},
            b'{"a":1}',
        )
        await sender.send(request)
    ((_, head, body),) = server.requests
    assert head == (
        b"POST /api/open/pp/x?timestamp=1&sign=SECRETSIGN HTTP/1.1\r\n"
        + f"Host: 127.0.0.1:{port}\r\nUser-Agent: xportcn-async/{__version__}\r\n".encode()
        + b"Content-Length: 7\r\ncontent-type: application/json\r\nSignature: SECRETSIGN\r\n\r\n"
    )  # no Accept-Encoding: compression is never asked for
    assert body == b'{"a":1}'
    # A User-Agent of the caller's replaces ours.
    async with server.running() as base, transport() as sender:
        await sender.send(Request("GET", f"{base}/", {"user-agent": "mine/1"}, b""))
    assert server.requests[-1][1].count(b"ser-agent") == 1
    assert b"user-agent: mine/1\r\n" in server.requests[-1][1]


async def test_a_path_with_characters_to_quote_is_quoted_as_aiohttp_does() -> None:
    server = Server()
    async with server.running() as base, transport() as sender:
        await sender.send(post(base, "/ä b?q=ü#fragment"))
    ((_, head, _),) = server.requests
    assert head.startswith(b"POST /%C3%A4%20b?q=%C3%BC HTTP/1.1\r\n")


@pytest.mark.parametrize(
    ("headers", "match"),
    [
        ({"x-note": "a\r\nInjected: 1"}, "line break"),
        ({"x-note": "a\nb"}, "line break"),
        ({"Host": "elsewhere"}, "writes 'Host' itself"),
        ({"Transfer-Encoding": "chunked"}, "writes 'Transfer-Encoding' itself"),
        ({"bad name": "x"}, "not an HTTP header name"),
    ],
)
async def test_a_header_that_would_change_the_framing_is_refused_before_connecting(
    headers: dict[str, str], match: str
) -> None:
    server = Server()
    async with server.running() as base, transport() as sender:
        with pytest.raises(ValueError, match=match):
            await sender.send(Request("POST", f"{base}/x", headers, b"{}"))
    assert server.connections == 0


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/x", "http:///x", "http://user:pw@127.0.0.1/x", "http://h:port/x"]
)
async def test_a_url_that_cannot_be_sent_is_never_sent(url: str) -> None:
    async with transport() as sender:
        with pytest.raises(TransportError) as info:
            await sender.send(Request("POST", url, {}, b""))
    assert info.value.may_have_reached_server is False
    assert "pw" not in str(info.value)


# -- keep-alive and framing ---------------------------------------------------------------------


async def test_keep_alive_sends_every_request_on_one_connection() -> None:
    server = Server()
    async with server.running() as base, transport() as sender:
        for _ in range(5):
            response = await sender.send(post(base))
            assert (response.status, response.body) == (200, b"{}")
    assert [number for number, _, _ in server.requests] == [1, 1, 1, 1, 1]


async def test_response_headers_are_case_insensitive() -> None:
    reply = b"HTTP/1.1 201 Created\r\nX-Request-Id: r-1\r\nContent-Length: 0\r\n\r\n"
    async with Server(reply).running() as base, transport() as sender:
        response = await sender.send(post(base))
    assert response.status == 201
    assert response.headers["x-request-id"] == response.headers["X-REQUEST-ID"] == "r-1"


@pytest.mark.parametrize(
    ("reply", "connections"),
    [
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}", [1, 2, 3]),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}", [1, 2, 3]),
        (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n{}", [1, 1, 1]),
    ],
    ids=["connection-close", "http-1.0", "http-1.0-keep-alive"],
)
async def test_a_connection_the_server_asks_to_close_is_not_reused(
    reply: bytes, connections: list[int]
) -> None:
    # The server keeps every connection open: only the client decides not to reuse it.
    server = Server(reply)
    async with server.running() as base, transport() as sender:
        for _ in range(3):
            assert (await sender.send(post(base))).body == b"{}"
    assert [number for number, _, _ in server.requests] == connections


async def test_a_chunked_body_is_joined_and_the_connection_reused() -> None:
    reply = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'3\r\n{"a\r\n4\r\n":12\r\n1\r\n}\r\n0\r\n\r\n'
    )
    server = Server(reply)
    async with server.running() as base, transport() as sender:
        for _ in range(2):
            assert (await sender.send(post(base))).body == b'{"a":12}'
    assert [number for number, _, _ in server.requests] == [1, 1]


async def test_a_body_delimited_by_closing_the_connection_is_whole() -> None:
    body = b'{"data": "' + b"x" * 100_000 + b'"}'
    connections = 0

    async def close_delimited(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + body)
        await writer.drain()
        writer.close()

    async with raw_server(close_delimited) as base, transport() as sender:
        for _ in range(2):
            assert (await sender.send(post(base))).body == body
    assert connections == 2


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
        b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    ],
    ids=["204", "304", "interim-103"],
)
async def test_replies_without_a_body_end_at_their_head(reply: bytes) -> None:
    server = Server(reply)
    async with server.running() as base, transport() as sender:
        for _ in range(2):
            response = await sender.send(post(base))
            assert response.body == b"" and response.status in (204, 304)
    assert [number for number, _, _ in server.requests] == [1, 1]


async def test_a_reply_to_head_has_no_body_and_its_connection_is_not_reused() -> None:
    server = Server(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
    async with server.running() as base, transport() as sender:
        for _ in range(2):
            response = await sender.send(Request("HEAD", f"{base}/x", {}, b""))
            assert (response.status, response.body, response.headers["content-length"]) == (
                200,
                b"",
                "5",
            )
    assert [number for number, _, _ in server.requests] == [1, 2]


async def test_a_reply_that_is_not_http_may_have_reached_the_server() -> None:
    async with Server(b"SMTP ready\r\n\r\n").running() as base, transport() as sender:
        with pytest.raises(TransportError, match=r"not valid HTTP/1\.1") as info:
            await sender.send(post(base, f"/x?sign={SIGN}"))
    assert type(info.value) is TransportError
    assert info.value.may_have_reached_server
    for text in exception_texts(info.value):
        assert SIGN not in text


async def test_bytes_after_a_reply_spoil_its_connection() -> None:
    # Garbage after the reply (in the same write) could be taken for the next reply.
    server = Server(OK + b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{}")
    async with server.running() as base, transport() as sender:
        for _ in range(2):
            assert (await sender.send(post(base))).body == b"{}"
    assert [number for number, _, _ in server.requests] == [1, 2]


async def test_a_connection_idle_past_the_keepalive_timeout_is_replaced() -> None:
    server = Server()
    async with server.running() as base, transport(keepalive_timeout=0.0) as sender:
        await sender.send(post(base))
        await asyncio.sleep(0.01)  # the clock moves on: the connection is now too old
        await sender.send(post(base))
        await wait_for(server.closed)
        assert server.closed_by_client == [1]  # (closing the transport closes the second)
    assert [number for number, _, _ in server.requests] == [1, 2]


# -- the limit, cancellation, closing -----------------------------------------------------------


async def test_the_limit_caps_concurrent_requests_and_connections() -> None:
    active = 0
    most = 0
    connections = 0

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal active, most, connections
        connections += 1
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                await read_request(reader)
                active += 1
                most = max(most, active)
                await asyncio.sleep(0.01)
                active -= 1
                writer.write(OK)
                await writer.drain()
        writer.close()

    async with raw_server(slow) as base, transport(limit=3) as sender:
        responses = await asyncio.gather(*(sender.send(post(base)) for _ in range(30)))
    assert [r.body for r in responses] == [b"{}"] * 30
    assert most == 3
    assert connections == 3


async def test_a_request_cancelled_while_waiting_for_a_slot_leaves_the_slots_whole() -> None:
    release = asyncio.Event()
    received = asyncio.Event()

    async def held(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                await read_request(reader)
                received.set()
                await release.wait()
                writer.write(OK)
                await writer.drain()
        writer.close()

    async with raw_server(held) as base, transport(limit=1) as sender:
        first = asyncio.create_task(sender.send(post(base)))
        await wait_for(received)
        waiting = [asyncio.create_task(sender.send(post(base))) for _ in range(3)]
        for _ in range(5):
            await asyncio.sleep(0)
        waiting[1].cancel()  # gives up its place in the queue
        release.set()
        assert (await first).body == b"{}"
        results = await asyncio.gather(*waiting, return_exceptions=True)
        assert isinstance(results[1], asyncio.CancelledError)
        assert [results[0].body, results[2].body] == [b"{}", b"{}"]  # type: ignore[union-attr]
        assert (await sender.send(post(base))).body == b"{}"  # the slot came back


async def test_at_the_limit_an_idle_connection_to_another_origin_is_closed_first() -> None:
    first, second = Server(), Server()
    async with (
        first.running() as one,
        second.running() as two,
        transport(limit=1) as sender,
    ):
        await sender.send(post(one))
        await sender.send(post(two))  # one connection at most: the first one must go
        await wait_for(first.closed)
        assert first.closed_by_client == [1]
        await sender.send(post(one))
    assert [number for number, _, _ in first.requests] == [1, 2]


async def test_a_cancelled_request_closes_its_connection() -> None:
    received = asyncio.Event()
    hung_up = asyncio.Event()
    connections = 0

    async def first_hangs(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        number = connections
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                await read_request(reader)
                if number == 1:
                    received.set()
                    await reader.read()  # until the client hangs up
                    hung_up.set()
                    break
                writer.write(OK)
                await writer.drain()
        writer.close()

    async with raw_server(first_hangs) as base, transport() as sender:
        pending = asyncio.create_task(sender.send(post(base)))
        await wait_for(received)
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending
        await wait_for(hung_up)
        assert (await sender.send(post(base))).body == b"{}"  # on a new connection
    assert connections == 2


async def test_aclose_closes_pooled_connections() -> None:
    server = Server()
    async with server.running() as base:
        sender = HttptoolsTransport()
        await sender.send(post(base))
        await sender.aclose()
        await wait_for(server.closed)
        with pytest.raises(RuntimeError, match="closed"):
            await sender.send(post(base))
    assert server.closed_by_client == [1]


def test_a_transport_stays_on_the_event_loop_it_first_ran_in() -> None:
    sender = HttptoolsTransport()

    async def once() -> None:
        with contextlib.suppress(ConnectError):
            await sender.send(Request("POST", f"http://127.0.0.1:{closed_port()}/x", {}, b""))

    asyncio.run(once())
    with pytest.raises(RuntimeError, match="event loop"):
        asyncio.run(once())
    asyncio.run(sender.aclose())


async def test_the_total_timeout_while_connecting_was_never_sent() -> None:
    with full_backlog() as port:
        async with transport() as sender:
            request = Request(
                "POST", f"http://127.0.0.1:{port}/x?sign={SIGN}", {}, b"", Timeout(0.2, None)
            )
            with pytest.raises(RequestTimeoutError) as info:
                await sender.send(request)
    assert info.value.may_have_reached_server is False
    assert SIGN not in str(info.value)


# -- TLS ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def authority() -> object:
    import trustme

    return trustme.CA()


@contextlib.asynccontextmanager
async def tls_server(authority: object, *names: str) -> AsyncIterator[tuple[str, list[str]]]:
    """An HTTPS aiohttp server on 127.0.0.1 with a certificate for ``names`` from
    ``authority``; its base URL and the paths it served."""
    served: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        served.append(request.path)
        return web.json_response({"ok": True})

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert(*names).configure_cert(context)  # type: ignore[attr-defined]
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    runner = web.AppRunner(app)
    await runner.setup()
    await web.SockSite(runner, sock, ssl_context=context).start()
    try:
        yield f"https://127.0.0.1:{sock.getsockname()[1]}", served
    finally:
        await runner.cleanup()


def trusting(authority: object) -> ssl.SSLContext:
    context = ssl.create_default_context()
    authority.configure_trust(context)  # type: ignore[attr-defined]
    return context


async def test_https_with_a_private_ca_passed_as_an_ssl_context(authority: object) -> None:
    async with (
        tls_server(authority, "127.0.0.1") as (base, served),
        transport(ssl_context=trusting(authority)) as sender,
    ):
        for _ in range(2):
            response = await sender.send(post(base, "/secure"))
            assert json.loads(response.body) == {"ok": True}
    assert served == ["/secure", "/secure"]


@pytest.mark.parametrize("case", ["unknown-ca", "other-hostname"])
async def test_a_certificate_that_does_not_verify_is_a_connect_error_never_sent(
    authority: object, case: str
) -> None:
    # The default context knows only the system's CAs; a certificate for another name fails
    # hostname checking even from a trusted CA.
    names = ("127.0.0.1",) if case == "unknown-ca" else ("api.example.test",)
    options = {} if case == "unknown-ca" else {"ssl_context": trusting(authority)}
    async with tls_server(authority, *names) as (base, served), transport(**options) as sender:
        with pytest.raises(ConnectError) as info:
            await sender.send(post(base, f"/x?sign={SIGN}"))
    assert served == []
    assert info.value.may_have_reached_server is False
    assert "certificate" in str(info.value).lower()
    assert SIGN not in str(info.value)


# -- compression (never asked for) ----------------------------------------------------------------


def compressed_reply(encoding: str, body: bytes) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Encoding: "
        + encoding.encode()
        + b"\r\nContent-Length: %d\r\n\r\n" % len(body)
        + body
    )


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data, wbits=-zlib.MAX_WBITS)),  # raw, as some send
    ],
    ids=["gzip", "deflate", "raw-deflate"],
)
async def test_a_compressed_reply_is_decoded_anyway(
    encoding: str, compress: Callable[[bytes], bytes]
) -> None:
    body = json.dumps({"data": list(range(2000))}).encode()
    server = Server(compressed_reply(encoding, compress(body)))
    async with server.running() as base, transport() as sender:
        for _ in range(2):
            assert (await sender.send(post(base))).body == body
    assert [number for number, _, _ in server.requests] == [1, 1]


async def test_a_compressed_reply_that_inflates_past_the_limit_is_cut_off() -> None:
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024))  # 64 MiB from about 64 KiB
    async with (
        Server(compressed_reply("gzip", bomb)).running() as base,
        transport(max_response_size=1024 * 1024) as sender,
    ):
        with pytest.raises(ResponseTooLargeError, match="cut off") as info:
            await sender.send(post(base))
    assert info.value.may_have_reached_server
    assert info.value.__context__ is None


async def test_compressed_replies_without_a_length_or_without_a_body() -> None:
    body = json.dumps({"data": list(range(2000))}).encode()
    whole = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n" + gzip.compress(body)
    replies = [
        whole,  # delimited by closing the connection
        whole[:-20],  # the connection closed mid-stream
        b"HTTP/1.1 304 Not Modified\r\nContent-Encoding: gzip\r\n\r\n",
    ]

    async def one_reply_per_connection(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request(reader)
        writer.write(replies.pop(0))
        await writer.drain()
        writer.close()

    async with raw_server(one_reply_per_connection) as base, transport() as sender:
        assert (await sender.send(post(base))).body == body
        with pytest.raises(TransportError, match="corrupt or incomplete"):
            await sender.send(post(base))
        response = await sender.send(post(base))
    assert (response.status, response.body) == (304, b"")


@pytest.mark.parametrize(
    ("reply", "match"),
    [
        (compressed_reply("br", b"\x1b\x00"), "compressed with 'br'"),
        (compressed_reply("gzip", b"not gzip at all"), "corrupt"),
        (compressed_reply("gzip", gzip.compress(b"{}")[:-4]), "corrupt or incomplete"),
    ],
    ids=["brotli", "corrupt", "truncated-stream"],
)
async def test_a_compressed_reply_that_cannot_be_decoded_is_refused(
    reply: bytes, match: str
) -> None:
    async with Server(reply).running() as base, transport() as sender:
        with pytest.raises(TransportError, match=match) as info:
            await sender.send(post(base))
    assert info.value.may_have_reached_server
    assert info.value.__context__ is None and info.value.__cause__ is None


# -- bookings end to end ------------------------------------------------------------------------

ORDERS = [
    json.loads(line)
    for line in (Path(__file__).resolve().parents[1] / "examples" / "orders.jsonl")
    .read_text(encoding="utf-8")
    .splitlines()
]


def bookings(count: int) -> Iterator[BookingRequest]:
    for n in range(count):
        wire = dict(ORDERS[n % len(ORDERS)])
        wire["tmallOrderInfo"] = {"tmallOrderId": f"H{n:06d}"}
        yield from_wire(wire, BookingRequest)


async def test_book_many_against_the_sandbox_over_real_http() -> None:
    async with (
        serve(port=0) as running,
        XportcnClient(
            running.credentials, base_url=running.base_url, transport="httptools"
        ) as client,
        client.logistics.book_many(bookings(300), concurrency=50) as run,
    ):
        outcomes = [o async for o in run]
        assert isinstance(client.transport, HttptoolsTransport)
    assert Counter(o.status for o in outcomes) == {Status.BOOKED: 300}
    assert {o.result.order_id for o in outcomes if o.result} <= set(running.sandbox.state.orders)
    assert running.sandbox.stats.bookings == 300


async def test_book_many_with_server_faults_never_books_twice() -> None:
    faults = Faults(unavailable=0.05, drop_after=0.05, malformed=0.05, server_error_after=0.05)
    async with (
        serve(port=0, faults=faults, seed=5) as running,
        XportcnClient(
            running.credentials,
            base_url=running.base_url,
            transport="httptools",
            retry=RetryPolicy(max_retries=4, initial_delay=0.001, max_delay=0.01),
        ) as client,
        client.logistics.book_many(bookings(400), concurrency=50) as run,
    ):
        outcomes = [o async for o in run]
        stats = running.sandbox.stats
        per_order = Counter(o.tmall_order_id for o in running.sandbox.state.orders.values())
    assert sorted(o.index for o in outcomes) == list(range(400))
    statuses = Counter(o.status for o in outcomes)
    assert statuses[Status.BOOKED] > 0 and statuses[Status.UNKNOWN] > 0  # drops were not retried
    assert stats.duplicate_booking_attempts == 0
    assert max(per_order.values()) == 1


# -- review: bugs found by reading the transport ----------------------------------------------


@contextlib.asynccontextmanager
async def tidy_server(
    handle: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Any],
    tls: ssl.SSLContext | None = None,
) -> AsyncIterator[str]:
    """A raw server whose connections are all closed (and seen closed) when it stops: one
    left to the garbage collector warns in whichever test runs then."""
    writers: list[asyncio.StreamWriter] = []

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        try:
            await handle(reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(tracked, "127.0.0.1", 0, ssl=tls)
    scheme = "https" if tls is not None else "http"
    try:
        yield f"{scheme}://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        for writer in writers:
            writer.close()
        for writer in writers:
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        await server.wait_closed()


async def test_a_large_reply_over_tls_arrives_whole(authority: object) -> None:
    # asyncio's TLS protocol reads the records after the first into ``buffer[offset:]``: a
    # copy when the buffer is a bytearray, so those bytes were lost (and stale ones parsed).
    body = bytes(range(256)) * 4096  # 1 MiB, many TLS records arriving at once

    async def big(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                await read_request(reader)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
                await writer.drain()
        writer.close()

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)  # type: ignore[attr-defined]
    async with (
        tidy_server(big, tls=context) as base,
        transport(ssl_context=trusting(authority)) as sender,
    ):
        for _ in range(3):
            response = await sender.send(post(base, timeout=Timeout(total=60)))
            assert response.body == body


@pytest.mark.parametrize(
    ("opening", "name", "refusal"),
    [
        # llhttp bounds no header section: headers without end grew until the timeout.
        (b"HTTP/1.1 200 OK\r\n", b"x-junk", "did not end its headers"),
        # After a chunked body, trailers are header lines again, kept by httptools.
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n",
            b"x-trailer",
            "framing",
        ),
    ],
    ids=["headers", "trailers"],
)
async def test_header_lines_that_never_end_are_cut_off(
    opening: bytes, name: bytes, refusal: str
) -> None:
    # Up to 100,000 lines of 100 bytes (10 MB), sent as they are made, until the client goes
    # away: cut off past 64 KiB, long before the timeout.
    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(opening)
        with contextlib.suppress(ConnectionError):
            for n in range(100_000):
                if writer.transport.is_closing() or reader.at_eof():
                    break
                writer.write(b"%s-%05d: " % (name, n) + b"a" * 84 + b"\r\n")
                await writer.drain()
        writer.close()

    async with tidy_server(endless) as base, transport() as sender:
        with pytest.raises(ResponseTooLargeError, match=refusal) as info:
            await sender.send(post(base, timeout=Timeout(total=60)))
    assert info.value.may_have_reached_server


async def test_a_connection_lost_before_the_request_is_written_was_never_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The server closes a new connection at once, and the loop reports it before the
    # request's task resumes: the connection was then counted (and kept as live) although
    # gone, and the request written to it waited for a reply until its timeout.
    async def close_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    loop = asyncio.get_running_loop()
    opened = loop.create_connection
    lost = asyncio.Event()

    async def opened_then_lost(factory: Callable[[], Any], *args: Any, **kw: Any) -> Any:
        def watched() -> Any:
            protocol = factory()
            report = protocol.connection_lost

            def connection_lost(exc: Exception | None) -> None:
                report(exc)
                lost.set()

            protocol.connection_lost = connection_lost
            return protocol

        connection = await opened(watched, *args, **kw)
        if not lost.is_set() and not monkeypatched_once:
            monkeypatched_once.append(True)
            await wait_for(lost)
        return connection

    monkeypatched_once: list[bool] = []
    monkeypatch.setattr(loop, "create_connection", opened_then_lost)
    async with tidy_server(close_at_once) as base, transport(limit=1) as sender:
        with pytest.raises(ConnectError) as info:
            await sender.send(post(base, timeout=Timeout(total=10)))
        assert not info.value.may_have_reached_server
        assert sender._open == 0 and not sender._live


# -- hostile replies, generated ---------------------------------------------------------------

_STATUS_LINES = st.sampled_from(
    [
        b"HTTP/1.1 200 OK\r\n",
        b"HTTP/1.1 204 No Content\r\n",
        b"HTTP/1.1 304 Not Modified\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\n",
        b"HTTP/1.1 100 Continue\r\n",
        b"HTTP/1.0 200 OK\r\n",
        b"HTTP/1.1 500 Oops\r\n",
        b"HTTP/1.1 999 What\r\n",
        b"HTTP/2 200\r\n",
        b"ICY 200 OK\r\n",
        b"HTTP/1.1 200\n",
    ]
)
_HEADERS = st.sampled_from(
    [
        b"Content-Length: 2\r\n",
        b"Content-Length: 0\r\n",
        b"Content-Length: 99999999999\r\n",
        b"Content-Length: -1\r\n",
        b"Content-Length: 2, 3\r\n",
        b"Transfer-Encoding: chunked\r\n",
        b"Transfer-Encoding: gzip, chunked\r\n",
        b"Transfer-Encoding: identity\r\n",
        b"Connection: close\r\n",
        b"Connection: keep-alive\r\n",
        b"Connection: upgrade\r\nUpgrade: websocket\r\n",
        b"Content-Encoding: gzip\r\n",
        b"Content-Encoding: deflate\r\n",
        b"Content-Encoding: br\r\n",
        b"X-Folded: a\r\n b\r\n",
        b"Bad Header\r\n",
        b": empty\r\n",
        b"X-Long: " + b"v" * 70_000 + b"\r\n",
    ]
)
_BODIES = st.sampled_from(
    [
        b"",
        b"{}",
        b"2\r\n{}\r\n0\r\n\r\n",
        b"2;ext=1\r\n{}\r\n0\r\nTrailer: x\r\n\r\n",
        b"ffffffffffffffffff\r\n",
        b"zz\r\n",
        gzip.compress(b"{}"),
        zlib.compress(b"{}"),
        b"\x1f\x8b\x08garbage",
    ]
)


@st.composite
def hostile_replies(draw: st.DrawFn) -> bytes:
    """A reply built from pieces servers get wrong (an interim reply, contradicting
    headers, bad framing or encodings), then maybe cut, flipped or extended."""
    reply = b""
    for _ in range(draw(st.integers(0, 2))):
        reply += b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"
    reply += draw(_STATUS_LINES) + b"".join(draw(st.lists(_HEADERS, max_size=4))) + b"\r\n"
    reply += draw(_BODIES)
    if draw(st.booleans()):
        reply += draw(st.sampled_from([OK, b"HTTP/1.1 200 OK\r\n", b"\r\n", b"\x00"]))
    mutation = draw(st.sampled_from(["none", "cut", "flip", "insert"]))
    if mutation != "none" and reply:
        at = draw(st.integers(0, len(reply) - 1))
        if mutation == "cut":
            reply = reply[:at]
        elif mutation == "flip":
            reply = reply[:at] + bytes([reply[at] ^ draw(st.integers(1, 255))]) + reply[at + 1 :]
        else:
            reply = reply[:at] + draw(st.binary(min_size=1, max_size=8)) + reply[at:]
    return reply


async def _hostile_exchange(reply: bytes, then_close: bool) -> None:
    answered = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal answered
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                await read_request(reader)
                answered += 1
                if answered > 1:
                    writer.write(OK)
                    continue
                writer.write(reply)
                await writer.drain()
                if then_close:
                    break
        writer.close()

    async with tidy_server(serve) as base, transport(limit=1) as sender:
        try:
            # The bound only keeps a hang from stalling the run: a hang fails the test.
            response = await asyncio.wait_for(
                sender.send(post(base, timeout=Timeout(total=0.5))), 30
            )
            assert isinstance(response.status, int)
        except TransportError:
            pass
        assert_accounted(sender)
        # A well-formed exchange afterwards, on the same origin under a limit of one: a
        # connection miscounted, or one reused with the hostile reply's bytes, shows here.
        response = await asyncio.wait_for(sender.send(post(base, timeout=Timeout(total=30))), 60)
        assert (response.status, response.body) == (200, b"{}")
        assert_accounted(sender)


def assert_accounted(sender: HttptoolsTransport) -> None:
    """With no request in flight, every connection counted open is idle in the pool."""
    idle = [conn for conns in sender._idle.values() for conn in conns]
    assert sender._open == len(idle)
    assert all(not conn.closed for conn in idle)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(reply=hostile_replies(), then_close=st.booleans())
def test_any_reply_ends_in_a_response_or_a_transport_error(reply: bytes, then_close: bool) -> None:
    asyncio.run(_hostile_exchange(reply, then_close))


async def test_a_request_waiting_for_a_slot_when_the_transport_closes_is_never_sent() -> None:
    # It got the slot of a request that aclose() failed, then opened a connection after the
    # transport had closed: sent after all, and left open (to wait out its timeout).
    received: list[bytes] = []
    first = asyncio.Event()

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            head, _ = await read_request(reader)
            received.append(head)
            first.set()
            await reader.read()  # never answers
        writer.close()

    async with tidy_server(hold) as base:
        sender = HttptoolsTransport(limit=1)
        in_flight = asyncio.create_task(sender.send(post(base, timeout=Timeout(total=10))))
        await wait_for(first)
        queued = asyncio.create_task(sender.send(post(base, timeout=Timeout(total=10))))
        await asyncio.sleep(0)  # (it runs until it waits for the slot)
        assert sender._slots._waiters
        await sender.aclose()
        with pytest.raises(ConnectionDroppedError):
            await in_flight
        with pytest.raises(TransportError) as info:
            await queued
        assert not info.value.may_have_reached_server
        assert len(received) == 1 and not sender._live and sender._open == 0


async def test_a_connection_opened_as_the_transport_closes_is_never_written_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # aclose() closes the connections it knows; one still opening then was used after all.
    received: list[bytes] = []

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            received.append((await read_request(reader))[0])
            writer.write(OK)
        writer.close()

    loop = asyncio.get_running_loop()
    opened = loop.create_connection
    connecting, closed = asyncio.Event(), asyncio.Event()

    async def held_open(*args: Any, **kw: Any) -> Any:
        connection = await opened(*args, **kw)
        connecting.set()
        await wait_for(closed)
        return connection

    monkeypatch.setattr(loop, "create_connection", held_open)
    async with tidy_server(record) as base:
        sender = HttptoolsTransport()
        sending = asyncio.create_task(sender.send(post(base, timeout=Timeout(total=10))))
        await wait_for(connecting)
        await sender.aclose()
        closed.set()
        with pytest.raises(TransportError, match="closed before") as info:
            await sending
        assert not info.value.may_have_reached_server
        assert sender._open == 0
    assert received == []
