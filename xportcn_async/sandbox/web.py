"""The aiohttp application around :meth:`Sandbox.dispatch`.

- ``POST /api/<endpoint path>`` for every served operation;
- ``GET /_sandbox/stats``: the counters as JSON;
- anything else: a 404 envelope (405 for a served path with another method).

A ``drop_after`` fault closes the TCP connection once the request is processed: the client
sees the server disconnect without a response.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from ..transports import Response
from . import replies
from .faults import FaultKind

if TYPE_CHECKING:
    from .core import Route, Sandbox

__all__ = ["STATS_PATH", "make_app"]

STATS_PATH = "/_sandbox/stats"
_NO_QUERY: MultiDictProxy[str] = MultiDictProxy(MultiDict())

View = Callable[[web.Request], Awaitable[web.StreamResponse]]


def make_app(sandbox: Sandbox) -> web.Application:
    app = web.Application()
    for path, route in sandbox.routes.items():
        app.router.add_post(path, _endpoint_view(sandbox, route))
    app.router.add_get(STATS_PATH, _stats_view(sandbox))
    app.router.add_route("*", "/{tail:.*}", _fallback_view(sandbox))
    return app


def _to_web(response: Response) -> web.Response:
    return web.Response(status=response.status, headers=response.headers, body=response.body)


def _endpoint_view(sandbox: Sandbox, route: Route) -> View:
    query_signed = route.endpoint.auth == "Q"

    async def view(request: web.Request) -> web.StreamResponse:
        body = await request.read()
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


def _stats_view(sandbox: Sandbox) -> View:
    async def view(request: web.Request) -> web.StreamResponse:
        return web.json_response(sandbox.stats_dict())

    return view


def _fallback_view(sandbox: Sandbox) -> View:
    async def view(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if request.path in sandbox.routes:
            style = replies.style_for_path(request.path)
            request_id = sandbox.state.new_request_id()
            message = f"use POST for {request.path}"
            return _to_web(replies.error(style, 405, message, request_id))
        response, _ = await sandbox.dispatch(None, request.path, request.headers, _NO_QUERY, body)
        return _to_web(response)

    return view
