"""The default transport: one pooled, lazily created :class:`aiohttp.ClientSession`."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Literal

import aiohttp
import yarl

from .._slots import Slots
from .._version import __version__
from ..errors import ConnectError, ConnectionDroppedError, RequestTimeoutError, TransportError
from ._base import (
    DEFAULT_MAX_RESPONSE_SIZE,
    Request,
    Response,
    Timeout,
    check_max_response_size,
    origin,
    redact,
    response_too_large,
)

DEFAULT_LIMIT = 100

# A query of plain ``name=value`` pairs, letters and digits only (the signature's), which
# quoting leaves as it is; and how many URLs before the query are remembered.
_PLAIN_QUERY = re.compile(r"[A-Za-z0-9]+=[A-Za-z0-9]*(?:&[A-Za-z0-9]+=[A-Za-z0-9]*)*")
_MAX_BASES = 256

# aiohttp >= 3.10 tells a connect timeout (nothing sent) from a read timeout.
_CONNECT_TIMEOUT: tuple[type[BaseException], ...] = tuple(
    t for t in (getattr(aiohttp, "ConnectionTimeoutError", None),) if t is not None
)


class AiohttpTransport:
    """Sends requests through one pooled :class:`aiohttp.ClientSession`.

    - The session is created on first use (so the transport can be built outside a running
      event loop) and closed by :meth:`aclose`. A ``session`` you pass in is used as it is and
      never closed by us.
    - ``limit`` caps concurrent requests (default 100; our own session's connection pool has
      that size). Requests wait for a slot *before* their timeout starts, so time spent
      queueing never counts against a request. With a ``session`` of yours, the slots follow
      its connector's ``limit`` and ``limit_per_host`` (0 means unlimited), capped by
      ``limit`` when you give one, so that its pool never makes a request wait on the clock.
    - ``trace_configs`` are passed to the session, for aiohttp's tracing hooks.
    - Redirects are not followed: one would forward the signature to another URL.
    - ``max_response_size`` (bytes, default :data:`DEFAULT_MAX_RESPONSE_SIZE`, 4 MiB) bounds
      the body as it is decoded: a ``Content-Length`` over it fails before anything is read,
      and a body that grows past it is cut off; both raise
      :class:`~xportcn_async.errors.ResponseTooLargeError`.
    """

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None = None,
        limit: int | None = None,
        trace_configs: Sequence[aiohttp.TraceConfig] = (),
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
    ) -> None:
        if limit is not None and limit < 1:
            raise ValueError("limit must be at least 1")
        self.max_response_size = check_max_response_size(max_response_size)
        self._session = session
        self._owns_session = session is None
        self._limit = limit or DEFAULT_LIMIT
        self._slot_count = _slots_for(session, limit) if session is not None else self._limit
        self._trace_configs = list(trace_configs)
        self._slots = Slots(self._slot_count) if self._slot_count else None
        self._timeouts: dict[Timeout, aiohttp.ClientTimeout] = {}
        # The part before the query, as aiohttp reads it, or False when aiohttp would quote
        # or normalise it (the URL is then left to aiohttp as a string).
        self._bases: dict[str, yarl.URL | Literal[False]] = {}
        self._closed = False

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            _keep_read_buffers_off_mmap()
            connector = aiohttp.TCPConnector(limit=self._limit, limit_per_host=0)
            # Our own User-Agent rather than none: skipping aiohttp's banner with
            # ``skip_auto_headers`` sends aiohttp down a slower path for every request.
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": f"xportcn-async/{__version__}"},
                trace_configs=self._trace_configs or None,
                auto_decompress=True,
            )
        return self._session

    async def send(self, request: Request) -> Response:
        if self._closed:
            raise RuntimeError("AiohttpTransport is closed")
        slots = self._slots
        if slots is not None and not slots.take_nowait():
            await slots.take()  # before the timeout starts: queueing never counts
        try:
            session = self._get_session()
            timeout = self._timeouts.get(request.timeout)
            if timeout is None:
                timeout = self._timeouts[request.timeout] = aiohttp.ClientTimeout(
                    total=request.timeout.total, sock_connect=request.timeout.connect
                )
            try:
                resp = await session.request(
                    request.method,
                    self._request_url(request.url),
                    headers=request.headers,
                    data=request.body,
                    timeout=timeout,
                    allow_redirects=False,
                )
                try:
                    body = await self._read(resp, request)
                    return Response(resp.status, resp.headers, body)  # case-insensitive
                finally:
                    # What ``async with`` would do, without its four coroutine calls: its exit
                    # releases the response too (a connection with unread data is closed,
                    # not pooled), then only waits for the request writer, which release()
                    # cancels if it has not finished.
                    resp.release()
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                error = _error(exc, request)
        finally:
            if slots is not None:
                slots.give()
        # Raised here, outside the ``except`` block, so that it has no ``__context__``:
        # aiohttp's messages may hold the full URL, whose query holds the signature.
        raise error

    def _request_url(self, url: str) -> yarl.URL | str:
        """``url`` as aiohttp would read it, without its parsing and quoting pass when there
        is nothing to quote: the part before the query is parsed once (it is the same for
        every call of an operation) and the query, the signature's digits and letters, is
        set on it. Anything else is left to aiohttp as the string it is."""
        base, mark, query = url.partition("?")
        parsed = self._bases.get(base)
        if parsed is None:
            if len(self._bases) >= _MAX_BASES:
                self._bases.clear()
            as_read = yarl.URL(base)
            plain = str(as_read) == base and "#" not in base  # (a "?" after "#" is no query)
            parsed = self._bases[base] = as_read if plain else False
        if parsed is False:
            return url
        if not mark:
            return parsed
        if _PLAIN_QUERY.fullmatch(query):
            return parsed.with_query(query)  # (quoting a plain query changes nothing)
        return url

    async def _read(self, resp: aiohttp.ClientResponse, request: Request) -> bytes:
        """The body, never more than ``max_response_size`` bytes of it. Raised from here,
        outside any ``except`` block, the error has no ``__context__``; leaving the response
        unread closes its connection instead of returning it to the pool."""
        limit = self.max_response_size
        announced = resp.content_length
        if announced is not None and announced > limit:
            raise response_too_large(request.url, limit, content_length=announced)
        content = resp.content
        if content.is_eof():
            # All of it has arrived (a small reply usually comes with its headers): take
            # it from the buffer at once. It is already in memory, so this holds no more.
            body = content.read_nowait()
            if len(body) > limit:
                raise response_too_large(request.url, limit)
            return body
        chunks: list[bytes] = []
        size = 0
        while chunk := await content.readany():
            size += len(chunk)
            if size > limit:
                raise response_too_large(request.url, limit)
            chunks.append(chunk)
        return b"".join(chunks)

    async def aclose(self) -> None:
        self._closed = True
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session = None


_read_buffers_kept_off_mmap = False


def _keep_read_buffers_off_mmap() -> None:
    """Once per process: allocate and free one 1 MiB block.

    asyncio reads each socket into a fresh 256 KiB buffer, shrunk to what arrived. While
    glibc's malloc is at its default mmap threshold (128 KiB), each such buffer is an mmap,
    an mremap and a munmap: about 15 µs of kernel time per response (measured: 20,000
    bookings, 20,000 of each call; none after this). Freeing one block above the threshold
    raises it for the process, as glibc does after any large free, so those buffers come
    from the heap instead. Elsewhere this is one short-lived allocation and nothing else."""
    global _read_buffers_kept_off_mmap
    if not _read_buffers_kept_off_mmap:
        _read_buffers_kept_off_mmap = True
        block = bytes(1 << 20)
        del block


def _error(exc: BaseException, request: Request) -> TransportError:
    """The SDK error for an aiohttp failure, with a redacted summary of it (never the
    exception itself, which may hold the signed URL)."""
    where = origin(request.url)
    underlying = f"{type(exc).__name__}: {redact(str(exc), request)}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return ConnectError(f"cannot connect to {where}", underlying=underlying)
    if isinstance(exc, aiohttp.ServerTimeoutError):
        # A sock_connect timeout happens before anything is sent.
        return RequestTimeoutError(
            f"timed out talking to {where}",
            may_have_reached_server=not isinstance(exc, _CONNECT_TIMEOUT),
            underlying=underlying,
        )
    if isinstance(exc, asyncio.TimeoutError):
        return RequestTimeoutError(
            f"no complete response from {where} within {request.timeout.total} s",
            underlying=underlying,
        )
    if isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError)):
        return ConnectionDroppedError(
            f"connection to {where} dropped before the response was complete",
            underlying=underlying,
        )
    return TransportError(f"failed talking to {where}", underlying=underlying)


def _slots_for(session: aiohttp.ClientSession, limit: int | None) -> int:
    """How many requests may run at once through a user's ``session`` (0: no limit): its
    connector's pool size, per host too (every request of a client goes to one host)."""
    connector = session.connector
    caps = [limit or 0]
    if connector is not None:
        caps += [connector.limit, connector.limit_per_host]
    caps = [c for c in caps if c > 0]
    return min(caps) if caps else 0
