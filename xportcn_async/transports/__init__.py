"""Transports: the only place where I/O happens."""

from ._base import Request, Response, Timeout, Transport
from .aiohttp import AiohttpTransport
from .memory import InMemoryTransport

__all__ = ["AiohttpTransport", "InMemoryTransport", "Request", "Response", "Timeout", "Transport"]
