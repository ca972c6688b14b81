"""``client.addresses``: the account's Chinese addresses (API.md §4.3)."""

from __future__ import annotations

from .. import endpoints
from ..hooks import AttemptHooks
from ..models import Acknowledgement, Address, AddressList
from ..transports import Timeout
from ._base import Resource


class AddressesResource(Resource):
    """The account's Chinese addresses."""

    async def list(
        self, *, timeout: Timeout | float | None = None, hooks: AttemptHooks | None = None
    ) -> AddressList:
        return await self._client.request(
            endpoints.ADDRESSES_LIST, None, timeout=timeout, hooks=hooks
        )

    async def save(
        self,
        address: Address,
        *,
        timeout: Timeout | float | None = None,
        hooks: AttemptHooks | None = None,
        retry_ambiguous: bool | None = None,
    ) -> Acknowledgement:
        """Create (``id`` 0 or ``None``) or update an address.

        Never retried once it may have reached the server (a retried creation could add the
        address twice), unless ``retry_ambiguous`` is true: such a failure raises
        :class:`~xportcn_async.errors.OutcomeUnknownError`.
        """
        return await self._client.request(
            endpoints.ADDRESSES_SAVE,
            address,
            timeout=timeout,
            hooks=hooks,
            retry_ambiguous=retry_ambiguous,
        )
