"""Continuous order flows: a shop sends orders all day, each becomes one procrastinate job, and
any number of worker processes (on any hosts) book them. The PostgreSQL journal is the
exactly-once record; procrastinate, on the same PostgreSQL, is the queue. Nothing else runs.

    export DATABASE_URL=postgresql://user:password@host:5432/shop
    export XPORTCN_ACCESS_KEY=... XPORTCN_ACCESS_SECRET=...
    python procrastinate_bookings.py init      # once: the queue's and the journal's tables
    python procrastinate_bookings.py worker    # on every worker host, as many as you like

The shop defers one job per order: ``await book_order.defer_async(booking=to_wire(request))``.

Why it never books an order twice: a job can run twice (a worker dies after booking but before
procrastinate marks the job done; the shop sends the same order twice), but every run claims
the order's key in the journal before it previews or books it. A booked order is skipped; one
held by another worker right now is retried later (and then skipped); one whose booking was
sent and never answered is ``unknown``: the job fails without a retry, for someone to check.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from procrastinate import App, PsycopgConnector, RetryStrategy

from xportcn_async import BookingRequest, XportcnClient, from_wire
from xportcn_async.batch import Status
from xportcn_async.bulk import PostgresJournal, create_schema

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://localhost/shop")
JOURNAL_NAME = "shop"

app = App(connector=PsycopgConnector(conninfo=DATABASE_URL))


class BookingFailed(Exception):
    """Nothing was booked (the API was unreachable, or another worker holds the order right
    now): safe to run the job again, so procrastinate retries it."""


class BookingNeedsAttention(Exception):
    """Rejected (invalid order, refused by the API), or sent with an unknown outcome: a retry
    would not help, or might book twice. Not retried; the journal row says which."""


_client: XportcnClient | None = None
"""This worker process's client (one connection pool for all its jobs), set by :func:`work`."""


@app.task(
    queue="bookings",
    retry=RetryStrategy(max_attempts=10, linear_wait=1, retry_exceptions={BookingFailed}),
)
async def book_order(booking: dict[str, Any]) -> str:
    """Book one order (its wire form, as ``xportcn book`` reads it); return its order id."""
    if _client is None:
        raise RuntimeError("run the jobs with work(): it opens the worker's client")
    request = from_wire(booking, BookingRequest)
    async with (
        PostgresJournal(DATABASE_URL, name=JOURNAL_NAME, pool_size=1) as journal,
        _client.logistics.book_many([request], journal=journal) as run,
    ):
        (outcome,) = [o async for o in run]
    if outcome.result is not None:  # booked now, or skipped: booked before
        return outcome.result.order_id
    if outcome.status in (Status.FAILED, Status.SKIPPED):  # skipped: another worker has it
        raise BookingFailed(f"{outcome.key}: {outcome.error}")
    raise BookingNeedsAttention(f"{outcome.key}: {outcome.status.value}: {outcome.error}")


async def init() -> None:
    """Create procrastinate's tables and the journal's."""
    async with app.open_async():
        await app.schema_manager.apply_schema_async()
    await create_schema(DATABASE_URL)


async def work(*, concurrency: int = 8, wait: bool = True) -> None:
    """Run a worker: ``concurrency`` jobs at once, until stopped (``wait``) or, without
    ``wait``, until the queue is empty."""
    global _client
    async with XportcnClient(connection_limit=concurrency) as client, app.open_async():
        _client = client
        try:
            await app.run_worker_async(queues=["bookings"], concurrency=concurrency, wait=wait)
        finally:
            _client = None


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "init":
        asyncio.run(init())
    elif command == "worker":
        asyncio.run(work())
    else:
        sys.exit("usage: procrastinate_bookings.py init|worker")
