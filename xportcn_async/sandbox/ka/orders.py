"""The order handlers (API.md §4.5): preview, create, pay, detail, logistics and list.

``create`` books a previewed cart as one order (all sellers together) that starts
``WAITING_FOR_PAYMENT``; ``pay`` moves it to ``WAITING_FOR_SENT``. ``create`` with an
``outOrderId`` already used for the same cart answers the same order; for another cart,
409. Both queue the order's §5 message.
"""

from __future__ import annotations

import json
from typing import Any

from ...models import OrderStatus, PayStatus
from ...webhooks import MessageType
from ...wire import parse_china_time
from .. import checks as c
from ..registry import SandboxError, operation
from ..state import SandboxState
from .catalogue import catalogue
from .paging import page_of, paged
from .preview import CartLine, Preview, preview
from .state import KaOrder, KaState, ka_state

__all__: list[str] = []


@operation("orders.preview")
def preview_order(state: SandboxState, body: dict[str, Any]) -> Any:
    return preview(body).to_wire()


@operation("orders.create")
def create_order(state: SandboxState, body: dict[str, Any]) -> Any:
    ka = ka_state(state)
    priced = preview(body)
    for key in ("message", "shopPromotionId", "tradeType"):
        c.string(body, key, required=False)
    out_order_id = c.string(body, "outOrderId", required=False) or None
    if priced.problems:
        details = "; ".join(f"{path}: {message}" for path, message in priced.problems)
        raise SandboxError(400, f"the order cannot be created: {details}")
    cart = json.dumps(
        [body.get("addressParam"), body.get("cargoParamList")], sort_keys=True, default=str
    )
    order = _replayed(ka, out_order_id, cart) or _place(state, ka, priced, out_order_id, cart)
    return {"orderId": order.order_id, "totalSuccessAmount": order.total_amount}


def _replayed(ka: KaState, out_order_id: str | None, cart: str) -> KaOrder | None:
    """The order an ``outOrderId`` already made for the same cart (409 for another cart)."""
    existing = None if out_order_id is None else ka.orders_by_out_id.get(out_order_id)
    if existing is not None and existing.cart != cart:
        raise SandboxError(409, f"outOrderId {out_order_id!r} is already order {existing.order_id}")
    return existing


def _place(
    state: SandboxState, ka: KaState, priced: Preview, out_order_id: str | None, cart: str
) -> KaOrder:
    """Book a priced cart without problems as a new order, and push ``ORDER_CREATE``."""
    order_id, order_no = ka.new_order_ids()
    order = KaOrder(
        order_id=order_id,
        order_no=order_no,
        out_order_id=out_order_id,
        cart=cart,
        lines=[_order_line(line) for line in priced.lines],
        goods_amount=sum(s.goods for s in priced.sellers),
        shipping_fee=sum(s.carriage for s in priced.sellers),
        total_amount=sum(s.total_payment for s in priced.sellers),
        created=state.clock(),
    )
    ka.orders[order_id] = order
    if out_order_id is not None:
        ka.orders_by_out_id[out_order_id] = order
    ka.push(MessageType.ORDER_CREATE, order.message_body())
    return order


def _order_line(line: CartLine) -> dict[str, Any]:
    """An orderable cart line as the order's ``productItems`` show it."""
    product = catalogue()[line.offer_id]
    assert line.sku is not None
    return {
        "offerId": line.offer_id,
        "specId": line.sku.spec_id,
        "skuId": line.sku.sku_id,
        "title": product.subject,
        "imageUrl": product.image_urls()[0],
        "quantity": line.quantity,
        "finalUnitPrice": line.unit_price,
        "amount": line.amount,
    }


def _order(state: SandboxState, body: dict[str, Any]) -> KaOrder:
    order_id = c.id_string(body, "orderId")
    order = ka_state(state).orders.get(order_id)
    if order is None:
        raise SandboxError(404, f"unknown orderId {order_id!r}")
    return order


@operation("orders.pay")
def pay_order(state: SandboxState, body: dict[str, Any]) -> Any:
    order = _order(state, body)
    if order.status == OrderStatus.CANCEL:
        raise SandboxError(409, f"order {order.order_id} is cancelled")
    if order.pay_status != PayStatus.PAID:
        order.pay_status = PayStatus.PAID
        order.paid = state.clock()
        order.status = OrderStatus.WAITING_FOR_SENT
        ka_state(state).push(MessageType.ORDER_PAY_SUCCESS, order.message_body())
    return {
        "orderId": order.order_id,
        "payUrl": f"https://sandbox.xportcn.invalid/pay?orderId={order.order_id}",
    }


def _web_site(body: dict[str, Any]) -> None:
    web_site = c.string(body, "webSite", required=False)
    if web_site not in (None, "1688"):
        raise c.bad("webSite", f"must be '1688', got {web_site!r}"[:200])


@operation("orders.detail")
def order_detail(state: SandboxState, body: dict[str, Any]) -> Any:
    _web_site(body)
    return _order(state, body).to_wire()


@operation("orders.logistics")
def order_logistics(state: SandboxState, body: dict[str, Any]) -> Any:
    _web_site(body)
    return list(_order(state, body).parcels)


def _time_filter(body: dict[str, Any], key: str) -> float | None:
    value = c.string(body, key, required=False)
    if not value:
        return None
    try:
        return parse_china_time(value).timestamp()
    except ValueError:
        raise c.bad(key, f"must be 'yyyy-MM-dd HH:mm:ss', got {value!r}"[:200]) from None


@operation("orders.list")
def list_orders(state: SandboxState, body: dict[str, Any]) -> Any:
    page, size = page_of(body)
    status = c.string(body, "orderStatus", required=False)
    start, end = _time_filter(body, "createStartTime"), _time_filter(body, "createEndTime")
    chosen = [
        o.to_wire()
        for o in reversed(ka_state(state).orders.values())
        if (not status or o.status == status)
        and (start is None or o.created >= start)
        and (end is None or o.created <= end)
    ]
    return paged(chosen, page, size)
