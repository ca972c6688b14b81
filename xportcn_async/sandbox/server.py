"""Running the sandbox on a real socket: ``async with serve(port=0) as running: ...``."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import attrs
from aiohttp import web

from ..credentials import Credentials
from ..signing import TimestampUnit
from .core import API_PREFIX, Sandbox
from .faults import Faults, Latency
from .web import STATS_PATH

__all__ = ["RunningSandbox", "serve"]


@attrs.frozen(kw_only=True)
class RunningSandbox:
    """A sandbox listening on ``host:port``. Point a client at ``base_url`` with
    ``credentials``; ``sandbox`` holds the state and counters."""

    base_url: str
    credentials: Credentials
    sandbox: Sandbox
    host: str
    port: int

    @property
    def stats_url(self) -> str:
        return self.base_url.removesuffix(API_PREFIX) + STATS_PATH


@contextlib.asynccontextmanager
async def serve(
    port: int = 0,
    *,
    host: str = "127.0.0.1",
    credentials: Credentials | None = None,
    faults: Faults | None = None,
    latency: Latency | None = None,
    seed: int = 0,
    timestamp_unit: TimestampUnit = "ms",
    sandbox: Sandbox | None = None,
    backlog: int = 2048,
    shutdown_timeout: float = 1.0,
) -> AsyncIterator[RunningSandbox]:
    """Serve a sandbox over HTTP on ``host:port`` (port 0: an ephemeral port) for the
    duration of the ``async with`` block.

    Pass ``sandbox`` to serve one you built yourself (then leave out ``credentials``,
    ``faults``, ``latency``, ``seed`` and ``timestamp_unit``). On exit, held replies are
    released and connections closed; requests still running get ``shutdown_timeout``
    seconds.
    """
    if sandbox is None:
        sandbox = Sandbox(
            credentials,
            faults=faults,
            latency=latency,
            seed=seed,
            timestamp_unit=timestamp_unit,
        )
    elif credentials is not None or faults is not None or latency is not None or seed:
        raise ValueError("serve(): pass either sandbox or its settings, not both")
    runner = web.AppRunner(
        sandbox.app, access_log=None, handle_signals=False, shutdown_timeout=shutdown_timeout
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, backlog=backlog)
        await site.start()
        bound_port = int(runner.addresses[0][1])
        url_host = _url_host(host)
        yield RunningSandbox(
            base_url=f"http://{url_host}:{bound_port}{API_PREFIX}",
            credentials=sandbox.credentials,
            sandbox=sandbox,
            host=host,
            port=bound_port,
        )
    finally:
        sandbox.release()
        await runner.cleanup()


def _url_host(host: str) -> str:
    """The host clients should use: loopback for wildcard binds, brackets for IPv6."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host
