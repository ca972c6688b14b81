"""The SQLite inbox: one file, stdlib ``sqlite3``, for a single receiver.

All database work runs on one thread of its own with one connection, in WAL mode. Pushes
that arrive together are committed together (group commit): one transaction, one fsync, for
however many pushes are waiting, so that acknowledgements stay fast under load even with
``synchronous=FULL``.

Durability (``synchronous``):

- ``"FULL"`` (the default): every acknowledged push survives a process crash *and* a power
  cut or OS crash (the WAL is fsynced at each commit).
- ``"NORMAL"``: every acknowledged push survives a process crash (SIGKILL, OOM kill); a power
  cut or OS crash may lose the pushes acknowledged since the last WAL checkpoint. Xportcn
  will not redeliver those.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, TypeVar

from .inbox import InboxStats, MessageStatus, StoredMessage

T = TypeVar("T")

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
        self._adds: list[tuple[str, str, bytes, float, asyncio.Future[bool]]] = []
        self._flush_task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"SQLiteInbox({str(self.path)!r}, synchronous={self.synchronous!r})"

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise RuntimeError("the inbox is not open (await inbox.open())")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _conn(self) -> sqlite3.Connection:
        assert self._db is not None
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

    # -- writes ---------------------------------------------------------------------------

    async def add(self, key: str, message_type: str, body: bytes, now: float) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._adds.append((key, message_type, body, now, future))
        if self._flush_task is None:
            self._flush_task = asyncio.get_running_loop().create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        """Commit every waiting push in one transaction, until none is waiting."""
        try:
            while self._adds:
                batch, self._adds = self._adds, []
                try:
                    added = await self._run(self._insert, [entry[:4] for entry in batch])
                except Exception as exc:
                    for *_, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                else:
                    for (*_, future), new in zip(batch, added, strict=True):
                        if not future.done():
                            future.set_result(new)
        finally:
            self._flush_task = None

    def _insert(self, rows: list[tuple[str, str, bytes, float]]) -> list[bool]:
        db = self._conn()
        added = []
        db.execute("BEGIN IMMEDIATE")
        try:
            for key, message_type, body, now in rows:
                cursor = db.execute(
                    "INSERT INTO xportcn_inbox (key, message_type, body, received_at, "
                    "next_attempt_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
                    (key, message_type, body, now, now),
                )
                added.append(cursor.rowcount == 1)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return added

    def _write(self, sql: str, params: Sequence[Any]) -> int:
        return self._conn().execute(sql, params).rowcount

    async def claim(
        self, owner: str, limit: int, lease: float, now: float
    ) -> Sequence[StoredMessage]:
        return await self._run(self._claim, owner, limit, lease, now)

    def _claim(self, owner: str, limit: int, lease: float, now: float) -> list[StoredMessage]:
        # One statement: SQLite has one writer at a time, so no two owners get one message.
        rows = (
            self._conn()
            .execute(
                f"UPDATE xportcn_inbox SET lease_owner = ?, lease_until = ?, "
                f"attempts = attempts + 1 WHERE id IN (SELECT id FROM xportcn_inbox "
                f"WHERE status = 'pending' AND next_attempt_at <= ? "
                f"AND (lease_until IS NULL OR lease_until < ?) "
                f"ORDER BY next_attempt_at, id LIMIT ?) RETURNING {_COLUMNS}",
                (owner, now + lease, now, now, limit),
            )
            .fetchall()
        )
        return sorted((_row(r) for r in rows), key=lambda m: (m.next_attempt_at, m.id))

    async def renew(self, owner: str, ids: Sequence[int], until: float) -> None:
        if ids:
            marks = ",".join("?" * len(ids))
            await self._run(
                self._write,
                f"UPDATE xportcn_inbox SET lease_until = ? WHERE status = 'pending' "
                f"AND lease_owner = ? AND id IN ({marks})",
                (until, owner, *ids),
            )

    async def release_all(self) -> None:
        await self._run(
            self._write,
            "UPDATE xportcn_inbox SET lease_owner = NULL, lease_until = NULL "
            "WHERE status = 'pending' AND lease_owner IS NOT NULL",
            (),
        )

    async def complete(self, owner: str, id: int, now: float) -> bool:
        changed = await self._run(
            self._write,
            "UPDATE xportcn_inbox SET status = 'done', finished_at = ?, lease_owner = NULL, "
            "lease_until = NULL WHERE id = ? AND status = 'pending' AND lease_owner = ?",
            (now, id, owner),
        )
        return changed == 1

    async def retry_later(self, owner: str, id: int, error: str, at: float, *, dead: bool) -> bool:
        changed = await self._run(
            self._write,
            "UPDATE xportcn_inbox SET status = ?, next_attempt_at = ?, last_error = ?, "
            "finished_at = ?, lease_owner = NULL, lease_until = NULL "
            "WHERE id = ? AND status = 'pending' AND lease_owner = ?",
            ("dead" if dead else "pending", at, error, at if dead else None, id, owner),
        )
        return changed == 1

    async def replay(self, id: int, now: float) -> bool:
        changed = await self._run(
            self._write,
            "UPDATE xportcn_inbox SET status = 'pending', attempts = 0, next_attempt_at = ?, "
            "finished_at = NULL WHERE id = ? AND status IN ('dead', 'done')",
            (now, id),
        )
        return changed == 1

    async def replay_dead(self, now: float) -> int:
        return await self._run(
            self._write,
            "UPDATE xportcn_inbox SET status = 'pending', attempts = 0, next_attempt_at = ?, "
            "finished_at = NULL WHERE status = 'dead'",
            (now,),
        )

    async def delete(self, id: int) -> bool:
        return await self._run(self._write, "DELETE FROM xportcn_inbox WHERE id = ?", (id,)) == 1

    async def prune(self, done_before: float) -> int:
        return await self._run(
            self._write,
            "DELETE FROM xportcn_inbox WHERE status = 'done' AND finished_at < ?",
            (done_before,),
        )

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
