"""The sandbox: the whole server logic as one coroutine, :meth:`Sandbox.handle`
(``Request -> Response``), used in-process by ``InMemoryTransport(sandbox.handle)`` or
behind the aiohttp application :attr:`Sandbox.app`.

One request: route by path -> count it -> draw a fault -> latency -> (503/429 faults stop
here) -> check the signature -> decode the body -> run the operation's handler -> wrap the
result in the endpoint's envelope -> (500/malformed faults replace the reply; drop and slow
faults are carried out by the caller: :meth:`handle` or the aiohttp view).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aiohttp import web

from ..credentials import Credentials
from ..endpoints import ENDPOINTS
from ..errors import ConnectionDroppedError, RequestTimeoutError
from ..signing import TimestampUnit
from ..transports import Request, Response
from . import replies
from .auth import Authenticator
from .body import decode_body
from .faults import FaultKind, Faults, Latency
from .registry import HANDLERS, Reply, Route, SandboxError
from .state import SandboxState, SandboxStats
from .web import make_app

__all__ = ["API_PREFIX", "DEMO_CREDENTIALS", "Sandbox"]

logger = logging.getLogger("xportcn_async.sandbox")

DEMO_CREDENTIALS = Credentials("sandbox-demo-key", "sandbox-demo-secret", "sandbox-user-0001")
"""The sandbox's own credentials, used when none are given. Not a real account."""

API_PREFIX = "/api"
"""The sandbox serves ``/api`` + each endpoint path, like the production base URL."""

_UNKNOWN = "(unknown path)"
_URL_CACHE_SIZE = 4096


class Sandbox:
    """A local stand-in for the Xportcn API, with state, signature checks, latency and
    faults.

    - ``credentials``: the one account it accepts (default :data:`DEMO_CREDENTIALS`).
    - ``faults`` / ``latency``: see :mod:`xportcn_async.sandbox.faults`.
    - ``seed``: seeds the RNGs (ids, fault draws, latency), for reproducible runs.
    - ``timestamp_unit``: ``"s"`` to accept timestamps in seconds instead of milliseconds.
    - ``clock``: seconds since the epoch, for the timestamp window (tests).
    - ``nonce_cache_size``: a ``nonce-str`` seen among the last this many requests is
      rejected as a replay (401); 0 turns the check off.
    """

    def __init__(
        self,
        credentials: Credentials | None = None,
        *,
        faults: Faults | None = None,
        latency: Latency | None = None,
        seed: int = 0,
        timestamp_unit: TimestampUnit = "ms",
        clock: Callable[[], float] = time.time,
        nonce_cache_size: int = 65536,
    ) -> None:
        self.credentials = credentials if credentials is not None else DEMO_CREDENTIALS
        self.faults = faults
        self.latency = latency
        self.seed = seed
        self.state = SandboxState(seed=seed, clock=clock)
        self._auth = Authenticator(
            self.credentials,
            timestamp_unit=timestamp_unit,
            clock=clock,
            nonce_cache_size=nonce_cache_size,
        )
        self._faults = faults if faults is not None and faults.total > 0 else None
        self._latency = latency if latency is not None and not latency.is_zero else None
        self._fault_rng = random.Random(f"faults:{seed}")
        self._latency_rng = random.Random(f"latency:{seed}")
        self.routes: dict[str, Route] = {
            API_PREFIX + e.path: Route(e, HANDLERS[e.name])
            for e in ENDPOINTS.values()
            if e.name in HANDLERS
        }
        """``/api/<endpoint path>`` -> route, for every operation with a handler."""
        self._url_routes: dict[str, Route | None] = {}
        self._sleepers: set[asyncio.Future[None]] = set()
        self._released = False
        self._app: web.Application | None = None

    def __repr__(self) -> str:
        return (
            f"Sandbox(access_key={self.credentials.access_key!r}, faults={self.faults!r}, "
            f"latency={self.latency!r}, seed={self.seed!r})"
        )

    # -- introspection ---------------------------------------------------------------------

    @property
    def stats(self) -> SandboxStats:
        """A snapshot of the counters."""
        return self.state.snapshot()

    def stats_dict(self) -> dict[str, Any]:
        """:attr:`stats` as JSON-ready data (what ``GET /_sandbox/stats`` answers)."""
        return self.state.snapshot().as_dict()

    @property
    def app(self) -> web.Application:
        """The aiohttp application: ``POST /api/<path>`` per operation, and
        ``GET /_sandbox/stats``. Run it with :func:`~xportcn_async.sandbox.serve`."""
        if self._app is None:
            self._app = make_app(self)
        return self._app

    # -- the in-process entry point --------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        """Answer one request without sockets (``InMemoryTransport(sandbox.handle)``).

        A ``drop_after`` fault raises :class:`~xportcn_async.errors.ConnectionDroppedError`
        (after processing). A ``slow`` fault holds the reply; when that outlasts
        ``request.timeout.total`` it raises
        :class:`~xportcn_async.errors.RequestTimeoutError` at the timeout, as a client would.
        """
        started = time.monotonic()
        url, _, query_string = request.url.partition("?")
        route = self._route_for_url(url)
        headers = {k.lower(): v for k, v in request.headers.items()}
        query = dict(parse_qsl(query_string)) if query_string else {}
        response, fault = await self.dispatch(route, url, headers, query, request.body)
        if fault is FaultKind.DROP_AFTER:
            raise ConnectionDroppedError(
                "sandbox: connection dropped after processing (fault drop_after)"
            )
        if fault is FaultKind.SLOW:
            assert self._faults is not None
            delay = self._faults.slow_seconds
            total = request.timeout.total
            if total is not None:
                remaining = max(0.0, total - (time.monotonic() - started))
                if delay >= remaining:
                    await self.sleep(remaining)
                    raise RequestTimeoutError(
                        f"no complete response within {total} s (sandbox fault slow)"
                    )
            await self.sleep(delay)
        return response

    def _route_for_url(self, url: str) -> Route | None:
        try:
            return self._url_routes[url]
        except KeyError:
            pass
        try:
            path = urlsplit(url).path
        except ValueError:  # not a URL at all ("http://[x/...")
            return None
        route = self.routes.get(path)
        if route is None:
            # Also serve base URLs without /api (for example "https://sandbox.invalid").
            matches = [r for r in self.routes.values() if path.endswith(r.endpoint.path)]
            route = max(matches, key=lambda r: len(r.endpoint.path), default=None)
        if len(self._url_routes) < _URL_CACHE_SIZE:
            self._url_routes[url] = route
        return route

    # -- the core, shared by handle() and the aiohttp view ---------------------------------

    async def dispatch(
        self,
        route: Route | None,
        path: str,
        headers: Mapping[str, str],
        query: Mapping[str, str],
        body: bytes,
    ) -> tuple[Response, FaultKind | None]:
        """Answer one request; also return the fault drawn for it, so that the caller can
        carry out ``drop_after`` and ``slow`` (the reply is ready; the state has changed).
        ``headers`` must be looked up by lower-case names."""
        state = self.state
        state.count_request(_UNKNOWN if route is None else route.endpoint.name)
        request_id = state.new_request_id()
        if route is None:
            state.requests_by_status[200] += 1
            style = replies.style_for_path(path)
            return replies.error(style, 404, "no such endpoint", request_id), None
        endpoint = route.endpoint
        name = endpoint.name
        fault = self._faults.draw(self._fault_rng, name) if self._faults is not None else None
        if self._latency is not None:
            await self.sleep(self._latency.draw(self._latency_rng))
        if fault is None:
            response = self._process(route, headers, query, body, request_id)
        else:
            state.faults_by_kind[fault.value] += 1
            response = self._faulty(route, fault, headers, query, body, request_id)
        if fault is not FaultKind.DROP_AFTER:
            state.requests_by_status[response.status] += 1
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s -> HTTP %s request_id=%s%s",
                name,
                response.status,
                request_id,
                f" fault={fault.value}" if fault else "",
            )
        return response, fault

    def refuse(self, route: Route | None, path: str, status: int, message: str) -> Response:
        """Count and answer a request whose body could not be read (too large, or not
        decodable in its ``Content-Encoding``): an error envelope with HTTP ``status``."""
        state = self.state
        state.count_request(_UNKNOWN if route is None else route.endpoint.name)
        state.requests_by_status[status] += 1
        style = replies.style_for_path(path) if route is None else route.endpoint.envelope
        return replies.error(style, status, message, state.new_request_id(), http_status=status)

    def _faulty(
        self,
        route: Route,
        fault: FaultKind,
        headers: Mapping[str, str],
        query: Mapping[str, str],
        body: bytes,
        request_id: str,
    ) -> Response:
        style = route.endpoint.envelope
        if fault is FaultKind.UNAVAILABLE:
            return replies.error(
                style, 503, "service unavailable (sandbox fault)", request_id, http_status=503
            )
        if fault is FaultKind.RATE_LIMIT:
            assert self._faults is not None
            return replies.error(
                style,
                429,
                "too many requests (sandbox fault)",
                request_id,
                http_status=429,
                retry_after=self._faults.retry_after,
            )
        response = self._process(route, headers, query, body, request_id)
        if fault is FaultKind.SERVER_ERROR_AFTER:
            return replies.error(
                style,
                500,
                "internal error after processing (sandbox fault)",
                request_id,
                http_status=500,
            )
        if fault is FaultKind.MALFORMED:
            return replies.truncated(response)
        return response

    def _process(
        self,
        route: Route,
        headers: Mapping[str, str],
        query: Mapping[str, str],
        body: bytes,
        request_id: str,
    ) -> Response:
        endpoint = route.endpoint
        style = endpoint.envelope
        try:
            self._auth.check(headers, query, query_signed=endpoint.query_signed)
            result = route.handler(self.state, decode_body(body))
            if isinstance(result, Reply):
                return replies.ok(
                    style, result.data, request_id, code=result.code, message=result.message
                )
            return replies.ok(style, result, request_id)
        except SandboxError as exc:
            return replies.error(style, exc.code, exc.message, request_id)
        except Exception:
            # The last resort: a bug in the sandbox, never the client's input (the body is
            # checked once, in decode_body, and the tests feed hostile input to prove it).
            logger.exception(
                "sandbox: the %s handler failed (request_id=%s)", endpoint.name, request_id
            )
            return replies.error(style, 500, "internal sandbox error", request_id, http_status=500)

    # -- holding replies -------------------------------------------------------------------

    async def sleep(self, delay: float) -> None:
        """Wait ``delay`` seconds, or until :meth:`release` (latency and slow faults)."""
        if delay <= 0 or self._released:
            return
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        timer = loop.call_later(delay, _wake, waiter)
        self._sleepers.add(waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._sleepers.discard(waiter)

    def release(self) -> None:
        """Stop holding replies: wake every request waiting on latency or a slow fault and
        answer later ones at once (called when a server shuts down)."""
        self._released = True
        for waiter in list(self._sleepers):
            _wake(waiter)


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
