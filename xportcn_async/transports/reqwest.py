"""The fast transport: pyreqwest (Rust's reqwest and hyper), from ``xportcn-async[fast]``.

It costs about half of aiohttp's client CPU per request. It needs Python 3.11 or newer and
``pyreqwest>=0.15,<0.16``: the way its failures are told apart below depends on that minor
version, so the extra pins it.

pyreqwest is imported when a ``ReqwestTransport`` is created, not with this module, so that
the package imports without it (on Python 3.10, or without the extra); creating one without
it raises :class:`~xportcn_async.errors.ConfigurationError`.
"""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from typing import TYPE_CHECKING

from ..errors import (
    ConfigurationError,
    ConnectError,
    ConnectionDroppedError,
    RequestTimeoutError,
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
    from pyreqwest.client import Client, ClientBuilder
    from pyreqwest.response import Response as ReqwestResponse

DEFAULT_LIMIT = 100
_SETTLE_SECONDS = 0.05  # see ReqwestTransport.aclose

# The one sign that a request was never sent. pyreqwest's exception classes do not follow the
# phase: a server that closes the connection after reading the request raises its
# ``ConnectError``, and a reply that never comes raises its ``ConnectTimeoutError``. Only this
# cause, hyper's "client error (Connect)" (DNS, TCP connect, TLS handshake, proxy tunnel),
# says that no byte of the request left. Anything without it may have reached the server.
NEVER_SENT_CAUSE = "client error (Connect)"
# hyper's causes for a connection that closed or broke mid-exchange. The class varies with
# the moment (``ConnectError``, ``ReadError``, ``BodyDecodeError``, a bare ``RequestError``),
# so the causes decide; they only choose the error's kind, never "may have reached".
DROPPED_CAUSES = frozenset(
    {
        "connection closed before message completed",
        "connection error",
        "error reading a body from connection",
    }
)


class ReqwestTransport:
    """Sends requests through pyreqwest, with the rules of :class:`AiohttpTransport`.

    - A request that was never sent (no connection) raises
      :class:`~xportcn_async.errors.ConnectError` (or a connect
      :class:`~xportcn_async.errors.RequestTimeoutError`) with ``may_have_reached_server``
      false; every other failure may have reached the server.
    - ``limit`` caps concurrent requests (default 100), and so the connections in use.
      Requests wait for a slot *before* their timeout starts: waiting never counts.
    - Timeouts: ``Timeout.total`` covers one attempt, from connecting to the last byte of the
      body; ``Timeout.connect`` bounds opening the connection. reqwest sets the connect
      timeout per client, not per request, so each distinct ``connect`` value gets its own
      client (one in practice).
    - Redirects are not followed: one would forward the signature to another URL.
    - ``max_response_size`` (bytes, default 4 MiB): a ``Content-Length`` over it fails
      before the body is read; a body growing past it is cut off; both raise
      :class:`~xportcn_async.errors.ResponseTooLargeError`.
    - Proxies: by default none, whatever ``HTTPS_PROXY`` says, as with aiohttp's default
      (``trust_env=False``). ``trust_env=True`` uses reqwest's reading of ``HTTP_PROXY``,
      ``HTTPS_PROXY``, ``ALL_PROXY`` and ``NO_PROXY``.
    - TLS is rustls with the bundled web PKI roots, not a Python ``ssl.SSLContext``.
    - Not fork-safe: pyreqwest's runtime thread does not survive ``fork()``. Create the
      client in the process that uses it (after a pre-forking server has forked). A
      transport that sent requests before a fork raises ``RuntimeError`` in the child instead
      of hanging, and pyreqwest refuses to build any client in a child of a process where it
      already ran.
    - Error messages and ``underlying`` summaries never hold the signature: the URL's ``sign``
      and the ``signature`` header are masked, and pyreqwest's exception is not chained.
    """

    def __init__(
        self,
        *,
        limit: int | None = None,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        trust_env: bool = False,
    ) -> None:
        if limit is not None and limit < 1:
            raise ValueError("limit must be at least 1")
        try:
            from pyreqwest.client import ClientBuilder
            from pyreqwest.exceptions import PyreqwestError
        except ImportError as exc:
            raise ConfigurationError(
                "the reqwest transport needs pyreqwest (Python 3.11+): "
                f"pip install 'xportcn-async[fast]' ({exc})"
            ) from None
        self._builder: type[ClientBuilder] = ClientBuilder
        # What a failed request raises, besides ValueError (a URL or header it refuses).
        self._failures = (PyreqwestError, ValueError)
        self.max_response_size = check_max_response_size(max_response_size)
        self._limit = limit or DEFAULT_LIMIT
        self._trust_env = trust_env
        self._slots: asyncio.Semaphore | None = None
        self._clients: dict[float | None, Client] = {}
        self._totals: dict[float, timedelta] = {}
        self._pid: int | None = None  # the process that built the clients
        self._closed = False

    def _client(self, connect: float | None) -> Client:
        client = self._clients.get(connect)
        if client is None:
            self._pid = os.getpid()
            builder = (
                self._builder()
                .follow_redirects(False)
                .referer(False)
                .max_connections(None)  # our slots cap requests, outside the timeout
                .pool_max_idle_per_host(self._limit)
            )
            if not self._trust_env:
                builder = builder.no_proxy()
            if connect is not None:
                builder = builder.connect_timeout(timedelta(seconds=connect))
            client = self._clients[connect] = builder.build()
        return client

    async def send(self, request: Request) -> Response:
        if self._closed:
            raise RuntimeError("ReqwestTransport is closed")
        if self._pid is not None and self._pid != os.getpid():
            # Its clients' runtime thread was left behind by fork(): a request would hang.
            raise RuntimeError(
                "this ReqwestTransport sent requests before fork(); pyreqwest cannot run in "
                "the child: create the client and its transport in the process that uses them"
            )
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._limit)
        async with self._slots:
            return await self._send(request)

    async def _send(self, request: Request) -> Response:
        total = request.timeout.total
        try:
            builder = (
                self._client(request.timeout.connect)
                .request(request.method, request.url)
                .headers(request.headers)
                .body_bytes(request.body)
                # Without this, entering the response reads up to 64 KiB of the body before
                # its headers can be checked: an oversized Content-Length must fail first.
                .streamed_read_buffer_limit(0)
            )
            if total is not None:
                delta = self._totals.get(total)
                if delta is None:
                    delta = self._totals[total] = timedelta(seconds=total)
                builder = builder.timeout(delta)
            async with builder.build_streamed() as resp:
                # Raised from inside the ``try`` but not from an ``except``: no ``__context__``.
                body = await self._read(resp, request)
                return Response(resp.status, resp.headers, body)  # case-insensitive
        except self._failures as exc:
            error = _error(exc, request)
        # Raised here, outside the ``except`` block, so that it has no ``__context__``:
        # pyreqwest's messages hold the full URL, whose query holds the signature.
        raise error

    async def _read(self, resp: ReqwestResponse, request: Request) -> bytes:
        """The body, never more than ``max_response_size`` bytes of it. Leaving it unread
        closes the connection instead of returning it to the pool."""
        limit = self.max_response_size
        announced = content_length(resp.headers)
        if announced is not None and announced > limit:
            raise response_too_large(request.url, limit, content_length=announced)
        # read(n) returns once it has n bytes or the body ended: one call for a whole reply.
        data = await resp.body_reader.read(limit + 1)
        if data is None:
            return b""
        if len(data) > limit:
            raise response_too_large(request.url, limit)
        return data.to_bytes()

    async def aclose(self) -> None:
        self._closed = True
        clients, self._clients = list(self._clients.values()), {}
        if self._pid == os.getpid():  # in a forked child, closing would hang
            for client in clients:
                await client.close()
            if clients:
                # pyreqwest 0.15's runtime thread goes on dropping the closed clients'
                # connections for a few milliseconds after ``close()`` returns, and it takes the
                # GIL to do so: a program that exits at once (``asyncio.run`` returning, then
                # interpreter shutdown) was aborted about one time in three with "Fatal Python
                # error: PyGILState_Release ... finalizing". Measured: 5 ms of grace stopped it;
                # this waits ten times that, once per transport.
                await asyncio.sleep(_SETTLE_SECONDS)


def _error(exc: Exception, request: Request) -> TransportError:
    """The SDK error for a pyreqwest failure, decided on the cause chain (see
    :data:`NEVER_SENT_CAUSE`), with a redacted summary of it."""
    from pyreqwest.exceptions import DetailedPyreqwestError, NetworkError, PyreqwestError
    from pyreqwest.exceptions import RequestTimeoutError as ReqwestTimeoutError

    causes: list[str] = []
    if isinstance(exc, DetailedPyreqwestError):
        causes = [cause["message"] for cause in exc.details.get("causes") or ()]
    message = exc.message if isinstance(exc, PyreqwestError) else str(exc)
    # "error sending request for url (...)" repeats the URL and says nothing more.
    said = [message, *(c for c in causes if not c.startswith("error sending request for url"))]
    underlying = redact(f"{type(exc).__name__}: {': '.join(said)}", request)
    where = origin(request.url)
    never_sent = NEVER_SENT_CAUSE in causes
    if isinstance(exc, ReqwestTimeoutError):
        if never_sent:
            return RequestTimeoutError(
                f"timed out connecting to {where}",
                may_have_reached_server=False,
                underlying=underlying,
            )
        return RequestTimeoutError(
            f"no complete response from {where} within {request.timeout.total} s",
            underlying=underlying,
        )
    if never_sent:
        return ConnectError(f"cannot connect to {where}", underlying=underlying)
    if isinstance(exc, NetworkError) or DROPPED_CAUSES.intersection(causes):
        return ConnectionDroppedError(
            f"connection to {where} dropped before the response was complete",
            underlying=underlying,
        )
    return TransportError(f"failed talking to {where}", underlying=underlying)
