"""``client.addresses``: the account's Chinese addresses (API.md §4.3)."""

from __future__ import annotations

from ..models import Acknowledgement, Address, AddressList
from ..transports import Timeout
from ._base import Resource


class AddressesResource(Resource):
    """The account's Chinese addresses."""

    async def list(self, *, timeout: Timeout | float | None = None) -> AddressList:
        return await self._call("addresses.list", None, AddressList, timeout=timeout)

    async def save(
        self, address: Address, *, timeout: Timeout | float | None = None
    ) -> Acknowledgement:
        """Create (``id`` 0 or ``None``) or update an address."""
        return await self._call("addresses.save", address, Acknowledgement, timeout=timeout)
