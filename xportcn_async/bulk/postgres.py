"""A booking journal in PostgreSQL that many workers, on many hosts, share (asyncpg).

One row per booking key and journal name, in ``xportcn_journal_entries``: status, renderId,
order id, tracking numbers, the error, the worker that holds it and when it was claimed,
started and finished. Operators can query it with SQL; ``xportcn journal stats|list`` shows
it. Several independent runs share one database under different journal names.

How it keeps each order booked once, whatever the number of workers:

- **Claims are atomic.** Before a booking is previewed or sent its key is claimed in one
  statement: an insert, or an update guarded by the row's current status and holder. Of any
  number of workers, exactly one wins; the others report ``skipped`` ("claimed by another
  worker") and send nothing. The ``started`` record is an update guarded by "this worker
  still holds the claim", so a worker that lost its claim never sends.
- **Leases.** Each worker keeps a heartbeat row (``xportcn_journal_workers``) whose lease it
  renews every third of the lease. A key ``started`` by a worker whose lease has expired (and
  that no one touched for a lease either) is ``unknown``, exactly like a booking a killed
  process left in flight: never resent blindly, only with ``resend_unknown`` and its own
  renderId. One ``claimed`` by such a worker was never sent, and anyone may take it. A key
  held by a live worker is not in doubt. All times are the database server's, so the hosts'
  clocks do not matter; every worker of one journal should use the same lease.
- **The same rules as the JSONL journal** (:mod:`xportcn_async.bulk.journal`): resume,
  ``resend_unknown``, sticky ``unknown``. A run's own duplicates (the same key, or the same
  upstream order under two keys, seen twice) are ``rejected``.

The schema is created on first use under an advisory lock (so workers that start together do
not race), or by ``xportcn journal init URL``, and carries a version for later migrations.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import attrs

from ..errors import ConfigurationError
from ..models import BookingRequest
from .journal import Claim, ClaimKind, JournalStatus, recorded
from .records import (
    BookingOutcome,
    ClaimedByAnotherWorker,
    booking_of,
    error_fields,
    upstream_key,
)

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
DEFAULT_JOURNAL_NAME = "default"
DEFAULT_LEASE = 30.0
"""Seconds a worker's heartbeat holds its keys; renewed every third of it."""
_SCHEMA_LOCK = 0x78706F7274636E31  # pg_advisory_xact_lock key for schema changes ("xportcn1")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS xportcn_journal_schema (
    version integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS xportcn_journal_workers (
    journal text NOT NULL,
    worker text NOT NULL,
    label text NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (journal, worker)
);
CREATE TABLE IF NOT EXISTS xportcn_journal_entries (
    journal text NOT NULL,
    key text NOT NULL,
    upstream_order text,
    status text NOT NULL CHECK (status IN (
        'claimed', 'started', 'booked', 'unknown', 'failed', 'rejected')),
    in_doubt boolean NOT NULL DEFAULT false,
    render_id text,
    order_id text,
    tracking_numbers text[] NOT NULL DEFAULT '{}',
    error_type text,
    error_code text,
    error text,
    request_id text,
    attempts integer NOT NULL DEFAULT 0,
    worker text NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (journal, key)
);
CREATE UNIQUE INDEX IF NOT EXISTS xportcn_journal_entries_upstream
    ON xportcn_journal_entries (journal, upstream_order)
    WHERE status NOT IN ('failed', 'rejected');
CREATE INDEX IF NOT EXISTS xportcn_journal_entries_status
    ON xportcn_journal_entries (journal, status);
"""

# A row is held by a live worker when the worker's lease runs, or the row was touched within a
# lease (which also covers a worker that registered after the statement's snapshot was taken).
# $1 is always the journal name, $2 the lease in seconds.
_LIVE = """(
    e.updated_at > now() - make_interval(secs => $2)
    OR EXISTS (SELECT 1 FROM xportcn_journal_workers w
               WHERE w.journal = e.journal AND w.worker = e.worker AND w.expires_at > now())
)"""
# What a row means now: a claimed or started row of a stopped worker is no longer in flight.
_EFFECTIVE = f"""(CASE
    WHEN e.status IN ('claimed', 'started') AND NOT {_LIVE} THEN
        CASE WHEN e.status = 'started' OR e.in_doubt THEN 'unknown' ELSE 'abandoned' END
    ELSE e.status END)"""

# Claim $3 for worker $4 ($5 upstream order, $6 resend_unknown, $7 the booking has a renderId).
_CLAIM = f"""
INSERT INTO xportcn_journal_entries AS e (journal, key, upstream_order, status, worker)
VALUES ($1, $3, $5, 'claimed', $4)
ON CONFLICT (journal, key) DO UPDATE SET
    status = 'claimed', worker = $4, claimed_at = now(), updated_at = now(),
    started_at = NULL, finished_at = NULL, upstream_order = $5,
    in_doubt = e.in_doubt OR e.status IN ('unknown', 'started')
WHERE e.worker <> $4 AND (
    e.status IN ('failed', 'rejected')
    OR (e.status = 'claimed' AND NOT e.in_doubt AND NOT {_LIVE})
    OR ($6 AND (e.render_id IS NOT NULL OR $7) AND (
        e.status = 'unknown'
        OR (e.status = 'started' AND NOT {_LIVE})
        OR (e.status = 'claimed' AND e.in_doubt AND NOT {_LIVE})))
)
RETURNING e.in_doubt, e.render_id
"""
_READ = f"""
SELECT e.status, e.in_doubt, e.render_id, e.order_id, e.tracking_numbers, e.worker,
       {_LIVE} AS live,
       (SELECT w.label FROM xportcn_journal_workers w
        WHERE w.journal = e.journal AND w.worker = e.worker) AS label
FROM xportcn_journal_entries e WHERE e.journal = $1 AND e.key = $3
"""
# $2 key, $3 worker, $4 renderId. Only while this worker still holds the claim.
_STARTED = """
UPDATE xportcn_journal_entries SET status = 'started', render_id = $4, started_at = now(),
    updated_at = now()
WHERE journal = $1 AND key = $2 AND worker = $3 AND status = 'claimed'
"""
# $2 key, $3 worker, $4 status, $5 order id, $6 tracking numbers, $7-$10 error fields,
# $11 attempts. ``booked`` is final; ``unknown`` is sticky; only the holder may record a
# failure (a worker that lost its claim does not overwrite the new holder's row), but anyone
# may record a booking.
_RECORD = """
INSERT INTO xportcn_journal_entries AS e (
    journal, key, status, in_doubt, order_id, tracking_numbers,
    error_type, error_code, error, request_id, attempts, worker, finished_at)
VALUES ($1, $2, $4, $4 = 'unknown', $5, $6, $7, $8, $9, $10, $11, $3, now())
ON CONFLICT (journal, key) DO UPDATE SET
    status = CASE WHEN $4 = 'booked' THEN 'booked'
                  WHEN e.in_doubt OR $4 = 'unknown' THEN 'unknown'
                  ELSE $4 END,
    in_doubt = $4 <> 'booked' AND (e.in_doubt OR $4 = 'unknown'),
    order_id = $5, tracking_numbers = $6, error_type = $7, error_code = $8, error = $9,
    request_id = $10, attempts = $11, finished_at = now(), updated_at = now()
WHERE e.status <> 'booked' AND (e.worker = $3 OR $4 = 'booked')
"""
# Rows of stopped workers: what was started is unknown (marked so for SQL readers).
_SETTLE = f"""
UPDATE xportcn_journal_entries e SET status = 'unknown', in_doubt = true, updated_at = now(),
    error = coalesce(e.error, 'its worker stopped before the outcome was known')
WHERE e.journal = $1 AND e.status IN ('claimed', 'started')
    AND (e.status = 'started' OR e.in_doubt) AND NOT {_LIVE}
"""
_HEARTBEAT = """
INSERT INTO xportcn_journal_workers AS w (journal, worker, label, expires_at)
VALUES ($1, $3, $4, now() + make_interval(secs => $2))
ON CONFLICT (journal, worker) DO UPDATE SET heartbeat_at = now(), expires_at = excluded.expires_at
"""
# At the end of a run: what it left started is unknown; what it claimed and never sent was
# not attempted, so it is ``failed`` (safe to book again), unless it was in doubt already.
_END_RUN = """
UPDATE xportcn_journal_entries SET updated_at = now(), finished_at = now(),
    status = CASE WHEN status = 'started' OR in_doubt THEN 'unknown' ELSE 'failed' END,
    in_doubt = status = 'started' OR in_doubt,
    error = CASE WHEN status = 'started' OR in_doubt
                 THEN 'its run ended before the outcome was known'
                 ELSE 'not sent: its run ended first' END
WHERE journal = $1 AND worker = $2 AND status IN ('claimed', 'started')
"""


@attrs.frozen(kw_only=True)
class WorkerInfo:
    """A worker of a shared journal, as ``xportcn journal stats`` shows it."""

    worker: str
    label: str
    live: bool
    heartbeat_at: str


@attrs.frozen(kw_only=True)
class JournalStats:
    """Where a shared journal's run stands, across all workers."""

    name: str
    counts: dict[str, int]
    """Keys by status: ``booked``, ``unknown``, ``failed``, ``rejected``, ``claimed`` and
    ``started`` (in flight on a live worker) and ``abandoned`` (claimed by a worker that
    stopped before sending it: booked by the next run)."""
    workers: tuple[WorkerInfo, ...]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _require_asyncpg() -> Any:
    try:
        import asyncpg
    except ImportError:
        raise ConfigurationError(
            "the PostgreSQL journal needs the 'postgres' extra: pip install 'xportcn-async[postgres]'"
        ) from None
    return asyncpg


def describe_url(url: str) -> str:
    """A database URL without its user and password, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{host}{port}{parts.path}"


async def ensure_schema(connection: Any) -> bool:
    """Create the journal's tables if they are missing; True when this call created them.
    Workers that start together serialise on an advisory lock, so only one creates them."""
    version = await _schema_version(connection)
    if version == SCHEMA_VERSION:
        return False
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", _SCHEMA_LOCK)
        version = await _schema_version(connection)
        if version == SCHEMA_VERSION:
            return False
        await connection.execute(_SCHEMA)
        await connection.execute(
            "INSERT INTO xportcn_journal_schema (version) VALUES ($1) ON CONFLICT DO NOTHING",
            SCHEMA_VERSION,
        )
    return True


async def _schema_version(connection: Any) -> int | None:
    # Read from pg_class with a statement snapshot: to_regclass() may answer from a catalog
    # cache that has not yet seen the tables another worker created meanwhile.
    exists = await connection.fetchval(
        "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relname = 'xportcn_journal_schema' AND n.nspname = ANY(current_schemas(false)))"
    )
    if not exists:
        return None
    version: int | None = await connection.fetchval(
        "SELECT max(version) FROM xportcn_journal_schema"
    )
    if version is not None and version > SCHEMA_VERSION:
        raise ConfigurationError(
            f"the journal tables have schema version {version}, newer than this version of "
            f"xportcn-async knows ({SCHEMA_VERSION}); upgrade xportcn-async"
        )
    return version


class PostgresJournal:
    """A booking journal in PostgreSQL, shared by every worker that uses the same database
    and ``name`` (see the module docs).

    - ``url``: ``postgresql://user:password@host:port/database`` (asyncpg's forms).
    - ``name``: the journal (run) name; independent runs in one database use different names.
    - ``lease``: seconds a worker's heartbeat holds its keys (renewed every third of it).
      After a worker stops (killed, or its host lost), what it had started is ``unknown`` and
      what it had only claimed is free again, once its lease has run out.
    - ``pool_size``: connections at most (a booking takes three short statements).

    Each run (each ``book_many`` call) is a new worker with its own id. The object may serve
    several runs in turn; close it with :meth:`aclose` (``book_many`` closes the journals it
    made from a URL).
    """

    def __init__(
        self,
        url: str,
        *,
        name: str = DEFAULT_JOURNAL_NAME,
        lease: float = DEFAULT_LEASE,
        pool_size: int = 10,
    ) -> None:
        if not name:
            raise ValueError("the journal name must not be empty")
        if not lease > 0:
            raise ValueError("lease must be a positive number of seconds")
        self._asyncpg = _require_asyncpg()
        self._url = url
        self.name = name
        self.lease = float(lease)
        self._pool_size = pool_size
        self._pool: Any = None
        self.worker = ""
        """This run's worker id, ``host:pid:random`` (empty between runs)."""
        self.label = f"{socket.gethostname()}:{os.getpid()}"
        self._heartbeat: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"PostgresJournal({describe_url(self._url)!r}, name={self.name!r})"

    @property
    def location(self) -> str:
        return f"PostgreSQL {describe_url(self._url)}, journal {self.name!r}"

    async def _connect(self, *, create: bool = True) -> Any:
        """The connection pool, opened on first use, with the schema created (``create``)
        or required to exist."""
        if self._pool is None:
            pool = await self._asyncpg.create_pool(self._url, min_size=1, max_size=self._pool_size)
            try:
                async with pool.acquire() as connection:
                    if create:
                        await ensure_schema(connection)
                    elif await _schema_version(connection) is None:
                        raise ConfigurationError(
                            f"there is no booking journal in {describe_url(self._url)} yet "
                            "(`xportcn journal init URL` creates its tables)"
                        )
            except BaseException:
                await pool.close()
                raise
            self._pool = pool
        return self._pool

    def _args(self, *more: Any) -> tuple[Any, ...]:
        return (self.name, self.lease, *more)

    # -- a run ----------------------------------------------------------------------------

    async def begin_run(self) -> None:
        """Join the journal as a new worker: register its heartbeat (and keep it renewed),
        and mark what stopped workers left started as ``unknown``."""
        pool = await self._connect()
        if self.worker:
            await self.end_run()
        self.worker = f"{self.label}:{uuid.uuid4().hex[:12]}"
        await pool.execute(_HEARTBEAT, *self._args(self.worker, self.label))
        await pool.execute(_SETTLE, *self._args())
        await pool.execute(
            "DELETE FROM xportcn_journal_workers WHERE journal = $1 AND worker <> $2 "
            "AND expires_at < now() - interval '1 day'",
            self.name,
            self.worker,
        )
        self._heartbeat = asyncio.create_task(self._beat(self.worker))

    async def _beat(self, worker: str) -> None:
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                await self._pool.execute(_HEARTBEAT, *self._args(worker, self.label))
            except Exception as exc:  # the next beat tries again; claims fail meanwhile
                logger.warning("journal heartbeat failed: %s", type(exc).__name__)

    async def end_run(self) -> None:
        """Leave the journal: what this worker left started is ``unknown``, what it claimed
        and never sent is free again, and its heartbeat row is removed."""
        worker, self.worker = self.worker, ""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            self._heartbeat = None
        if not worker or self._pool is None:
            return
        await self._pool.execute(_END_RUN, self.name, worker)
        await self._pool.execute(
            "DELETE FROM xportcn_journal_workers WHERE journal = $1 AND worker = $2",
            self.name,
            worker,
        )

    async def claim(self, item: BookingRequest, *, resend_unknown: bool) -> Claim:
        key = item.key
        asyncpg = self._asyncpg
        for _ in range(5):  # a row that changed between the claim and the read: try again
            try:
                row = await self._pool.fetchrow(
                    _CLAIM,
                    *self._args(
                        key, self.worker, upstream_key(item), resend_unknown, bool(item.render_id)
                    ),
                )
            except asyncpg.UniqueViolationError:
                # The upstream order is taken: under another key (a duplicate), or under this
                # one by a worker whose first insert raced ours (then the claim goes again).
                holder = await self._pool.fetchval(
                    "SELECT key FROM xportcn_journal_entries WHERE journal = $1 "
                    "AND upstream_order = $2 AND status NOT IN ('failed', 'rejected')",
                    self.name,
                    upstream_key(item),
                )
                if holder is not None and holder != key:
                    return Claim(kind=ClaimKind.DUPLICATE)
                continue
            except asyncpg.DeadlockDetectedError:
                # Two workers inserting the same booking at once meet on both unique indexes
                # (the key and the upstream order); PostgreSQL aborts one statement, which
                # wrote nothing: claim again.
                continue
            if row is not None:
                return Claim(
                    kind=ClaimKind.BOOK, render_id=row["render_id"] if row["in_doubt"] else None
                )
            claim = await self._refused(key, resend_unknown, bool(item.render_id))
            if claim is not None:
                return claim
        current = await self._pool.fetchrow(_READ, *self._args(key))
        return Claim(kind=ClaimKind.TAKEN, holder=current["label"] if current else None)

    async def _refused(self, key: str, resend_unknown: bool, has_render_id: bool) -> Claim | None:
        """Why a claim was refused, read back; None when the row changed meanwhile and the
        claim is worth another try."""
        row = await self._pool.fetchrow(_READ, *self._args(key))
        if row is None:
            return None
        status, worker = row["status"], row["worker"]
        if worker == self.worker:
            return Claim(kind=ClaimKind.DUPLICATE)
        if status == JournalStatus.BOOKED:
            return Claim(
                kind=ClaimKind.ALREADY_BOOKED,
                booking=booking_of(row["order_id"], row["tracking_numbers"]),
            )
        in_flight = status in (JournalStatus.CLAIMED, JournalStatus.STARTED)
        if in_flight and row["live"]:
            return Claim(kind=ClaimKind.TAKEN, holder=row["label"])
        in_doubt = status == JournalStatus.UNKNOWN or (
            in_flight and (status == JournalStatus.STARTED or row["in_doubt"])
        )
        if in_doubt and not resend_unknown:
            return Claim(kind=ClaimKind.IN_DOUBT)
        if in_doubt and row["render_id"] is None and not has_render_id:
            return Claim(kind=ClaimKind.CANNOT_RESEND)
        return None

    async def started(self, key: str, render_id: str) -> None:
        result = await self._pool.execute(_STARTED, self.name, key, self.worker, render_id)
        if result != "UPDATE 1":
            # Another worker took the key over (this worker's lease had run out): not sent.
            raise ClaimedByAnotherWorker(key, None)

    async def record(self, outcome: BookingOutcome) -> None:
        if not recorded(outcome):
            return
        booking = outcome.result
        error = error_fields(outcome.error)
        code = error.get("error_code")
        await self._pool.execute(
            _RECORD,
            self.name,
            outcome.key,
            self.worker,
            outcome.status.value,
            booking.order_id if booking is not None else None,
            list(booking.tracking_numbers) if booking is not None else [],
            error.get("error_type"),
            None if code is None else str(code),
            error.get("error"),
            error.get("request_id"),
            outcome.attempts,
        )

    async def aclose(self) -> None:
        """End the current run (if any) and close the connections."""
        try:
            if self.worker:
                await self.end_run()
        finally:
            if self._pool is not None:
                pool, self._pool = self._pool, None
                await pool.close()

    async def __aenter__(self) -> PostgresJournal:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- for operators --------------------------------------------------------------------

    async def stats(self) -> JournalStats:
        """Keys by status and the workers, across every worker of this journal."""
        pool = await self._connect(create=False)
        rows = await pool.fetch(
            f"SELECT {_EFFECTIVE} AS status, count(*) AS n FROM xportcn_journal_entries e "
            "WHERE e.journal = $1 GROUP BY 1",
            *self._args(),
        )
        workers = await pool.fetch(
            "SELECT worker, label, expires_at > now() AS live, heartbeat_at::text "
            "FROM xportcn_journal_workers WHERE journal = $1 ORDER BY started_at",
            self.name,
        )
        return JournalStats(
            name=self.name,
            counts={r["status"]: r["n"] for r in rows},
            workers=tuple(
                WorkerInfo(
                    worker=w["worker"],
                    label=w["label"],
                    live=w["live"],
                    heartbeat_at=w["heartbeat_at"],
                )
                for w in workers
            ),
        )

    async def entries(
        self, statuses: Sequence[str] = (), *, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """The rows of this journal (those whose current status is in ``statuses``, when
        given), oldest claim first, as JSON-ready dicts."""
        pool = await self._connect(create=False)
        rows = await pool.fetch(
            f"SELECT e.key, {_EFFECTIVE} AS status, e.render_id, e.order_id, "
            "e.tracking_numbers, e.error_type, e.error_code, e.error, e.request_id, e.attempts, "
            "e.worker, e.claimed_at::text, e.started_at::text, "
            "e.finished_at::text FROM xportcn_journal_entries e "
            f"WHERE e.journal = $1 AND (cardinality($3::text[]) = 0 OR {_EFFECTIVE} = ANY($3)) "
            "ORDER BY e.claimed_at, e.key LIMIT $4",
            *self._args(list(statuses), limit),
        )
        return [{**dict(r), "tracking_numbers": list(r["tracking_numbers"])} for r in rows]


async def create_schema(url: str) -> bool:
    """Create the journal's tables in the database at ``url`` if they are missing (what
    ``xportcn journal init URL`` runs); True when this call created them."""
    asyncpg = _require_asyncpg()
    connection = await asyncpg.connect(url)
    try:
        created: bool = await ensure_schema(connection)
        return created
    finally:
        await connection.close()
