"""``client.im``: the 1688 IM helpers (API.md §4.6)."""

from __future__ import annotations

from .. import endpoints
from ..hooks import AttemptHooks
from ..models import DecryptOpenUidRequest, SellerContact
from ..transports import Timeout
from ._base import Resource


class ImResource(Resource):
    """Reach the seller behind an open uid."""

    async def decrypt_open_uid(
        self,
        open_uid: str,
        offer_id: int | str,
        *,
        timeout: Timeout | float | None = None,
        hooks: AttemptHooks | None = None,
    ) -> SellerContact:
        """The seller's IM (Wangwang) nickname and chat link for an ``open_uid`` seen on the
        product ``offer_id``."""
        request = DecryptOpenUidRequest(open_uid=open_uid, offer_id=str(offer_id))
        return await self._client.request(
            endpoints.IM_DECRYPT_OPEN_UID, request, timeout=timeout, hooks=hooks
        )
