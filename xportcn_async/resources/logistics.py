"""``client.logistics``: warehouse logistics (API.md §4.2)."""

from __future__ import annotations

from ..errors import FieldError, ValidationError
from ..models import (
    Acknowledgement,
    Booking,
    BookingRequest,
    EstimateFreightRequest,
    FreightEstimate,
    FreightPreview,
    PreviewFreightRequest,
    RenderItem,
    UpdateDomesticLogisticsRequest,
)
from ..transports import Timeout
from ._base import Resource


class LogisticsResource(Resource):
    """Warehouse logistics: estimate, preview, book, and update domestic logistics."""

    async def estimate_freight(
        self, request: EstimateFreightRequest, *, timeout: Timeout | float | None = None
    ) -> FreightEstimate:
        """Freight options for one item to one address."""
        result: FreightEstimate = await self._client.request(
            "logistics.estimate_freight", request, timeout=timeout
        )
        return result

    async def preview_freight(
        self, request: PreviewFreightRequest, *, timeout: Timeout | float | None = None
    ) -> FreightPreview:
        """Quote an order's freight; book the quote with its ``render_id``."""
        result: FreightPreview = await self._client.request(
            "logistics.preview_freight", request, timeout=timeout
        )
        return result

    async def book(
        self,
        request: BookingRequest,
        *,
        timeout: Timeout | float | None = None,
        retry_ambiguous: bool | None = None,
    ) -> Booking:
        """Book the international logistics of one order.

        The request must carry the ``render_id`` of a preview (see :meth:`preview_for`). A
        booking is never retried once it may have reached the server, unless
        ``retry_ambiguous`` is true (here or on the client): such a failure raises
        :class:`~xportcn_async.errors.OutcomeUnknownError`.
        """
        if request.render_id is None:
            raise ValidationError(
                "logistics.book request",
                [FieldError("render_id", "required: preview the freight first (preview_for)")],
            )
        result: Booking = await self._client.request(
            "logistics.book", request, timeout=timeout, retry_ambiguous=retry_ambiguous
        )
        return result

    @staticmethod
    def preview_for(request: BookingRequest) -> PreviewFreightRequest:
        """The freight preview request that matches a booking's address and lines."""
        return PreviewFreightRequest(
            receiver_address=request.receiver_address,
            render_items=[
                RenderItem(
                    item_id=line.item_id,
                    sku_id=line.sku_id,
                    quantity=line.quantity,
                    freight_info=line.freight_info,
                    currency=line.currency,
                    price=line.price,
                )
                for line in request.line_items
            ],
        )

    async def update_domestic_logistics(
        self, request: UpdateDomesticLogisticsRequest, *, timeout: Timeout | float | None = None
    ) -> Acknowledgement:
        """Report the domestic (China) parcels of a booked order."""
        result: Acknowledgement = await self._client.request(
            "logistics.update_domestic_logistics", request, timeout=timeout
        )
        return result
