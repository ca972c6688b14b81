"""The PostgreSQL inbox (asyncpg): several receivers behind a load balancer share one inbox
and one dedupe.

- A push is committed with ``INSERT … ON CONFLICT (key) DO NOTHING``: of several receivers
  given one message, one stores it and every one answers 200.
- Dispatchers claim work with ``SELECT … FOR UPDATE SKIP LOCKED`` and a lease
  (``lease_owner``, ``lease_until``), renewed while the handler runs: a message is never
  handed to two live dispatchers at once; a dead dispatcher's messages are taken over when
  their lease expires.
- The table is created on first use (``CREATE TABLE IF NOT EXISTS`` under an advisory lock,
  so receivers starting together do not trip over each other).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .inbox import InboxStats, MessageStatus, StoredMessage

_LOCK_ID = 0x78706F7274636E  # pg_advisory_xact_lock key for creating the schema ("xportcn")


def _row(row: Any) -> StoredMessage:
    return StoredMessage(
        id=row["id"],
        key=row["key"],
        message_type=row["message_type"],
        body=bytes(row["body"]),
        status=MessageStatus(row["status"]),
        attempts=row["attempts"],
        received_at=row["received_at"],
        next_attempt_at=row["next_attempt_at"],
        lease_owner=row["lease_owner"],
        lease_until=row["lease_until"],
        last_error=row["last_error"],
        finished_at=row["finished_at"],
    )


class PostgresInbox:
    """An :class:`~xportcn_async.webhooks.Inbox` in PostgreSQL table ``table`` (created if
    missing). ``min_size``/``max_size`` size the asyncpg connection pool. Times are stored as
    Unix timestamps (``double precision``) from the receivers' clocks: keep them in sync
    (NTP), since leases compare them."""

    shared = True

    def __init__(
        self,
        url: str,
        *,
        table: str = "xportcn_inbox",
        min_size: int = 1,
        max_size: int = 10,
    ) -> None:
        if not table.isidentifier():
            raise ValueError(f"table must be a plain identifier, got {table!r}")
        self.url = url
        self.table = table
        self._min_size = min_size
        self._max_size = max_size
        self._pool: Any = None

    def __repr__(self) -> str:
        return f"PostgresInbox(table={self.table!r})"  # the URL may hold a password

    @property
    def _db(self) -> Any:
        if self._pool is None:
            raise RuntimeError("the inbox is not open (await inbox.open())")
        return self._pool

    async def open(self) -> None:
        if self._pool is not None:
            return
        try:
            import asyncpg
        except ImportError:
            raise ImportError(
                "the PostgreSQL inbox needs asyncpg: pip install 'xportcn-async[postgres]'"
            ) from None
        pool = await asyncpg.create_pool(self.url, min_size=self._min_size, max_size=self._max_size)
        t = self.table
        try:
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_ID)
                await conn.execute(
                    f"""
                    CREATE TABLE IF NOT EXISTS {t} (
                        id bigserial PRIMARY KEY,
                        key text NOT NULL UNIQUE,
                        message_type text NOT NULL,
                        body bytea NOT NULL,
                        status text NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'done', 'dead')),
                        attempts integer NOT NULL DEFAULT 0,
                        received_at double precision NOT NULL,
                        next_attempt_at double precision NOT NULL,
                        lease_owner text,
                        lease_until double precision,
                        last_error text,
                        finished_at double precision
                    );
                    CREATE INDEX IF NOT EXISTS {t}_due ON {t} (next_attempt_at, id)
                        WHERE status = 'pending';
                    CREATE INDEX IF NOT EXISTS {t}_finished ON {t} (status, finished_at);
                    """
                )
        except BaseException:
            await pool.close()
            raise
        self._pool = pool

    async def aclose(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    async def _count(self, sql: str, *args: Any) -> int:
        status: str = await self._db.execute(sql, *args)
        return int(status.rsplit(" ", 1)[-1])  # "UPDATE 3", "DELETE 1", "INSERT 0 1"

    async def add(self, key: str, message_type: str, body: bytes, now: float) -> bool:
        return (
            await self._count(
                f"INSERT INTO {self.table} (key, message_type, body, received_at, "
                f"next_attempt_at) VALUES ($1, $2, $3, $4, $4) ON CONFLICT (key) DO NOTHING",
                key,
                message_type,
                body,
                now,
            )
            == 1
        )

    async def claim(
        self, owner: str, limit: int, lease: float, now: float
    ) -> Sequence[StoredMessage]:
        t = self.table
        rows = await self._db.fetch(
            f"""
            WITH due AS (
                SELECT id FROM {t}
                WHERE status = 'pending' AND next_attempt_at <= $1
                  AND (lease_until IS NULL OR lease_until < $1)
                ORDER BY next_attempt_at, id
                LIMIT $2
                FOR UPDATE SKIP LOCKED
            )
            UPDATE {t} AS m SET lease_owner = $3, lease_until = $4, attempts = m.attempts + 1
            FROM due WHERE m.id = due.id
            RETURNING m.*
            """,
            now,
            limit,
            owner,
            now + lease,
        )
        return sorted((_row(r) for r in rows), key=lambda m: (m.next_attempt_at, m.id))

    async def renew(self, owner: str, ids: Sequence[int], until: float) -> None:
        if ids:
            await self._db.execute(
                f"UPDATE {self.table} SET lease_until = $1 WHERE status = 'pending' "
                f"AND lease_owner = $2 AND id = ANY($3::bigint[])",
                until,
                owner,
                list(ids),
            )

    async def release_all(self) -> None:
        await self._db.execute(
            f"UPDATE {self.table} SET lease_owner = NULL, lease_until = NULL "
            f"WHERE status = 'pending' AND lease_owner IS NOT NULL"
        )

    async def complete(self, owner: str, id: int, now: float) -> bool:
        return (
            await self._count(
                f"UPDATE {self.table} SET status = 'done', finished_at = $1, lease_owner = NULL, "
                f"lease_until = NULL WHERE id = $2 AND status = 'pending' AND lease_owner = $3",
                now,
                id,
                owner,
            )
            == 1
        )

    async def retry_later(self, owner: str, id: int, error: str, at: float, *, dead: bool) -> bool:
        return (
            await self._count(
                f"UPDATE {self.table} SET status = $1, next_attempt_at = $2, last_error = $3, "
                f"finished_at = $4, lease_owner = NULL, lease_until = NULL "
                f"WHERE id = $5 AND status = 'pending' AND lease_owner = $6",
                "dead" if dead else "pending",
                at,
                error,
                at if dead else None,
                id,
                owner,
            )
            == 1
        )

    async def replay(self, id: int, now: float) -> bool:
        return (
            await self._count(
                f"UPDATE {self.table} SET status = 'pending', attempts = 0, next_attempt_at = $1, "
                f"finished_at = NULL WHERE id = $2 AND status IN ('dead', 'done')",
                now,
                id,
            )
            == 1
        )

    async def replay_dead(self, now: float) -> int:
        return await self._count(
            f"UPDATE {self.table} SET status = 'pending', attempts = 0, next_attempt_at = $1, "
            f"finished_at = NULL WHERE status = 'dead'",
            now,
        )

    async def delete(self, id: int) -> bool:
        return await self._count(f"DELETE FROM {self.table} WHERE id = $1", id) == 1

    async def prune(self, done_before: float) -> int:
        return await self._count(
            f"DELETE FROM {self.table} WHERE status = 'done' AND finished_at < $1", done_before
        )

    async def get(self, id: int) -> StoredMessage | None:
        row = await self._db.fetchrow(f"SELECT * FROM {self.table} WHERE id = $1", id)
        return None if row is None else _row(row)

    async def list(
        self, status: MessageStatus | None = None, limit: int = 100
    ) -> Sequence[StoredMessage]:
        if status is None:
            rows = await self._db.fetch(
                f"SELECT * FROM {self.table} ORDER BY id DESC LIMIT $1", limit
            )
        else:
            rows = await self._db.fetch(
                f"SELECT * FROM {self.table} WHERE status = $1 ORDER BY id DESC LIMIT $2",
                MessageStatus(status).value,
                limit,
            )
        return [_row(r) for r in rows]

    async def stats(self, now: float) -> InboxStats:
        row = await self._db.fetchrow(
            f"""
            SELECT
                COUNT(*) FILTER (WHERE status = 'pending') AS pending,
                COUNT(*) FILTER (WHERE status = 'pending' AND lease_until >= $1) AS in_flight,
                COUNT(*) FILTER (WHERE status = 'done') AS done,
                COUNT(*) FILTER (WHERE status = 'dead') AS dead,
                MIN(received_at) FILTER (WHERE status = 'pending') AS oldest
            FROM {self.table}
            """,
            now,
        )
        oldest = row["oldest"]
        return InboxStats(
            pending=row["pending"],
            in_flight=row["in_flight"],
            done=row["done"],
            dead=row["dead"],
            oldest_pending_age=None if oldest is None else max(0.0, now - oldest),
        )


__all__ = ["PostgresInbox"]
