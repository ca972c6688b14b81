"""A lean HTTP/1.1 transport: asyncio protocols and httptools (llhttp), from
``xportcn-async[fast]``.

It exists for speed: a bulk booking spends most of its client CPU in the HTTP client, and this
one does only what this API needs (one request head built as one ``bytes``, the reply parsed
by llhttp as it arrives, one future per response), at well under half of aiohttp's CPU per
request. It keeps every rule of :class:`~xportcn_async.transports.AiohttpTransport`; what it
leaves out (proxies, redirects, HTTP/2, cookies) the SDK never uses.

httptools is imported when an ``HttptoolsTransport`` is created, not with this module, so
that the package imports without it; creating one without it raises
:class:`~xportcn_async.errors.ConfigurationError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
import zlib
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import yarl
from multidict import CIMultiDict, CIMultiDictProxy

from .._slots import Slots
from .._version import __version__
from ..errors import (
    ConfigurationError,
    ConnectError,
    ConnectionDroppedError,
    RequestTimeoutError,
    ResponseTooLargeError,
    TransportError,
)
from ._base import (
    DEFAULT_MAX_RESPONSE_SIZE,
    Request,
    Response,
    check_max_response_size,
    content_length,
    origin,
    redact,
    response_too_large,
)

if TYPE_CHECKING:
    from httptools import HttpResponseParser

DEFAULT_LIMIT = 100
#: Seconds an idle pooled connection is reused for (aiohttp's default): past that, a server
#: may be about to close it, and a request written as it does would be lost ambiguously.
DEFAULT_KEEPALIVE_TIMEOUT = 15.0

# A path or query with nothing to quote (RFC 3986 characters only): sent as it is. Anything
# else is quoted as aiohttp would (by yarl), and must then match.
_PLAIN = re.compile(r"[A-Za-z0-9\-._~:/?\[\]@!$&'()*+,;=%]*")
# What one read may bring at most (asyncio's own read size).
_READ_SIZE = 256 * 1024
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Headers that frame the message: the transport writes them (Host, Content-Length) or never
# uses them (it sends one whole body, and never switches protocols).
_FRAMING_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "upgrade", "expect", "te"}
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: Bytes a reply's status line and headers may take (interim 1xx replies included). llhttp
#: sets no bound of its own: a server that never ends its headers would grow them until the
#: timeout. aiohttp's parser caps each line at 8 KiB.
MAX_HEAD_SIZE = 64 * 1024
_USER_AGENT = f"User-Agent: xportcn-async/{__version__}\r\n"
_MAX_CACHED = 256
# zlib's window bits for each Content-Encoding it can decode ("deflate" is decided on the
# first byte: a zlib stream, or a raw one as some servers send).
_GZIP_WBITS = 16 + zlib.MAX_WBITS


class _Origin:
    """Where a ``scheme://host:port`` prefix connects, and its ``Host`` header."""

    __slots__ = ("host", "host_header", "key", "port", "tls")

    def __init__(self, key: str, host: str, port: int, tls: bool, host_header: str) -> None:
        self.key = key
        self.host = host
        self.port = port
        self.tls = tls
        self.host_header = host_header


class _Stop(Exception):
    """Raised from a parser callback once the response is settled: stops the parser."""


class _Connection(asyncio.BufferedProtocol):
    """One HTTP/1.1 connection: one exchange at a time, its reply fed to llhttp as it
    arrives and delivered through one future.

    A buffered protocol: the loop reads into the transport's one read buffer instead of
    allocating a fresh 256 KiB ``bytes`` per read (which cost more than parsing the reply)."""

    def __init__(self, pool: HttptoolsTransport, origin: _Origin) -> None:
        self.pool = pool
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.parser: HttpResponseParser = pool._parser_class(self)
        self.closed = False  # closed by us, or lost
        self.idle = False  # in the pool
        self.idle_since = 0.0
        self.reusable = False
        self._waiter: asyncio.Future[Response] | None = None
        self._request: Request | None = None
        self._head_only = False
        self._raw_headers: list[tuple[bytes, bytes]] = []
        self._headers: CIMultiDictProxy[str] | None = None
        self._body: list[bytes] = []
        self._size = 0  # bytes of body received
        # Bytes received while the reply was incomplete, body included: what is not body
        # (status line, headers, interim replies, chunk sizes and extensions, trailers) is
        # bounded, as llhttp bounds none of it and httptools keeps trailers in memory.
        self._head_size = 0
        self._decoded = 0  # bytes of body after decompression
        self._decoder: Any = None  # a zlib decompressor, for a compressed reply
        self._close_delimited = False

    # -- one exchange -----------------------------------------------------------------------

    def begin(self, request: Request, waiter: asyncio.Future[Response]) -> None:
        self._waiter = waiter
        self._request = request
        self._head_only = request.method == "HEAD"
        self._headers = None
        self._body = []
        self._size = self._head_size = self._decoded = 0
        self._decoder = None
        self.reusable = False

    def expire(self) -> None:
        """The attempt's ``Timeout.total`` ended before the whole response arrived."""
        request = self._request
        if request is not None:
            self._fail(
                RequestTimeoutError(
                    f"no complete response from {origin(request.url)} within "
                    f"{request.timeout.total} s"
                )
            )

    def close(self) -> None:
        """Closes the connection now (idempotent); it is never used again."""
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.abort()
            self.pool._forget(self)

    def _fail(self, error: TransportError) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
        self.close()

    def _where(self) -> str:
        return origin(self._request.url) if self._request is not None else "the server"

    # -- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def get_buffer(self, sizehint: int) -> memoryview:
        # A view, not the bytearray: asyncio's TLS protocol reads further records into
        # ``buf[offset:]``, which of a bytearray is a copy (those bytes were lost).
        return self.pool._read_view

    def buffer_updated(self, nbytes: int) -> None:
        # Parsed at once (before the loop reads again): httptools hands the callbacks copies.
        self.data_received(self.pool._read_view[:nbytes])

    def data_received(self, data: bytes | memoryview) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            # Bytes nobody asked for (on an idle connection, or after the reply): the next
            # exchange could not tell them from its own reply.
            self.close()
            return
        try:
            self.parser.feed_data(data)
            if not waiter.done():  # a reply in several reads: bound all but its body
                self._head_size += len(data)
                if self._head_size - self._size > MAX_HEAD_SIZE + 2 * self._size:
                    self._fail(self._head_too_large())
        except self.pool._parser_errors as exc:
            if not waiter.done():  # not a _Stop: the reply is not HTTP/1.1 as we know it
                error = TransportError(
                    f"the reply from {self._where()} is not valid HTTP/1.1",
                    underlying=f"{type(exc).__name__}: {exc}",
                )
                self._fail(error)
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed:
            self.closed = True
            self.pool._forget(self)
        self.pool._lost(self)
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if exc is None and self._headers is not None and self._close_delimited:
            with contextlib.suppress(_Stop):  # (a compressed body may still fail)
                self._finish()  # the body ran to the end of the connection, as announced
            return
        underlying = "the server closed the connection"
        if exc is not None:
            underlying = f"{type(exc).__name__}: {exc}"
        waiter.set_exception(
            ConnectionDroppedError(
                f"connection to {self._where()} dropped before the response was complete",
                underlying=underlying,
            )
        )

    # -- httptools callbacks ----------------------------------------------------------------

    def on_message_begin(self) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            # A second reply to one request: the connection cannot be trusted any more
            # (stopping the parser closes it).
            raise _Stop
        self._raw_headers = []

    def on_header(self, name: bytes, value: bytes) -> None:
        self._raw_headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200:
            return  # an interim reply (103 Early Hints...): the real one follows
        headers = self._headers = CIMultiDictProxy(
            CIMultiDict(
                [
                    (
                        name.decode("utf-8", "surrogateescape"),
                        value.decode("utf-8", "surrogateescape"),
                    )
                    for name, value in self._raw_headers
                ]
            )
        )
        limit = self.pool.max_response_size
        announced = content_length(headers)
        if announced is not None and announced > limit:
            assert self._request is not None
            self._fail(response_too_large(self._request.url, limit, content_length=announced))
            raise _Stop
        if self._head_only:
            # httptools cannot be told that a reply to HEAD has no body: finish it here, and
            # close the connection rather than guess where the next reply starts.
            self._finish()
            raise _Stop
        encoding = headers.get("content-encoding")
        if encoding is not None:
            self._start_decoding(encoding)
        chunked = headers.get("transfer-encoding", "").lower().rstrip().endswith("chunked")
        # Without a length, a body runs until the server closes (204 and 304 have none).
        self._close_delimited = announced is None and not chunked and status not in (204, 304)

    def on_body(self, chunk: bytes) -> None:
        self._size += len(chunk)
        limit = self.pool.max_response_size
        if self._size > limit:
            self._too_large()
        decoder = self._decoder
        if decoder is not None:
            room = limit - self._decoded
            try:
                chunk = decoder.decompress(chunk, room + 1)
            except zlib.error as exc:
                self._corrupt(exc)
            if len(chunk) > room or decoder.unconsumed_tail:
                self._too_large()
            self._decoded += len(chunk)
        self._body.append(chunk)

    def on_message_complete(self) -> None:
        if self.parser.get_status_code() < 200:
            return
        self.reusable = self.parser.should_keep_alive()
        self._finish()

    # -- the end of a reply -----------------------------------------------------------------

    def _finish(self) -> None:
        waiter = self._waiter
        headers = self._headers
        if waiter is None or waiter.done() or headers is None:
            return
        body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
        decoder = self._decoder
        if decoder is not None and self._size:  # (a 204 or 304 may name an encoding too)
            try:
                tail = decoder.flush()
            except zlib.error as exc:
                self._corrupt(exc)
            if not decoder.eof or decoder.unused_data:
                self._corrupt(None)
            if tail:
                if self._decoded + len(tail) > self.pool.max_response_size:
                    self._too_large()
                body += tail
        waiter.set_result(Response(self.parser.get_status_code(), headers, body))

    def _start_decoding(self, encoding: str) -> None:
        """A server may compress although we never ask it to: gzip and deflate are decoded,
        within ``max_response_size``; anything else is refused."""
        name = encoding.strip().lower()
        if name in ("", "identity"):
            return
        if name in ("gzip", "x-gzip"):
            self._decoder = zlib.decompressobj(_GZIP_WBITS)
        elif name == "deflate":
            self._decoder = _DeflateDecoder()
        else:
            self._fail(
                TransportError(
                    f"the reply from {self._where()} is compressed with {encoding!r}, which "
                    "this transport does not decode (it never asks for compression)"
                )
            )
            raise _Stop

    def _head_too_large(self) -> ResponseTooLargeError:
        if self._headers is None:
            what = f"did not end its headers within {MAX_HEAD_SIZE} bytes"
        else:
            what = (
                f"sent more than {MAX_HEAD_SIZE} bytes plus twice its body in framing "
                "(chunk sizes and extensions, trailers)"
            )
        return ResponseTooLargeError(
            f"the reply from {self._where()} {what}; it was cut off", limit=MAX_HEAD_SIZE
        )

    def _too_large(self) -> None:
        assert self._request is not None
        self._fail(response_too_large(self._request.url, self.pool.max_response_size))
        raise _Stop

    def _corrupt(self, exc: zlib.error | None) -> None:
        self._fail(
            TransportError(
                f"the compressed reply from {self._where()} is corrupt or incomplete",
                underlying=None if exc is None else f"zlib.error: {exc}",
            )
        )
        raise _Stop


class _DeflateDecoder:
    """``Content-Encoding: deflate``: a zlib stream as the standard says, or the raw deflate
    stream some servers send instead (told apart by the first byte)."""

    def __init__(self) -> None:
        self._inner: Any = None

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if self._inner is None:
            if not data:
                return b""
            zlib_header = data[0] & 0x0F == 8
            self._inner = zlib.decompressobj(zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS)
        out: bytes = self._inner.decompress(data, max_length)
        return out

    def flush(self) -> bytes:
        return self._inner.flush() if self._inner is not None else b""

    @property
    def unconsumed_tail(self) -> bytes:
        return self._inner.unconsumed_tail if self._inner is not None else b""

    @property
    def unused_data(self) -> bytes:
        return self._inner.unused_data if self._inner is not None else b""

    @property
    def eof(self) -> bool:
        return self._inner is not None and bool(self._inner.eof)


class HttptoolsTransport:
    """Sends requests over pooled HTTP/1.1 connections of its own (asyncio and httptools),
    with the rules of :class:`~xportcn_async.transports.AiohttpTransport`.

    - **Never sent, or may have reached the server.** Failing to connect (DNS, TCP, TLS
      handshake) raises :class:`~xportcn_async.errors.ConnectError`, or a
      :class:`~xportcn_async.errors.RequestTimeoutError`, with ``may_have_reached_server``
      false. Once the first byte of a request is written, every failure may have reached the
      server: a connection that drops raises
      :class:`~xportcn_async.errors.ConnectionDroppedError`. A pooled connection found closed
      before writing is discarded and a new one opened; a request is never resent.
    - **Timeouts.** ``Timeout.total`` covers one attempt, from connecting to the last byte of
      the body; ``Timeout.connect`` bounds opening the connection. Waiting for a slot under
      ``limit`` never counts.
    - **Connections.** ``limit`` (default 100) caps the requests in flight and the open
      connections; idle connections are kept per origin and reused once their reply was read
      whole, for up to ``keepalive_timeout`` seconds (default 15), unless the server said
      ``Connection: close`` or answered HTTP/1.0 without keep-alive.
    - **Redirects are not followed** (a 3xx is returned): one would forward the signature.
    - ``max_response_size`` (bytes, default 4 MiB): a ``Content-Length`` over it fails before
      the body is read; a body growing past it (decompressed or not) is cut off; both raise
      :class:`~xportcn_async.errors.ResponseTooLargeError`, as do a status line and headers
      over :data:`MAX_HEAD_SIZE` (64 KiB).
    - **Compression** is never asked for; a gzip or deflate reply is decoded anyway, another
      encoding refused with a :class:`~xportcn_async.errors.TransportError`.
    - **TLS**: ``ssl_context`` (default :func:`ssl.create_default_context`: the system's CAs,
      hostname checking) verifies the server; pass your own for a private CA.
    - **No proxies**: ``HTTP_PROXY``/``HTTPS_PROXY`` are ignored, as by aiohttp's default.
    - Error messages name the origin only, never the signed URL or the signature header, and
      chain no exception.
    - Bound to the event loop of its first request, like an aiohttp session. ``aclose()``
      closes every connection; a closed transport cannot be reused.
    """

    def __init__(
        self,
        *,
        limit: int | None = None,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        ssl_context: ssl.SSLContext | None = None,
        keepalive_timeout: float = DEFAULT_KEEPALIVE_TIMEOUT,
    ) -> None:
        if limit is not None and limit < 1:
            raise ValueError("limit must be at least 1")
        try:
            from httptools import HttpParserError, HttpParserUpgrade, HttpResponseParser
        except ImportError as exc:
            raise ConfigurationError(
                f"the httptools transport needs httptools: pip install 'xportcn-async[fast]' ({exc})"
            ) from None
        self._parser_class = HttpResponseParser
        self._parser_errors = (HttpParserError, HttpParserUpgrade)
        self.max_response_size = check_max_response_size(max_response_size)
        self._limit = limit or DEFAULT_LIMIT
        self._ssl_context = ssl_context
        self._keepalive_timeout = keepalive_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots = Slots(self._limit)
        self._read_buffer = bytearray(_READ_SIZE)
        self._read_view = memoryview(self._read_buffer)
        self._idle: dict[str, list[_Connection]] = {}  # by origin, most recently used last
        self._open = 0  # connections open or being opened: at most ``limit``
        self._live: set[_Connection] = set()  # connected, not yet reported lost
        self._all_lost: asyncio.Future[None] | None = None
        self._origins: dict[str, _Origin] = {}
        self._routes: dict[str, tuple[_Origin, str]] = {}  # by the URL before its query
        # Header name sets found valid, each with the default headers it leaves to us.
        self._header_names: dict[tuple[str, ...], str] = {}
        self._methods: set[str] = set()
        self._closed = False

    async def send(self, request: Request) -> Response:
        if self._closed:
            raise RuntimeError("HttptoolsTransport is closed")
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            if self._loop is not None:
                raise RuntimeError(
                    "an HttptoolsTransport is bound to the event loop it first ran in"
                )
            self._loop = loop
        slots = self._slots  # a slot under ``limit``, taken before the clock starts
        if not slots.take_nowait():
            await slots.take()
        try:
            return await self._exchange(request)
        finally:
            slots.give()

    async def _exchange(self, request: Request) -> Response:
        loop: Any = self._loop
        where, target = self._route(request.url)
        payload = self._encode(request, where, target)
        total = request.timeout.total
        deadline = None if total is None else loop.time() + total
        conn = self._pooled(where.key, loop)
        if conn is None:
            conn = await self._connect(where, request, deadline)
        waiter: asyncio.Future[Response] = loop.create_future()
        conn.begin(request, waiter)
        conn.transport.write(payload)  # type: ignore[union-attr]
        timer = None if deadline is None else loop.call_at(deadline, conn.expire)
        try:
            response = await waiter
        except BaseException:  # a failure (connection closed already) or a cancellation
            conn.close()
            raise
        finally:
            if timer is not None:
                timer.cancel()
        if conn.reusable and not conn.closed and not self._closed:
            conn.idle = True
            conn.idle_since = loop.time()
            self._idle.setdefault(where.key, []).append(conn)
        else:
            conn.close()
        return response

    # -- the request head -------------------------------------------------------------------

    def _route(self, url: str) -> tuple[_Origin, str]:
        """The origin to connect to and the request target (path and query) for ``url``.
        What comes before the query is read once (it is the same for every call of an
        operation); a query of plain characters (the signature's) is sent as it is."""
        base, mark, query = url.partition("?")
        route = self._routes.get(base)
        if route is None:
            route = self._new_route(base, url)
        where, path = route
        if not mark:
            return where, path
        if _PLAIN.fullmatch(query):
            return where, f"{path}?{query}"
        return where, _quoted_target(url)

    def _new_route(self, base: str, url: str) -> tuple[_Origin, str]:
        start = base.find("://") + 3
        end = len(base)
        for mark in "/#":
            found = base.find(mark, start, end)
            if found != -1:
                end = found
        key = base[:end]
        where = self._origins.get(key)
        if where is None:
            where = self._origin(key, url)
        path = base[end:].partition("#")[0] or "/"
        if not _PLAIN.fullmatch(path):
            path = _quoted_target(base)
        if len(self._routes) >= _MAX_CACHED:
            self._routes.clear()
        route = self._routes[base] = (where, path)
        return route

    def _origin(self, key: str, url: str) -> _Origin:
        try:
            parts = urlsplit(key)
            port = parts.port
        except ValueError:
            parts = None
        scheme = parts.scheme.lower() if parts else ""
        if parts is None or scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise TransportError(
                f"cannot send to {origin(url)}: not an http:// or https:// URL with a host",
                may_have_reached_server=False,
            )
        if parts.username is not None or parts.password is not None:
            raise TransportError(
                "cannot send to a URL with credentials in it (user:password@)",
                may_have_reached_server=False,
            )
        host = parts.hostname
        if not host.isascii():
            host = host.encode("idna").decode("ascii")
        port = port or _DEFAULT_PORTS[scheme]
        host_header = f"[{host}]" if ":" in host else host
        if port != _DEFAULT_PORTS[scheme]:
            host_header = f"{host_header}:{port}"
        if len(self._origins) >= _MAX_CACHED:
            self._origins.clear()
        where = self._origins[key] = _Origin(key, host, port, scheme == "https", host_header)
        return where

    def _encode(self, request: Request, where: _Origin, target: str) -> bytes:
        """The request as the bytes to write: head and body in one."""
        headers = request.headers
        names = tuple(headers)
        defaults = self._header_names.get(names)
        if defaults is None:
            defaults = self._check_names(names)
        method = request.method
        if method not in self._methods:
            if not _TOKEN.fullmatch(method):
                raise ValueError(f"not an HTTP method: {method!r}")
            self._methods.add(method)
        body = request.body
        lines = "".join([f"{name}: {value}\r\n" for name, value in headers.items()])
        head = (
            f"{method} {target} HTTP/1.1\r\nHost: {where.host_header}\r\n{defaults}"
            f"Content-Length: {len(body)}\r\n{lines}\r\n"
        )
        lines_expected = len(headers) + 4 + (defaults != "")
        if head.count("\n") != lines_expected or head.count("\r") != lines_expected:
            # A value with a line break would let it add headers (or a request) of its own.
            raise ValueError("a request header value holds a line break (CR or LF)")
        return head.encode() + body

    def _check_names(self, names: tuple[str, ...]) -> str:
        """Refuses a header name that is not one or that frames the message; returns the
        default headers the names leave to us (the User-Agent, as the aiohttp transport's,
        unless one is given)."""
        for name in names:
            if not _TOKEN.fullmatch(name):
                raise ValueError(f"not an HTTP header name: {name!r}")
            if name.lower() in _FRAMING_HEADERS:
                raise ValueError(f"the transport writes {name!r} itself; it cannot be given")
        given = {name.lower() for name in names}
        defaults = "" if "user-agent" in given else _USER_AGENT
        if len(self._header_names) >= _MAX_CACHED:
            self._header_names.clear()
        self._header_names[names] = defaults
        return defaults

    # -- connections ------------------------------------------------------------------------

    def _pooled(self, key: str, loop: asyncio.AbstractEventLoop) -> _Connection | None:
        """An idle connection to ``key`` still fit for a request, or ``None``. Those the
        server closed meanwhile, or idle too long, are discarded: nothing was written to
        them yet."""
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            conn.idle = False
            # (One the server closed leaves the pool when the loop reports it; until then,
            # its transport is closing.)
            if (
                conn.transport is None
                or conn.transport.is_closing()
                or loop.time() - conn.idle_since > self._keepalive_timeout
            ):
                conn.close()
                continue
            return conn
        return None

    async def _connect(
        self, where: _Origin, request: Request, deadline: float | None
    ) -> _Connection:
        """A new connection, within ``Timeout.connect`` and what remains of the total.
        Every failure here happens before anything was written: never sent."""
        loop: Any = self._loop
        if self._closed:  # (a request that waited for a slot as the transport closed)
            raise self._closed_error()
        if self._open >= self._limit:
            self._evict_idle()
        self._open += 1
        wait = request.timeout.connect
        if deadline is not None:
            left = max(deadline - loop.time(), 0.0)
            wait = left if wait is None else min(wait, left)
        conn = _Connection(self, where)
        tls: ssl.SSLContext | None = None
        if where.tls:
            tls = self._ssl_context
            if tls is None:
                tls = self._ssl_context = ssl.create_default_context()
        opening = loop.create_task(
            loop.create_connection(
                lambda: conn,
                where.host,
                where.port,
                ssl=tls,
                server_hostname=where.host if tls is not None else None,
            )
        )
        try:
            done, _ = await asyncio.wait((opening,), timeout=wait)
        except asyncio.CancelledError:
            self._abandon(conn, opening)
            raise
        if not done:
            self._abandon(conn, opening)
            raise RequestTimeoutError(
                f"timed out connecting to {origin(request.url)}",
                may_have_reached_server=False,
                underlying=f"no connection within {wait:g} s",
            )
        failure = opening.exception()
        if failure is not None:
            self._abandon(conn, opening)
            raise ConnectError(
                f"cannot connect to {origin(request.url)}",
                underlying=f"{type(failure).__name__}: {redact(str(failure), request)}",
            )
        if conn.closed:
            # Lost between opening and this task resuming (a server closing at once): it
            # already left the count, and would take a write that no reply ever settles.
            raise ConnectError(
                f"cannot connect to {origin(request.url)}",
                underlying="the server closed the connection as it opened",
            )
        if self._closed:  # closed while connecting: aclose() did not see this one
            conn.close()
            raise self._closed_error()
        self._live.add(conn)
        return conn

    @staticmethod
    def _closed_error() -> TransportError:
        return TransportError(
            "the transport was closed before this request was sent",
            may_have_reached_server=False,
        )

    def _abandon(self, conn: _Connection, opening: asyncio.Task[Any]) -> None:
        """Gives up a connection being opened: if it opens after all, it is closed."""
        conn.closed = True
        self._open -= 1
        if not opening.done():
            opening.cancel()
        opening.add_done_callback(_close_if_opened)

    def _evict_idle(self) -> None:
        """Closes the longest idle connection (of any origin) to make room under ``limit``:
        one exists, since every request in flight holds one slot and at most one
        connection."""
        oldest: _Connection | None = None
        for idle in self._idle.values():
            if idle and (oldest is None or idle[0].idle_since < oldest.idle_since):
                oldest = idle[0]
        if oldest is not None:
            oldest.close()

    def _forget(self, conn: _Connection) -> None:
        """``conn`` is closed: it no longer counts, and leaves the pool."""
        self._open -= 1
        if conn.idle:
            conn.idle = False
            self._idle[conn.origin.key].remove(conn)

    def _lost(self, conn: _Connection) -> None:
        self._live.discard(conn)
        if not self._live and self._all_lost is not None and not self._all_lost.done():
            self._all_lost.set_result(None)

    async def aclose(self) -> None:
        """Closes every connection, idle or in use (a request in flight then fails with
        :class:`~xportcn_async.errors.ConnectionDroppedError`), and waits until they are."""
        self._closed = True
        if not self._live:
            return
        self._all_lost = asyncio.get_running_loop().create_future()
        for conn in list(self._live):
            conn.close()
        # Closed sockets report it on the loop's next turns; a bound, in case one never does.
        await asyncio.wait((self._all_lost,), timeout=5)


def _quoted_target(url: str) -> str:
    """The path and query of ``url`` quoted as aiohttp quotes them (with yarl)."""
    target = yarl.URL(url).raw_path_qs or "/"
    if not _PLAIN.fullmatch(target):
        raise TransportError(
            f"cannot send to {origin(url)}: the URL's path or query cannot be sent",
            may_have_reached_server=False,
        )
    return target


def _close_if_opened(opening: asyncio.Task[Any]) -> None:
    if not opening.cancelled() and opening.exception() is None:
        transport, _ = opening.result()
        transport.abort()
