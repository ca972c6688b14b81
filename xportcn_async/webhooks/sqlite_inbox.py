"""The SQLite inbox: one file, stdlib ``sqlite3``, for a single receiver.

All database work runs on one thread of its own with one connection, in WAL mode. Writes
that arrive together are committed together (group commit): one transaction, one fsync, for
however many pushes, claims and outcomes are waiting, so that acknowledgements stay fast under
load even with ``synchronous=FULL`` (a push is never answered before its transaction commits).

Durability (``synchronous``):

- ``"FULL"`` (the default): every acknowledged push survives a process crash *and* a power
  cut or OS crash (the WAL is fsynced at each commit).
- ``"NORMAL"``: every acknowledged push survives a process crash (SIGKILL, OOM kill); a power
  cut or OS crash may lose the pushes acknowledged since the last WAL checkpoint. Xportcn
  will not redeliver those.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, TypeVar

from .inbox import InboxStats, MessageStatus, StoredMessage

try:
    import fcntl
except ImportError:  # Windows: no leases lock (see SQLiteInbox)
    fcntl = None  # type: ignore[assignment]

T = TypeVar("T")
_Op = Callable[[sqlite3.Connection], T]
"""A write, run on the inbox's thread inside a transaction."""

logger = logging.getLogger("xportcn_async.webhooks")

_PRUNE_CHUNK = 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS xportcn_inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    message_type TEXT NOT NULL,
    body BLOB NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    received_at REAL NOT NULL,
    next_attempt_at REAL NOT NULL,
    lease_owner TEXT,
    lease_until REAL,
    last_error TEXT,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS xportcn_inbox_due ON xportcn_inbox (status, next_attempt_at);
CREATE INDEX IF NOT EXISTS xportcn_inbox_finished ON xportcn_inbox (status, finished_at);
"""
_COLUMNS = (
    "id, key, message_type, body, status, attempts, received_at, next_attempt_at, "
    "lease_owner, lease_until, last_error, finished_at"
)


def _row(row: Sequence[Any]) -> StoredMessage:
    return StoredMessage(
        id=row[0],
        key=row[1],
        message_type=row[2],
        body=bytes(row[3]),
        status=MessageStatus(row[4]),
        attempts=row[5],
        received_at=row[6],
        next_attempt_at=row[7],
        lease_owner=row[8],
        lease_until=row[9],
        last_error=row[10],
        finished_at=row[11],
    )


class SQLiteInbox:
    """An :class:`~xportcn_async.webhooks.Inbox` in an SQLite file (created if missing).

    ``synchronous`` is ``"FULL"`` (survives power cuts) or ``"NORMAL"`` (survives process
    crashes only); see the module docs. ``busy_timeout`` is how long a write waits for another
    process (such as ``xportcn webhooks inbox replay``) holding the file.

    Several processes may dispatch from one file (claims are atomic), but a dispatcher only
    takes back the leases left in the file (:meth:`release_all`) when no other process is
    dispatching from it: each process that claims holds a shared lock on ``<file>-leases.lock``
    until it closes the inbox (the kernel drops it when the process dies). Where ``fcntl`` does
    not exist (Windows) there is no such lock: run one dispatcher per file there.
    """

    shared = False

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
        busy_timeout: float = 5.0,
    ) -> None:
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be FULL or NORMAL, got {synchronous!r}")
        self.path = Path(path)
        self.synchronous = synchronous
        self.busy_timeout = busy_timeout
        self._executor: ThreadPoolExecutor | None = None
        self._db: sqlite3.Connection | None = None
        self._writes: list[tuple[_Op[Any], asyncio.Future[Any]]] = []
        self._flush_task: asyncio.Task[None] | None = None
        self._lease_lock: int | None = None  # the file descriptor of <file>-leases.lock

    def __repr__(self) -> str:
        return f"SQLiteInbox({str(self.path)!r}, synchronous={self.synchronous!r})"

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise RuntimeError("the inbox is not open (await inbox.open())")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("the inbox is closed")
        return self._db

    async def open(self) -> None:
        if self._executor is not None:
            return
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="xportcn-inbox")
        try:
            await self._run(self._open)
        except BaseException:
            self._executor.shutdown(wait=True)
            self._executor = None
            raise

    def _open(self) -> None:
        db = sqlite3.connect(
            self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={self.synchronous}")
            db.executescript(_SCHEMA)
        except BaseException:
            db.close()
            raise
        self._db = db

    async def aclose(self) -> None:
        if self._executor is None:
            return
        if self._flush_task is not None:
            await self._flush_task
        await self._run(self._close)
        self._executor.shutdown(wait=True)
        self._executor = None

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._lease_lock is not None:
            os.close(self._lease_lock)  # after the connection: no lease is left behind unlocked
            self._lease_lock = None

    # -- writes: group commit ---------------------------------------------------------------

    async def _write(self, op: _Op[T]) -> T:
        """Run ``op`` in the next transaction. Every write waiting while a transaction
        commits goes into the next one: one commit (one fsync with FULL) for all of them,
        whether they are pushes being acknowledged or the dispatcher's claims and outcomes."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._writes.append((op, future))
        if self._flush_task is None:
            self._flush_task = asyncio.get_running_loop().create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        """Commit the waiting writes in one transaction, until none is waiting."""
        batch: list[tuple[_Op[Any], asyncio.Future[Any]]] = []
        try:
            while self._writes:
                batch, self._writes = self._writes, []
                try:
                    results = await self._run(self._transaction, [op for op, _ in batch])
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                else:
                    for (_, future), result in zip(batch, results, strict=True):
                        if not future.done():
                            future.set_result(result)
        except BaseException:  # cancelled: no waiting write may hang
            for _, future in (*batch, *self._writes):
                if not future.done():
                    future.set_exception(RuntimeError("the inbox's writer was cancelled"))
            self._writes = []
            raise
        finally:
            self._flush_task = None

    def _transaction(self, ops: list[_Op[Any]]) -> list[Any]:
        db = self._conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            results = [op(db) for op in ops]
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # SQLite may have rolled back already (disk full, I/O error)
                db.execute("ROLLBACK")
            raise
        return results

    async def add(self, key: str, message_type: str, body: bytes, now: float) -> bool:
        def insert(db: sqlite3.Connection) -> bool:
            cursor = db.execute(
                "INSERT INTO xportcn_inbox (key, message_type, body, received_at, "
                "next_attempt_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
                (key, message_type, body, now, now),
            )
            return cursor.rowcount == 1

        return await self._write(insert)

    async def _changes(self, sql: str, params: Sequence[Any]) -> int:
        return await self._write(lambda db: db.execute(sql, params).rowcount)

    async def claim(
        self, owner: str, limit: int, lease: float, now: float
    ) -> Sequence[StoredMessage]:
        if self._lease_lock is None:
            await self._run(self._lock_leases, False)

        def update(db: sqlite3.Connection) -> list[Any]:
            # One statement in a write transaction: no two owners get one message.
            return db.execute(
                f"UPDATE xportcn_inbox SET lease_owner = ?, lease_until = ?, "
                f"attempts = attempts + 1 WHERE id IN (SELECT id FROM xportcn_inbox "
                f"WHERE status = 'pending' AND next_attempt_at <= ? "
                f"AND (lease_until IS NULL OR lease_until < ?) "
                f"ORDER BY next_attempt_at, id LIMIT ?) RETURNING {_COLUMNS}",
                (owner, now + lease, now, now, limit),
            ).fetchall()

        rows = await self._write(update)
        return sorted((_row(r) for r in rows), key=lambda m: (m.next_attempt_at, m.id))

    def _lock_leases(self, exclusive: bool) -> bool:
        """Hold ``<file>-leases.lock``: shared (blocking), or exclusive if no other process
        holds it (``False`` when one does). Outside any transaction, so that it never waits
        for a process that waits for the database."""
        if fcntl is None:
            return True
        if self._lease_lock is None:
            lock_path = f"{self.path}-leases.lock"
            self._lease_lock = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        if not exclusive:
            fcntl.flock(self._lease_lock, fcntl.LOCK_SH)
            return True
        try:
            fcntl.flock(self._lease_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fcntl.flock(self._lease_lock, fcntl.LOCK_SH)
            return False
        return True

    async def renew(self, owner: str, ids: Sequence[int], until: float) -> None:
        if ids:
            marks = ",".join("?" * len(ids))
            await self._changes(
                f"UPDATE xportcn_inbox SET lease_until = ? WHERE status = 'pending' "
                f"AND lease_owner = ? AND id IN ({marks})",
                (until, owner, *ids),
            )

    async def release_all(self) -> None:
        """Drop every lease, unless another process is dispatching from the file (it holds
        the leases lock): then the leases of a crashed predecessor run out instead."""
        if not await self._run(self._lock_leases, True):
            logger.info(
                "xportcn inbox %s: another process is dispatching from it; leases left in it "
                "are taken over when they expire",
                self.path,
            )
            return
        try:
            await self._changes(
                "UPDATE xportcn_inbox SET lease_owner = NULL, lease_until = NULL "
                "WHERE status = 'pending' AND lease_owner IS NOT NULL",
                (),
            )
        finally:
            await self._run(self._lock_leases, False)  # down to shared, for this process's claims

    async def complete(self, owner: str, id: int, now: float) -> bool:
        changed = await self._changes(
            "UPDATE xportcn_inbox SET status = 'done', finished_at = ?, lease_owner = NULL, "
            "lease_until = NULL WHERE id = ? AND status = 'pending' AND lease_owner = ?",
            (now, id, owner),
        )
        return changed == 1

    async def retry_later(self, owner: str, id: int, error: str, at: float, *, dead: bool) -> bool:
        changed = await self._changes(
            "UPDATE xportcn_inbox SET status = ?, next_attempt_at = ?, last_error = ?, "
            "finished_at = ?, lease_owner = NULL, lease_until = NULL "
            "WHERE id = ? AND status = 'pending' AND lease_owner = ?",
            ("dead" if dead else "pending", at, error, at if dead else None, id, owner),
        )
        return changed == 1

    async def replay(self, id: int, now: float) -> bool:
        changed = await self._changes(
            "UPDATE xportcn_inbox SET status = 'pending', attempts = 0, next_attempt_at = ?, "
            "finished_at = NULL WHERE id = ? AND status IN ('dead', 'done')",
            (now, id),
        )
        return changed == 1

    async def replay_dead(self, now: float) -> int:
        return await self._changes(
            "UPDATE xportcn_inbox SET status = 'pending', attempts = 0, next_attempt_at = ?, "
            "finished_at = NULL WHERE status = 'dead'",
            (now,),
        )

    async def delete(self, id: int) -> bool:
        return await self._changes("DELETE FROM xportcn_inbox WHERE id = ?", (id,)) == 1

    async def prune(self, done_before: float) -> int:
        """In transactions of at most ``_PRUNE_CHUNK`` rows, so that the pushes arriving
        meanwhile are not held up by one long delete."""
        pruned = 0
        while True:
            chunk = await self._changes(
                "DELETE FROM xportcn_inbox WHERE id IN (SELECT id FROM xportcn_inbox "
                "WHERE status = 'done' AND finished_at < ? LIMIT ?)",
                (done_before, _PRUNE_CHUNK),
            )
            pruned += chunk
            if chunk < _PRUNE_CHUNK:
                return pruned

    # -- reads ----------------------------------------------------------------------------

    def _fetch(self, sql: str, params: Sequence[Any]) -> list[StoredMessage]:
        return [_row(r) for r in self._conn().execute(sql, params).fetchall()]

    async def get(self, id: int) -> StoredMessage | None:
        found = await self._run(
            self._fetch, f"SELECT {_COLUMNS} FROM xportcn_inbox WHERE id = ?", (id,)
        )
        return found[0] if found else None

    async def list(
        self, status: MessageStatus | None = None, limit: int = 100
    ) -> Sequence[StoredMessage]:
        where = "" if status is None else "WHERE status = ?"
        params: tuple[Any, ...] = () if status is None else (MessageStatus(status).value,)
        return await self._run(
            self._fetch,
            f"SELECT {_COLUMNS} FROM xportcn_inbox {where} ORDER BY id DESC LIMIT ?",
            (*params, limit),
        )

    async def stats(self, now: float) -> InboxStats:
        return await self._run(self._stats, now)

    def _stats(self, now: float) -> InboxStats:
        row = (
            self._conn()
            .execute(
                "SELECT "
                "COUNT(*) FILTER (WHERE status = 'pending'), "
                "COUNT(*) FILTER (WHERE status = 'pending' AND lease_until >= ?), "
                "COUNT(*) FILTER (WHERE status = 'done'), "
                "COUNT(*) FILTER (WHERE status = 'dead'), "
                "MIN(received_at) FILTER (WHERE status = 'pending') "
                "FROM xportcn_inbox",
                (now,),
            )
            .fetchone()
        )
        return InboxStats(
            pending=row[0],
            in_flight=row[1],
            done=row[2],
            dead=row[3],
            oldest_pending_age=None if row[4] is None else max(0.0, now - row[4]),
        )


__all__ = ["SQLiteInbox"]
