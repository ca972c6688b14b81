"""The PostgreSQL journal: the JSONL journal's rules, on a real PostgreSQL (the same tests run
on both backends), plus what only a shared journal has: atomic claims between workers, leases
that tell a stopped worker from a live one, schema creation by workers that start together,
and the ``xportcn journal`` commands."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped,unused-ignore]
import pytest

from xportcn_async import BookingRequest, Request, Response, RetryPolicy, from_wire
from xportcn_async.batch import Status
from xportcn_async.bulk import (
    BookingJournal,
    ClaimedByAnotherWorker,
    ClaimKind,
    DuplicateKeyError,
    PostgresJournal,
    create_schema,
)
from xportcn_async.cli import main
from xportcn_async.errors import ConfigurationError, ConnectionDroppedError
from xportcn_async.sandbox import Sandbox

from .test_bulk import ORDERS, _client_for, bookings, orders_per_tmall_id

ROOT = Path(__file__).resolve().parents[1]
NO_RETRY = RetryPolicy(max_retries=0)


@pytest.fixture(params=["file", pytest.param("postgres", marks=pytest.mark.postgres)])
def journal(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """One journal of either backend, as ``book_many`` takes it: a JSONL path or a PostgreSQL
    URL. Each run on it is a new process (file) or a new worker (PostgreSQL)."""
    if request.param == "file":
        return str(tmp_path / "j.jsonl")
    url: str = request.getfixturevalue("postgres_url")
    return url


def booking(tmall_order_id: str) -> BookingRequest:
    return from_wire(
        {**ORDERS[0], "tmallOrderInfo": {"tmallOrderId": tmall_order_id}}, BookingRequest
    )


async def book(journal: BookingJournal, items: list[Any], handler: Any, **kwargs: Any) -> list[Any]:
    async with (
        _client_for(handler, retry=NO_RETRY) as client,
        client.logistics.book_many(items, journal=journal, ordered=True, **kwargs) as run,
    ):
        return [o async for o in run]


# -- the same rules on both backends ----------------------------------------------------------


async def test_resume_skips_booked_books_failed_and_keeps_unknown_until_resent(
    journal: str,
) -> None:
    sandbox = Sandbox()
    items = list(bookings(4))
    fail, lose = items[1].key, items[2].key
    lost: list[str] = []

    async def faulty(request: Request) -> Response:
        body = json.loads(request.body)
        if "orderBookingFreight" in request.url:
            key = f"tmall:{body['tmallOrderInfo']['tmallOrderId']}"
            if key == fail:
                return Response.json({"errorCode": 503, "success": False}, status=503)
            response = await sandbox.handle(request)  # the server books ...
            if key == lose:
                lost.append(body["renderId"])
                raise ConnectionDroppedError("dropped")  # ... and the reply is lost
            return response
        return await sandbox.handle(request)

    first = await book(journal, items, faulty)
    assert [o.status for o in first] == [
        Status.BOOKED,
        Status.FAILED,
        Status.UNKNOWN,
        Status.BOOKED,
    ]

    # resume: booked is skipped with its booking, failed is booked, unknown is not resent
    second = await book(journal, items, sandbox.handle)
    assert [o.status for o in second] == [
        Status.SKIPPED,
        Status.BOOKED,
        Status.UNKNOWN,
        Status.SKIPPED,
    ]
    assert second[0].result.order_id == first[0].result.order_id
    assert second[2].attempts == 0 and "earlier run" in str(second[2].error)
    assert sandbox.stats.bookings == 4

    # resending it fails: it stays unknown (the first send may have booked it)
    third = await book(journal, items, faulty, resend_unknown=True)
    assert third[2].status is Status.UNKNOWN and third[2].attempts == 1
    fourth = await book(journal, items, sandbox.handle)
    assert fourth[2].status is Status.UNKNOWN and fourth[2].attempts == 0

    # resent with its own renderId, never a new preview: the server answers the same order
    fifth = await book(journal, items, sandbox.handle, resend_unknown=True)
    assert [o.status for o in fifth] == [
        Status.SKIPPED,
        Status.SKIPPED,
        Status.BOOKED,
        Status.SKIPPED,
    ]
    assert sandbox.stats.bookings == 4 and sandbox.stats.renders == 5
    assert lost == [lost[0]] * 2  # the resend that failed: the same renderId
    assert sandbox.stats.bookings_by_render_id[lost[0]] == 3
    assert max(orders_per_tmall_id(sandbox).values()) == 1


async def test_an_order_twice_in_one_input_is_booked_once(journal: str) -> None:
    sandbox = Sandbox()
    a, b = booking("A"), booking("B")
    async with _client_for(sandbox.handle) as client:
        preview = await client.logistics.preview_freight(client.logistics.preview_for(b))
    assert preview.render_id
    items = [a, a, b, b.with_render_id(preview.render_id)]
    outcomes = await book(journal, items, sandbox.handle, concurrency=1)
    assert [o.status for o in outcomes] == [
        Status.BOOKED,
        Status.REJECTED,
        Status.BOOKED,
        Status.REJECTED,
    ]
    assert all(isinstance(o.error, DuplicateKeyError) for o in outcomes[1::2])
    assert max(orders_per_tmall_id(sandbox).values()) == 1


async def test_a_run_cut_short_leaves_what_it_sent_unknown_and_nothing_else(
    journal: str,
) -> None:
    sandbox = Sandbox()
    items = list(bookings(12))
    sent: list[str] = []
    hold, all_held = asyncio.Event(), asyncio.Event()

    async def holding(request: Request) -> Response:
        response = await sandbox.handle(request)
        if "orderBookingFreight" in request.url:
            sent.append(json.loads(request.body)["renderId"])
            if len(sent) > 1:
                if len(sent) == 5:
                    all_held.set()
                await hold.wait()  # booked, and in flight when the run is left
        return response

    async with (
        _client_for(holding) as client,
        client.logistics.book_many(items, journal=journal, concurrency=4) as run,
    ):
        async for _ in run:
            await all_held.wait()  # the first is booked, 4 more are sent and held
            break

    outcomes = await book(journal, items, sandbox.handle)
    assert Counter(o.status for o in outcomes) == {
        Status.SKIPPED: 1,
        Status.UNKNOWN: 4,
        Status.BOOKED: 7,
    }
    held = {f"tmall:{sandbox.state.bookings[r].tmall_order_id}" for r in sent[1:]}
    assert {o.key for o in outcomes if o.status is Status.UNKNOWN} == held
    assert max(orders_per_tmall_id(sandbox).values()) == 1


# -- only the shared journal ------------------------------------------------------------------


async def test_workers_starting_together_create_the_schema_once(postgres_url: str) -> None:
    created = await asyncio.gather(*(create_schema(postgres_url) for _ in range(8)))
    assert created.count(True) == 1
    journals = [PostgresJournal(postgres_url, name="x") for _ in range(4)]
    await asyncio.gather(*(j.begin_run() for j in journals))
    await asyncio.gather(*(j.aclose() for j in journals))
    connection = await asyncpg.connect(postgres_url)
    try:
        assert await connection.fetchval("SELECT array_agg(version) FROM xportcn_journal_schema")
        assert await connection.fetchval("SELECT count(*) FROM xportcn_journal_schema") == 1
    finally:
        await connection.close()


async def test_of_many_workers_claiming_the_same_keys_exactly_one_gets_each(
    postgres_url: str,
) -> None:
    journals = [PostgresJournal(postgres_url, name="race", pool_size=4) for _ in range(4)]
    items = [booking(f"R{n:03d}") for n in range(150)]
    try:
        await asyncio.gather(*(j.begin_run() for j in journals))

        async def claims(journal: PostgresJournal) -> list[ClaimKind]:
            async def one(item: BookingRequest) -> ClaimKind:
                return (await journal.claim(item, resend_unknown=False)).kind

            return await asyncio.gather(*(one(i) for i in items))

        results = await asyncio.gather(*(claims(j) for j in journals))
    finally:
        await asyncio.gather(*(j.aclose() for j in journals))
    for n in range(len(items)):
        kinds = Counter(worker[n] for worker in results)
        assert kinds == {ClaimKind.BOOK: 1, ClaimKind.TAKEN: 3}


async def test_three_workers_on_one_input_book_each_order_once(postgres_url: str) -> None:
    sandbox = Sandbox()
    items = list(bookings(120))

    async def worker() -> list[Any]:
        journal = PostgresJournal(postgres_url, name="three")
        try:
            async with (
                _client_for(sandbox.handle) as client,
                client.logistics.book_many(items, journal=journal, concurrency=8) as run,
            ):
                return [o async for o in run]
        finally:
            await journal.aclose()

    runs = await asyncio.gather(worker(), worker(), worker())
    for n, item in enumerate(items):
        outcomes = [next(o for o in run if o.index == n) for run in runs]
        assert Counter(o.status for o in outcomes) == {Status.BOOKED: 1, Status.SKIPPED: 2}
        for o in outcomes:
            assert o.key == item.key
            if o.status is Status.SKIPPED:
                assert isinstance(o.error, ClaimedByAnotherWorker) or o.result is not None
    assert sandbox.stats.bookings == 120 and sandbox.stats.booking_attempts == 120
    assert max(orders_per_tmall_id(sandbox).values()) == 1


async def test_a_worker_that_lost_its_claim_sends_nothing_and_overwrites_nothing(
    postgres_url: str,
) -> None:
    sandbox = Sandbox()
    item = booking("LOST")

    async def taken_over_during_the_preview(request: Request) -> Response:
        if "orderBookingFreight" not in request.url:  # another worker takes the key over
            connection = await asyncpg.connect(postgres_url)
            try:
                await connection.execute(
                    "UPDATE xportcn_journal_entries SET worker = 'elsewhere:1:x' WHERE key = $1",
                    item.key,
                )
            finally:
                await connection.close()
        return await sandbox.handle(request)

    async with PostgresJournal(postgres_url, name="lost") as journal:
        outcomes = await book(journal, [item], taken_over_during_the_preview)
        (row,) = await journal.entries()
    assert outcomes[0].status is Status.FAILED
    assert isinstance(outcomes[0].error, ClaimedByAnotherWorker)
    assert sandbox.stats.requests_by_operation.get("logistics.book", 0) == 0
    assert (row["status"], row["worker"], row["error"]) == ("claimed", "elsewhere:1:x", None)


def _kill_a_worker_holding(url: str, lease: float, render_id: str) -> None:
    """Start a worker that claims T-STARTED (sent, with ``render_id``) and T-CLAIMED (not
    sent yet), and SIGKILL it."""
    held = ["T-STARTED", render_id, "T-CLAIMED"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.journal_worker", url, "dead", str(lease), *held],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    finally:
        proc.kill()
        proc.communicate()


async def _wait_until_nothing_is_in_flight(journal: PostgresJournal) -> None:
    """Until no row is held by a live worker (the killed one's lease has run out)."""
    deadline = time.monotonic() + 60  # a bound on waiting, not a measurement
    while await journal.entries(["claimed", "started"]):
        assert time.monotonic() < deadline, "the killed worker's lease never ran out"
        await asyncio.sleep(0.1)


async def test_a_killed_workers_bookings_are_its_own_until_its_lease_runs_out(
    postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox = Sandbox()
    started, claimed = booking("T-STARTED"), booking("T-CLAIMED")
    async with _client_for(sandbox.handle) as client:
        preview = await client.logistics.preview_freight(client.logistics.preview_for(started))
    assert preview.render_id
    lease = 1.0
    _kill_a_worker_holding(postgres_url, lease, preview.render_id)

    async with PostgresJournal(postgres_url, name="dead", lease=lease) as journal:
        # while its lease may still run, the killed worker holds both: nothing is sent
        outcomes = await book(journal, [started, claimed], sandbox.handle)
        if await journal.entries(["claimed", "started"]):
            assert [o.status for o in outcomes] == [Status.SKIPPED, Status.SKIPPED]
            assert all(isinstance(o.error, ClaimedByAnotherWorker) for o in outcomes)
            assert sandbox.stats.requests_by_operation.get("logistics.book", 0) == 0
        await _wait_until_nothing_is_in_flight(journal)

        # then: what it sent is unknown (never resent blindly); what it only claimed is booked
        outcomes = await book(journal, [started, claimed], sandbox.handle)
        assert [o.status for o in outcomes] == [Status.UNKNOWN, Status.BOOKED]
        assert sandbox.stats.bookings_by_render_id.get(preview.render_id, 0) == 0

    listing = ["journal", "list", postgres_url, "--journal-name", "dead"]
    assert await asyncio.to_thread(main, listing) == 0
    assert await asyncio.to_thread(main, [*listing, "--status", "unknown"]) == 0
    out = capsys.readouterr().out.splitlines()
    rows = [json.loads(line) for line in out]
    assert Counter(r["status"] for r in rows[:2]) == {"unknown": 1, "booked": 1}
    assert [(r["key"], r["status"], r["render_id"]) for r in rows[2:]] == [
        (started.key, "unknown", preview.render_id)
    ]

    async with PostgresJournal(postgres_url, name="dead", lease=lease) as journal:
        outcomes = await book(journal, [started, claimed], sandbox.handle, resend_unknown=True)
    assert [o.status for o in outcomes] == [Status.BOOKED, Status.SKIPPED]
    assert sandbox.stats.bookings_by_render_id[preview.render_id] == 1  # its own renderId
    assert max(orders_per_tmall_id(sandbox).values()) == 1


def test_journal_commands_show_a_run_of_xportcn_book(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["journal", "stats", postgres_url]) == 2
    assert "xportcn journal init" in capsys.readouterr().err
    assert main(["journal", "init", postgres_url]) == 0
    assert main(["journal", "init", postgres_url]) == 0
    out = capsys.readouterr().out
    assert out.count(": created") == 1 and out.count(": already there") == 1
    assert "postgres@" not in out  # the URL is shown without its user

    orders = ROOT / "examples" / "orders.jsonl"
    count = sum(1 for line in orders.read_text(encoding="utf-8").splitlines() if line.strip())
    book = ["book", str(orders), "--sandbox", "--out", str(tmp_path / "r.jsonl")]
    shared = ["--journal", postgres_url, "--journal-name", "cmd"]
    assert main([*book, *shared]) == 0
    assert main([*book, *shared]) == 0  # a second run needs no --resume: all skipped
    results = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert {r["status"] for r in results} == {"skipped"} and len(results) == count
    capsys.readouterr()

    assert main(["journal", "stats", postgres_url, "--journal-name", "cmd"]) == 0
    stats = capsys.readouterr().out
    assert f"booked  {count}" in stats and f"total   {count}" in stats
    assert (
        main(["journal", "list", postgres_url, "--journal-name", "cmd", "--status", "booked"]) == 0
    )
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == count and all(r["order_id"] and r["render_id"] for r in rows)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--journal", "postgresql://h/db", "--fresh"], "another --journal-name"),
        (["--journal-name", "x"], "PostgreSQL --journal only"),
        (["--journal", "postgresql://h/db", "--journal-lease", "0"], "--journal-lease"),
        (["--journal", "postgresql://h/db", "--shard", "3/3"], "--shard"),
        (["--journal", "postgresql://h/db", "--shard", "x"], "--shard"),
    ],
)
def test_shared_journal_options_that_do_not_fit_exit_2(
    options: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = ROOT / "examples" / "orders.jsonl"
    code = main(["book", str(orders), "--sandbox", "--out", str(tmp_path / "r"), *options])
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


async def test_a_run_that_ends_with_a_booking_claimed_but_unsent_frees_it(
    postgres_url: str,
) -> None:
    sandbox = Sandbox()
    item = booking("UNSENT")
    previewing, hold = asyncio.Event(), asyncio.Event()

    async def slow_preview(request: Request) -> Response:
        if "orderBookingFreight" not in request.url:
            previewing.set()
            await hold.wait()  # the run is left while the preview is in flight
        return await sandbox.handle(request)

    async with PostgresJournal(postgres_url, name="unsent") as journal:
        async with (
            _client_for(slow_preview) as client,
            client.logistics.book_many([item], journal=journal) as run,
        ):

            async def consume() -> list[Any]:
                return [o async for o in run]

            consuming = asyncio.ensure_future(consume())
            await previewing.wait()
        assert await consuming == []  # left with the booking claimed, its preview in flight
        (row,) = await journal.entries()
        assert (row["status"], row["error"]) == ("failed", "not sent: its run ended first")

        outcomes = await book(journal, [item], sandbox.handle)
    assert [o.status for o in outcomes] == [Status.BOOKED]
    assert sandbox.stats.bookings == 1


async def test_journal_tables_of_a_newer_version_are_refused(postgres_url: str) -> None:
    await create_schema(postgres_url)
    connection = await asyncpg.connect(postgres_url)
    try:
        await connection.execute("INSERT INTO xportcn_journal_schema (version) VALUES (99)")
    finally:
        await connection.close()
    journal = PostgresJournal(postgres_url)
    with pytest.raises(ConfigurationError, match="schema version 99"):
        await journal.begin_run()
    await journal.aclose()
