"""Pushed messages (API.md §5): parse a pushed body into a typed message.

A push is a JSON object whose ``messageBody`` is *another* JSON document encoded as a
string::

    {"messageType": "ORDER_PAY_SUCCESS", "messageBody": "{\\"orderId\\":\\"33050…\\", …}",
     "messagePlatform": 1, "timestamp": "1779263269913"}

:func:`parse_message` decodes both levels and gives the values real types: the push time is
an aware UTC ``datetime``, order times are aware datetimes in China time, amounts are
:class:`~xportcn_async.models.Fen`, statuses are open enums. Message types the SDK does not
know become an :class:`UnknownMessage` that keeps the body; a push that is not a message
at all raises :class:`MalformedMessageError`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import attrs

from ..errors import XportcnError
from ..models import ChinaTime, Fen, OpenEnum, OpenIntEnum, OrderStatus, PayStatus
from ..wire import WireValueError, converter, extras_field, integer, shown, tolerant, wire_field


class MalformedMessageError(XportcnError, ValueError):
    """A pushed body is not a message: not JSON, not an object, or missing or mistyping a
    field every message needs. ``field`` names the wire field at fault, when there is one."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


class MessageType(OpenEnum):
    """The documented message types. The docs' list is cut off: other values are kept
    (``message.type.is_known`` is ``False``) and delivered as :class:`UnknownMessage`."""

    ORDER_CREATE = "ORDER_CREATE"
    ORDER_CANCEL = "ORDER_CANCEL"
    ORDER_PAY_SUCCESS = "ORDER_PAY_SUCCESS"
    ORDER_PRICE_MODIFY = "ORDER_BUYER_VIEW_ORDER_PRICE_MODIFY"
    ORDER_REFUND = "ORDER_BUYER_VIEW_ORDER_BUYER_REFUND"
    # The wire names as the Xportcn docs spell them (aliases of the two above).
    ORDER_BUYER_VIEW_ORDER_PRICE_MODIFY = "ORDER_BUYER_VIEW_ORDER_PRICE_MODIFY"
    ORDER_BUYER_VIEW_ORDER_BUYER_REFUND = "ORDER_BUYER_VIEW_ORDER_BUYER_REFUND"


class MessagePlatform(OpenIntEnum):
    """Where the order lives: ``0`` Taobao, ``1`` 1688."""

    TAOBAO = 0
    ALIBABA_1688 = 1


ORDER_MESSAGE_TYPES = frozenset(
    {
        MessageType.ORDER_CREATE,
        MessageType.ORDER_CANCEL,
        MessageType.ORDER_PAY_SUCCESS,
        MessageType.ORDER_PRICE_MODIFY,
    }
)
REFUND_MESSAGE_TYPES = frozenset({MessageType.ORDER_REFUND})
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@tolerant
@attrs.frozen(kw_only=True)
class OrderEvent:
    """The body of an order message: the order as it is after the event. Amounts are fen;
    ``pay_status`` is 1 unpaid, 2 paid; times are China time (UTC+8)."""

    order_id: str | None = None
    order_no: str | None = None
    status: OrderStatus | None = wire_field(default=None, wire="orderStatus")
    pay_status: PayStatus | None = None
    total_amount: Fen | None = None
    shipping_fee: Fen | None = None
    product_amount: Fen | None = None
    refund_amount: Fen | None = None
    refund_status: str | None = wire_field(default=None, keep_none=True)
    close_reason: str | None = wire_field(default=None, keep_none=True)
    created_at: ChinaTime | None = wire_field(default=None, wire="tbCreateTime")
    paid_at: ChinaTime | None = wire_field(default=None, wire="payTime", keep_none=True)
    extras: dict[str, Any] = extras_field()


@tolerant
@attrs.frozen(kw_only=True)
class RefundEvent:
    """The body of a refund message (``refundId`` and ``orderId`` are documented; the rest
    is inferred)."""

    refund_id: str | None = None
    order_id: str | None = None
    refund_status: str | None = None
    refund_amount: Fen | None = None
    extras: dict[str, Any] = extras_field()


_Event = TypeVar("_Event", OrderEvent, RefundEvent)


@attrs.frozen(kw_only=True)
class Message:
    """What every pushed message has.

    - ``type``: the message type (an open enum: unknown types are kept).
    - ``platform``: ``MessagePlatform.ALIBABA_1688`` or ``TAOBAO`` (``None`` if not sent).
    - ``timestamp``: when Xportcn sent it, an aware UTC datetime (``None`` if not sent).
    - ``body``: ``messageBody`` decoded from its JSON string.
    - ``raw``: the push exactly as received (``messageBody`` still a string).
    """

    type: MessageType
    platform: MessagePlatform | None
    timestamp: datetime | None
    body: Any
    raw: Mapping[str, Any] = attrs.field(repr=False)

    @property
    def key(self) -> str:
        """What identifies this message across deliveries: a hash of its type and body.

        The push timestamp is left out, so a redelivery is recognised even if it is sent
        with a new one."""
        body = self.raw.get("messageBody")
        text = body if isinstance(body, str) else json.dumps(body, sort_keys=True)
        return hashlib.sha256(f"{self.type.value}\n{text}".encode()).hexdigest()


@attrs.frozen(kw_only=True)
class OrderMessage(Message):
    """``ORDER_CREATE``, ``ORDER_CANCEL``, ``ORDER_PAY_SUCCESS`` or a price change."""

    order: OrderEvent

    @property
    def order_id(self) -> str | None:
        return self.order.order_id


@attrs.frozen(kw_only=True)
class RefundMessage(Message):
    """A buyer refund (``ORDER_BUYER_VIEW_ORDER_BUYER_REFUND``)."""

    refund: RefundEvent

    @property
    def order_id(self) -> str | None:
        return self.refund.order_id


@attrs.frozen(kw_only=True)
class UnknownMessage(Message):
    """A message type the SDK does not know. ``body`` is the decoded ``messageBody`` (the
    string itself when it is not JSON); nothing is dropped."""


def parse_message(data: bytes | str | Mapping[str, Any]) -> Message:
    """A pushed body (bytes, text, or the decoded JSON object) as a typed message.

    Raises :class:`MalformedMessageError` (and nothing else, whatever the input) when it is
    not JSON, not an object, nests deeper than :data:`MAX_DEPTH` levels, lacks a
    ``messageType`` or a ``messageBody``, has a timestamp or platform that is not a plain
    integer, or (for a known type) a ``messageBody`` that is not a JSON object.
    """
    doc = _document(data)
    message_type = doc.get("messageType")
    if message_type is None:
        raise MalformedMessageError("the push has no messageType", field="messageType")
    if not isinstance(message_type, str) or not message_type.strip():
        raise MalformedMessageError(
            f"messageType must be a non-empty string, got {message_type!r}"[:200],
            field="messageType",
        )
    kind = MessageType(message_type)
    if "messageBody" not in doc or doc["messageBody"] is None:
        raise MalformedMessageError("the push has no messageBody", field="messageBody")
    body = _body(doc["messageBody"], required=kind in ORDER_MESSAGE_TYPES | REFUND_MESSAGE_TYPES)
    common: dict[str, Any] = {
        "type": kind,
        "platform": _platform(doc.get("messagePlatform")),
        "timestamp": _timestamp(doc.get("timestamp")),
        "body": body,
        "raw": doc,
    }
    if kind in ORDER_MESSAGE_TYPES:
        return OrderMessage(order=_event(body, OrderEvent), **common)
    if kind in REFUND_MESSAGE_TYPES:
        return RefundMessage(refund=_event(body, RefundEvent), **common)
    return UnknownMessage(**common)


MAX_DEPTH = 64
"""How deeply a push (and its decoded ``messageBody``) may nest. Real pushes nest a few
levels; the limit keeps hostile bodies from exhausting the stack later (in ``json.dumps``,
in a handler, or when an inbox stores the message)."""


def _document(data: bytes | str | Mapping[str, Any]) -> Mapping[str, Any]:
    doc: Any = data
    if not isinstance(data, Mapping):
        try:
            doc = json.loads(data)
        except RecursionError:
            raise _too_deep("the push") from None
        except ValueError as exc:  # UnicodeDecodeError is a ValueError
            raise MalformedMessageError(f"the push is not JSON: {exc}") from None
    if not isinstance(doc, Mapping):
        raise MalformedMessageError(f"the push is a JSON {type(doc).__name__}, not an object")
    _check_json(doc, "the push")
    return doc


def _body(value: Any, *, required: bool) -> Any:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except RecursionError:
            raise _too_deep("messageBody", field="messageBody") from None
        except ValueError as exc:
            if not required:
                return value  # an unknown type's body may be any string
            raise MalformedMessageError(
                f"messageBody is not a JSON document: {exc}", field="messageBody"
            ) from None
    _check_json(value, "messageBody", field="messageBody")
    if required and not isinstance(value, dict):
        raise MalformedMessageError(
            f"messageBody must be a JSON object, got {type(value).__name__}", field="messageBody"
        )
    return value


def _too_deep(what: str, field: str | None = None) -> MalformedMessageError:
    return MalformedMessageError(f"{what} nests deeper than {MAX_DEPTH} levels", field=field)


def _check_json(value: Any, what: str, field: str | None = None) -> None:
    """Refuse values nested deeper than MAX_DEPTH or that are not JSON (a caller may pass any
    mapping). Iterative, so that no input can exhaust the stack here."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
            if not all(isinstance(k, str) for k in item):
                raise MalformedMessageError(
                    f"{what} has an object key that is not a string", field=field
                )
        elif isinstance(item, list):
            children = item
        elif item is None or isinstance(item, (str, int, float)):
            continue
        else:
            raise MalformedMessageError(
                f"{what} holds a {type(item).__name__}, not JSON", field=field
            )
        if depth > MAX_DEPTH:
            raise _too_deep(what, field)
        stack.extend((child, depth + 1) for child in children)


def _event(body: dict[str, Any], model: type[_Event]) -> _Event:
    # The event models are tolerant (a field that does not fit is kept in ``extras``), so
    # this fails only on a converter fault; still, no input may raise anything but
    # MalformedMessageError out of parse_message.
    try:
        return converter.structure(body, model)
    except Exception as exc:
        raise MalformedMessageError(
            f"messageBody does not fit {model.__name__}: {type(exc).__name__}",
            field="messageBody",
        ) from None


def _integer(value: Any, field: str, what: str) -> int:
    """A plain integer, by the rule every wire integer follows (:func:`~xportcn_async.
    converter.integer`): a JSON integer, an integral number or a string of ASCII digits; not
    a fraction, a boolean, or a string such as " 7", "1_000" or "²"."""
    try:
        return integer(value)
    except WireValueError:
        raise MalformedMessageError(
            f"{field} must be {what}, got {shown(value)}", field=field
        ) from None


def _timestamp(value: Any) -> datetime | None:
    if value is None:
        return None
    millis = _integer(value, "timestamp", "epoch milliseconds")
    try:
        return _EPOCH + timedelta(milliseconds=millis)
    except OverflowError:
        raise MalformedMessageError(
            f"timestamp is out of range: {shown(value)}", field="timestamp"
        ) from None


def _platform(value: Any) -> MessagePlatform | None:
    if value is None:
        return None
    number = _integer(value, "messagePlatform", "0 or 1")
    if not -(2**63) <= number < 2**63:  # kept when unknown, but within an int64
        raise MalformedMessageError(
            f"messagePlatform is out of range: {shown(value)}", field="messagePlatform"
        )
    return MessagePlatform(number)


__all__ = [
    "MAX_DEPTH",
    "ORDER_MESSAGE_TYPES",
    "REFUND_MESSAGE_TYPES",
    "MalformedMessageError",
    "Message",
    "MessagePlatform",
    "MessageType",
    "OrderEvent",
    "OrderMessage",
    "RefundEvent",
    "RefundMessage",
    "UnknownMessage",
    "parse_message",
]
