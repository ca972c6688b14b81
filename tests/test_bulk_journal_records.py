"""What a bulk run's journal says, line by line, and the resume rules that read it back: the
journal is what a later run (and a person) relies on to never book an order twice and to
know what happened to each one. Through ``client.logistics.book_many`` only."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from xportcn_async import (
    BookingRequest,
    InMemoryTransport,
    Request,
    Response,
    RetryPolicy,
    XportcnClient,
    from_wire,
)
from xportcn_async.batch import Status
from xportcn_async.bulk import BookManyOptions, Claim, ClaimedByAnotherWorker, ClaimKind, Journal
from xportcn_async.errors import MalformedResponseError, OutcomeUnknownError
from xportcn_async.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = json.loads(
    (ROOT / "examples" / "orders.jsonl").read_text(encoding="utf-8").splitlines()[0]
)
NO_WAIT = RetryPolicy(max_retries=2, initial_delay=0.0, max_delay=0.0)

Handler = Callable[[Request], Awaitable[Response]]


def bookings(count: int) -> Iterator[BookingRequest]:
    """``count`` distinct bookings (their own upstream order ids), without renderIds."""
    for n in range(count):
        yield from_wire(
            {**EXAMPLE, "tmallOrderInfo": {"tmallOrderId": f"T{n:06d}"}}, BookingRequest
        )


def client_for(handler: Handler) -> XportcnClient:
    return XportcnClient(
        Sandbox().credentials,
        base_url="http://127.0.0.1/api",
        transport=InMemoryTransport(handler),
        retry=NO_WAIT,
    )


def lines(journal: Path) -> list[dict[str, Any]]:
    text = journal.read_text(encoding="utf-8")
    assert text.endswith("\n") and "\n\n" not in text and not text.startswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def is_booking(request: Request, tmall_id: str) -> bool:
    return "orderBookingFreight" in request.url and tmall_id.encode() in (request.body or b"")


async def run(
    handler: Handler, items: list[BookingRequest], journal: Path | Journal, **options: Any
) -> list[Any]:
    async with (
        client_for(handler) as client,
        client.logistics.book_many(items, journal=journal, ordered=True, **options) as batch_run,
    ):
        return [o async for o in batch_run]


async def test_each_line_says_what_happened_to_a_booking(tmp_path: Path) -> None:
    sandbox = Sandbox()
    started = time.time()

    async def handler(request: Request) -> Response:
        if is_booking(request, "T000001"):  # the server says no
            body = {"success": False, "errorCode": 400, "errorMsg": "sku sold out"}
            return Response.json(body, headers={"x-request-id": "rid-400"})
        response = await sandbox.handle(request)
        if is_booking(request, "T000002"):  # booked, and then the server failed
            body = {"success": False, "errorCode": 500, "errorMsg": "oops"}
            return Response.json(body, status=500, headers={"x-request-id": "rid-500"})
        return response

    journal = tmp_path / "run.journal.jsonl"
    items = list(bookings(3))
    booked, rejected, unknown = await run(handler, items, journal)
    assert [booked.status, rejected.status, unknown.status] == [
        Status.BOOKED,
        Status.REJECTED,
        Status.UNKNOWN,
    ]
    records = lines(journal)
    assert [(r["key"], r["status"]) for r in records if r["status"] == "started"] == [
        (item.key, "started") for item in items
    ]  # ordered=True and one at a time per key: each started line before its outcome
    for record in records:
        # ts is in milliseconds, rounded: compare it with the bounds rounded the same way
        # (rounding keeps order), not with the raw clock, which it may pass by < 0.5 ms.
        assert round(started, 3) <= record["ts"] <= round(time.time(), 3)
        assert round(record["ts"], 3) == record["ts"]
    starts = {r["key"]: r for r in records if r["status"] == "started"}
    outcomes = {r["key"]: r for r in records if r["status"] != "started"}
    for item in items:
        assert set(starts[item.key]) == {"key", "status", "render_id", "ts"}
        assert starts[item.key]["render_id"]  # the renderId the booking was sent with
    assert booked.result is not None
    assert outcomes[items[0].key] == {
        "key": items[0].key,
        "status": "booked",
        "order_id": booked.result.order_id,
        "tracking_numbers": booked.result.tracking_numbers,
        "attempts": 2,  # the preview, then the booking
        "ts": outcomes[items[0].key]["ts"],
    }
    assert booked.result.tracking_numbers  # the sandbox gives every booking one
    assert outcomes[items[1].key] == {
        "key": items[1].key,
        "status": "rejected",
        "error_type": "BadRequestError",
        "error_code": 400,
        "error": str(rejected.error),
        "request_id": "rid-400",
        "attempts": 2,
        "ts": outcomes[items[1].key]["ts"],
    }
    assert "sku sold out" in outcomes[items[1].key]["error"]
    assert outcomes[items[2].key] == {
        "key": items[2].key,
        "status": "unknown",
        "error_type": "OutcomeUnknownError",
        "error_code": 500,  # the code of what made it unknown
        "error": str(unknown.error),
        "request_id": "rid-500",
        "attempts": 2,
        "ts": outcomes[items[2].key]["ts"],
    }


async def test_a_later_failure_never_undoes_an_unknown_booking(tmp_path: Path) -> None:
    # Run 1: the server books, the reply is lost: unknown. Run 2 resends it with the same
    # renderId and that attempt fails. The order may still exist from run 1, so run 3 must
    # report it unknown again; were it "failed", run 3 would preview it afresh and book a
    # second order for the same upstream order.
    sandbox = Sandbox()

    async def lose_the_reply(request: Request) -> Response:
        response = await sandbox.handle(request)
        if "orderBookingFreight" in request.url:
            return Response(502, {}, b"<html>bad gateway</html>")
        return response

    async def unavailable(request: Request) -> Response:
        if "orderBookingFreight" in request.url:
            return Response(400, {}, b'{"success": false, "errorCode": 400, "errorMsg": "no"}')
        return await sandbox.handle(request)

    journal = tmp_path / "run.journal.jsonl"
    items = list(bookings(2))
    assert {o.status for o in await run(lose_the_reply, items, journal)} == {Status.UNKNOWN}
    resent = await run(unavailable, items, journal, resend_unknown=True)
    assert {o.status for o in resent} == {Status.REJECTED}
    again = await run(sandbox.handle, items, journal)
    assert {o.status for o in again} == {Status.UNKNOWN}
    for outcome in again:
        assert outcome.attempts == 0
        assert isinstance(outcome.error, OutcomeUnknownError)
        assert (outcome.error.operation, outcome.error.attempts) == ("logistics.book", 0)
        assert (
            "an earlier run sent this booking and its outcome is unknown; check the order "
            in str(outcome.error)
        )
        assert "(or opt in with resend_unknown=True)" in str(outcome.error)
    assert sandbox.stats.bookings == 2  # run 1's orders, and no second one
    assert len({o.tmall_order_id for o in sandbox.state.orders.values()}) == 2


async def test_a_resumed_run_adds_nothing_for_what_is_settled_or_repeated(tmp_path: Path) -> None:
    sandbox = Sandbox()
    journal = tmp_path / "run.journal.jsonl"
    items = list(bookings(2))
    await run(sandbox.handle, items, journal)
    first = lines(journal)
    again = await run(sandbox.handle, [*items, items[0]], journal)
    assert [o.status for o in again] == [Status.SKIPPED, Status.SKIPPED, Status.REJECTED]
    assert str(again[2].error) == (
        f"invalid booking {items[0].key}: "
        "key: the same key or upstream order appears earlier in this input"
    )
    assert lines(journal) == first  # skipped and repeated bookings leave no line
    assert sandbox.stats.bookings == 2


async def test_a_journal_with_blank_lines_is_read_to_the_end(tmp_path: Path) -> None:
    items = list(bookings(2))
    journal = tmp_path / "run.journal.jsonl"
    journal.write_text(
        "\n".join(
            [
                json.dumps({"key": items[0].key, "status": "booked", "order_id": "1"}),
                "",
                "   ",
                json.dumps({"key": items[1].key, "status": "booked", "order_id": "2"}),
            ]
        )
        + "\n"
    )
    sandbox = Sandbox()
    outcomes = await run(sandbox.handle, items, journal)
    assert [o.status for o in outcomes] == [Status.SKIPPED, Status.SKIPPED]
    assert [o.result.order_id for o in outcomes] == ["1", "2"]
    assert sandbox.stats.bookings == 0


async def test_a_rejected_booking_is_previewed_and_booked_afresh_on_resume(tmp_path: Path) -> None:
    sandbox = Sandbox()
    previews = 0

    async def reject_bookings(request: Request) -> Response:
        if "orderBookingFreight" in request.url:
            return Response.json({"success": False, "errorCode": 400, "errorMsg": "no"})
        return await sandbox.handle(request)

    async def count_previews(request: Request) -> Response:
        nonlocal previews
        previews += "orderRenderFreight" in request.url
        return await sandbox.handle(request)

    journal = tmp_path / "run.journal.jsonl"
    items = list(bookings(1))
    assert [o.status for o in await run(reject_bookings, items, journal)] == [Status.REJECTED]
    assert [o.status for o in await run(count_previews, items, journal)] == [Status.BOOKED]
    assert previews == 1  # its old quote may be stale
    assert sandbox.stats.bookings == 1


async def test_an_invalid_booking_is_rejected_naming_it_and_its_field(tmp_path: Path) -> None:
    sandbox = Sandbox()
    item = next(bookings(1))
    bad = from_wire(
        {**EXAMPLE, "receiverAddress": {**EXAMPLE["receiverAddress"], "country": "USA"}},
        BookingRequest,
    )
    (outcome,) = await run(sandbox.handle, [bad], tmp_path / "j.jsonl")
    assert outcome.status is Status.REJECTED
    assert str(outcome.error).startswith(f"invalid booking {bad.key}: receiver_address.country")
    (outcome,) = await run(sandbox.handle, [item], tmp_path / "k.jsonl", preview_missing=False)
    assert outcome.status is Status.REJECTED
    assert str(outcome.error) == f"invalid booking {item.key}: render_id: required (no preview)"
    assert sandbox.stats.bookings == 0


async def test_a_preview_without_a_render_id_fails_naming_the_preview_and_its_request_id(
    tmp_path: Path,
) -> None:
    sandbox = Sandbox()

    async def no_render_id(request: Request) -> Response:
        if "orderRenderFreight" in request.url:
            body = {"success": True, "errorCode": 200, "data": {"renderId": ""}}
            return Response.json(body, headers={"x-request-id": "rid-preview"})
        return await sandbox.handle(request)

    (outcome,) = await run(no_render_id, list(bookings(1)), tmp_path / "j.jsonl")
    assert outcome.status is Status.FAILED
    error = outcome.error
    assert isinstance(error, MalformedResponseError)
    assert (error.operation, error.request_id, error.http_status) == (
        "logistics.preview_freight",
        "rid-preview",
        200,
    )
    assert str(error).startswith(
        "logistics.preview_freight: the freight preview returned no renderId ("
    )
    assert sandbox.stats.bookings == 0


@pytest.mark.parametrize("journalled", [False, True])
async def test_retry_ambiguous_resends_a_booking_whose_reply_was_lost(
    tmp_path: Path, journalled: bool
) -> None:
    sandbox = Sandbox()
    lost = 0

    async def lose_the_first_reply(request: Request) -> Response:
        nonlocal lost
        response = await sandbox.handle(request)
        if "orderBookingFreight" in request.url and not lost:
            lost += 1
            return Response(502, {}, b"bad gateway")
        return response

    items = list(bookings(1))
    journal = tmp_path / "j.jsonl" if journalled else None
    async with (
        client_for(lose_the_first_reply) as client,
        client.logistics.book_many(items, retry_ambiguous=True, journal=journal) as batch_run,
    ):
        outcomes = [o async for o in batch_run]
    assert [o.status for o in outcomes] == [Status.BOOKED]
    assert sandbox.stats.bookings == 1  # the same renderId again: the server deduplicated it
    assert sandbox.stats.duplicate_booking_attempts == 1


async def test_retry_ambiguous_also_resends_what_an_earlier_run_left_unknown(
    tmp_path: Path,
) -> None:
    # resend_unknown follows retry_ambiguous unless given.
    sandbox = Sandbox()

    async def lose_the_reply(request: Request) -> Response:
        response = await sandbox.handle(request)
        if "orderBookingFreight" in request.url:
            return Response(502, {}, b"bad gateway")
        return response

    journal = tmp_path / "j.jsonl"
    items = list(bookings(1))
    assert [o.status for o in await run(lose_the_reply, items, journal)] == [Status.UNKNOWN]
    again = await run(sandbox.handle, items, journal, retry_ambiguous=True)
    assert [o.status for o in again] == [Status.BOOKED]
    assert sandbox.stats.bookings == 1


class CountingLimiter:
    def __init__(self) -> None:
        self.acquired = 0

    async def acquire(self) -> None:
        self.acquired += 1


@pytest.mark.parametrize("journalled", [False, True])
async def test_the_rate_limit_paces_every_request_of_a_bulk_run(
    tmp_path: Path, journalled: bool
) -> None:
    sandbox = Sandbox()
    requests = 0

    async def count(request: Request) -> Response:
        nonlocal requests
        requests += 1
        return await sandbox.handle(request)

    limiter = CountingLimiter()
    journal = tmp_path / "j.jsonl" if journalled else None
    async with (
        client_for(count) as client,
        client.logistics.book_many(bookings(3), rate_limit=limiter, journal=journal) as batch_run,
    ):
        assert {o.status async for o in batch_run} == {Status.BOOKED}
    assert limiter.acquired == requests == 6  # a preview and a booking each
    with pytest.raises(ValueError, match="burst applies to a numeric rate_limit only"):
        client.logistics.book_many(bookings(1), rate_limit=limiter, burst=2)


def test_a_booking_claimed_by_another_worker_says_by_whom() -> None:
    """The error of a booking skipped on a shared journal names its key and, when the journal
    knows it, the worker holding it: what a person checks before looking for its outcome."""
    held = ClaimedByAnotherWorker("tmall:T000001", "host-2:4711")
    assert (held.key, held.worker) == ("tmall:T000001", "host-2:4711")
    assert str(held) == "claimed by another worker (host-2:4711)"
    unnamed = ClaimedByAnotherWorker("tmall:T000002", None)
    assert (unnamed.key, unnamed.worker) == ("tmall:T000002", None)
    assert str(unnamed) == "claimed by another worker"


async def test_a_journal_keeps_text_as_utf_8_a_person_can_read(tmp_path: Path) -> None:
    """Messages in other scripts (the server's are often Chinese) are written as they are,
    in UTF-8, not as ``\\uXXXX`` escapes: the journal is read with grep and a pager too."""

    async def handler(request: Request) -> Response:
        if is_booking(request, "T000000"):
            body = {"success": False, "errorCode": 400, "errorMsg": "收件人地址无效"}
            return Response.json(body)
        return await Sandbox().handle(request)

    journal = tmp_path / "run.journal.jsonl"
    [rejected] = await run(handler, list(bookings(1)), journal)
    assert rejected.status is Status.REJECTED
    raw = journal.read_bytes()
    assert "收件人地址无效".encode() in raw
    assert b"\\u" not in raw
    assert "收件人地址无效" in lines(journal)[-1]["error"]


async def test_a_journal_with_fsync_forces_each_line_to_disk_before_the_booking_is_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "run.journal.jsonl"
    synced: list[int] = []  # the inode of each file forced to disk
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        real_fsync(fd)
        synced.append(os.fstat(fd).st_ino)

    monkeypatch.setattr(os, "fsync", fsync)
    synced_when_sent: list[int] = []
    sandbox = Sandbox()

    async def handler(request: Request) -> Response:
        if is_booking(request, "T00000"):
            synced_when_sent.append(len(synced))
        return await sandbox.handle(request)

    journal = Journal(path, fsync=True)
    try:
        outcomes = await run(handler, list(bookings(2)), journal)
    finally:
        journal.close()
    assert [o.status for o in outcomes] == [Status.BOOKED, Status.BOOKED]
    assert len(lines(path)) == 4  # started and booked, twice
    assert synced == [path.stat().st_ino] * 4  # every line, and only the journal
    # Each booking was sent only after its started line was on disk (ordered, one at a time).
    assert synced_when_sent == [1, 3]
    # Without it (the default), nothing is forced: SIGKILL-safe, at no fsync cost.
    synced.clear()
    await run(handler, list(bookings(3)), tmp_path / "default.journal.jsonl")
    assert synced == []


async def test_a_resumed_run_appends_its_lines_after_the_last_one(tmp_path: Path) -> None:
    journal = tmp_path / "run.journal.jsonl"
    items = list(bookings(2))
    sandbox = Sandbox()
    await run(sandbox.handle, items[:1], journal)
    first = lines(journal)
    await run(sandbox.handle, items, journal)
    records = lines(journal)  # no blank line between the runs' lines
    assert records[: len(first)] == first
    assert [(r["key"], r["status"]) for r in records[len(first) :]] == [
        (items[1].key, "started"),
        (items[1].key, "booked"),
    ]


async def test_the_started_line_is_in_the_file_before_the_booking_is_sent(tmp_path: Path) -> None:
    """Nothing waits in a buffer: a run killed while its booking is on the wire leaves the
    line that makes the next run treat that booking as in doubt."""
    journal = tmp_path / "run.journal.jsonl"
    items = list(bookings(2))
    sandbox = Sandbox()
    seen_when_sent: list[list[tuple[str, str]]] = []

    async def handler(request: Request) -> Response:
        if is_booking(request, "T00000"):
            seen_when_sent.append([(r["key"], r["status"]) for r in lines(journal)])
        return await sandbox.handle(request)

    await run(handler, items, journal)
    first, second = (item.key for item in items)
    assert seen_when_sent == [
        [(first, "started")],
        [(first, "started"), (first, "booked"), (second, "started")],
    ]


async def test_a_booking_sent_twice_stays_in_doubt_when_its_second_send_failed(
    tmp_path: Path,
) -> None:
    """Two ``started`` lines without an outcome between them: the first send's outcome is
    unknown, and a later failure of the second does not make the order safe to book anew."""
    [item] = bookings(1)
    journal = tmp_path / "run.journal.jsonl"
    started = {"key": item.key, "status": "started", "render_id": "R1"}
    failed = {"key": item.key, "status": "failed", "error": "connection reset"}
    journal.write_text("".join(json.dumps(r) + "\n" for r in [started, started, failed]))
    sandbox = Sandbox()
    [outcome] = await run(sandbox.handle, [item], journal)
    assert outcome.status is Status.UNKNOWN
    assert "check the order before resending" in str(outcome.error)
    assert sandbox.stats.bookings == 0


async def test_a_journal_says_what_it_last_recorded_for_a_key(tmp_path: Path) -> None:
    async def handler(request: Request) -> Response:
        if is_booking(request, "T000001"):
            return Response.json({"success": False, "errorCode": 400, "errorMsg": "no"})
        return await sandbox.handle(request)

    sandbox = Sandbox()
    items = list(bookings(2))
    journal = Journal(tmp_path / "run.journal.jsonl")
    try:
        await run(handler, items, journal)
        booked, rejected = (journal.previous(item.key) for item in items)
    finally:
        journal.close()
    assert booked is not None and rejected is not None
    assert (booked.status, rejected.status) == ("booked", "rejected")
    assert journal.previous("tmall:never-seen") is None


async def test_an_unknown_booking_with_its_own_render_id_is_resent_with_it(
    tmp_path: Path,
) -> None:
    """An earlier run left it ``unknown`` without saying which ``renderId`` it sent: the
    booking's own ``renderId`` makes resending it safe (the server dedupes by it)."""
    item = next(bookings(1)).with_render_id("FF7")
    journal = tmp_path / "run.journal.jsonl"
    journal.write_text(json.dumps({"key": item.key, "status": "unknown"}) + "\n")
    sent: list[bytes] = []
    sandbox = Sandbox()

    async def handler(request: Request) -> Response:
        if "orderBookingFreight" in request.url:
            sent.append(request.body or b"")
        return await sandbox.handle(request)

    [outcome] = await run(handler, [item], journal, resend_unknown=True)
    assert len(sent) == 1 and b'"FF7"' in sent[0]
    assert outcome.status is not Status.UNKNOWN


class _SharedJournal(Journal):
    """A file journal on which another worker holds one upstream order, as a shared
    (PostgreSQL) journal answers when two hosts run the same input."""

    async def claim(self, item: BookingRequest, *, resend_unknown: bool) -> Claim:
        if item.tmall_order_id == "T000001":
            return Claim(kind=ClaimKind.TAKEN, holder="host-2:4711")
        return await super().claim(item, resend_unknown=resend_unknown)


async def test_a_booking_another_worker_holds_is_skipped_naming_the_worker(
    tmp_path: Path,
) -> None:
    sandbox = Sandbox()
    items = list(bookings(2))
    journal = _SharedJournal(tmp_path / "run.journal.jsonl")
    try:
        booked, held = await run(sandbox.handle, items, journal)
    finally:
        journal.close()
    assert (booked.status, held.status) == (Status.BOOKED, Status.SKIPPED)
    assert isinstance(held.error, ClaimedByAnotherWorker)
    assert (held.error.key, held.error.worker) == (items[1].key, "host-2:4711")
    assert held.result is None
    assert sandbox.stats.bookings == 1


async def test_an_unknown_booking_without_its_render_id_says_why_it_is_not_resent(
    tmp_path: Path,
) -> None:
    [item] = bookings(1)
    journal = tmp_path / "run.journal.jsonl"
    journal.write_text(json.dumps({"key": item.key, "status": "unknown"}) + "\n")
    sandbox = Sandbox()
    [outcome] = await run(sandbox.handle, [item], journal, resend_unknown=True)
    assert outcome.status is Status.UNKNOWN
    assert str(outcome.error).endswith(
        "an earlier run sent this booking and its outcome is unknown; "
        "its renderId is not in the journal, so it cannot be resent safely"
    )
    assert sandbox.stats.bookings == 0


async def test_outcomes_come_as_bookings_finish_unless_ordered() -> None:
    sandbox = Sandbox()
    items = list(bookings(2))
    second_booked = asyncio.Event()

    async def handler(request: Request) -> Response:
        if is_booking(request, "T000000"):
            await second_booked.wait()  # the first booking finishes last
        response = await sandbox.handle(request)
        if is_booking(request, "T000001"):
            second_booked.set()
        return response

    unordered, ordered = BookManyOptions(), BookManyOptions(ordered=True)
    for options, order in [(unordered, [1, 0]), (ordered, [0, 1])]:
        second_booked.clear()
        async with (
            client_for(handler) as client,
            client.logistics.book_many(items, **options) as batch_run,
        ):
            keys = [o.key async for o in batch_run]
        assert keys == [items[n].key for n in order]


async def test_a_journal_passed_in_stays_open_after_a_run_that_read_nothing(
    tmp_path: Path,
) -> None:
    """The caller's journal is the caller's to close, even when the run ends before it
    began; the run only closes a journal it opened from a path."""
    sandbox = Sandbox()
    items = list(bookings(1))
    journal = Journal(tmp_path / "run.journal.jsonl")
    try:
        async with client_for(sandbox.handle) as client:
            async with client.logistics.book_many(items, journal=journal):
                pass  # ended before reading anything
            async with client.logistics.book_many(items, journal=journal) as batch_run:
                [outcome] = [o async for o in batch_run]
    finally:
        journal.close()
    assert outcome.status is Status.BOOKED


async def test_a_bulk_run_iterated_outside_async_with_says_how_and_frees_its_journal(
    tmp_path: Path,
) -> None:
    sandbox = Sandbox()
    items = list(bookings(1))
    journal = tmp_path / "run.journal.jsonl"
    async with client_for(sandbox.handle) as client:
        run = client.logistics.book_many(items, journal=journal)
        with pytest.raises(TypeError) as error:
            async for _ in run:
                pass
        assert str(error.value) == (
            "iterate this run inside `async with`, so that leaving the loop early (break, an "
            "exception) stops its workers instead of leaving them running:\n"
            "    async with client.logistics.book_many(...) as run:\n"
            "        async for outcome in run:\n"
            "            ..."
        )
        async with client.logistics.book_many(items, journal=journal) as again:
            [outcome] = [o async for o in again]
    assert outcome.status is Status.BOOKED
    assert sandbox.stats.bookings == 1
