"""The default transport: one pooled, lazily created :class:`aiohttp.ClientSession`."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import aiohttp

from ..errors import ConnectError, ConnectionDroppedError, RequestTimeoutError, TransportError
from ._base import Request, Response, redact_url


class AiohttpTransport:
    """Sends requests through one pooled :class:`aiohttp.ClientSession`.

    - The session is created on first use (so the transport can be built outside a running
      event loop) and closed by :meth:`aclose`. A ``session`` you pass in is used as it is and
      never closed by us.
    - ``limit`` caps concurrent connections. Requests wait for a slot *before* their timeout
      starts, so time spent queueing never counts against a request.
    - ``trace_configs`` are passed to the session, for aiohttp's tracing hooks.
    """

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None = None,
        limit: int = 100,
        trace_configs: Sequence[aiohttp.TraceConfig] = (),
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self._session = session
        self._owns_session = session is None
        self._limit = limit
        self._trace_configs = list(trace_configs)
        self._slots: asyncio.Semaphore | None = None
        self._closed = False

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._limit, limit_per_host=0)
            self._session = aiohttp.ClientSession(
                connector=connector,
                trace_configs=self._trace_configs or None,
                auto_decompress=True,
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    async def send(self, request: Request) -> Response:
        if self._closed:
            raise RuntimeError("AiohttpTransport is closed")
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._limit)
        session = self._get_session()
        timeout = aiohttp.ClientTimeout(
            total=request.timeout.total, sock_connect=request.timeout.connect
        )
        async with self._slots:
            try:
                async with session.request(
                    request.method,
                    request.url,
                    headers=request.headers,
                    data=request.body,
                    timeout=timeout,
                ) as resp:
                    body = await resp.read()
                    headers = {k.lower(): v for k, v in resp.headers.items()}
                    return Response(resp.status, headers, body)
            except aiohttp.ClientConnectorError as exc:
                raise ConnectError(
                    f"cannot connect to {_origin(request.url)}: {exc.os_error}"
                ) from exc
            except aiohttp.ServerTimeoutError as exc:
                # sock_connect timeouts happen before anything is sent.
                sent = not isinstance(exc, getattr(aiohttp, "ConnectionTimeoutError", ()))
                raise RequestTimeoutError(
                    f"timed out talking to {_origin(request.url)}", may_have_reached_server=sent
                ) from exc
            except asyncio.TimeoutError as exc:
                raise RequestTimeoutError(
                    f"no complete response from {_origin(request.url)} within "
                    f"{request.timeout.total} s"
                ) from exc
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError) as exc:
                raise ConnectionDroppedError(
                    f"connection to {_origin(request.url)} dropped before the response was "
                    f"complete: {type(exc).__name__}"
                ) from exc
            except aiohttp.ClientError as exc:
                # aiohttp's messages may hold the full URL, whose query holds the signature.
                # Not chained: the original exception may also hold the signed URL.
                detail = redact_url(str(exc))
                raise TransportError(
                    f"{type(exc).__name__} talking to {_origin(request.url)}: {detail}"
                ) from None

    async def aclose(self) -> None:
        self._closed = True
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session = None


def _origin(url: str) -> str:
    """Scheme, host and port only: no path or query (the query may hold a signature)."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0].split('?', 1)[0]}"
