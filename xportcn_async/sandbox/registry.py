"""The registry of operation handlers, keyed by the operation names of
:data:`xportcn_async.endpoints.ENDPOINTS`.

A handler is a plain (sync) function of the sandbox state and the decoded JSON body. It
returns the envelope's ``data`` (or a :class:`Reply` when the envelope needs more than data)
or raises :class:`SandboxError`::

    @operation("logistics.book")
    def book(state: SandboxState, body: dict[str, Any]) -> Any: ...

The sandbox serves every operation of the endpoint table that has a handler here; the other
paths answer 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs

from ..endpoints import ENDPOINTS, Endpoint
from .state import SandboxState

__all__ = ["HANDLERS", "OperationHandler", "Reply", "Route", "SandboxError", "operation"]


class SandboxError(Exception):
    """An error answer: ``code`` goes into the envelope (HTTP-like, API.md §3: 400 invalid
    body, 401 bad signature or unknown key, 403 timestamp outside the window, 404 unknown id,
    409 conflict, 429 rate limited, 500 internal), ``message`` is the envelope's message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@attrs.frozen
class Reply:
    """What a handler returns when the success envelope needs more than ``data``: a
    different style-K ``code`` (the address endpoints answer ``0``) or ``message``."""

    data: Any = None
    code: int | None = None
    message: str | None = None


OperationHandler = Callable[[SandboxState, dict[str, Any]], Any]
"""``handler(state, body) -> data``: sync, raises :class:`SandboxError` for error answers."""

HANDLERS: dict[str, OperationHandler] = {}
"""Operation name -> handler. Filled by :func:`operation` when handler modules are imported."""

H = TypeVar("H", bound=OperationHandler)


@attrs.frozen
class Route:
    """A served operation: its endpoint table entry and its handler."""

    endpoint: Endpoint[Any, Any]
    handler: OperationHandler


def operation(name: str) -> Callable[[H], H]:
    """Register the decorated function as the handler of operation ``name``.

    ``name`` must be an operation of the endpoint table (a typo fails at import time), and
    each operation has one handler.
    """
    if name not in ENDPOINTS:
        raise ValueError(
            f"sandbox: unknown operation {name!r}; add it to xportcn_async.endpoints first"
        )

    def register(handler: H) -> H:
        if name in HANDLERS:
            raise ValueError(f"sandbox: operation {name!r} already has a handler")
        HANDLERS[name] = handler
        return handler

    return register
