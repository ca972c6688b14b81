"""The base of every resource: a thin, typed view over the endpoint table."""

from __future__ import annotations

from typing import Protocol, TypeVar

from ..endpoints import Endpoint
from ..hooks import AttemptHooks
from ..transports import Timeout

Req = TypeVar("Req")
Resp = TypeVar("Resp")


class Requester(Protocol):
    """What a resource calls: the client's one request path (so that resources need not
    import the client, which creates them)."""

    @property
    def retry_ambiguous(self) -> bool: ...

    async def request(
        self,
        endpoint: Endpoint[Req, Resp],
        request: Req,
        *,
        timeout: Timeout | float | None = None,
        retry_ambiguous: bool | None = None,
        hooks: AttemptHooks | None = None,
    ) -> Resp: ...


class Resource:
    """A group of operations (``client.logistics``, ...). Each method is one typed
    ``client.request(endpoints.X, request)``: the endpoint constant carries the result type."""

    def __init__(self, client: Requester) -> None:
        self._client = client


__all__ = ["Requester", "Resource"]
