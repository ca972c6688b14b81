"""Benchmark 6: scaling bulk booking over worker processes that share a PostgreSQL journal.

1, 2 and 4 ``xportcn book`` processes book one input through one PostgreSQL journal
(``--shard i/n``) against one sandbox process that adds 20 ms to every request. Each booking
is a preview and a booking, so at best it takes 40 ms: with ``c`` bookings in flight per
worker, Little's law bounds ``n`` workers at ``n * c / 0.040`` bookings per second. It reports
each worker count's throughput (from the journal's own claim and finish times, so process
start-up is left out) and its share of that bound. Then the journal's own cost per booking
(claim, started, outcome), PostgreSQL against the JSONL file, measured in this run: one at a
time (latency) and 32 at once (throughput).

    python benchmarks/bench_workers.py --postgres-url postgresql://postgres@127.0.0.1/postgres
        [--orders 2000] [--concurrency 16] [--smoke]

The URL must allow CREATE DATABASE (each measurement gets a fresh database, dropped after);
``$XPORTCN_TEST_POSTGRES_URL`` (``make services``) is the default.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped,unused-ignore]

from xportcn_async import Booking, BookingRequest, from_wire
from xportcn_async.batch import Outcome, Status
from xportcn_async.bulk import BookingJournal, Journal, PostgresJournal
from xportcn_async.examples import example_lines
from xportcn_async.sandbox import DEMO_CREDENTIALS

LATENCY = 0.020
REQUESTS_PER_BOOKING = 2  # a preview and a booking


@asynccontextmanager
async def fresh_database(admin_url: str) -> AsyncIterator[str]:
    name = f"bench_workers_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    try:
        yield urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    finally:
        connection = await asyncpg.connect(admin_url)
        try:
            await connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        finally:
            await connection.close()


@contextmanager
def sandbox(directory: Path) -> Iterator[str]:
    ready = directory / "sandbox.ready"
    command = [sys.executable, "-m", "xportcn_async.sandbox", "--port", "0"]
    command += ["--ready-file", str(ready), "--latency", str(LATENCY)]
    proc = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox did not start: {proc.communicate()[1]!r}")
            time.sleep(0.05)
        yield ready.read_text(encoding="utf-8").strip()
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


async def span(url: str) -> tuple[int, float]:
    """Bookings in the journal, and seconds from the first claim to the last outcome."""
    connection = await asyncpg.connect(url)
    try:
        row = await connection.fetchrow(
            "SELECT count(*) FILTER (WHERE status = 'booked') AS booked, "
            "extract(epoch FROM max(finished_at) - min(claimed_at)) AS seconds "
            "FROM xportcn_journal_entries"
        )
    finally:
        await connection.close()
    return row["booked"], float(row["seconds"])


async def workers_run(
    admin_url: str, base_url: str, orders: Path, count: int, workers: int, concurrency: int
) -> tuple[int, float]:
    env = {
        **os.environ,
        "XPORTCN_ACCESS_KEY": DEMO_CREDENTIALS.access_key,
        "XPORTCN_ACCESS_SECRET": DEMO_CREDENTIALS.access_secret,
        "XPORTCN_USER_ID": DEMO_CREDENTIALS.user_id or "",
    }
    async with fresh_database(admin_url) as url:
        procs = []
        with tempfile.TemporaryDirectory() as out:
            for i in range(workers):
                command = [sys.executable, "-m", "xportcn_async.cli", "book", str(orders)]
                command += ["--base-url", base_url, "--journal", url, "--shard", f"{i}/{workers}"]
                command += ["--concurrency", str(concurrency), "--out", f"{out}/r{i}.jsonl"]
                procs.append(
                    await asyncio.create_subprocess_exec(
                        *command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
                    )
                )
            for proc in procs:
                _, err = await proc.communicate()
                if proc.returncode != 0:
                    raise RuntimeError(f"a worker failed: {err.decode()[-2000:]}")
        booked, seconds = await span(url)
    if booked != count:
        raise RuntimeError(f"{booked} of {count} booked")
    return booked, seconds


# -- the journal's own cost ---------------------------------------------------------------------


def _cycle_items(count: int, tag: str) -> list[BookingRequest]:
    return [
        from_wire(
            {**json.loads(line), "tmallOrderInfo": {"tmallOrderId": f"J{tag}{n:07d}"}},
            BookingRequest,
        )
        for n, line in enumerate(example_lines(count, seed=3))
    ]


async def _cycle(journal: BookingJournal, item: BookingRequest, index: int) -> None:
    """What the journal does for one booking: claim, started, outcome."""
    await journal.claim(item, resend_unknown=False)
    await journal.started(item.key, f"FFJ{index:09d}")
    booking = Booking(order_id=str(index), sub_orders=[])
    outcome: Outcome[Any, Booking] = Outcome(
        index=index, key=item.key, item=item, status=Status.BOOKED, result=booking, attempts=2
    )
    await journal.record(outcome)


async def journal_cost(
    make: Callable[[], BookingJournal], count: int, parallel: int
) -> tuple[float, float]:
    """(milliseconds per booking one at a time, bookings per second ``parallel`` at once)."""
    journal = make()
    try:
        await journal.begin_run()
        items = _cycle_items(count, "s")
        started = time.perf_counter()
        for n, item in enumerate(items):
            await _cycle(journal, item, n)
        one_at_a_time = (time.perf_counter() - started) / count * 1000
        items = _cycle_items(count, "p")
        queue = list(enumerate(items))

        async def worker() -> None:
            while queue:
                n, item = queue.pop()
                await _cycle(journal, item, n)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(parallel)))
        at_once = count / (time.perf_counter() - started)
        await journal.end_run()
    finally:
        await journal.aclose()
    return one_at_a_time, at_once


async def main_async(args: argparse.Namespace) -> None:
    counts = (1, 2) if args.smoke else (1, 2, 4)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        orders = directory / "orders.jsonl"
        orders.write_text("".join(example_lines(args.orders, seed=99)), encoding="utf-8")
        print(
            f"  {args.orders} orders, {args.concurrency} in flight per worker, sandbox latency "
            f"{LATENCY * 1000:.0f} ms per request, {REQUESTS_PER_BOOKING} requests per booking"
        )
        print(f"  {'workers':>7}  {'booked/s':>9}  {'bound/s':>8}  {'of the bound':>12}")
        with sandbox(directory) as base_url:
            for workers in counts:
                booked, seconds = await workers_run(
                    args.postgres_url, base_url, orders, args.orders, workers, args.concurrency
                )
                rate = booked / seconds
                bound = workers * args.concurrency / (LATENCY * REQUESTS_PER_BOOKING)
                print(f"  {workers:>7}  {rate:>9.1f}  {bound:>8.0f}  {rate / bound:>11.0%}")

        cycles = 40 if args.smoke else 1000
        print(f"\n  the journal per booking (claim, started, outcome), {cycles} bookings:")
        print(f"  {'journal':>10}  {'ms, one at a time':>17}  {'bookings/s, 32 at once':>22}")
        figures = {}
        async with fresh_database(args.postgres_url) as url:
            figures["PostgreSQL"] = await journal_cost(
                lambda: PostgresJournal(url, name="bench", pool_size=8), cycles, 32
            )
        figures["JSONL"] = await journal_cost(
            lambda: Journal(directory / "journal.jsonl"), cycles, 32
        )
        for name, (latency_ms, per_second) in figures.items():
            print(f"  {name:>10}  {latency_ms:>17.3f}  {per_second:>22.0f}")
        ratio = figures["PostgreSQL"][0] / figures["JSONL"][0]
        print(f"  PostgreSQL costs {ratio:.0f}x the JSONL file per booking, one at a time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("XPORTCN_TEST_POSTGRES_URL"),
        help="a PostgreSQL URL that may create databases (default $XPORTCN_TEST_POSTGRES_URL)",
    )
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, no targets")
    args = parser.parse_args()
    if not args.postgres_url:
        parser.error("give --postgres-url (or start `make services` and eval its env)")
    if args.smoke:
        args.orders = 40
        print("  smoke mode: tiny sizes, figures meaningless, no targets checked")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
