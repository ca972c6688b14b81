"""The local sandbox: a real aiohttp.web server that speaks the Xportcn API (API.md §8).

Xportcn has no public test host, so this is the default target of the demo, the
integration tests and the benchmarks::

    async with serve(port=0) as running:                     # over HTTP, on 127.0.0.1
        async with XportcnClient(running.credentials, base_url=running.base_url) as client:
            ...

    sandbox = Sandbox(faults=Faults(drop_after=0.1))          # or in-process, no sockets
    client = XportcnClient(sandbox.credentials, base_url="http://127.0.0.1/api",
                           transport=InMemoryTransport(sandbox.handle))

It checks signatures and the timestamp window, keeps state (renders, bookings, orders,
addresses), and can add latency and faults. Handlers are registered per operation of the
endpoint table with :func:`operation`; ``python -m xportcn_async.sandbox`` serves it until
interrupted.
"""

# Handler modules register themselves with @operation when imported.
from . import basics, ka, logistics  # noqa: F401
from .core import API_PREFIX, DEMO_CREDENTIALS, Sandbox
from .faults import FaultKind, Faults, Latency
from .registry import HANDLERS, OperationHandler, Reply, Route, SandboxError, operation
from .server import RunningSandbox, serve
from .state import OrderRecord, RenderRecord, SandboxState, SandboxStats

__all__ = [
    "API_PREFIX",
    "DEMO_CREDENTIALS",
    "HANDLERS",
    "FaultKind",
    "Faults",
    "Latency",
    "OperationHandler",
    "OrderRecord",
    "RenderRecord",
    "Reply",
    "Route",
    "RunningSandbox",
    "Sandbox",
    "SandboxError",
    "SandboxState",
    "SandboxStats",
    "operation",
    "serve",
]
