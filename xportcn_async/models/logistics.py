"""Warehouse logistics (API.md §4.2): freight estimate, freight preview, booking, and the
domestic logistics update."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs

from ..wire.fields import extras_field, non_empty, positive, request_id_field, wire_field
from .common import FreightInfo, Money, ReceiverAddress

# -- requests -----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class EstimateFreightRequest:
    """Estimate the overseas freight of one item (``itemLogisticsPrice``)."""

    item_id: str = wire_field(check=non_empty)
    sku_id: str = wire_field(check=non_empty)
    quantity: int = wire_field(check=positive)
    receiver_address: ReceiverAddress
    currency: str | None = None
    price: Decimal | None = wire_field(default=None, check=positive)
    extras: dict[str, Any] = extras_field()


@attrs.frozen(kw_only=True)
class RenderItem:
    """One item of a freight preview."""

    item_id: str = wire_field(check=non_empty)
    sku_id: str = wire_field(check=non_empty)
    quantity: int = wire_field(check=positive)
    freight_info: FreightInfo | None = None
    currency: str | None = None
    price: Decimal | None = wire_field(default=None, check=positive)
    extras: dict[str, Any] = extras_field()


@attrs.frozen(kw_only=True)
class PreviewFreightRequest:
    """Preview ("render") the freight of an order; the result's ``render_id`` is what a
    booking refers to (``orderRenderFreight``)."""

    receiver_address: ReceiverAddress
    render_items: list[RenderItem] = wire_field(check=non_empty)
    extras: dict[str, Any] = extras_field()


@attrs.frozen(kw_only=True)
class LineItem:
    """One line of a booking."""

    item_id: str = wire_field(check=non_empty)
    sku_id: str = wire_field(check=non_empty)
    quantity: int = wire_field(check=positive)
    title: str | None = None
    image_url: str | None = None
    freight_info: FreightInfo | None = None
    currency: str | None = None
    price: Decimal | None = wire_field(default=None, check=positive)
    extras: dict[str, Any] = extras_field()


@attrs.frozen(kw_only=True)
class BookingRequest:
    """Book the international logistics of one order (``orderBookingFreight``).

    ``render_id`` names the freight preview this booking is made against; when it is
    ``None``, :meth:`~xportcn_async.resources.LogisticsResource.book` previews first.
    ``tmall_order_id`` is your own upstream order id (``tmallOrderInfo.tmallOrderId``).
    """

    render_id: str | None = wire_field(default=None, check=non_empty)
    tmall_order_id: str = wire_field(wire="tmallOrderInfo", wrap="tmallOrderId", check=non_empty)
    receiver_address: ReceiverAddress
    line_items: list[LineItem] = wire_field(check=non_empty)
    remark: str | None = None
    extras: dict[str, Any] = extras_field()

    @property
    def key(self) -> str:
        """What identifies this booking in batch outcomes and journals: the ``render_id``, or
        the upstream order id when there is none yet."""
        return self.render_id or f"tmall:{self.tmall_order_id}"

    def with_render_id(self, render_id: str) -> BookingRequest:
        """A copy that books against the preview ``render_id``."""
        return attrs.evolve(self, render_id=render_id)


@attrs.frozen(kw_only=True)
class ShipmentItem:
    """The line item a domestic shipment belongs to."""

    item_id: str = wire_field(check=non_empty)
    sku_id: str = wire_field(check=non_empty)
    quantity: int = wire_field(check=positive)
    title: str | None = None
    image_url: str | None = None
    extras: dict[str, Any] = extras_field()


@attrs.frozen(kw_only=True)
class DomesticShipment:
    """One domestic (China) parcel: tracking number, carrier, ready-to-ship time."""

    tracking_number: str = wire_field(wire="logisticNumer", check=non_empty)
    company_name: str | None = wire_field(default=None, wire="logisticCompanyName")
    rts_time: str | None = None
    """Ready-to-ship time, epoch seconds as a string (as on the wire)."""
    extras: dict[str, Any] = extras_field()


@attrs.frozen(kw_only=True)
class ShipmentUpdate:
    """The domestic shipments of one booked line item, under its international tracking
    number."""

    line_item: ShipmentItem
    tracking_number: str | None = wire_field(default=None, wire="logisticNumer")
    domestic_shipments: list[DomesticShipment] = wire_field(
        wire="domesticLogisticInfo", check=non_empty
    )
    extras: dict[str, Any] = extras_field()


@attrs.frozen(kw_only=True)
class UpdateDomesticLogisticsRequest:
    """Tell Xportcn how the goods of a booked order travel to its warehouse
    (``updateLogisticInfo``)."""

    order_id: str = wire_field(check=non_empty)
    tmall_order_id: str | None = None
    shipments: list[ShipmentUpdate] = wire_field(wire="logisticInfos", check=non_empty)
    extras: dict[str, Any] = extras_field()


# -- results ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class FreightOption:
    service_id: str | None = None
    company_name: str | None = None
    service_category: str | None = None
    freight_fee: Money | None = None
    estimated_delivery_days: str | None = None
    extras: dict[str, Any] = extras_field()


@attrs.frozen(kw_only=True)
class FreightEstimate:
    """The freight options for one item. The response shape is inferred (API.md §4.2)."""

    item_id: str | None = None
    sku_id: str | None = None
    quantity: int | None = None
    freight_options: list[FreightOption] = wire_field(factory=list)
    extras: dict[str, Any] = extras_field()
    request_id: str | None = request_id_field()


@attrs.frozen(kw_only=True)
class RenderedItem:
    item_id: str | None = None
    sku_id: str | None = None
    quantity: int | None = None
    freight_info: FreightInfo | None = None
    freight_fee: Money | None = None
    extras: dict[str, Any] = extras_field()


@attrs.frozen(kw_only=True)
class FreightPreview:
    """A freight quote for an order; book it with its ``render_id``. Shape inferred."""

    render_id: str
    """Always there: a successful preview without a ``renderId`` is a
    :class:`~xportcn_async.MalformedResponseError` (nothing could be booked with it)."""
    total_freight: Money | None = None
    render_items: list[RenderedItem] = wire_field(factory=list)
    extras: dict[str, Any] = extras_field()
    request_id: str | None = request_id_field()


@attrs.frozen(kw_only=True)
class BookedItem:
    item_id: str | None = None
    sku_id: str | None = None
    quantity: int | None = None
    title: str | None = None
    extras: dict[str, Any] = extras_field()


@attrs.frozen(kw_only=True)
class InternationalLogistics:
    """The international parcel of a sub-order. ``tracking_number`` is ``logisticNumer`` on
    the wire (sic)."""

    tracking_number: str | None = wire_field(default=None, wire="logisticNumer")
    company_name: str | None = wire_field(default=None, wire="logisticCompanyName")
    tracking_url: str | None = None
    logistics_type: str | None = wire_field(default=None, wire="logisticType")
    extras: dict[str, Any] = extras_field()


@attrs.frozen(kw_only=True)
class SubOrder:
    items: list[BookedItem] = wire_field(wire="itemInfos", factory=list)
    international_logistics: InternationalLogistics | None = wire_field(
        default=None, wire="internationalLogisticInfos"
    )
    extras: dict[str, Any] = extras_field()


@attrs.frozen(kw_only=True)
class Booking:
    """A booked international logistics order."""

    order_id: str
    order_fee: Money | None = None
    sub_orders: list[SubOrder] = wire_field(factory=list)
    extras: dict[str, Any] = extras_field()
    request_id: str | None = request_id_field()

    @property
    def tracking_numbers(self) -> list[str]:
        """The international tracking numbers, one per sub-order that has one."""
        return [
            s.international_logistics.tracking_number
            for s in self.sub_orders
            if s.international_logistics and s.international_logistics.tracking_number
        ]
