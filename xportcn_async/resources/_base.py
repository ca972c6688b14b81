"""The base of every resource: a thin, typed view over the client's endpoint table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from ..hooks import AttemptHooks
from ..transports import Timeout

if TYPE_CHECKING:
    from ..client import XportcnClient

T = TypeVar("T")


class Resource:
    def __init__(self, client: XportcnClient) -> None:
        self._client = client

    async def _call(
        self,
        name: str,
        request: Any,
        result: type[T],
        *,
        timeout: Timeout | float | None = None,
        hooks: AttemptHooks | None = None,
        retry_ambiguous: bool | None = None,
    ) -> T:
        """Run table operation ``name`` (validated, signed, retried, decoded) and return its
        ``result``."""
        value = await self._client.request(
            name, request, timeout=timeout, hooks=hooks, retry_ambiguous=retry_ambiguous
        )
        if not isinstance(value, result):  # the endpoint table and the resource disagree
            raise TypeError(f"{name} returned {type(value).__name__}, not {result.__name__}")
        return value
