"""The durable webhook inbox: pushes are stored before they are acknowledged, then handed to
your handler from the store, with retries.

A stored message is in one of three states:

- ``pending``: waiting for its next attempt (``next_attempt_at``), or *in flight* while a
  dispatcher holds a lease on it (``lease_owner``, ``lease_until``). A lease that is not
  renewed expires, and the message is handed out again: that is how the messages of a crashed
  process are recovered.
- ``done``: the handler returned. Kept for the retention time, then pruned.
- ``dead``: the handler failed ``max_attempts`` times. Kept until replayed or deleted.

Backends (one small protocol, :class:`Inbox`):

- :class:`~xportcn_async.webhooks.SQLiteInbox`: one file, for one receiver (the default).
- :class:`~xportcn_async.webhooks.PostgresInbox`: several receivers share one inbox and one
  dedupe (``pip install xportcn-async[postgres]``).
- :class:`MemoryInbox`: in memory, **not durable**: a crash loses everything. For tests.

:func:`~xportcn_async.webhooks.open_inbox` makes one from a path or URL.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

import attrs

from .messages import Message, parse_message


class MessageStatus(str, enum.Enum):
    PENDING = "pending"
    DONE = "done"
    DEAD = "dead"


@attrs.frozen(kw_only=True)
class StoredMessage:
    """A push as stored in the inbox. Times are Unix timestamps (seconds)."""

    id: int
    key: str
    """The message's dedupe key (:attr:`Message.key`)."""
    message_type: str
    body: bytes = attrs.field(repr=False)
    """The push exactly as received."""
    status: MessageStatus
    attempts: int
    """How many times the message was handed to a handler (including a running one)."""
    received_at: float
    next_attempt_at: float
    lease_owner: str | None = None
    lease_until: float | None = None
    last_error: str | None = None
    finished_at: float | None = None

    def message(self) -> Message:
        """The typed message (parsed again from the stored body)."""
        return parse_message(self.body)

    def in_flight(self, now: float) -> bool:
        return (
            self.status is MessageStatus.PENDING
            and self.lease_until is not None
            and self.lease_until >= now
        )


@attrs.frozen(kw_only=True)
class InboxStats:
    """Counts for your metrics."""

    pending: int
    """Waiting or in flight (``in_flight`` of them are being handled now)."""
    in_flight: int
    done: int
    dead: int
    oldest_pending_age: float | None
    """Seconds since the oldest pending message was received (``None``: nothing pending)."""


@runtime_checkable
class Inbox(Protocol):
    """Where pushes are kept between the 200 and the end of their handler.

    Every method may raise when the store cannot be reached; the receiver answers 503 when
    :meth:`add` raises, and the dispatcher logs and tries again later.
    """

    shared: bool
    """``True`` when several receivers may use the inbox at once (PostgreSQL)."""

    async def open(self) -> None:
        """Connect, and create the tables if they are missing (safe if several receivers do
        it at once)."""

    async def aclose(self) -> None: ...

    async def add(self, key: str, message_type: str, body: bytes, now: float) -> bool:
        """Store a push, committed when this returns. ``False``: ``key`` was already there
        (nothing is stored)."""

    async def claim(
        self, owner: str, limit: int, lease: float, now: float
    ) -> Sequence[StoredMessage]:
        """Lease up to ``limit`` due pending messages (oldest first) to ``owner`` until
        ``now + lease``, counting an attempt on each. No message is leased to two owners at
        once."""

    async def renew(self, owner: str, ids: Sequence[int], until: float) -> None:
        """Extend ``owner``'s leases on ``ids``."""

    async def release_all(self) -> None:
        """Drop every lease (a single receiver's restart: what was in flight is due again).
        Never call it on an inbox that other live receivers share."""

    async def complete(self, owner: str, id: int, now: float) -> bool:
        """Mark done, if ``owner`` still holds the lease."""

    async def retry_later(self, owner: str, id: int, error: str, at: float, *, dead: bool) -> bool:
        """Record a failed attempt: due again at ``at``, or ``dead``; if ``owner`` still
        holds the lease."""

    async def get(self, id: int) -> StoredMessage | None: ...

    async def list(
        self, status: MessageStatus | None = None, limit: int = 100
    ) -> Sequence[StoredMessage]:
        """The newest messages first."""

    async def replay(self, id: int, now: float) -> bool:
        """Make a dead or done message pending again, due now, with its attempts reset."""

    async def replay_dead(self, now: float) -> int:
        """Replay every dead message; how many."""

    async def delete(self, id: int) -> bool: ...

    async def prune(self, done_before: float) -> int:
        """Delete done messages finished before ``done_before``; how many."""

    async def stats(self, now: float) -> InboxStats: ...


class MemoryInbox:
    """An :class:`Inbox` in a dict: the same retries, dead messages and replays, but **not
    durable** (a crash loses every message). For tests, and to try the dispatcher out."""

    shared = False

    def __init__(self) -> None:
        self._messages: dict[int, StoredMessage] = {}
        self._keys: set[str] = set()
        self._next_id = 1

    async def open(self) -> None:
        pass

    async def aclose(self) -> None:
        pass

    async def add(self, key: str, message_type: str, body: bytes, now: float) -> bool:
        if key in self._keys:
            return False
        self._keys.add(key)
        self._messages[self._next_id] = StoredMessage(
            id=self._next_id,
            key=key,
            message_type=message_type,
            body=body,
            status=MessageStatus.PENDING,
            attempts=0,
            received_at=now,
            next_attempt_at=now,
        )
        self._next_id += 1
        return True

    async def claim(
        self, owner: str, limit: int, lease: float, now: float
    ) -> Sequence[StoredMessage]:
        due = sorted(
            (
                m
                for m in self._messages.values()
                if m.status is MessageStatus.PENDING
                and m.next_attempt_at <= now
                and not m.in_flight(now)
            ),
            key=lambda m: (m.next_attempt_at, m.id),
        )[:limit]
        claimed = [
            attrs.evolve(m, lease_owner=owner, lease_until=now + lease, attempts=m.attempts + 1)
            for m in due
        ]
        self._messages.update((m.id, m) for m in claimed)
        return claimed

    def _held(self, owner: str, id: int) -> StoredMessage | None:
        m = self._messages.get(id)
        if m is None or m.status is not MessageStatus.PENDING or m.lease_owner != owner:
            return None
        return m

    async def renew(self, owner: str, ids: Sequence[int], until: float) -> None:
        for id in ids:
            m = self._held(owner, id)
            if m is not None:
                self._messages[id] = attrs.evolve(m, lease_until=until)

    async def release_all(self) -> None:
        for id, m in list(self._messages.items()):
            if m.status is MessageStatus.PENDING:
                self._messages[id] = attrs.evolve(m, lease_owner=None, lease_until=None)

    async def complete(self, owner: str, id: int, now: float) -> bool:
        m = self._held(owner, id)
        if m is None:
            return False
        self._messages[id] = attrs.evolve(
            m,
            status=MessageStatus.DONE,
            finished_at=now,
            lease_owner=None,
            lease_until=None,
        )
        return True

    async def retry_later(self, owner: str, id: int, error: str, at: float, *, dead: bool) -> bool:
        m = self._held(owner, id)
        if m is None:
            return False
        self._messages[id] = attrs.evolve(
            m,
            status=MessageStatus.DEAD if dead else MessageStatus.PENDING,
            next_attempt_at=at,
            last_error=error,
            finished_at=at if dead else None,
            lease_owner=None,
            lease_until=None,
        )
        return True

    async def get(self, id: int) -> StoredMessage | None:
        return self._messages.get(id)

    async def list(
        self, status: MessageStatus | None = None, limit: int = 100
    ) -> Sequence[StoredMessage]:
        found = [m for m in self._messages.values() if status is None or m.status is status]
        return sorted(found, key=lambda m: -m.id)[:limit]

    async def replay(self, id: int, now: float) -> bool:
        m = self._messages.get(id)
        if m is None or m.status is MessageStatus.PENDING:
            return False
        self._messages[id] = attrs.evolve(
            m, status=MessageStatus.PENDING, attempts=0, next_attempt_at=now, finished_at=None
        )
        return True

    async def replay_dead(self, now: float) -> int:
        dead = [m.id for m in self._messages.values() if m.status is MessageStatus.DEAD]
        for id in dead:
            await self.replay(id, now)
        return len(dead)

    async def delete(self, id: int) -> bool:
        m = self._messages.pop(id, None)
        if m is None:
            return False
        self._keys.discard(m.key)
        return True

    async def prune(self, done_before: float) -> int:
        old = [
            m.id
            for m in self._messages.values()
            if m.status is MessageStatus.DONE and (m.finished_at or 0) < done_before
        ]
        for id in old:
            await self.delete(id)
        return len(old)

    async def stats(self, now: float) -> InboxStats:
        return stats_of(self._messages.values(), now)


def stats_of(messages: Iterable[StoredMessage], now: float) -> InboxStats:
    """Counts over messages in memory."""
    items = list(messages)
    pending = [m for m in items if m.status is MessageStatus.PENDING]
    return InboxStats(
        pending=len(pending),
        in_flight=sum(1 for m in pending if m.in_flight(now)),
        done=sum(1 for m in items if m.status is MessageStatus.DONE),
        dead=sum(1 for m in items if m.status is MessageStatus.DEAD),
        oldest_pending_age=now - min(m.received_at for m in pending) if pending else None,
    )


def now() -> float:
    """The inbox clock: Unix time in seconds."""
    return time.time()


__all__ = [
    "Inbox",
    "InboxStats",
    "MemoryInbox",
    "MessageStatus",
    "StoredMessage",
]
