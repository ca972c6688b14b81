"""Receiving Xportcn's message pushes (API.md §5).

- :func:`parse_message` turns a pushed body into a typed :class:`Message`
  (:class:`OrderMessage`, :class:`RefundMessage`, or :class:`UnknownMessage`).
- :func:`create_webhook_app` is an ``aiohttp.web`` app that acknowledges every push at once,
  drops redeliveries, and runs your handler in the background; with ``inbox=``, it stores
  each push durably (SQLite or PostgreSQL) before answering and runs your handler from the
  store with retries (:class:`Dispatcher`).
- :class:`WebhookServer` serves it with header and idle timeouts.
"""

from .backends import open_inbox
from .dispatcher import Dispatcher, OnMessage, retry_delay
from .inbox import (
    Inbox,
    InboxStats,
    MemoryInbox,
    MessageStatus,
    StoredMessage,
)
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
from .postgres_inbox import PostgresInbox
from .receiver import (
    DEFAULT_PATH,
    RECEIVER_KEY,
    DedupeStore,
    MemoryDedupeStore,
    ReceiverStats,
    WebhookReceiver,
    create_webhook_app,
)
from .server import DEFAULT_HEADER_TIMEOUT, DEFAULT_IDLE_TIMEOUT, WebhookServer
from .sqlite_inbox import SQLiteInbox

__all__ = [
    "DEFAULT_HEADER_TIMEOUT",
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_PATH",
    "MAX_DEPTH",
    "ORDER_MESSAGE_TYPES",
    "RECEIVER_KEY",
    "REFUND_MESSAGE_TYPES",
    "DedupeStore",
    "Dispatcher",
    "Inbox",
    "InboxStats",
    "MalformedMessageError",
    "MemoryDedupeStore",
    "MemoryInbox",
    "Message",
    "MessagePlatform",
    "MessageStatus",
    "MessageType",
    "OnMessage",
    "OrderEvent",
    "OrderMessage",
    "PostgresInbox",
    "ReceiverStats",
    "RefundEvent",
    "RefundMessage",
    "SQLiteInbox",
    "StoredMessage",
    "UnknownMessage",
    "WebhookReceiver",
    "WebhookServer",
    "create_webhook_app",
    "open_inbox",
    "parse_message",
    "retry_delay",
]
