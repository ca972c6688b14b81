"""Receiving Xportcn's message pushes (API.md §5).

- :func:`parse_message` turns a pushed body into a typed :class:`Message`
  (:class:`OrderMessage`, :class:`RefundMessage`, or :class:`UnknownMessage`).
- :func:`create_webhook_app` is an ``aiohttp.web`` app that acknowledges every push at once,
  drops redeliveries, and runs your handler in the background.
"""

from .messages import (
    MAX_DEPTH,
    ORDER_MESSAGE_TYPES,
    REFUND_MESSAGE_TYPES,
    MalformedMessageError,
    Message,
    MessagePlatform,
    MessageType,
    OrderEvent,
    OrderMessage,
    RefundEvent,
    RefundMessage,
    UnknownMessage,
    parse_message,
)
from .receiver import (
    DEFAULT_PATH,
    RECEIVER_KEY,
    DedupeStore,
    MemoryDedupeStore,
    OnMessage,
    ReceiverStats,
    WebhookReceiver,
    create_webhook_app,
)
from .server import DEFAULT_HEADER_TIMEOUT, DEFAULT_IDLE_TIMEOUT, WebhookServer

__all__ = [
    "DEFAULT_HEADER_TIMEOUT",
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_PATH",
    "MAX_DEPTH",
    "ORDER_MESSAGE_TYPES",
    "RECEIVER_KEY",
    "REFUND_MESSAGE_TYPES",
    "DedupeStore",
    "MalformedMessageError",
    "MemoryDedupeStore",
    "Message",
    "MessagePlatform",
    "MessageType",
    "OnMessage",
    "OrderEvent",
    "OrderMessage",
    "ReceiverStats",
    "RefundEvent",
    "RefundMessage",
    "UnknownMessage",
    "WebhookReceiver",
    "WebhookServer",
    "create_webhook_app",
    "parse_message",
]
