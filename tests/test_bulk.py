"""Bulk booking (``client.logistics.book_many``) over real HTTP against the sandbox: every
input gets one outcome, faults never cause a double booking, and the journal resumes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from xportcn_async import (
    BookingRequest,
    Credentials,
    DefaultSigner,
    InMemoryTransport,
    Request,
    Response,
    RetryPolicy,
    Timeout,
    XportcnClient,
    from_wire,
)
from xportcn_async.batch import Status
from xportcn_async.bulk import DuplicateKeyError, InvalidInput, Journal
from xportcn_async.errors import ConfigurationError, MalformedResponseError, ValidationError
from xportcn_async.sandbox import Faults, Latency, Sandbox, serve

ROOT = Path(__file__).resolve().parents[1]
ORDERS = [
    json.loads(line)
    for line in (ROOT / "examples" / "orders.jsonl").read_text(encoding="utf-8").splitlines()
]

MIXED_FAULTS = Faults(
    unavailable=0.04,
    rate_limit=0.04,
    server_error_after=0.03,
    drop_after=0.03,
    malformed=0.03,
    slow=0.03,
    slow_seconds=1.0,
    retry_after=0.01,
)
FAST_RETRY = RetryPolicy(max_retries=4, initial_delay=0.001, max_delay=0.01)


def bookings(count: int) -> Iterator[BookingRequest]:
    """``count`` distinct bookings (distinct upstream order ids), without renderIds."""
    for n in range(count):
        wire = dict(ORDERS[n % len(ORDERS)])
        wire["tmallOrderInfo"] = {"tmallOrderId": f"T{n:06d}"}
        yield from_wire(wire, BookingRequest)


def _client_for(handler: Any, **kwargs: Any) -> XportcnClient:
    return XportcnClient(
        Sandbox().credentials,
        base_url="http://127.0.0.1/api",
        transport=InMemoryTransport(handler),
        **kwargs,
    )


def orders_per_tmall_id(sandbox: Sandbox) -> Counter[str]:
    return Counter(order.tmall_order_id for order in sandbox.state.orders.values())


async def test_2000_bookings_with_20_percent_faults_one_outcome_each_and_none_booked_twice() -> (
    None
):
    async with serve(port=0, faults=MIXED_FAULTS, seed=11) as running:
        async with (
            XportcnClient(
                running.credentials,
                base_url=running.base_url,
                # Far above any reply's time on a loaded machine: at 0.5 s, ordinary replies
                # timed out under load (fewer bookings, retries exhausted); slow faults still
                # come, as late replies.
                timeout=Timeout(total=5.0),
                retry=FAST_RETRY,
            ) as client,
            client.logistics.book_many(bookings(2000), concurrency=100) as run,
        ):
            outcomes = [o async for o in run]
        stats = running.sandbox.stats
        per_tmall = orders_per_tmall_id(running.sandbox)

    assert sorted(o.index for o in outcomes) == list(range(2000))
    statuses = Counter(o.status for o in outcomes)
    assert statuses[Status.BOOKED] > 1500
    assert statuses[Status.UNKNOWN] > 0  # faults after processing were not retried ...
    # ... so no render was ever booked twice, and no upstream order got two orders.
    assert stats.duplicate_booking_attempts == 0
    assert max(stats.bookings_by_render_id.values()) == 1
    assert max(per_tmall.values()) == 1
    for o in outcomes:
        if o.status is Status.BOOKED:
            assert o.result is not None and o.result.order_id in running.sandbox.state.orders
            assert o.result.tracking_numbers
        else:
            assert o.error is not None
    # every booking the client saw succeed exists; unknown ones may or may not
    assert stats.bookings >= statuses[Status.BOOKED]


async def test_retry_ambiguous_books_everything_and_the_server_dedupes_repeats() -> None:
    async with serve(port=0, faults=MIXED_FAULTS, seed=12) as running:
        async with (
            XportcnClient(
                running.credentials,
                base_url=running.base_url,
                # Far above any reply's time on a loaded machine: at 0.5 s, ordinary replies
                # timed out under load (fewer bookings, retries exhausted); slow faults still
                # come, as late replies.
                timeout=Timeout(total=5.0),
                retry=RetryPolicy(max_retries=12, initial_delay=0.001, max_delay=0.01),
            ) as client,
            client.logistics.book_many(
                bookings(2000), concurrency=100, retry_ambiguous=True
            ) as run,
        ):
            outcomes = [o async for o in run]
        stats = running.sandbox.stats
        per_tmall = orders_per_tmall_id(running.sandbox)

    assert Counter(o.status for o in outcomes) == {Status.BOOKED: 2000}
    assert stats.duplicate_booking_attempts > 0  # ambiguous bookings were sent again ...
    assert stats.bookings == 2000  # ... and deduplicated: one order per input
    assert max(per_tmall.values()) == 1
    assert len({o.result.order_id for o in outcomes if o.result}) == 2000


async def test_bad_items_are_rejected_locally_and_the_others_still_go() -> None:
    items: list[Any] = list(bookings(6))
    bad = from_wire({**ORDERS[0], "tmallOrderInfo": {"tmallOrderId": "BAD"}}, BookingRequest)
    bad_lines = [*bad.line_items]
    bad_lines[0] = type(bad_lines[0])(item_id="1", sku_id="2", quantity=0)
    items[2] = type(bad)(
        tmall_order_id="BAD", receiver_address=bad.receiver_address, line_items=bad_lines
    )
    items[4] = InvalidInput("line 5", ValidationError("line 5", []))
    sandbox = Sandbox()
    async with (
        _client_for(sandbox.handle) as client,
        client.logistics.book_many(items, concurrency=3, ordered=True) as run,
    ):
        outcomes = [o async for o in run]
    assert [o.index for o in outcomes] == list(range(6))
    assert [o.status for o in outcomes] == [
        Status.BOOKED,
        Status.BOOKED,
        Status.REJECTED,
        Status.BOOKED,
        Status.REJECTED,
        Status.BOOKED,
    ]
    assert "line_items[0].quantity" in str(outcomes[2].error)
    assert outcomes[2].attempts == 0 and outcomes[4].attempts == 0
    assert outcomes[4].key == "line 5"
    assert sandbox.stats.bookings == 4


async def test_lazy_input_of_100000_bookings_stays_within_concurrency_plus_window() -> None:
    booking_reply = Response.json(
        {"errorCode": 200, "errorMsg": None, "success": True, "data": {"orderId": "1"}}
    )

    async def canned(_: Request) -> Response:
        return booking_reply

    template = next(bookings(1)).with_render_id("FF1")
    pulled = consumed = max_ahead = 0

    def source() -> Iterator[BookingRequest]:
        nonlocal pulled, max_ahead
        for n in range(100_000):
            pulled += 1
            max_ahead = max(max_ahead, pulled - consumed)
            yield template.with_render_id(f"FF{n}")

    transport = InMemoryTransport(canned, record=False)
    async with (
        XportcnClient(Credentials("k", "s"), transport=transport) as client,
        client.logistics.book_many(source(), concurrency=16, window=16) as run,
    ):
        async for outcome in run:
            consumed += 1
            assert outcome.status is Status.BOOKED
    assert consumed == 100_000
    assert max_ahead <= 16 + 16 + 1


# -- the journal ---------------------------------------------------------------------------


async def test_journal_skips_booked_retries_failed_and_reports_unknown_without_resending(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "run.journal"
    items = list(bookings(5))
    keys = [i.key for i in items]
    journal.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"key": keys[0], "status": "started"},
                {"key": keys[0], "status": "booked", "order_id": "900", "tracking_numbers": ["T9"]},
                {"key": keys[1], "status": "started"},
                {"key": keys[1], "status": "failed", "error": "boom"},
                {"key": keys[2], "status": "started"},  # killed in flight
                {"key": keys[3], "status": "unknown"},
            ]
        )
        + '\n{"key": "cut sho'  # a line cut short by SIGKILL
    )
    sandbox = Sandbox()
    async with (
        _client_for(sandbox.handle) as client,
        client.logistics.book_many(items, journal=journal, ordered=True) as run,
    ):
        outcomes = [o async for o in run]
    assert [o.status for o in outcomes] == [
        Status.SKIPPED,
        Status.BOOKED,
        Status.UNKNOWN,
        Status.UNKNOWN,
        Status.BOOKED,
    ]
    assert outcomes[0].result is not None and outcomes[0].result.order_id == "900"
    assert outcomes[0].result.tracking_numbers == ["T9"]
    assert outcomes[2].attempts == 0 and "earlier run" in str(outcomes[2].error)
    assert sandbox.stats.bookings == 2  # only the failed one and the new one were sent
    last = {}
    for line in journal.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        last[record["key"]] = record["status"]
    assert last[keys[1]] == "booked" and last[keys[4]] == "booked"

    # opting in cannot resend them safely: the journal has no renderId for them
    async with (
        _client_for(sandbox.handle) as client,
        client.logistics.book_many(
            items, journal=journal, resend_unknown=True, ordered=True
        ) as run,
    ):
        outcomes = [o async for o in run]
    assert [o.status for o in outcomes] == [
        Status.SKIPPED,
        Status.SKIPPED,
        Status.UNKNOWN,
        Status.UNKNOWN,
        Status.SKIPPED,
    ]
    assert "renderId is not in the journal" in str(outcomes[2].error)
    assert sandbox.stats.bookings == 2


async def test_journal_rejects_a_key_repeated_in_one_input_and_holds_no_secrets(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "j.jsonl"
    one = next(bookings(1))
    sandbox = Sandbox()
    async with (
        _client_for(sandbox.handle) as client,
        client.logistics.book_many([one, one], journal=journal, ordered=True, concurrency=1) as run,
    ):
        statuses = [o.status async for o in run]
    assert statuses == [Status.BOOKED, Status.REJECTED]
    assert sandbox.stats.bookings == 1
    text = journal.read_text()
    assert sandbox.credentials.access_secret not in text
    assert "signature" not in text and "sign=" not in text


def test_journal_tolerates_a_cut_last_line(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_text('{"key": "a", "status": "booked", "order_id": "1"}\n{"key": "b", "sta')
    journal = Journal(path)
    try:
        state = journal.previous("a")
        assert state is not None and (state.status, state.order_id) == ("booked", "1")
        assert journal.previous("b") is None
        assert journal.unreadable_lines == 1
    finally:
        journal.close()


# -- resume after SIGKILL --------------------------------------------------------------------


def _journal_state(path: Path) -> dict[str, str]:
    last: dict[str, str] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            last[record["key"]] = record["status"]
    return last


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
async def test_resume_after_sigkill_books_the_rest_and_never_books_twice(tmp_path: Path) -> None:
    orders = tmp_path / "orders.jsonl"
    with orders.open("w", encoding="utf-8") as fh:
        for n in range(300):
            wire = dict(ORDERS[n % len(ORDERS)])
            wire["tmallOrderInfo"] = {"tmallOrderId": f"K{n:04d}"}
            fh.write(json.dumps(wire) + "\n")
    journal = tmp_path / "run.journal"

    async with serve(port=0, latency=Latency(seconds=0.02)) as running:
        creds = running.credentials
        env = {
            **os.environ,
            "XPORTCN_ACCESS_KEY": creds.access_key,
            "XPORTCN_ACCESS_SECRET": creds.access_secret,
            "XPORTCN_USER_ID": creds.user_id or "",
        }
        command = [
            sys.executable,
            "-m",
            "xportcn_async.cli",
            "book",
            str(orders),
            "--base-url",
            running.base_url,
            "--concurrency",
            "8",
            "--journal",
            str(journal),
            "--out",
            str(tmp_path / "first.jsonl"),
        ]
        first = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        for _ in range(3000):  # wait until some, not all, are booked
            await asyncio.sleep(0.01)
            if Counter(_journal_state(journal).values())["booked"] >= 40:
                break
        first.send_signal(signal.SIGKILL)
        await first.wait()
        after_kill = _journal_state(journal)
        booked_before = {k for k, s in after_kill.items() if s == "booked"}
        in_flight = {k for k, s in after_kill.items() if s == "started"}
        assert 40 <= len(booked_before) < 300

        second = await asyncio.create_subprocess_exec(
            *command[:-1],
            str(tmp_path / "second.jsonl"),
            "--resume",
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        code = await second.wait()
        per_tmall = orders_per_tmall_id(running.sandbox)

    results = [json.loads(line) for line in (tmp_path / "second.jsonl").read_text().splitlines()]
    by_status = Counter(r["status"] for r in results)
    assert len(results) == 300
    assert by_status["skipped"] == len(booked_before)
    assert by_status["unknown"] == len(in_flight)  # reported, not resent
    assert by_status["booked"] == 300 - len(booked_before) - len(in_flight)
    assert code == (1 if in_flight else 0)
    assert max(per_tmall.values()) == 1  # no upstream order was ever booked twice
    booked_keys = {r["key"] for r in results if r["status"] in ("booked", "skipped")}
    assert booked_keys <= {f"tmall:{t}" for t in per_tmall}  # every booked key has its order


# -- review findings: no double booking through duplicates, resends or cut journals --------


async def test_a_key_repeated_in_the_input_is_booked_once_even_across_a_resume(
    tmp_path: Path,
) -> None:
    a, b = bookings(2)
    journal = tmp_path / "j.jsonl"
    sandbox = Sandbox(latency=Latency(seconds=0.005))
    for _ in range(2):
        async with (
            _client_for(sandbox.handle) as client,
            client.logistics.book_many([a, b, a], journal=journal, concurrency=3) as run,
        ):
            [o async for o in run]
    assert max(orders_per_tmall_id(sandbox).values()) == 1
    assert sandbox.stats.bookings == 2


async def test_without_a_journal_a_key_in_flight_twice_is_rejected_the_second_time() -> None:
    a = next(bookings(1))
    sandbox = Sandbox(latency=Latency(seconds=0.01))
    async with (
        _client_for(sandbox.handle) as client,
        client.logistics.book_many([a, a], concurrency=2, ordered=True) as run,
    ):
        statuses = [o.status async for o in run]
    assert statuses == [Status.BOOKED, Status.REJECTED]
    assert sandbox.stats.bookings == 1


async def test_resending_an_unknown_booking_reuses_its_render_id(tmp_path: Path) -> None:
    from xportcn_async.errors import ConnectionDroppedError

    sandbox = Sandbox()

    async def drop_bookings(request: Request) -> Response:
        response = await sandbox.handle(request)  # the server books ...
        if "orderBookingFreight" in request.url:
            raise ConnectionDroppedError("dropped")  # ... and the reply is lost
        return response

    journal = tmp_path / "j.jsonl"
    items = list(bookings(5))
    async with (
        _client_for(drop_bookings) as client,
        client.logistics.book_many(items, journal=journal) as run,
    ):
        assert {o.status async for o in run} == {Status.UNKNOWN}
    async with (
        _client_for(sandbox.handle) as client,
        client.logistics.book_many(items, journal=journal, resend_unknown=True) as run,
    ):
        assert {o.status async for o in run} == {Status.BOOKED}
    assert sandbox.stats.bookings == 5  # the same renderIds again: no second order
    assert sandbox.stats.duplicate_booking_attempts == 5
    assert max(orders_per_tmall_id(sandbox).values()) == 1


async def test_a_journal_cut_by_sigkill_stays_readable_across_two_resumes(tmp_path: Path) -> None:
    items = list(bookings(3))
    journal = tmp_path / "j.jsonl"
    journal.write_text(json.dumps({"key": items[0].key, "status": "failed"}) + '\n{"key": "x", "st')
    sandbox = Sandbox()
    for _ in range(2):
        async with (
            _client_for(sandbox.handle) as client,
            client.logistics.book_many(items, journal=journal) as run,
        ):
            [o async for o in run]
    reopened = Journal(journal)
    try:
        assert reopened.unreadable_lines == 1
        assert all(reopened.previous(i.key).status == "booked" for i in items)  # type: ignore[union-attr]
    finally:
        reopened.close()
    assert sandbox.stats.bookings == 3


async def test_book_many_follows_the_clients_retry_ambiguous() -> None:
    from xportcn_async.errors import ConnectionDroppedError

    sandbox = Sandbox()
    dropped = 0

    async def drop_first_booking(request: Request) -> Response:
        nonlocal dropped
        response = await sandbox.handle(request)
        if "orderBookingFreight" in request.url and not dropped:
            dropped += 1
            raise ConnectionDroppedError("dropped")
        return response

    async with (
        _client_for(drop_first_booking, retry_ambiguous=True, retry=FAST_RETRY) as client,
        client.logistics.book_many(bookings(1)) as run,
    ):
        outcomes = [o async for o in run]
    assert outcomes[0].status is Status.BOOKED and outcomes[0].attempts == 3  # preview + 2
    assert sandbox.stats.bookings == 1


async def test_a_journal_that_cannot_be_written_stops_the_run_and_is_raised(
    tmp_path: Path,
) -> None:
    class FullDisk(Journal):
        writes = 0

        async def record(self, outcome: Any) -> None:
            self.writes += 1
            if self.writes == 3:
                raise OSError(28, "No space left on device")
            await super().record(outcome)

    for ordered in (False, True):  # a fresh journal and sandbox each: both passes book
        sandbox = Sandbox()

        async def interleaved(request: Request, sandbox: Sandbox = sandbox) -> Response:
            await asyncio.sleep(0)  # let the other workers run: several items in flight
            return await sandbox.handle(request)

        journal = FullDisk(tmp_path / f"j-{ordered}.jsonl")
        yielded: list[Any] = []
        try:
            async with (
                _client_for(interleaved) as client,
                client.logistics.book_many(
                    bookings(50), journal=journal, ordered=ordered, concurrency=4
                ) as run,
            ):
                with pytest.raises(OSError, match="No space"):
                    async for outcome in run:
                        yielded.append(outcome)
        finally:
            journal.close()
        assert 3 <= sandbox.stats.bookings < 50  # it stopped, rather than booking everything blind
        # Every booking sent was finished and yielded before the error, the ones in flight
        # when the journal failed included: none was cancelled halfway.
        assert len(yielded) > 3
        assert all(o.status is Status.BOOKED for o in yielded)
        assert {o.key for o in yielded} == {f"tmall:{t}" for t in orders_per_tmall_id(sandbox)}
        if ordered:
            assert [o.index for o in yielded] == list(range(len(yielded)))


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT")
async def test_ctrl_c_finishes_in_flight_bookings_and_loses_no_journal_line(
    tmp_path: Path,
) -> None:
    orders = tmp_path / "orders.jsonl"
    orders.write_text("\n".join(json.dumps(o) for o in ORDERS) + "\n", encoding="utf-8")
    journal = tmp_path / "run.journal"
    async with serve(port=0, latency=Latency(seconds=0.05)) as running:
        creds = running.credentials
        env = {
            **os.environ,
            "XPORTCN_ACCESS_KEY": creds.access_key,
            "XPORTCN_ACCESS_SECRET": creds.access_secret,
            "PYTHONWARNINGS": "always",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-X", "dev", "-m", "xportcn_async.cli", "book", str(orders),
            "--base-url", running.base_url, "--concurrency", "8", "--journal", str(journal),
            "--out", str(tmp_path / "results.jsonl"),
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        for _ in range(3000):
            await asyncio.sleep(0.01)
            if Counter(_journal_state(journal).values())["booked"] >= 10:
                break
        process.send_signal(signal.SIGINT)
        stdout, stderr = await process.communicate()
        bookings_made = running.sandbox.stats.bookings

    assert process.returncode == 130
    errors = stderr.decode()
    assert "stopping: finishing in-flight bookings" in errors
    for trouble in ("Unclosed", "was destroyed but it is pending", "never awaited", "Traceback"):
        assert trouble not in errors
    state = _journal_state(journal)
    assert "started" not in state.values()  # every booking sent has its final line
    assert Counter(state.values())["booked"] == bookings_made < len(ORDERS)
    assert "Summary" in stdout.decode()


# -- review findings (2): one run per journal, started lines only for bookings sent ----------


def _journal_lines(path: Path) -> list[dict[str, Any]]:
    lines = []
    for raw in path.read_bytes().splitlines():
        try:
            lines.append(json.loads(raw.decode("utf-8")))
        except ValueError:
            continue
    return lines


@pytest.mark.skipif(sys.platform == "win32", reason="no journal lock without fcntl")
async def test_a_journal_in_use_by_another_run_cannot_be_opened(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    first = Journal(path)
    try:
        with pytest.raises(ConfigurationError, match="is in use by another run"):
            Journal(path)
        sandbox = Sandbox()
        async with _client_for(sandbox.handle) as client:
            with pytest.raises(ConfigurationError, match="is in use by another run"):
                client.logistics.book_many(bookings(3), journal=path)
        assert sandbox.stats.bookings == 0
    finally:
        first.close()
    Journal(path).close()  # closing released the lock


def test_a_journal_cut_inside_a_utf8_character_opens_and_the_next_line_starts_afresh(
    tmp_path: Path,
) -> None:
    path = tmp_path / "j.jsonl"
    good = json.dumps({"key": "tmall:1", "status": "booked", "order_id": "9"}) + "\n"
    not_utf8 = b'{"key": "tmall:3", "status": "failed", "error": "\xff"}\n'
    last = json.dumps(
        {"key": "tmall:2", "status": "rejected", "error": "参数错误"}, ensure_ascii=False
    )
    path.write_bytes(good.encode() + not_utf8 + last.encode()[:-6])  # cut inside 误
    journal = Journal(path)
    try:
        assert journal.unreadable_lines == 2
        state = journal.previous("tmall:1")
        assert state is not None and (state.status, state.order_id) == ("booked", "9")
        assert journal.previous("tmall:2") is None and journal.previous("tmall:3") is None
        asyncio.run(journal.started("tmall:2", "FF2"))
    finally:
        journal.close()
    reopened = Journal(path)
    try:
        assert reopened.unreadable_lines == 2
        state = reopened.previous("tmall:2")
        assert state is not None and (state.status, state.render_id) == ("unknown", "FF2")
    finally:
        reopened.close()


async def test_a_booking_waiting_for_its_rate_limit_slot_has_no_started_line(
    tmp_path: Path,
) -> None:
    sandbox = Sandbox()
    sent: set[str] = set()

    async def recording(request: Request) -> Response:
        if "orderBookingFreight" in request.url:
            sent.add(json.loads(request.body)["renderId"])
        return await sandbox.handle(request)

    journal = tmp_path / "j.jsonl"
    items = list(bookings(40))
    async with (
        _client_for(recording) as client,
        client.logistics.book_many(items, journal=journal, concurrency=16, rate_limit=100) as run,
    ):
        seen = 0
        async for _ in run:
            seen += 1
            if seen == 3:
                break  # leave early: the bookings waiting for a slot are cancelled
    last: dict[str, dict[str, Any]] = {}
    for record in _journal_lines(journal):
        last[record["key"]] = record
    in_flight = {k: r["render_id"] for k, r in last.items() if r["status"] == "started"}
    assert set(in_flight.values()) <= sent  # a started line only for a booking sent
    assert len(sent) < len(items)

    async with (
        _client_for(sandbox.handle) as client,
        client.logistics.book_many(items, journal=journal) as run,
    ):
        outcomes = [o async for o in run]
    # only the bookings that were really sent are unknown; the rest are booked now
    assert {o.key for o in outcomes if o.status is Status.UNKNOWN} == set(in_flight)
    assert all(o.status is not Status.FAILED for o in outcomes)
    assert max(orders_per_tmall_id(sandbox).values()) == 1


async def test_a_started_line_that_cannot_be_written_stops_the_run_before_the_booking_is_sent(
    tmp_path: Path,
) -> None:
    class FullDisk(Journal):
        async def started(self, key: str, render_id: str) -> None:
            raise OSError(28, "No space left on device")

    path = tmp_path / "j.jsonl"
    items = list(bookings(3))
    sandbox = Sandbox()
    journal = FullDisk(path)
    yielded: list[Any] = []
    try:
        async with (
            _client_for(sandbox.handle) as client,
            client.logistics.book_many(items, journal=journal, concurrency=1) as run,
        ):
            with pytest.raises(OSError, match="No space"):
                async for outcome in run:
                    yielded.append(outcome)
    finally:
        journal.close()
    assert [o.status for o in yielded] == [Status.FAILED]  # not sent: safe to run again
    assert isinstance(yielded[0].error, OSError)
    assert sandbox.stats.bookings == 0
    # the booking attempt that was not sent is not counted (a preview, if any, was)
    assert yielded[0].attempts == (1 if items[0].render_id is None else 0)

    async with (
        _client_for(sandbox.handle) as client,
        client.logistics.book_many(items, journal=path) as run,
    ):
        assert {o.status async for o in run} == {Status.BOOKED}
    assert sandbox.stats.bookings == 3


async def test_a_failed_booking_is_previewed_afresh_on_resume(tmp_path: Path) -> None:
    first = Sandbox()

    async def bookings_unavailable(request: Request) -> Response:
        if "orderBookingFreight" in request.url:
            body = {"errorCode": 503, "errorMsg": "busy", "success": False}
            return Response.json(body, status=503)
        return await first.handle(request)

    journal = tmp_path / "j.jsonl"
    items = list(bookings(3))
    retry = RetryPolicy(max_retries=1, initial_delay=0.001, max_delay=0.001)
    async with (
        _client_for(bookings_unavailable, retry=retry) as client,
        client.logistics.book_many(items, journal=journal) as run,
    ):
        assert {o.status async for o in run} == {Status.FAILED}
    second = Sandbox()  # the quotes of the first run are unknown here (or expired)
    async with (
        _client_for(second.handle) as client,
        client.logistics.book_many(items, journal=journal) as run,
    ):
        assert {o.status async for o in run} == {Status.BOOKED}
    assert second.stats.bookings == 3


async def test_a_journal_object_serves_several_runs_and_always_matches_its_file(
    tmp_path: Path,
) -> None:
    sandbox = Sandbox()
    items = list(bookings(4))
    fail_once = {items[1].key}

    async def flaky(request: Request) -> Response:
        if "orderBookingFreight" in request.url and fail_once:
            fail_once.clear()
            body = {"errorCode": 503, "errorMsg": "busy", "success": False}
            return Response.json(body, status=503)
        return await sandbox.handle(request)

    path = tmp_path / "j.jsonl"
    journal = Journal(path)
    passes = []
    try:
        for _ in range(2):
            async with (
                _client_for(flaky, retry=RetryPolicy(max_retries=0)) as client,
                client.logistics.book_many(
                    items, journal=journal, concurrency=1, ordered=True
                ) as run,
            ):
                outcomes = [o async for o in run]
            passes.append([o.status for o in outcomes])
            # a skipped booking's outcome still carries its booking, like every other one
            assert [o.item for o in outcomes] == items
        in_memory = {i.key: attrs.asdict(journal.previous(i.key)) for i in items}  # type: ignore[arg-type]
    finally:
        journal.close()
    assert passes == [
        [Status.FAILED, Status.BOOKED, Status.BOOKED, Status.BOOKED],
        [Status.BOOKED, Status.SKIPPED, Status.SKIPPED, Status.SKIPPED],
    ]
    assert sandbox.stats.bookings == 4
    reopened = Journal(path)
    try:
        assert {i.key: attrs.asdict(reopened.previous(i.key)) for i in items} == in_memory  # type: ignore[arg-type]
    finally:
        reopened.close()


async def test_a_booking_a_run_left_in_flight_on_a_journal_object_is_unknown_to_the_next(
    tmp_path: Path,
) -> None:
    one = next(bookings(1))
    journal = Journal(tmp_path / "j.jsonl")
    sandbox = Sandbox()
    try:
        await journal.started(one.key, "FF-SENT")  # sent; the run ended before its outcome
        async with (
            _client_for(sandbox.handle) as client,
            client.logistics.book_many([one], journal=journal) as run,
        ):
            outcomes = [o async for o in run]
    finally:
        journal.close()
    assert [o.status for o in outcomes] == [Status.UNKNOWN]
    assert sandbox.stats.bookings == 0


async def test_with_a_journal_an_order_given_without_and_with_a_render_id_is_booked_once(
    tmp_path: Path,
) -> None:
    a = next(bookings(1))
    for n, order in enumerate((lambda r: [a, r], lambda r: [r, a])):
        sandbox = Sandbox()
        async with _client_for(sandbox.handle) as client:
            preview = await client.logistics.preview_freight(client.logistics.preview_for(a))
            assert preview.render_id
            items = order(a.with_render_id(preview.render_id))
            async with client.logistics.book_many(
                items, journal=tmp_path / f"j{n}.jsonl", concurrency=1, ordered=True
            ) as run:
                outcomes = [o async for o in run]
        assert [o.status for o in outcomes] == [Status.BOOKED, Status.REJECTED]
        assert isinstance(outcomes[1].error, DuplicateKeyError)
        assert sandbox.stats.bookings == 1


# -- a preview is not a write ------------------------------------------------------------------


@pytest.mark.parametrize(
    "preview_reply",
    [
        Response(200, {}, b"[" * 100_000),
        Response(200, {}, b'{"errorCode": [200], "success": true, "data": {}}'),
        Response(200, {}, b"<html>proxy</html>"),
    ],
    ids=["deep", "code-list", "html"],
)
async def test_an_unreadable_preview_fails_the_order_and_a_resume_books_it(
    tmp_path: Path, preview_reply: Response
) -> None:
    # Once `unknown` (RecursionError after a request was sent), with no renderId journalled:
    # even resend_unknown could not settle it, though nothing had been booked.
    sandbox = Sandbox()

    async def unreadable_previews(request: Request) -> Response:
        if "orderRenderFreight" in request.url:
            return preview_reply
        return await sandbox.handle(request)

    journal = tmp_path / "j.jsonl"
    items = list(bookings(3))
    async with (
        _client_for(unreadable_previews, retry=FAST_RETRY) as client,
        client.logistics.book_many(items, journal=journal, resend_unknown=True) as run,
    ):
        outcomes = [o async for o in run]
    assert {o.status for o in outcomes} == {Status.FAILED}
    assert all(isinstance(o.error, MalformedResponseError) for o in outcomes)
    assert sandbox.stats.bookings == 0
    lines = _journal_lines(journal)
    assert {line["status"] for line in lines} == {"failed"}  # no `started`: nothing was sent
    async with (
        _client_for(sandbox.handle) as client,
        client.logistics.book_many(items, journal=journal, resend_unknown=True) as run,
    ):
        assert {o.status async for o in run} == {Status.BOOKED}
    assert sandbox.stats.bookings == 3


async def test_a_preview_that_breaks_after_it_was_sent_fails_the_order_not_unknown() -> None:
    # An unexpected (non-SDK) error once counted as `unknown` as soon as any request had gone
    # out, previews included. Only the booking request can leave an order in doubt.
    sandbox = Sandbox()
    previews = 0

    async def busy_then_handle(request: Request) -> Response:
        nonlocal previews
        if "orderRenderFreight" in request.url:
            previews += 1
            if previews == 1:
                return Response(503, {}, b"busy")
        return await sandbox.handle(request)

    class BrokenOnRetry(DefaultSigner):
        calls = 0

        def sign(self, credentials: Credentials, *, query_signed: bool) -> Any:
            BrokenOnRetry.calls += 1
            if BrokenOnRetry.calls == 2:
                raise RuntimeError("a signer bug on the preview's retry")
            return super().sign(credentials, query_signed=query_signed)

    async with (
        _client_for(busy_then_handle, retry=FAST_RETRY, signer=BrokenOnRetry()) as client,
        client.logistics.book_many(bookings(1)) as run,
    ):
        (outcome,) = [o async for o in run]
    assert outcome.status is Status.FAILED and outcome.attempts == 1
    assert sandbox.stats.bookings == 0


async def test_book_many_iterated_without_async_with_is_refused_and_sends_nothing(
    tmp_path: Path,
) -> None:
    sandbox = Sandbox()
    journal = tmp_path / "j.jsonl"
    sent: list[str] = []

    async def counting(request: Request) -> Response:
        sent.append(request.url)
        return await sandbox.handle(request)

    async with _client_for(counting) as client:
        with pytest.raises(TypeError) as info:
            async for _ in client.logistics.book_many(bookings(200), journal=journal):
                break
        await asyncio.sleep(0)  # a worker, had one started, would run now
        assert "async with client.logistics.book_many(...) as run:" in str(info.value)
        assert sent == []
        # The journal's lock was released: the right form works at once.
        async with client.logistics.book_many(bookings(2), journal=journal) as run:
            assert {o.status async for o in run} == {Status.BOOKED}
    assert sandbox.stats.bookings == 2


async def test_breaking_out_of_book_many_inside_async_with_stops_every_worker() -> None:
    sandbox = Sandbox()
    async with _client_for(sandbox.handle) as client:
        async with client.logistics.book_many(bookings(500), concurrency=8) as run:
            async for _ in run:
                break
        booked = sandbox.stats.bookings
        await asyncio.sleep(0)
        for _ in range(20):
            await asyncio.sleep(0)
        assert sandbox.stats.bookings == booked  # nothing left running after the block
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert others == []
