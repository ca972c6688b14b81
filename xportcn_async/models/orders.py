"""KA orders (API.md §4.5): preview → create → pay → detail / logistics, and the order list.

Amounts are :class:`~xportcn_async.models.Fen` (integer fen with an exact ``.yuan``).
The preview's shape is documented; the create, pay, list, detail and logistics results
are **inferred** (their fields are optional, and everything else stays in ``extras``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

from ..wire.fields import (
    extras_field,
    non_empty,
    positive,
    request_id_field,
    tolerant,
    wire_field,
)
from ..wire.types import ChinaTime, Fen, Number
from .ka import OrderStatus, PayStatus, page_is_last

# -- requests -------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class OrderAddress:
    """The Chinese delivery address of a 1688 order (``addressParam``): usually your
    forwarding warehouse. ``district_code`` is the administrative division code."""

    full_name: str = wire_field(check=non_empty)
    mobile: str | None = None
    phone: str | None = None
    post_code: str | None = None
    city: str | None = wire_field(default=None, wire="cityText")
    province: str | None = wire_field(default=None, wire="provinceText")
    area: str | None = wire_field(default=None, wire="areaText")
    town: str | None = wire_field(default=None, wire="townText")
    address: str = wire_field(check=non_empty)
    district_code: str | None = None
    extras: dict[str, Any] = extras_field()


@attrs.frozen(kw_only=True)
class OrderItem:
    """One cargo line: a product (``offer_id``), its SKU (``spec_id``) and a quantity.

    ``quantity`` keeps the form it was given in (the docs send ``2.0``)."""

    offer_id: int = wire_field(check=positive)
    spec_id: str | None = None
    quantity: Number = wire_field(check=positive)
    extras: dict[str, Any] = extras_field()


@attrs.frozen(kw_only=True)
class OrderPreviewRequest:
    """Price an order before creating it (``/alibaba/ka/order/create/preview``)."""

    flow: str = "fenxiaonew"
    address: OrderAddress = wire_field(wire="addressParam")
    items: list[OrderItem] = wire_field(wire="cargoParamList", check=non_empty)
    extras: dict[str, Any] = extras_field()


@attrs.frozen(kw_only=True)
class CreateOrderRequest:
    """Create a 1688 order (``/alibaba/ka/order/create``); preview it first.

    ``message`` is a note to the seller; ``out_order_id`` is your own order id.
    """

    flow: str = "fenxiaonew"
    address: OrderAddress = wire_field(wire="addressParam")
    items: list[OrderItem] = wire_field(wire="cargoParamList", check=non_empty)
    message: str | None = None
    shop_promotion_id: str | None = None
    trade_type: str | None = None
    out_order_id: str | None = None
    extras: dict[str, Any] = extras_field()

    def preview_request(self) -> OrderPreviewRequest:
        """The preview of this order (same flow, address and items)."""
        return OrderPreviewRequest(flow=self.flow, address=self.address, items=self.items)


@attrs.frozen(kw_only=True)
class PayOrderRequest:
    """Pay a created order (inferred shape)."""

    order_id: str = wire_field(check=non_empty)
    extras: dict[str, Any] = extras_field()


@attrs.frozen(kw_only=True)
class OrderListRequest:
    """A page of your orders, newest first (inferred shape). Times are China time."""

    page: int = wire_field(default=1, wire="beginPage", check=positive)
    page_size: int = wire_field(default=20, check=positive)
    status: OrderStatus | None = wire_field(default=None, wire="orderStatus")
    created_from: ChinaTime | None = wire_field(default=None, wire="createStartTime")
    created_to: ChinaTime | None = wire_field(default=None, wire="createEndTime")
    extras: dict[str, Any] = extras_field()


@attrs.frozen(kw_only=True)
class OrderDetailRequest:
    """One order's detail. ``web_site`` is ``"1688"``."""

    web_site: str = "1688"
    order_id: str = wire_field(check=non_empty)
    extras: dict[str, Any] = extras_field()


@attrs.frozen(kw_only=True)
class OrderLogisticsRequest:
    """The parcels of one order (inferred shape)."""

    web_site: str = "1688"
    order_id: str = wire_field(check=non_empty)
    extras: dict[str, Any] = extras_field()


# -- results ---------------------------------------------------------------------------------


@tolerant
@attrs.frozen(kw_only=True)
class PreviewLine:
    """One previewed cargo line. ``message`` is set when the line cannot be ordered as
    asked (an unavailable SKU, for example)."""

    amount: Fen | None = None
    message: str | None = wire_field(default=None, keep_none=True)
    unit_price: Fen | None = wire_field(default=None, wire="finalUnitPrice")
    spec_id: str | None = None
    sku_id: int | None = None
    offer_id: int | None = None
    open_offer_id: str | None = None
    extras: dict[str, Any] = extras_field()

    @property
    def has_problem(self) -> bool:
        return bool(self.message and self.message.strip())


@tolerant
@attrs.frozen(kw_only=True)
class PreviewOrder:
    """The preview of the part of an order that one seller fills (one 1688 order each).

    ``goods_amount`` + ``shipping_fee`` = ``payment_amount``; ``total_amount`` is what
    will be charged, fees included (it matches the created order's total).
    """

    shipping_fee: Fen | None = wire_field(default=None, wire="sumCarriage")
    payment_amount: Fen | None = wire_field(default=None, wire="sumPayment")
    total_amount: Fen | None = wire_field(default=None, wire="sumTotalPayment")
    goods_amount: Fen | None = wire_field(default=None, wire="sumPaymentNoCarriage")
    lines: list[PreviewLine] = wire_field(wire="orderItemTOList", factory=list)
    extras: dict[str, Any] = extras_field()


@tolerant
@attrs.frozen(kw_only=True)
class OrderPreview:
    """An order preview: one :class:`PreviewOrder` per seller. Iterate it like a list."""

    orders: list[PreviewOrder] = wire_field(factory=list)
    extras: dict[str, Any] = extras_field()
    request_id: str | None = request_id_field()

    def __iter__(self) -> Iterator[PreviewOrder]:
        return iter(self.orders)

    def __len__(self) -> int:
        return len(self.orders)

    @property
    def total_amount(self) -> Fen:
        """What all sellers' orders will cost together, fees included."""
        return Fen(sum(o.total_amount or 0 for o in self.orders))

    @property
    def shipping_fee(self) -> Fen:
        return Fen(sum(o.shipping_fee or 0 for o in self.orders))

    @property
    def goods_amount(self) -> Fen:
        return Fen(sum(o.goods_amount or 0 for o in self.orders))

    @property
    def lines(self) -> list[PreviewLine]:
        """Every previewed line, across sellers."""
        return [line for order in self.orders for line in order.lines]

    @property
    def problems(self) -> list[PreviewLine]:
        """The lines that carry a message (they cannot be ordered as asked)."""
        return [line for line in self.lines if line.has_problem]


@tolerant
@attrs.frozen(kw_only=True)
class CreatedOrder:
    """A created order (inferred shape): its id and the amount it was created for."""

    order_id: str | None = None
    total_amount: Fen | None = wire_field(default=None, wire="totalSuccessAmount")
    extras: dict[str, Any] = extras_field()
    request_id: str | None = request_id_field()


@tolerant
@attrs.frozen(kw_only=True)
class Payment:
    """The result of paying an order (inferred shape): where to complete the payment, if
    it needs a step in a browser."""

    order_id: str | None = None
    pay_url: str | None = None
    extras: dict[str, Any] = extras_field()
    request_id: str | None = request_id_field()


@tolerant
@attrs.frozen(kw_only=True)
class OrderLine:
    """One product line of an order (inferred shape)."""

    offer_id: int | None = None
    spec_id: str | None = None
    sku_id: int | None = None
    title: str | None = None
    image_url: str | None = None
    quantity: Number | None = None
    unit_price: Fen | None = wire_field(default=None, wire="finalUnitPrice")
    amount: Fen | None = None
    extras: dict[str, Any] = extras_field()


@tolerant
@attrs.frozen(kw_only=True)
class Order:
    """A 1688 order (inferred shape; the field names follow the pushed order messages).

    ``status`` keeps values the SDK does not know (``order.status.is_known``). Times are
    aware datetimes in China time (UTC+8).
    """

    order_id: str | None = None
    order_no: str | None = None
    status: OrderStatus | None = wire_field(default=None, wire="orderStatus")
    pay_status: PayStatus | None = None
    total_amount: Fen | None = None
    shipping_fee: Fen | None = None
    product_amount: Fen | None = None
    refund_amount: Fen | None = None
    refund_status: str | None = None
    close_reason: str | None = None
    created_at: ChinaTime | None = wire_field(default=None, wire="tbCreateTime")
    paid_at: ChinaTime | None = wire_field(default=None, wire="payTime")
    out_order_id: str | None = None
    lines: list[OrderLine] = wire_field(wire="productItems", factory=list)
    extras: dict[str, Any] = extras_field()
    request_id: str | None = request_id_field()


@tolerant
@attrs.frozen(kw_only=True)
class OrderPage:
    """One page of orders. ``current_page`` is 1-based; iterate it for its orders."""

    total_records: int | None = None
    total_pages: int | None = wire_field(default=None, wire="totalPage")
    page_size: int | None = None
    current_page: int | None = None
    orders: list[Order] = wire_field(wire="data", factory=list)
    extras: dict[str, Any] = extras_field()
    request_id: str | None = request_id_field()

    def __iter__(self) -> Iterator[Order]:
        return iter(self.orders)

    def __len__(self) -> int:
        return len(self.orders)

    def is_last(self, requested_page_size: int) -> bool:
        """Whether no page follows this one."""
        return page_is_last(
            current_page=self.current_page,
            total_pages=self.total_pages,
            count=len(self.orders),
            page_size=requested_page_size,
        )


@tolerant
@attrs.frozen(kw_only=True)
class ParcelItem:
    """What a parcel holds (inferred shape)."""

    name: str | None = wire_field(default=None, wire="goodName")
    quantity: Number | None = None
    unit: str | None = None
    extras: dict[str, Any] = extras_field()


@tolerant
@attrs.frozen(kw_only=True)
class Parcel:
    """One domestic parcel of an order (inferred shape)."""

    logistics_id: str | None = None
    tracking_number: str | None = wire_field(default=None, wire="logisticsBillNo")
    company_name: str | None = wire_field(default=None, wire="logisticsCompanyName")
    status: str | None = None
    items: list[ParcelItem] = wire_field(wire="sendGoods", factory=list)
    extras: dict[str, Any] = extras_field()


@tolerant
@attrs.frozen(kw_only=True)
class OrderLogistics:
    """An order's parcels (inferred shape; empty until the seller ships)."""

    parcels: list[Parcel] = wire_field(factory=list)
    extras: dict[str, Any] = extras_field()
    request_id: str | None = request_id_field()

    def __iter__(self) -> Iterator[Parcel]:
        return iter(self.parcels)

    def __len__(self) -> int:
        return len(self.parcels)


@attrs.frozen(kw_only=True)
class PlacedOrder:
    """What :meth:`~xportcn_async.resources.OrdersResource.place` returns: the preview the
    order was created from, and the created order."""

    preview: OrderPreview
    order: CreatedOrder

    @property
    def order_id(self) -> str | None:
        return self.order.order_id


__all__ = [
    "CreateOrderRequest",
    "CreatedOrder",
    "Order",
    "OrderAddress",
    "OrderDetailRequest",
    "OrderItem",
    "OrderLine",
    "OrderListRequest",
    "OrderLogistics",
    "OrderLogisticsRequest",
    "OrderPage",
    "OrderPreview",
    "OrderPreviewRequest",
    "Parcel",
    "ParcelItem",
    "PayOrderRequest",
    "Payment",
    "PlacedOrder",
    "PreviewLine",
    "PreviewOrder",
]
