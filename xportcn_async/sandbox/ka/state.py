"""The sandbox's KA and wms state: orders, wms packages, the queue of pushed messages, and
the controls a test uses to move orders along (what the seller or the buyer would do
elsewhere).

**Orders** start ``WAITING_FOR_PAYMENT``; paying moves them to ``WAITING_FOR_SENT``. The
controls cancel them (``CANCEL``), change their price, refund them, or ship them
(``WAITING_FOR_RECEIVE``, a status the docs do not list, with parcels for
``orders.logistics``). Statuses and message types are the SDK's own enums.

**Messages.** Create, pay, cancel, price change and refund queue the §5 push for the order;
:class:`~xportcn_async.sandbox.push.MessagePusher` delivers the queue to a callback URL.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any

import attrs

from ...models import CHINA_TZ, OrderStatus, PayStatus
from ...webhooks import MessagePlatform, MessageType
from ...wire import format_china_time
from ..core import Sandbox
from ..state import SandboxState

__all__ = [
    "OUTBOX_LIMIT",
    "SHIPPED",
    "KaOrder",
    "KaState",
    "WmsPackageRecord",
    "ka_state",
]

NAMESPACE = "ka"
OUTBOX_LIMIT = 10_000
SHIPPED = OrderStatus("WAITING_FOR_RECEIVE")
"""The status of a shipped order. The docs do not list it, so it is an open value of the
SDK's :class:`~xportcn_async.models.OrderStatus`, not a known member."""
PACKAGE_FORECAST = "FORECAST"
PACKAGE_INBOUND = "INBOUND"


def china_time(epoch: float) -> str:
    """``epoch`` as the API writes times: ``yyyy-MM-dd HH:mm:ss`` in China time."""
    return format_china_time(datetime.fromtimestamp(epoch, CHINA_TZ))


@attrs.define(eq=False)
class KaOrder:
    order_id: str
    order_no: str
    out_order_id: str | None
    cart: str
    """The order's cart (address and cargo) as canonical JSON, for ``outOrderId`` replays."""
    lines: list[dict[str, Any]]
    goods_amount: int
    shipping_fee: int
    total_amount: int
    created: float
    status: OrderStatus = OrderStatus.WAITING_FOR_PAYMENT
    pay_status: PayStatus = PayStatus.UNPAID
    paid: float | None = None
    refund_amount: int = 0
    refund_status: str | None = None
    close_reason: str | None = None
    parcels: list[dict[str, Any]] = attrs.field(factory=list)

    def message_body(self) -> dict[str, Any]:
        """The order as pushed messages show it (API.md §5)."""
        return {
            "orderId": self.order_id,
            "orderNo": self.order_no,
            "orderStatus": self.status.value,
            "payStatus": self.pay_status.value,
            "totalAmount": self.total_amount,
            "shippingFee": self.shipping_fee,
            "productAmount": self.goods_amount,
            "refundAmount": self.refund_amount,
            "refundStatus": self.refund_status,
            "closeReason": self.close_reason,
            "tbCreateTime": china_time(self.created),
            "payTime": None if self.paid is None else china_time(self.paid),
        }

    def to_wire(self) -> dict[str, Any]:
        return {**self.message_body(), "outOrderId": self.out_order_id, "productItems": self.lines}


@attrs.define(eq=False)
class WmsPackageRecord:
    package_id: str
    out_order_id: str
    alibaba_order_id: str | None = None
    logistics_tracking_number: str | None = None
    logistics_company: str | None = None
    status: str = PACKAGE_FORECAST
    quality_inspection_info: dict[str, Any] | None = None
    remark: str | None = None

    def to_wire(self) -> dict[str, Any]:
        return {
            "package_id": self.package_id,
            "out_order_id": self.out_order_id,
            "alibaba_order_id": self.alibaba_order_id,
            "logistics_tracking_number": self.logistics_tracking_number,
            "logistics_company": self.logistics_company,
            "status": self.status,
            "quality_inspection_info": self.quality_inspection_info,
            "remark": self.remark,
        }


class KaState:
    """The sandbox's KA and wms state (``state.namespace("ka", KaState)``; get it with
    :func:`ka_state`), and the controls a test uses to move orders along.

    Pushed messages wait in :attr:`outbox` (the newest :data:`OUTBOX_LIMIT`) until a
    :class:`~xportcn_async.sandbox.push.MessagePusher` delivers them.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.orders: dict[str, KaOrder] = {}
        self.orders_by_out_id: dict[str, KaOrder] = {}
        self.packages: dict[str, WmsPackageRecord] = {}
        self.outbox: deque[dict[str, Any]] = deque(maxlen=OUTBOX_LIMIT)
        self.pushed_total = 0
        self._listeners: list[Callable[[], None]] = []
        self._order_seq = 0
        self._package_seq = 0
        self._parcel_seq = 0
        self._refund_seq = 0

    # -- ids -------------------------------------------------------------------------------

    def new_order_ids(self) -> tuple[str, str]:
        self._order_seq += 1
        day = datetime.fromtimestamp(self.clock(), CHINA_TZ).strftime("%Y%m%d")
        return f"3305{self._order_seq:015d}", f"PO{day}{self._order_seq:04d}"

    def new_package_id(self) -> str:
        self._package_seq += 1
        return f"WP{self._package_seq:08d}"

    # -- messages --------------------------------------------------------------------------

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener()`` whenever a message is queued; returns the unsubscriber."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def push(self, message_type: MessageType, body: dict[str, Any]) -> dict[str, Any]:
        """Queue the §5 push of ``message_type`` with ``body`` (sent as a JSON string)."""
        message = {
            "messageType": message_type.value,
            "messageBody": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
            "messagePlatform": MessagePlatform.ALIBABA_1688.value,
            "timestamp": str(int(self.clock() * 1000)),
        }
        self.outbox.append(message)
        self.pushed_total += 1
        for listener in list(self._listeners):
            listener()
        return message

    # -- controls (what the seller or buyer would do elsewhere) -------------------------------

    def order(self, order_id: str) -> KaOrder:
        try:
            return self.orders[order_id]
        except KeyError:
            raise KeyError(f"the sandbox has no KA order {order_id!r}") from None

    def cancel_order(self, order_id: str, reason: str = "buyer cancelled") -> KaOrder:
        """Cancel an unpaid order (``CANCEL``) and push ``ORDER_CANCEL``."""
        order = self.order(order_id)
        if order.status != OrderStatus.WAITING_FOR_PAYMENT:
            raise ValueError(f"order {order_id} is {order.status}; only unpaid orders cancel")
        order.status = OrderStatus.CANCEL
        order.close_reason = reason
        self.push(MessageType.ORDER_CANCEL, order.message_body())
        return order

    def change_price(self, order_id: str, total_amount: int) -> KaOrder:
        """The seller changes an unpaid order's total (fen); pushes
        ``ORDER_BUYER_VIEW_ORDER_PRICE_MODIFY``."""
        order = self.order(order_id)
        if order.status != OrderStatus.WAITING_FOR_PAYMENT:
            raise ValueError(f"order {order_id} is {order.status}; only unpaid prices change")
        if total_amount <= 0:
            raise ValueError(f"total_amount must be positive fen, got {total_amount}")
        order.total_amount = total_amount
        self.push(MessageType.ORDER_PRICE_MODIFY, order.message_body())
        return order

    def refund_order(self, order_id: str, amount: int | None = None) -> KaOrder:
        """Refund a paid order (all of it by default); pushes
        ``ORDER_BUYER_VIEW_ORDER_BUYER_REFUND``."""
        order = self.order(order_id)
        if order.pay_status != PayStatus.PAID:
            raise ValueError(f"order {order_id} is not paid")
        refund = order.total_amount if amount is None else amount
        if not 0 < refund <= order.total_amount - order.refund_amount:
            raise ValueError(f"cannot refund {refund} fen of order {order_id}")
        self._refund_seq += 1
        order.refund_amount += refund
        order.refund_status = "REFUND_SUCCESS"
        self.push(
            MessageType.ORDER_REFUND,
            {
                "refundId": f"TQ{self._refund_seq:012d}",
                "orderId": order.order_id,
                "refundStatus": order.refund_status,
                "refundAmount": refund,
            },
        )
        return order

    def ship_order(self, order_id: str) -> KaOrder:
        """The sellers ship a paid order: one parcel per line, status
        ``WAITING_FOR_RECEIVE``."""
        order = self.order(order_id)
        if order.status != OrderStatus.WAITING_FOR_SENT:
            raise ValueError(f"order {order_id} is {order.status}; only paid orders ship")
        for line in order.lines:
            self._parcel_seq += 1
            order.parcels.append(
                {
                    "logisticsId": f"LP{self._parcel_seq:010d}",
                    "logisticsBillNo": f"YT{7565691026000 + self._parcel_seq}",
                    "logisticsCompanyName": "圆通速递",
                    "status": "SENT",
                    "sendGoods": [
                        {"goodName": line["title"], "quantity": line["quantity"], "unit": "件"}
                    ],
                }
            )
        order.status = SHIPPED
        return order


def ka_state(where: Sandbox | SandboxState) -> KaState:
    """The KA state of a sandbox (made on first use)."""
    state = where if isinstance(where, SandboxState) else where.state
    return state.namespace(NAMESPACE, lambda: KaState(state.clock))
