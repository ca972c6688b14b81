"""The dispatcher: hands the inbox's messages to your handler, with retries.

It claims due messages (a lease per message, renewed while the handler runs), runs
``on_message`` on each with bounded concurrency, and marks the message done when the handler
returns. A handler that raises is retried after ``retry_delay(attempt)`` (exponential
back-off); after ``max_attempts`` attempts the message is dead: kept, listed, replayable.

Delivery is **at least once**: a handler sees a message a second time only when the process
died (or lost its lease) while that handler was running. Make handlers idempotent.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from collections.abc import Awaitable, Callable

from .inbox import Inbox, InboxStats, StoredMessage, now
from .messages import MalformedMessageError, Message

OnMessage = Callable[[Message], Awaitable[object]]
"""Your handler: ``async def on_message(message: Message) -> None``."""

logger = logging.getLogger("xportcn_async.webhooks")

DAY = 86_400.0


def retry_delay(attempt: int, *, initial: float, maximum: float) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1, 2, …): ``initial``,
    doubled each attempt, at most ``maximum``."""
    return float(min(maximum, initial * 2 ** min(attempt - 1, 64)))


class Dispatcher:
    """Runs ``on_message`` over the messages in ``inbox``.

    - ``max_concurrency``: handlers running at once.
    - ``max_attempts``: attempts before a message is dead (at least 1).
    - ``initial_retry_delay``, ``max_retry_delay``: the back-off, in seconds.
    - ``lease``: seconds a claim lasts without renewal; renewed every ``lease / 3`` while the
      handler runs. Another receiver takes over a message only after its lease expired.
    - ``poll_interval``: how often to look for due messages when nothing woke it.
    - ``retention``: seconds done messages are kept (7 days); pruned every ``prune_interval``.
    - ``recover_leases``: on start, make every in-flight message due again: what a crashed
      predecessor was running is retried at once. The default is on for an inbox that is not
      ``shared`` (SQLite, memory); off for PostgreSQL, whose other live receivers hold leases
      too: there a crashed receiver's messages run again when their leases expire.
    """

    def __init__(
        self,
        inbox: Inbox,
        on_message: OnMessage,
        *,
        max_concurrency: int = 8,
        max_attempts: int = 5,
        initial_retry_delay: float = 1.0,
        max_retry_delay: float = 300.0,
        lease: float = 30.0,
        poll_interval: float = 1.0,
        retention: float = 7 * DAY,
        prune_interval: float = 3600.0,
        recover_leases: bool | None = None,
        shutdown_timeout: float = 10.0,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be positive, got {max_concurrency}")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        if not lease > 0 or not poll_interval > 0:
            raise ValueError("lease and poll_interval must be positive")
        self.inbox = inbox
        self.on_message = on_message
        self.max_concurrency = max_concurrency
        self.max_attempts = max_attempts
        self.initial_retry_delay = initial_retry_delay
        self.max_retry_delay = max_retry_delay
        self.lease = lease
        self.poll_interval = poll_interval
        self.retention = retention
        self.prune_interval = prune_interval
        self.recover_leases = not inbox.shared if recover_leases is None else recover_leases
        self.shutdown_timeout = shutdown_timeout
        self.owner = f"{uuid.uuid4().hex[:12]}"
        """This dispatcher's name on its leases."""
        self.handled = 0
        self.failed = 0
        self._running: dict[int, asyncio.Task[None]] = {}
        self._in_handler: set[int] = set()
        self._wakeup: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    @property
    def running(self) -> int:
        """Handlers running now."""
        return len(self._running)

    def wake(self) -> None:
        """Look for due messages now (the receiver calls it after storing a push)."""
        if self._wakeup is not None:
            self._wakeup.set()

    async def start(self) -> None:
        if self._tasks:
            return
        if self.recover_leases:
            await self.inbox.release_all()
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._tasks = [
            asyncio.create_task(self._loop(self._dispatch_once, None), name="xportcn-dispatch"),
            asyncio.create_task(self._loop(self._renew, self.lease / 3), name="xportcn-renew"),
            asyncio.create_task(self._loop(self._prune, self.prune_interval), name="xportcn-prune"),
        ]

    async def stats(self) -> InboxStats:
        """The inbox's counts, for your metrics."""
        return await self.inbox.stats(now())

    async def join(self) -> None:
        """Wait until nothing is due or in flight (for tests and scripts)."""
        while True:
            stats = await self.inbox.stats(now())
            if not self._running and stats.pending == 0:
                return
            self.wake()
            await asyncio.sleep(0.01)

    async def aclose(self, timeout: float | None = None) -> None:
        """Stop claiming; give running handlers ``timeout`` seconds (default
        ``shutdown_timeout``), then cancel them. A cancelled message stays pending: its lease
        expires (or is recovered) and it runs again."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        wait = self.shutdown_timeout if timeout is None else timeout
        running = set(self._running.values())
        if running and wait > 0:
            await asyncio.wait(running, timeout=wait)
        for task in self._running.values():
            task.cancel()
        await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def _loop(self, step: Callable[[], Awaitable[None]], every: float | None) -> None:
        """Run ``step`` for ever; a store error is logged and retried after a pause."""
        failures = 0
        while not self._stopping:
            try:
                await step()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception:
                failures += 1
                logger.exception("xportcn inbox: %s failed", getattr(step, "__name__", step))
                await asyncio.sleep(self._pause_after_failure(failures, every))
                continue
            if every is not None:
                await asyncio.sleep(every)

    def _pause_after_failure(self, failures: int, every: float | None) -> float:
        """Seconds before trying a failed step again: a back-off, but never longer than the
        step's own period, so that a renewal retries in time to keep its leases."""
        pause: float = min(30.0, self.poll_interval * 2 ** min(failures, 5))
        return pause if every is None else min(pause, every)

    async def _dispatch_once(self) -> None:
        assert self._wakeup is not None
        free = self.max_concurrency - len(self._running)
        claimed: list[StoredMessage] = []
        if free > 0:
            self._wakeup.clear()
            claimed = list(await self.inbox.claim(self.owner, free, self.lease, now()))
            for stored in claimed:
                if stored.id in self._in_handler:
                    # Its lease ran out under a handler still running here (renewed too
                    # late); the claim renewed it. Never start the handler a second time.
                    continue
                task = asyncio.create_task(self._handle(stored))
                self._running[stored.id] = task
                task.add_done_callback(functools.partial(self._done, stored.id))
        if len(claimed) < free or free <= 0:
            # asyncio.wait, not wait_for: wait_for can swallow a cancellation (Python < 3.12)
            # that arrives as the event is set, and then aclose() would wait for ever.
            waiter = asyncio.ensure_future(self._wakeup.wait())
            try:
                await asyncio.wait({waiter}, timeout=self.poll_interval)
            finally:
                waiter.cancel()

    def _done(self, id: int, task: asyncio.Task[None]) -> None:
        if self._running.get(id) is task:  # not a later claim's task (see _handle)
            del self._running[id]
        self.wake()

    async def _handle(self, stored: StoredMessage) -> None:
        try:
            message: Message = stored.message()
        except MalformedMessageError as exc:  # stored by an older parser
            await self._record(
                self.inbox.retry_later(
                    self.owner, stored.id, f"unreadable: {exc}", now(), dead=True
                ),
                stored,
            )
            return
        # While the handler runs, a claim of this message (its lease ran out) must not start
        # it again; once it returned, its outcome is being recorded, and a claim that finds
        # the message due again (a retry) starts the next attempt.
        self._in_handler.add(stored.id)
        try:
            await self.on_message(message)
        except Exception as exc:
            failure: Exception | None = exc
        else:
            failure = None
        finally:
            self._in_handler.discard(stored.id)
        if failure is not None:
            self.failed += 1
            dead = stored.attempts >= self.max_attempts
            delay = retry_delay(
                stored.attempts, initial=self.initial_retry_delay, maximum=self.max_retry_delay
            )
            logger.warning(
                "xportcn message %d (%s) failed attempt %d/%d%s: %s: %s",
                stored.id,
                stored.message_type,
                stored.attempts,
                self.max_attempts,
                ", now dead" if dead else f", retrying in {delay:g} s",
                type(failure).__name__,
                failure,
            )
            reason = f"{type(failure).__name__}: {failure}"[:2000]
            await self._record(
                self.inbox.retry_later(
                    self.owner, stored.id, reason, now() + (0 if dead else delay), dead=dead
                ),
                stored,
            )
        else:
            self.handled += 1
            await self._record(self.inbox.complete(self.owner, stored.id, now()), stored)

    async def _record(self, update: Awaitable[bool], stored: StoredMessage) -> None:
        try:
            held = await update
        except Exception:
            # The outcome is not stored: the lease expires and the message runs again.
            logger.exception("xportcn inbox: could not record message %d's outcome", stored.id)
            return
        if not held:
            logger.warning(
                "xportcn message %d: the lease was lost while the handler ran "
                "(another receiver may run it again)",
                stored.id,
            )

    async def _renew(self) -> None:
        if self._running:
            await self.inbox.renew(self.owner, list(self._running), now() + self.lease)

    async def _prune(self) -> None:
        pruned = await self.inbox.prune(now() - self.retention)
        if pruned:
            logger.info("xportcn inbox: pruned %d done message(s)", pruned)


__all__ = ["Dispatcher", "OnMessage", "retry_delay"]
