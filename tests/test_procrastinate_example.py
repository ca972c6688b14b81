"""The worked example for continuous order flows (examples/procrastinate_bookings.py): jobs of
a procrastinate queue on PostgreSQL, each booking one order with the PostgreSQL journal as the
exactly-once record, against the sandbox with faults, with some orders sent twice."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import time
from collections import Counter
from pathlib import Path
from types import ModuleType

import asyncpg  # type: ignore[import-untyped,unused-ignore]
import pytest

from xportcn_async.bulk import PostgresJournal
from xportcn_async.examples import example_lines
from xportcn_async.sandbox import Faults, serve

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "procrastinate_bookings.py"


def load_example(database_url: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("DATABASE_URL", database_url)
    spec = importlib.util.spec_from_file_location("procrastinate_bookings", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def job_statuses(url: str) -> Counter[str]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch("SELECT status::text FROM procrastinate_jobs")
    finally:
        await connection.close()
    return Counter(r["status"] for r in rows)


async def test_each_job_books_one_order_once_even_when_the_shop_sends_it_twice(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    example = load_example(postgres_url, monkeypatch)
    orders = [json.loads(line) for line in example_lines(40, seed=7)]
    faults = Faults(unavailable=0.1, drop_after=0.2, operations=frozenset({"logistics.book"}))
    async with serve(port=0, faults=faults, seed=5) as running:
        credentials = running.credentials
        monkeypatch.setenv("XPORTCN_ACCESS_KEY", credentials.access_key)
        monkeypatch.setenv("XPORTCN_ACCESS_SECRET", credentials.access_secret)
        monkeypatch.setenv("XPORTCN_USER_ID", credentials.user_id or "")
        monkeypatch.setenv("XPORTCN_BASE_URL", running.base_url)
        await example.init()
        async with example.app.open_async():
            for order in [*orders, *orders[:10]]:  # the shop sends 10 orders twice
                await example.book_order.defer_async(booking=order)
        deadline = time.monotonic() + 120  # a bound on waiting, not a measurement
        while (await job_statuses(postgres_url))["todo"]:  # retries are scheduled later
            assert time.monotonic() < deadline, await job_statuses(postgres_url)
            await example.work(concurrency=8, wait=False)
            await asyncio.sleep(0.2)
        stats = running.sandbox.stats
        async with PostgresJournal(postgres_url, name=example.JOURNAL_NAME) as journal:
            rows = {e["key"]: e["status"] for e in await journal.entries()}

    keys = [f"tmall:{o['tmallOrderInfo']['tmallOrderId']}" for o in orders]
    assert sorted(rows) == sorted(keys)  # one journal row per order
    assert stats.upstream_orders_booked_more_than_once == 0
    assert set(rows.values()) <= {"booked", "unknown"}
    booked = sum(1 for s in rows.values() if s == "booked")
    unknown = sum(1 for s in rows.values() if s == "unknown")
    assert booked <= stats.bookings <= booked + unknown  # the unknown ones may be booked
    jobs = await job_statuses(postgres_url)
    # a booked order's jobs succeed (the second one skips it); an unknown one's fail, unretried
    duplicates_of_unknown = sum(1 for k in keys[:10] if rows[k] == "unknown")
    assert jobs == {"succeeded": 50 - unknown - duplicates_of_unknown} | (
        {"failed": unknown + duplicates_of_unknown} if unknown else {}
    )
    assert unknown > 0 and booked > 0  # the faults really happened
