"""``client.wms``: warehouse packages (API.md §4.6): forecast, inbound, update."""

from __future__ import annotations

from .. import endpoints
from ..hooks import AttemptHooks
from ..models import (
    PackageForecastRequest,
    PackageInboundRequest,
    PackageUpdateRequest,
    WmsPackage,
)
from ..transports import Timeout
from ._base import Resource


class WmsResource(Resource):
    """Announce packages to the warehouse, record their arrival and inspection, and
    correct them."""

    async def forecast(
        self,
        request: PackageForecastRequest,
        *,
        timeout: Timeout | float | None = None,
        hooks: AttemptHooks | None = None,
        retry_ambiguous: bool | None = None,
    ) -> WmsPackage:
        """Announce a package before it arrives. Not retried once it may have reached the
        server, unless ``retry_ambiguous`` is true."""
        return await self._client.request(
            endpoints.WMS_FORECAST,
            request,
            timeout=timeout,
            hooks=hooks,
            retry_ambiguous=retry_ambiguous,
        )

    async def inbound(
        self,
        request: PackageInboundRequest,
        *,
        timeout: Timeout | float | None = None,
        hooks: AttemptHooks | None = None,
        retry_ambiguous: bool | None = None,
    ) -> WmsPackage:
        """Record a package's arrival and its quality inspection. Not retried once it may
        have reached the server, unless ``retry_ambiguous`` is true."""
        return await self._client.request(
            endpoints.WMS_INBOUND,
            request,
            timeout=timeout,
            hooks=hooks,
            retry_ambiguous=retry_ambiguous,
        )

    async def update(
        self,
        request: PackageUpdateRequest,
        *,
        timeout: Timeout | float | None = None,
        hooks: AttemptHooks | None = None,
    ) -> WmsPackage:
        """Change a package found by its ``out_order_id``; fields left ``None`` stay as they
        are."""
        return await self._client.request(
            endpoints.WMS_UPDATE, request, timeout=timeout, hooks=hooks
        )
