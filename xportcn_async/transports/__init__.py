"""Transports: the only place where I/O happens."""

from __future__ import annotations

import os
from collections.abc import Callable

from ..errors import ConfigurationError
from ._base import DEFAULT_MAX_RESPONSE_SIZE, Request, Response, Timeout, Transport, redact
from .aiohttp import AiohttpTransport
from .httptools import HttptoolsTransport
from .memory import InMemoryTransport
from .reqwest import ReqwestTransport

#: The environment variable naming the transport a client builds when given none.
ENV_TRANSPORT = "XPORTCN_TRANSPORT"
#: The transports a client can build by name.
TRANSPORT_NAMES = ("aiohttp", "httptools", "reqwest")
# The transports of the `fast` extra: asking for one without its package is an error.
FAST_TRANSPORTS: dict[str, Callable[..., Transport]] = {
    "httptools": HttptoolsTransport,
    "reqwest": ReqwestTransport,
}


def transport_named(name: str | None, *, limit: int | None = None) -> Transport:
    """A new transport by name: ``"aiohttp"``, ``"httptools"`` or ``"reqwest"``; ``None``
    reads ``$XPORTCN_TRANSPORT``, else ``"aiohttp"``. An unknown name, or a fast transport
    whose package is not installed, raises :class:`~xportcn_async.errors.ConfigurationError`
    (never a silent fallback to another transport)."""
    where = "transport"
    if name is None:
        name = os.environ.get(ENV_TRANSPORT, "").strip() or "aiohttp"
        where = f"${ENV_TRANSPORT}"
    if name == "aiohttp":
        return AiohttpTransport(limit=limit)
    fast: Callable[..., Transport] | None = FAST_TRANSPORTS.get(name)
    if fast is not None:
        try:
            return fast(limit=limit)
        except ConfigurationError as exc:
            raise ConfigurationError(f"{where}={name!r}: {exc}") from None
    raise ConfigurationError(
        f"{where}={name!r} is not a transport; choose one of {TRANSPORT_NAMES}"
    )


__all__ = [
    "DEFAULT_MAX_RESPONSE_SIZE",
    "ENV_TRANSPORT",
    "TRANSPORT_NAMES",
    "AiohttpTransport",
    "HttptoolsTransport",
    "InMemoryTransport",
    "Request",
    "ReqwestTransport",
    "Response",
    "Timeout",
    "Transport",
    "redact",
    "transport_named",
]
