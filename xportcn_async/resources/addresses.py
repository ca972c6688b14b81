"""``client.addresses``: the account's Chinese addresses (API.md §4.3)."""

from __future__ import annotations

from ..models import Acknowledgement, Address, AddressList
from ..transports import Timeout
from ._base import Resource


class AddressesResource(Resource):
    """The account's Chinese addresses."""

    async def list(self, *, timeout: Timeout | float | None = None) -> AddressList:
        result: AddressList = await self._client.request("addresses.list", None, timeout=timeout)
        return result

    async def save(
        self, address: Address, *, timeout: Timeout | float | None = None
    ) -> Acknowledgement:
        """Create (``id`` 0 or ``None``) or update an address."""
        result: Acknowledgement = await self._client.request(
            "addresses.save", address, timeout=timeout
        )
        return result
