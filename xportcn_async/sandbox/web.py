"""The aiohttp application around a sandbox's
:meth:`~xportcn_async.sandbox.Sandbox.dispatch`.

- ``POST /api/<endpoint path>`` for every served operation;
- ``GET /_sandbox/stats``: the counters as JSON;
- anything else: a 404 envelope (405 for a served path with another method);
- a body over :data:`MAX_BODY_SIZE` answers a 413 envelope, one that cannot be decoded (a
  broken gzip ``Content-Encoding``) a 400 envelope, both with that HTTP status.

A ``drop_after`` fault closes the TCP connection once the request is processed: the client
sees the server disconnect without a response.

This module serves any :class:`Served` (the sandbox is one) and does not import the sandbox:
the sandbox imports this module to build its :attr:`~xportcn_async.sandbox.Sandbox.app`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from ..transports import Response
from . import replies
from .faults import FaultKind, Faults
from .registry import Route
from .state import SandboxState

__all__ = ["STATS_PATH", "Served", "make_app"]

STATS_PATH = "/_sandbox/stats"
MAX_BODY_SIZE = 1 << 20
"""The largest request body served (1 MiB, about aiohttp's default); a larger one answers an
error envelope with HTTP 413."""
_NO_QUERY: MultiDictProxy[str] = MultiDictProxy(MultiDict())

View = Callable[[web.Request], Awaitable[web.StreamResponse]]


Dispatch = Callable[
    [Route | None, str, Mapping[str, str], Mapping[str, str], bytes],
    Awaitable[tuple[Response, FaultKind | None]],
]
"""``dispatch(route, path, headers, query, body) -> (response, fault drawn)``."""


class Served(Protocol):
    """What the application serves: the sandbox's routes, its one-request core and its
    counters (:class:`~xportcn_async.sandbox.Sandbox` is one)."""

    @property
    def routes(self) -> Mapping[str, Route]: ...

    @property
    def faults(self) -> Faults | None: ...

    @property
    def state(self) -> SandboxState: ...

    @property
    def dispatch(self) -> Dispatch: ...

    def refuse(self, route: Route | None, path: str, status: int, message: str) -> Response: ...

    async def sleep(self, delay: float) -> None: ...

    def stats_dict(self) -> dict[str, Any]: ...


def make_app(sandbox: Served) -> web.Application:
    # aiohttp stops reading past client_max_size (up to 3.13 at that size, since 3.14 above
    # it); _read then holds the line at exactly MAX_BODY_SIZE with either.
    app = web.Application(client_max_size=MAX_BODY_SIZE + 1)
    for path, route in sandbox.routes.items():
        app.router.add_post(path, _endpoint_view(sandbox, route))
    app.router.add_get(STATS_PATH, _stats_view(sandbox))
    app.router.add_route("*", "/{tail:.*}", _fallback_view(sandbox))
    return app


def _to_web(response: Response) -> web.Response:
    return web.Response(status=response.status, headers=response.headers, body=response.body)


def _endpoint_view(sandbox: Served, route: Route) -> View:
    query_signed = route.endpoint.query_signed

    async def view(request: web.Request) -> web.StreamResponse:
        body = await _read(sandbox, route, request)
        if isinstance(body, web.Response):
            return body
        query = request.query if query_signed else _NO_QUERY
        response, fault = await sandbox.dispatch(route, request.path, request.headers, query, body)
        if fault is FaultKind.DROP_AFTER:
            transport = request.transport
            if transport is not None:
                transport.close()
            # Writing to the closed transport fails quietly inside aiohttp (premature
            # disconnection, logged at debug level only).
        elif fault is FaultKind.SLOW and sandbox.faults is not None:
            await sandbox.sleep(sandbox.faults.slow_seconds)
        return _to_web(response)

    return view


async def _read(sandbox: Served, route: Route | None, request: web.Request) -> bytes | web.Response:
    """The request body, or the error envelope answering a body that cannot be read."""
    too_large = f"the request body is larger than {MAX_BODY_SIZE} bytes"
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _to_web(sandbox.refuse(route, request.path, 413, too_large))
    except web.RequestPayloadError:
        # aiohttp decodes gzip, deflate and br bodies while reading. The stream is unusable:
        # end it, so that aiohttp does not read it again, and close the connection after.
        request.content.feed_eof()
        message = "the request body cannot be read (a broken Content-Encoding or chunked body)"
        response = _to_web(sandbox.refuse(route, request.path, 400, message))
        response.force_close()
        return response
    if len(body) > MAX_BODY_SIZE:
        return _to_web(sandbox.refuse(route, request.path, 413, too_large))
    return body


def _stats_view(sandbox: Served) -> View:
    async def view(request: web.Request) -> web.StreamResponse:
        return web.json_response(sandbox.stats_dict())

    return view


def _fallback_view(sandbox: Served) -> View:
    async def view(request: web.Request) -> web.StreamResponse:
        body = await _read(sandbox, None, request)
        if isinstance(body, web.Response):
            return body
        if request.path in sandbox.routes:
            style = replies.style_for_path(request.path)
            request_id = sandbox.state.new_request_id()
            message = f"use POST for {request.path}"
            return _to_web(replies.error(style, 405, message, request_id))
        response, _ = await sandbox.dispatch(None, request.path, request.headers, _NO_QUERY, body)
        return _to_web(response)

    return view
