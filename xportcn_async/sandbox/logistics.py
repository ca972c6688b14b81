"""Warehouse logistics handlers (API.md §4.2): freight estimate, preview ("render"),
booking, and the domestic logistics update.

Freight is deterministic: it depends on the service, the item (a stable hash of
``itemId``/``skuId`` stands in for its weight), the quantity and the destination country.
Amounts are USD money objects with the amount as a decimal string.

Bookings: a ``renderId`` is booked at most once. Booking it again with the same
``tmallOrderId`` answers the *same* order (and counts a duplicate attempt); with another
``tmallOrderId`` it is a 409 conflict.
"""

from __future__ import annotations

import zlib
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import attrs

from . import checks as c
from .registry import SandboxError, operation
from .state import OrderRecord, RenderRecord, SandboxState

__all__ = ["SERVICES", "Service", "freight_fee"]

CURRENCY = "USD"
TRACKING_URL = "https://www.far800.com/logistics/result?key={}"
_CENT = Decimal("0.01")


@attrs.frozen
class Service:
    service_id: str
    company_name: str
    service_category: str
    delivery_days: str
    base: Decimal
    per_unit: Decimal

    def freight_info(self) -> dict[str, str]:
        return {
            "serviceId": self.service_id,
            "companyName": self.company_name,
            "serviceCategory": self.service_category,
        }


SERVICES: dict[str, Service] = {
    s.service_id: s
    for s in (
        Service("1", "UCS", "STANDARD", "7-12", Decimal("6.50"), Decimal("2.40")),
        Service("2", "UCS", "ECONOMY", "12-20", Decimal("4.20"), Decimal("1.60")),
        Service("3", "DHL", "EXPRESS", "3-5", Decimal("18.00"), Decimal("4.80")),
    )
}
DEFAULT_SERVICE = "1"
_COUNTRY_FACTOR = {
    "US": Decimal("1.00"),
    "CA": Decimal("1.10"),
    "GB": Decimal("1.05"),
    "DE": Decimal("1.08"),
    "FR": Decimal("1.08"),
    "JP": Decimal("0.85"),
    "AU": Decimal("1.25"),
}
_OTHER_COUNTRY = Decimal("1.15")


def freight_fee(
    service: Service, item_id: str, sku_id: str, quantity: int, country: str
) -> Decimal:
    """The freight of ``quantity`` units of one item with ``service``, to ``country``."""
    weight = 1 + Decimal(zlib.crc32(f"{item_id}:{sku_id}".encode()) % 100) / 100
    fee = (service.base + service.per_unit * quantity * weight) * _COUNTRY_FACTOR.get(
        country, _OTHER_COUNTRY
    )
    return fee.quantize(_CENT, rounding=ROUND_HALF_UP)


def money(amount: Decimal) -> dict[str, str]:
    return {"amount": str(amount), "currency": CURRENCY}


def _country(body: dict[str, Any]) -> str:
    address = c.obj(body, "receiverAddress")
    country = c.string(address, "country", "receiverAddress", required=False)
    return (country or "US").upper()


def _service(line: dict[str, Any], path: str) -> Service:
    info = c.obj(line, "freightInfo", path, required=False)
    if info is None:
        return SERVICES[DEFAULT_SERVICE]
    where = c.at(path, "freightInfo")
    service_id = c.id_string(info, "serviceId", where) if "serviceId" in info else DEFAULT_SERVICE
    service = SERVICES.get(service_id)
    if service is None:
        offered = ", ".join(
            f"{s.service_id} ({s.company_name} {s.service_category})" for s in SERVICES.values()
        )
        raise c.bad(
            c.at(where, "serviceId"),
            f"unknown service {service_id!r}; the sandbox offers {offered}",
        )
    return service


def _item(line: dict[str, Any], path: str) -> tuple[str, str, int]:
    return (
        c.id_string(line, "itemId", path),
        c.id_string(line, "skuId", path),
        c.positive_int(line, "quantity", path),
    )


@operation("logistics.estimate_freight")
def estimate_freight(state: SandboxState, body: dict[str, Any]) -> Any:
    item_id, sku_id, quantity = _item(body, "")
    country = _country(body)
    return {
        "itemId": item_id,
        "skuId": sku_id,
        "quantity": quantity,
        "freightOptions": [
            {
                **service.freight_info(),
                "freightFee": money(freight_fee(service, item_id, sku_id, quantity, country)),
                "estimatedDeliveryDays": service.delivery_days,
            }
            for service in SERVICES.values()
        ],
    }


@operation("logistics.preview_freight")
def preview_freight(state: SandboxState, body: dict[str, Any]) -> Any:
    country = _country(body)
    rendered = []
    total = Decimal(0)
    for i, line in enumerate(c.items(body, "renderItems")):
        path = c.at("renderItems", i)
        item_id, sku_id, quantity = _item(line, path)
        service = _service(line, path)
        fee = freight_fee(service, item_id, sku_id, quantity, country)
        total += fee
        rendered.append(
            {
                "itemId": item_id,
                "skuId": sku_id,
                "quantity": quantity,
                "freightInfo": service.freight_info(),
                "freightFee": money(fee),
            }
        )
    render_id = state.new_render_id()
    preview = {"renderId": render_id, "totalFreight": money(total), "renderItems": rendered}
    state.renders[render_id] = RenderRecord(render_id, body, preview)
    return preview


@operation("logistics.book")
def book(state: SandboxState, body: dict[str, Any]) -> Any:
    render_id = c.id_string(body, "renderId")
    tmall = c.obj(body, "tmallOrderInfo")
    tmall_order_id = c.id_string(tmall, "tmallOrderId", "tmallOrderInfo")
    c.obj(body, "receiverAddress")
    lines = c.items(body, "lineItems")
    sub_orders = []
    for i, line in enumerate(lines):
        path = c.at("lineItems", i)
        item_id, sku_id, quantity = _item(line, path)
        title = c.string(line, "title", path, required=False)
        service = _service(line, path)
        sub_orders.append((item_id, sku_id, quantity, title, service))
    c.string(body, "remark", required=False)

    render = state.renders.get(render_id)
    if render is None:
        raise SandboxError(404, f"unknown renderId {render_id!r}: preview the freight first")
    state.booking_attempts += 1
    state.bookings_by_render_id[render_id] += 1
    existing = state.bookings.get(render_id)
    if existing is not None:
        state.duplicate_booking_attempts += 1
        if existing.tmall_order_id != tmall_order_id:
            raise SandboxError(
                409,
                f"renderId {render_id!r} is already booked as order {existing.order_id} for "
                f"another tmallOrderId",
            )
        return existing.booking

    order_id = state.new_order_id()
    booking = {
        "orderId": order_id,
        "orderFee": render.preview["totalFreight"],
        "subOrders": [
            {
                "itemInfos": [
                    {"itemId": item_id, "skuId": sku_id, "quantity": quantity, "title": title}
                ],
                "internationalLogisticInfos": _international(state, service),
            }
            for item_id, sku_id, quantity, title, service in sub_orders
        ],
    }
    order = OrderRecord(order_id, render_id, tmall_order_id, body, booking)
    state.bookings[render_id] = order
    state.orders[order_id] = order
    state.orders_by_upstream_order[tmall_order_id] += 1
    return booking


def _international(state: SandboxState, service: Service) -> dict[str, str]:
    number = state.new_tracking_number()
    return {
        "logisticNumer": number,
        "logisticCompanyName": service.company_name,
        "trackingUrl": TRACKING_URL.format(number),
        "logisticType": service.company_name,
    }


@operation("logistics.update_domestic_logistics")
def update_domestic_logistics(state: SandboxState, body: dict[str, Any]) -> Any:
    order_id = c.id_string(body, "orderId")
    if body.get("tmallOrderId") is not None:
        c.id_string(body, "tmallOrderId")
    infos = c.items(body, "logisticInfos")
    for i, info in enumerate(infos):
        path = c.at("logisticInfos", i)
        line = c.obj(info, "lineItem", path)
        _item(line, c.at(path, "lineItem"))
        c.string(info, "logisticNumer", path, required=False)
        for j, parcel in enumerate(c.items(info, "domesticLogisticInfo", path)):
            where = c.at(c.at(path, "domesticLogisticInfo"), j)
            c.string(parcel, "logisticNumer", where)
            c.string(parcel, "logisticCompanyName", where, required=False)
            rts = parcel.get("rtsTime")
            if rts is not None and not str(rts).isdigit():
                raise c.bad(c.at(where, "rtsTime"), f"must be epoch seconds, got {rts!r}"[:200])
    order = state.orders.get(order_id)
    if order is None:
        raise SandboxError(404, f"unknown orderId {order_id!r}: book the order first")
    order.domestic_logistics = infos
    order.logistics_updates += 1
    state.logistics_updates += 1
    return True
