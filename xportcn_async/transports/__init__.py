"""Transports: the only place where I/O happens."""

from ._base import DEFAULT_MAX_RESPONSE_SIZE, Request, Response, Timeout, Transport, redact
from .aiohttp import AiohttpTransport
from .memory import InMemoryTransport

__all__ = [
    "DEFAULT_MAX_RESPONSE_SIZE",
    "AiohttpTransport",
    "InMemoryTransport",
    "Request",
    "Response",
    "Timeout",
    "Transport",
    "redact",
]
