"""The message push receiver: an aiohttp.web handler that acknowledges at once and runs your
handler in the background.

With an ``inbox`` (see :mod:`xportcn_async.webhooks.inbox`), a push is committed to the
inbox *before* it is answered 200, and a :class:`~xportcn_async.webhooks.Dispatcher` hands it
to your handler from there, with retries: nothing acknowledged is lost to a crash or to a
handler that raises. Without one, messages wait in memory (not durable: see the README).

Xportcn wants HTTP 200 within 1000 ms, and retries a push it considers unanswered (up to 5
times, half an hour apart). So the receiver answers as soon as the push is parsed and
recorded, runs ``on_message`` later with bounded concurrency, and drops deliveries it has
already accepted::

    async def on_message(message: Message) -> None:
        if isinstance(message, OrderMessage):
            ...

    app = create_webhook_app(on_message)        # POST /xportcn/messages
    web.run_app(app, port=8080)

Answers: 200 accepted (or a duplicate, dropped); 400 not JSON, or not a message; 408 the body
did not arrive within ``body_timeout`` (the connection is closed); 413 a body over
``max_body_size``; 503 too many messages waiting (Xportcn will retry later) or the
receiver is shutting down. An exception raised by ``on_message`` is logged, never
propagated.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Protocol, runtime_checkable

import attrs
from aiohttp import web

from .backends import open_inbox
from .dispatcher import DAY, Dispatcher, OnMessage
from .inbox import Inbox
from .inbox import now as inbox_now
from .messages import MalformedMessageError, Message, parse_message

logger = logging.getLogger("xportcn_async.webhooks")

DEFAULT_PATH = "/xportcn/messages"
ACK_BODY = "success"


@runtime_checkable
class DedupeStore(Protocol):
    """Remembers the messages already accepted, so that a redelivery is dropped.

    :meth:`add` must be atomic: of two concurrent calls with one key, one returns ``True``.
    Back it with Redis (``SET key 1 NX EX …``) or a database to dedupe across processes.
    """

    async def add(self, key: str) -> bool:
        """Record ``key``; ``True`` when it is new, ``False`` when it was already there."""
        ...


class MemoryDedupeStore:
    """An in-process :class:`DedupeStore` keeping the last ``max_keys`` keys (least recently
    seen dropped first). Memory stays bounded however long the receiver runs."""

    def __init__(self, max_keys: int = 10_000) -> None:
        if max_keys < 1:
            raise ValueError(f"max_keys must be positive, got {max_keys}")
        self.max_keys = max_keys
        self._keys: OrderedDict[str, None] = OrderedDict()

    async def add(self, key: str) -> bool:
        if key in self._keys:
            self._keys.move_to_end(key)
            return False
        self._keys[key] = None
        if len(self._keys) > self.max_keys:
            self._keys.popitem(last=False)
        return True

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)


@attrs.frozen(kw_only=True)
class ReceiverStats:
    """Counters since the receiver was made."""

    accepted: int
    duplicates: int
    rejected: int
    """Answered 400, 408 or 413."""
    refused: int
    """Answered 503 (too many waiting, or shutting down)."""
    handled: int
    """``on_message`` returned."""
    failed: int
    """``on_message`` raised (logged)."""
    pending: int
    """Accepted, ``on_message`` not finished yet."""


class WebhookReceiver:
    """The push endpoint's state and handler; :func:`create_webhook_app` wires it into an
    app. To mount it in an app of your own::

        receiver = WebhookReceiver(on_message, inbox="inbox.sqlite3")
        app.router.add_post("/xportcn/messages", receiver.handle)
        app.on_startup.append(receiver.on_startup)
        app.on_cleanup.append(receiver.on_cleanup)

    - ``on_message``: your handler; ``None`` with an inbox to only store pushes (another
      process, or ``xportcn webhooks serve`` later, handles them).
    - ``inbox``: an :class:`~xportcn_async.webhooks.Inbox`, an SQLite file path, or a
      ``postgresql://`` URL: store, then answer (503 when the store cannot be written within
      ``store_timeout`` seconds). An inbox made from a path or URL is opened and closed by
      the receiver; one you pass is opened (if needed) but left for you to close.
    - ``max_attempts``, ``initial_retry_delay``, ``max_retry_delay``, ``lease``,
      ``retention``: the :class:`~xportcn_async.webhooks.Dispatcher`'s retries, back-off,
      lease and how long done messages are kept (inbox only).
    - ``max_concurrency``: how many ``on_message`` calls run at once.
    - ``max_pending``: without an inbox, how many accepted messages may wait or run; beyond
      that a push is answered 503 (not recorded, so Xportcn's retry is accepted later).
    - ``dedupe``: without an inbox, a :class:`DedupeStore` (default:
      :class:`MemoryDedupeStore`). An inbox dedupes by itself.
    - ``max_body_size``: bytes; a larger body is answered 413.
    - ``body_timeout``: seconds for a push's body to arrive once its headers are in; a slower
      one is answered 408 and its connection closed. (Header and idle timeouts belong to the
      server: see :class:`~xportcn_async.webhooks.WebhookServer`.)
    - ``shutdown_timeout``: seconds :meth:`aclose` waits for running handlers before
      cancelling them.
    """

    def __init__(
        self,
        on_message: OnMessage | None,
        *,
        inbox: Inbox | str | None = None,
        max_attempts: int = 5,
        initial_retry_delay: float = 1.0,
        max_retry_delay: float = 300.0,
        lease: float = 30.0,
        retention: float = 7 * DAY,
        store_timeout: float = 5.0,
        max_concurrency: int = 8,
        max_pending: int = 1000,
        dedupe: DedupeStore | None = None,
        max_body_size: int = 64 * 1024,
        body_timeout: float = 10.0,
        shutdown_timeout: float = 10.0,
    ) -> None:
        if inbox is None and on_message is None:
            raise ValueError("on_message is required without an inbox")
        if inbox is not None and dedupe is not None:
            raise ValueError("an inbox dedupes by itself: pass inbox or dedupe, not both")
        if not body_timeout > 0:
            raise ValueError(f"body_timeout must be positive, got {body_timeout}")
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be positive, got {max_concurrency}")
        if max_pending < 1:
            raise ValueError(f"max_pending must be positive, got {max_pending}")
        if max_body_size < 1:
            raise ValueError(f"max_body_size must be positive, got {max_body_size}")
        self._on_message = on_message
        self._owns_inbox = isinstance(inbox, str)
        self.inbox: Inbox | None = None if inbox is None else open_inbox(inbox)
        self.store_timeout = store_timeout
        self.dispatcher: Dispatcher | None = None
        if self.inbox is not None and on_message is not None:
            self.dispatcher = Dispatcher(
                self.inbox,
                on_message,
                max_concurrency=max_concurrency,
                max_attempts=max_attempts,
                initial_retry_delay=initial_retry_delay,
                max_retry_delay=max_retry_delay,
                lease=lease,
                retention=retention,
                shutdown_timeout=shutdown_timeout,
            )
        self._max_pending = max_pending
        self._max_concurrency = max_concurrency
        self._semaphore: asyncio.Semaphore | None = None
        self.dedupe: DedupeStore = dedupe if dedupe is not None else MemoryDedupeStore()
        self.max_body_size = max_body_size
        self.body_timeout = body_timeout
        self.shutdown_timeout = shutdown_timeout
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        self._accepted = self._duplicates = self._rejected = self._refused = 0
        self._handled = self._failed = 0

    @property
    def stats(self) -> ReceiverStats:
        """This process's counters. With an inbox, ``inbox.stats()`` has the stored counts
        (pending, done, dead, the oldest pending message's age) across restarts."""
        d = self.dispatcher
        return ReceiverStats(
            accepted=self._accepted,
            duplicates=self._duplicates,
            rejected=self._rejected,
            refused=self._refused,
            handled=self._handled if d is None else d.handled,
            failed=self._failed if d is None else d.failed,
            pending=len(self._tasks) if d is None else d.running,
        )

    async def handle(self, request: web.Request) -> web.Response:
        """The aiohttp handler: answer at once, run ``on_message`` in the background."""
        if self._closing:
            self._refused += 1
            return web.Response(status=503, text="shutting down")
        try:
            body = await asyncio.wait_for(self._read(request), self.body_timeout)
        except asyncio.TimeoutError:
            self._rejected += 1
            logger.warning("xportcn push rejected: no body after %g s", self.body_timeout)
            response = web.Response(status=408, text="the body was not received in time")
            response.force_close()
            return response
        if body is None:
            self._rejected += 1
            return web.Response(
                status=413, text=f"the body is larger than {self.max_body_size} bytes"
            )
        try:
            message = parse_message(body)
        except MalformedMessageError as exc:
            self._rejected += 1
            logger.warning("xportcn push rejected: %s", exc)
            return web.Response(status=400, text=str(exc))
        if self.inbox is not None:
            return await self._store(message, body)
        if len(self._tasks) >= self._max_pending:
            self._refused += 1
            logger.warning(
                "xportcn push %s refused: %d messages are waiting", message.type, len(self._tasks)
            )
            return web.Response(status=503, text="too many messages waiting")
        if not await self.dedupe.add(message.key):
            self._duplicates += 1
            logger.debug("xportcn push %s dropped as a duplicate", message.type)
            return web.Response(text=ACK_BODY)
        self._accepted += 1
        task = asyncio.create_task(self._deliver(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.Response(text=ACK_BODY)

    async def _store(self, message: Message, body: bytes) -> web.Response:
        """Commit the push to the inbox, then answer: 200 only once it is stored."""
        assert self.inbox is not None
        try:
            added = await asyncio.wait_for(
                self.inbox.add(message.key, message.type.value, body, inbox_now()),
                self.store_timeout,
            )
        except Exception as exc:
            self._refused += 1
            logger.error(
                "xportcn push %s refused: the inbox could not store it (%s: %s)",
                message.type,
                type(exc).__name__,
                exc,
            )
            return web.Response(status=503, text="the push could not be stored; retry later")
        if added:
            self._accepted += 1
            if self.dispatcher is not None:
                self.dispatcher.wake()
        else:
            self._duplicates += 1
        return web.Response(text=ACK_BODY)

    async def _read(self, request: web.Request) -> bytes | None:
        """The body, or ``None`` when it is larger than ``max_body_size``."""
        limit = self.max_body_size
        if request.content_length is not None and request.content_length > limit:
            return None
        body = bytearray()
        async for chunk in request.content.iter_chunked(64 * 1024):
            body += chunk
            if len(body) > limit:
                return None
        return bytes(body)

    async def _deliver(self, message: Message) -> None:
        assert self._on_message is not None
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self._max_concurrency)
        async with self._semaphore:
            try:
                await self._on_message(message)
            except Exception:
                self._failed += 1
                logger.exception(
                    "xportcn message handler failed on %s (order %s)",
                    message.type,
                    getattr(message, "order_id", None),
                )
            else:
                self._handled += 1

    async def start(self) -> None:
        """Open the inbox and start the dispatcher (``app.on_startup`` does it)."""
        if self.inbox is not None:
            await self.inbox.open()
        if self.dispatcher is not None:
            await self.dispatcher.start()

    async def on_startup(self, _: web.Application) -> None:
        """For ``app.on_startup``."""
        await self.start()

    async def join(self) -> None:
        """Wait until every accepted message has been handled (with an inbox: until nothing
        is pending)."""
        if self.dispatcher is not None:
            await self.dispatcher.join()
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def aclose(self, timeout: float | None = None) -> None:
        """Stop accepting pushes, give running handlers ``timeout`` seconds (default
        ``shutdown_timeout``) to finish, then cancel the rest and wait for them. With an
        inbox, a cancelled message stays pending and runs again on the next start."""
        self._closing = True
        if self.dispatcher is not None:
            await self.dispatcher.aclose(timeout)
        if self.inbox is not None and self._owns_inbox:
            await self.inbox.aclose()
        wait = self.shutdown_timeout if timeout is None else timeout
        if self._tasks and wait > 0:
            await asyncio.wait(set(self._tasks), timeout=wait)
        leftover = set(self._tasks)
        for task in leftover:
            task.cancel()
        if leftover:
            logger.warning(
                "xportcn receiver closing: %d message handler(s) cancelled", len(leftover)
            )
            await asyncio.gather(*leftover, return_exceptions=True)

    async def on_cleanup(self, _: web.Application) -> None:
        """For ``app.on_cleanup``."""
        await self.aclose()


RECEIVER_KEY = web.AppKey("xportcn_webhook_receiver", WebhookReceiver)
"""``app[RECEIVER_KEY]`` is the :class:`WebhookReceiver` of an app made by
:func:`create_webhook_app`."""


def create_webhook_app(
    on_message: OnMessage | None,
    *,
    inbox: Inbox | str | None = None,
    max_attempts: int = 5,
    initial_retry_delay: float = 1.0,
    max_retry_delay: float = 300.0,
    lease: float = 30.0,
    retention: float = 7 * DAY,
    store_timeout: float = 5.0,
    path: str = DEFAULT_PATH,
    max_concurrency: int = 8,
    max_pending: int = 1000,
    dedupe: DedupeStore | None = None,
    max_body_size: int = 64 * 1024,
    body_timeout: float = 10.0,
    shutdown_timeout: float = 10.0,
) -> web.Application:
    """An ``aiohttp.web`` app that receives Xportcn pushes on ``POST path`` and calls
    ``await on_message(message)`` for each new one, in the background; with ``inbox``, from a
    durable store with retries. See :class:`WebhookReceiver` for the options;
    ``app[RECEIVER_KEY]`` is the receiver."""
    receiver = WebhookReceiver(
        on_message,
        inbox=inbox,
        max_attempts=max_attempts,
        initial_retry_delay=initial_retry_delay,
        max_retry_delay=max_retry_delay,
        lease=lease,
        retention=retention,
        store_timeout=store_timeout,
        max_concurrency=max_concurrency,
        max_pending=max_pending,
        dedupe=dedupe,
        max_body_size=max_body_size,
        body_timeout=body_timeout,
        shutdown_timeout=shutdown_timeout,
    )
    app = web.Application()
    app[RECEIVER_KEY] = receiver
    app.router.add_post(path, receiver.handle)
    app.on_startup.append(receiver.on_startup)
    app.on_cleanup.append(receiver.on_cleanup)
    return app


__all__ = [
    "DEFAULT_PATH",
    "RECEIVER_KEY",
    "DedupeStore",
    "MemoryDedupeStore",
    "OnMessage",
    "ReceiverStats",
    "WebhookReceiver",
    "create_webhook_app",
]
