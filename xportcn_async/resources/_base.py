"""The base of every resource: a thin, typed view over the client's endpoint table."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..client import XportcnClient


class Resource:
    """A group of operations (``client.logistics``, ...). Each method is one typed
    ``client.request(endpoints.X, request)``: the endpoint constant carries the result type."""

    def __init__(self, client: XportcnClient) -> None:
        self._client = client
