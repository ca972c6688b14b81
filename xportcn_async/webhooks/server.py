"""An HTTP server for the receiver that times out slow and idle clients.

aiohttp's own server never times out a client that sends half a request line or half its
headers, and keeps an idle connection open until its first request ends: a few thousand such
connections (a slowloris attack, or a broken proxy) hold a task each, for ever.
:class:`WebhookServer` serves any aiohttp app and closes a connection

- whose request headers are not all in ``header_timeout`` seconds after the request's first
  byte, or
- that has no request in progress for ``idle_timeout`` seconds (before its first request or
  between keep-alive requests).

A slow *body* is the receiver's business: :class:`~xportcn_async.webhooks.WebhookReceiver`
answers 408 and closes the connection when a body is not in after ``body_timeout`` seconds,
in any server. Time spent in your handlers is never limited here.

::

    async with WebhookServer(create_webhook_app(on_message), port=8080) as server:
        print("listening on", server.url)
        await asyncio.Event().wait()
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType

from aiohttp import web

logger = logging.getLogger("xportcn_async.webhooks")

DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_IDLE_TIMEOUT = 30.0


class _Connection(asyncio.Protocol):
    """One client connection: forwards everything to aiohttp's protocol, and closes the
    transport when a request's headers, or the next request, take too long."""

    def __init__(self, server: WebhookServer, inner: asyncio.Protocol) -> None:
        self._server = server
        self._inner = inner
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._handling = False
        self._receiving = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._server._connections[transport] = self
        self._wait("idle", self._server.idle_timeout)
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if not self._handling and not self._receiving:
            self._receiving = True  # a request begins: its headers have header_timeout
            self._wait("headers", self._server.header_timeout)
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        if self._transport is not None:
            self._server._connections.pop(self._transport, None)
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def request_started(self) -> None:
        self._handling = True
        self._receiving = False
        self._cancel_timer()

    def request_finished(self) -> None:
        self._handling = False
        self._wait("idle", self._server.idle_timeout)

    def _wait(self, what: str, timeout: float) -> None:
        self._cancel_timer()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(timeout, self._expire, what, timeout)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self, what: str, timeout: float) -> None:
        self._timer = None
        if self._transport is not None and not self._transport.is_closing():
            self._server.timed_out += 1
            logger.info(
                "closing a webhook connection: %s",
                f"no request for {timeout:g} s"
                if what == "idle"
                else f"request headers not received in {timeout:g} s",
            )
            self._transport.close()


class WebhookServer:
    """Serves ``app`` on ``host:port`` (127.0.0.1 and an ephemeral port by default) with the
    header and idle timeouts described in this module. Use it with ``async with``, or
    :meth:`start` and :meth:`aclose`.

    The app must not have been started elsewhere: a middleware that tells the server when a
    request's headers are in is added to it. ``shutdown_timeout`` is how long in-flight
    requests get when the server stops.
    """

    def __init__(
        self,
        app: web.Application,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        header_timeout: float = DEFAULT_HEADER_TIMEOUT,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        shutdown_timeout: float = 10.0,
    ) -> None:
        for name, value in (("header_timeout", header_timeout), ("idle_timeout", idle_timeout)):
            if not value > 0:
                raise ValueError(f"{name} must be positive, got {value}")
        self.app = app
        self.host = host
        self.header_timeout = header_timeout
        self.idle_timeout = idle_timeout
        self.timed_out = 0
        """Connections closed by a timeout so far."""
        self._port = port
        self._shutdown_timeout = shutdown_timeout
        self._connections: dict[asyncio.BaseTransport, _Connection] = {}
        self._runner: web.AppRunner | None = None
        self._server: asyncio.Server | None = None
        app.middlewares.append(self._track_requests)

    @property
    def connections(self) -> int:
        """How many client connections are open."""
        return len(self._connections)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the server is not started")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def url(self) -> str:
        """The server's base URL, such as ``http://127.0.0.1:8080``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        runner = web.AppRunner(
            self.app,
            access_log=None,
            # aiohttp's own keep-alive timer is only a backstop: ours closes first, so that
            # every connection closed for idleness is counted in ``timed_out`` (aiohttp 3.14
            # also applies its timer before a request's headers are in).
            keepalive_timeout=self.idle_timeout + 1.0,
            shutdown_timeout=self._shutdown_timeout,
        )
        await runner.setup()
        self._runner = runner
        handler_factory = runner.server
        assert handler_factory is not None
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(
                lambda: _Connection(self, handler_factory()), self.host, self._port
            )
        except BaseException:
            await runner.cleanup()
            raise

    async def aclose(self) -> None:
        """Stop listening, give in-flight requests ``shutdown_timeout`` seconds, close every
        connection and run the app's cleanup."""
        if self._server is not None:
            self._server.close()
        if self._runner is not None:
            await self._runner.cleanup()  # shuts down aiohttp's connections, runs on_cleanup
        for transport in list(self._connections):
            transport.close()
        if self._server is not None:
            await self._server.wait_closed()
        self._server = self._runner = None

    async def __aenter__(self) -> WebhookServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @web.middleware
    async def _track_requests(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        connection = self._connections.get(request.transport) if request.transport else None
        if connection is not None:
            connection.request_started()
        try:
            return await handler(request)
        finally:
            if connection is not None:
                connection.request_finished()


__all__ = ["DEFAULT_HEADER_TIMEOUT", "DEFAULT_IDLE_TIMEOUT", "WebhookServer"]
