"""The generic batch engine: one outcome per input, lazy input, order, cancellation."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator, Iterator

import pytest

from xportcn_async import (
    Address,
    AttemptHooks,
    EstimateFreightRequest,
    InMemoryTransport,
    Response,
    RetryPolicy,
    XportcnClient,
    from_wire,
)
from xportcn_async.batch import LatencyHistogram, RateLimiter, Status, batch, status_for_error
from xportcn_async.errors import (
    BadRequestError,
    ConnectionDroppedError,
    OutcomeUnknownError,
    ServerError,
    ValidationError,
)
from xportcn_async.sandbox import Sandbox

EXAMPLE_ESTIMATE = {
    "itemId": "2048232789087639",
    "skuId": "4970432383383",
    "quantity": 1,
    "receiverAddress": {"country": "US", "city": "VALLEY VLG", "zip": "91607"},
}


async def test_every_input_gets_exactly_one_outcome_and_failures_do_not_stop_the_batch() -> None:
    async def work(n: int) -> int:
        await asyncio.sleep(random.random() / 1000)
        if n % 5 == 0:
            raise BadRequestError("no", http_status=200, code=400)
        if n % 7 == 0:
            raise ServerError("down", http_status=503, code=503)
        if n % 11 == 0:
            raise OutcomeUnknownError("op", ConnectionDroppedError("x"), attempts=1)
        return n * 2

    async with batch(work, range(200), concurrency=16, key=str) as run:
        outcomes = [o async for o in run]
    assert sorted(o.index for o in outcomes) == list(range(200))
    by_index = {o.index: o for o in outcomes}
    assert by_index[5].status is Status.REJECTED
    assert by_index[7].status is Status.FAILED
    assert by_index[11].status is Status.UNKNOWN
    assert by_index[2].status is Status.OK and by_index[2].result == 4
    assert by_index[3].key == "3"
    assert run.report.total == 200
    assert run.report.count(Status.REJECTED) == len([n for n in range(200) if n % 5 == 0])


async def test_input_is_consumed_lazily_within_concurrency_plus_window() -> None:
    pulled = 0
    consumed = 0
    max_ahead = 0

    def source() -> Iterator[int]:
        nonlocal pulled, max_ahead
        for n in range(100_000):
            pulled += 1
            max_ahead = max(max_ahead, pulled - consumed)
            yield n

    async def work(n: int) -> int:
        if n % 100 == 0:
            await asyncio.sleep(0)
        return n

    async with batch(work, source(), concurrency=8, window=8) as run:
        async for _ in run:
            consumed += 1
    assert consumed == 100_000
    assert max_ahead <= 8 + 8 + 1


async def test_async_iterable_input_and_ordered_mode_yields_in_input_order() -> None:
    async def source() -> AsyncIterator[int]:
        for n in range(300):
            yield n

    async def work(n: int) -> int:
        await asyncio.sleep(random.random() / 500)
        return n

    async with batch(work, source(), concurrency=20, ordered=True, window=10) as run:
        indexes = [o.index async for o in run]
    assert indexes == list(range(300))


async def test_ordered_mode_holds_back_at_most_the_window_behind_a_slow_item() -> None:
    release = asyncio.Event()
    started: list[int] = []

    async def work(n: int) -> int:
        started.append(n)
        if n == 0:
            await release.wait()
        return n

    async with batch(work, itertools.count(), concurrency=4, ordered=True, window=6) as run:
        first = asyncio.ensure_future(run.__anext__())
        for _ in range(50):
            await asyncio.sleep(0)
        # item 0 blocks; the others may finish but only concurrency + window were taken
        assert len(started) <= 4 + 6
        release.set()
        assert (await first).index == 0


async def test_cancelling_the_consumer_leaves_no_tasks_behind() -> None:
    in_flight = 0

    async def work(n: int) -> int:
        nonlocal in_flight
        in_flight += 1
        try:
            await asyncio.sleep(10)
        finally:
            in_flight -= 1
        return n

    run = batch(work, range(1000), concurrency=10)

    async def consume() -> None:
        async for _ in run:
            pass

    task = asyncio.ensure_future(consume())
    await asyncio.sleep(0.05)
    assert in_flight == 10
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert in_flight == 0
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert others == []


async def test_stop_finishes_in_flight_items_and_takes_no_new_ones() -> None:
    async def work(n: int) -> int:
        await asyncio.sleep(0.01)
        return n

    async with batch(work, range(1000), concurrency=5) as run:
        outcomes = []
        async for o in run:
            outcomes.append(o)
            if len(outcomes) == 3:
                run.stop()
    assert 3 <= len(outcomes) <= 3 + 5 + 5
    assert all(o.status is Status.OK for o in outcomes)


async def test_a_bad_item_is_rejected_locally_and_the_others_still_go() -> None:
    async def work(n: int) -> int:
        if n == 3:
            raise ValidationError("booking 3", [])
        return n

    async with batch(work, range(10), concurrency=3) as run:
        statuses = {o.index: o.status async for o in run}
    assert statuses[3] is Status.REJECTED
    assert sum(s is Status.OK for s in statuses.values()) == 9


async def _spaced_starts(rate: float, burst: int, starts: int) -> list[float]:
    """The start times of back-to-back acquisitions, on a fake clock."""
    clock = [100.0]

    async def fake_sleep(seconds: float) -> None:
        clock[0] += seconds

    limiter = RateLimiter(rate, burst, clock=lambda: clock[0], sleep=fake_sleep)
    times = []
    for _ in range(starts):
        await limiter.acquire()
        times.append(round(clock[0] - 100.0, 6))
    return times


async def test_rate_limiter_spaces_starts_evenly_with_no_burst_by_default() -> None:
    assert await _spaced_starts(100, 1, 5) == [0.0, 0.01, 0.02, 0.03, 0.04]


async def test_rate_limiter_burst_lets_that_many_start_back_to_back() -> None:
    assert await _spaced_starts(10, 3, 5) == [0.0, 0.0, 0.0, 0.1, 0.2]


def test_latency_histogram_percentiles_are_within_one_percent() -> None:
    h = LatencyHistogram()
    values = [i / 1000 for i in range(1, 1001)]  # 1 ms .. 1000 ms
    random.Random(1).shuffle(values)
    for v in values:
        h.add(v)
    assert h.percentile(50) == pytest.approx(0.5, rel=0.02)
    assert h.percentile(99) == pytest.approx(0.99, rel=0.02)
    assert h.max == 1.0


async def test_an_input_iterator_error_stops_reading_and_is_raised_after_in_flight_items() -> None:
    done = 0

    def source() -> Iterator[int]:
        yield from range(5)
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")

    async def work(n: int) -> int:
        nonlocal done
        await asyncio.sleep(0.001)
        done += 1
        return n

    yielded = []
    async with batch(work, itertools.chain(source(), range(10_000)), concurrency=2) as run:
        with pytest.raises(UnicodeDecodeError):
            async for outcome in run:
                yielded.append(outcome.index)
    assert done == 5  # nothing after the fault was read ...
    assert sorted(yielded) == list(range(5))  # ... and what was read got its outcome


async def test_aclose_from_another_task_wakes_the_consumer() -> None:
    async def work(n: int) -> int:
        await asyncio.sleep(10)
        return n

    run = batch(work, range(100), concurrency=4)
    consumer = asyncio.ensure_future(run.__anext__())
    await asyncio.sleep(0.01)
    await run.aclose()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(consumer, 5)


async def test_stop_reads_no_more_async_input() -> None:
    pulled = 0

    async def source() -> AsyncIterator[int]:
        nonlocal pulled
        for n in range(1000):
            pulled += 1
            yield n

    async def work(n: int) -> int:
        await asyncio.sleep(0.001)
        return n

    seen: int | None = None
    async with batch(work, source(), concurrency=4, window=0) as run:
        async for _ in run:
            if seen is None:
                run.stop()
                seen = pulled
    assert seen is not None and pulled == seen  # not one more item was read after stop()


async def test_stop_ends_the_run_while_an_async_source_waits_for_its_next_item() -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(3):
        queue.put_nowait(n)

    async def source() -> AsyncIterator[int]:
        while True:
            yield await queue.get()  # a live feed: waits forever once drained

    async def work(n: int) -> int:
        return n

    async def consume() -> list[int]:
        got = []
        async with batch(work, source(), concurrency=2) as run:
            async for outcome in run:
                got.append(outcome.index)
                if len(got) == 3:
                    run.stop()
        return got

    assert sorted(await asyncio.wait_for(consume(), 5)) == [0, 1, 2]


async def test_aclose_finishes_its_cleanup_even_when_cancelled_again() -> None:
    closed = []

    async def work(n: int) -> int:
        try:
            await asyncio.sleep(10)
        finally:
            await asyncio.sleep(0.02)  # slow to wind down
        return n

    async def source() -> AsyncIterator[int]:
        try:
            for n in range(100):
                yield n
        finally:
            closed.append(True)

    run = batch(work, source(), concurrency=4)
    consumer = asyncio.ensure_future(run.__anext__())
    await asyncio.sleep(0.01)
    closing = asyncio.ensure_future(run.aclose())
    await asyncio.sleep(0.005)
    closing.cancel()  # a second cancellation while aclose() waits
    with pytest.raises(asyncio.CancelledError):
        await closing
    others = [t for t in asyncio.all_tasks() if t not in (asyncio.current_task(), consumer)]
    assert others == [] and closed == [True]
    with pytest.raises(StopAsyncIteration):
        await consumer


async def test_an_item_cancelled_from_inside_does_not_hang_an_ordered_run() -> None:
    async def work(n: int) -> int:
        if n == 2:
            raise asyncio.CancelledError  # e.g. a library cancelled an inner future
        await asyncio.sleep(0.001)
        return n

    async def consume() -> list[int]:
        got = []
        async with batch(work, range(50), concurrency=4, ordered=True) as run:
            with pytest.raises(RuntimeError, match="cancelled"):
                async for outcome in run:
                    got.append(outcome.index)
        return got

    got = await asyncio.wait_for(consume(), 5)
    assert got[:2] == [0, 1] and 2 not in got


async def test_an_unexpected_error_after_a_write_was_sent_is_unknown_and_after_a_read_failed() -> (
    None
):
    sandbox = Sandbox()
    async with XportcnClient(
        sandbox.credentials,
        base_url="http://127.0.0.1/api",
        transport=InMemoryTransport(sandbox.handle),
    ) as client:

        async def estimate_then_crash(
            request: EstimateFreightRequest, *, hooks: AttemptHooks
        ) -> None:
            await client.logistics.estimate_freight(request, hooks=hooks)
            raise RuntimeError("bug in the caller's code after a read")

        async def save_then_crash(request: EstimateFreightRequest, *, hooks: AttemptHooks) -> None:
            await client.addresses.save(Address(name="n", phone="1", address="a"), hooks=hooks)
            raise RuntimeError("bug in the caller's code after a write")

        async def crash_before_sending(
            request: EstimateFreightRequest, *, hooks: AttemptHooks
        ) -> None:
            raise RuntimeError("bug before anything was sent")

        request = from_wire(EXAMPLE_ESTIMATE, EstimateFreightRequest)
        async with batch(save_then_crash, [request], with_hooks=True) as run:
            (after_write,) = [o async for o in run]
        async with batch(estimate_then_crash, [request], with_hooks=True) as run:
            (after_read,) = [o async for o in run]
        async with batch(crash_before_sending, [request], with_hooks=True) as run:
            (before,) = [o async for o in run]
        # Without hooks the engine cannot see what was sent: it assumes the worst.
        async with batch(lambda r: estimate_then_crash(r, hooks=AttemptHooks()), [request]) as run:
            (unseen,) = [o async for o in run]
    # Only a write can leave an outcome in doubt; a read that was answered cannot.
    assert after_write.status is Status.UNKNOWN and after_write.attempts == 1
    assert after_read.status is Status.FAILED and after_read.attempts == 1
    assert before.status is Status.FAILED and before.attempts == 0
    assert unseen.status is Status.UNKNOWN and unseen.attempts == 0


class CountingLimiter:
    def __init__(self) -> None:
        self.acquired = 0

    async def acquire(self) -> None:
        self.acquired += 1


async def test_with_hooks_the_rate_limit_counts_every_http_request_of_an_item() -> None:
    sandbox = Sandbox()
    limiter = CountingLimiter()
    async with XportcnClient(
        sandbox.credentials,
        base_url="http://127.0.0.1/api",
        transport=InMemoryTransport(sandbox.handle),
    ) as client:
        request = from_wire(EXAMPLE_ESTIMATE, EstimateFreightRequest)

        async def two_calls(r: EstimateFreightRequest, *, hooks: AttemptHooks) -> None:
            await client.logistics.estimate_freight(r, hooks=hooks)
            await client.logistics.estimate_freight(r, hooks=hooks)

        async with batch(two_calls, [request] * 5, rate_limit=limiter, with_hooks=True) as run:
            outcomes = [o async for o in run]
    assert [(o.status, o.attempts) for o in outcomes] == [(Status.OK, 2)] * 5
    assert limiter.acquired == 10

    # retries wait for a slot too; a resource method can be the batch function itself
    limiter = CountingLimiter()
    transport = InMemoryTransport(sandbox.handle, script=[Response(503), Response(503)])
    async with (
        XportcnClient(
            sandbox.credentials,
            base_url="http://127.0.0.1/api",
            transport=transport,
            retry=RetryPolicy(initial_delay=0.001, max_delay=0.001),
        ) as client,
        batch(
            client.logistics.estimate_freight, [request], rate_limit=limiter, with_hooks=True
        ) as run,
    ):
        (outcome,) = [o async for o in run]
    assert outcome.status is Status.OK and outcome.attempts == 3
    assert limiter.acquired == 3


async def test_without_hooks_the_rate_limit_spaces_the_starts_of_items() -> None:
    limiter = CountingLimiter()
    started: list[int] = []

    async def work(n: int) -> int:
        started.append(limiter.acquired)  # the item's slot was taken before it started
        return n

    async with batch(work, range(7), rate_limit=limiter, concurrency=1) as run:
        assert [o.result async for o in run] == list(range(7))
    assert limiter.acquired == 7 and started == [1, 2, 3, 4, 5, 6, 7]
    assert run.report.latency.count == 7  # every item that ran is timed


async def test_leaving_early_runs_the_cleanup_of_a_generator_given_as_input() -> None:
    cleaned = []

    def source() -> Iterator[int]:
        try:
            yield from range(1000)
        finally:
            cleaned.append(True)  # e.g. closing the input file

    async def work(n: int) -> int:
        return n

    async with batch(work, source(), concurrency=2) as run:
        async for _ in run:
            break
    assert cleaned == [True]


# -- the limiter, the report and the defaults a user relies on ---------------------------------


async def test_rate_limiter_by_default_allows_no_burst_and_never_delays_a_free_start() -> None:
    # A clock that starts at 0 (time.monotonic may, on a fresh machine): the first start is
    # still immediate, and a start whose slot has come does not sleep at all.
    clock = [0.0]
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock[0] += seconds

    limiter = RateLimiter(4, clock=lambda: clock[0], sleep=fake_sleep)
    await limiter.acquire()
    assert sleeps == []
    await limiter.acquire()
    assert sleeps == [0.25]  # no burst: the second waits its turn
    clock[0] += 1.0
    await limiter.acquire()
    assert sleeps == [0.25]


@pytest.mark.parametrize(
    ("rate", "burst", "message"),
    [
        (0, 1, "rate_limit must be positive (requests per second)"),
        (-1, 1, "rate_limit must be positive (requests per second)"),
        (5, 0, "burst must be at least 1"),
    ],
)
def test_a_nonsense_rate_limit_is_refused_when_the_batch_is_built(
    rate: float, burst: int, message: str
) -> None:
    async def work(n: int) -> int:
        return n

    with pytest.raises(ValueError) as info:
        batch(work, [1], rate_limit=rate, burst=burst)
    assert str(info.value) == message


def test_a_rate_below_one_per_second_is_a_rate() -> None:
    assert RateLimiter(0.5).interval == 2.0


def test_burst_belongs_to_a_numeric_rate_limit_only() -> None:
    async def work(n: int) -> int:
        return n

    limiter = RateLimiter(10)
    with pytest.raises(ValueError, match="burst applies to a numeric rate_limit only"):
        batch(work, [1], rate_limit=limiter, burst=2)
    batch(work, [1], rate_limit=limiter)  # a limiter object paces itself


async def test_by_default_a_batch_runs_64_items_at_once() -> None:
    in_flight = peak = 0
    gate = asyncio.Event()

    async def work(n: int) -> int:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        if in_flight >= 64:
            gate.set()
        await gate.wait()
        in_flight -= 1
        return n

    async with batch(work, range(200)) as run:
        outcomes = [o async for o in run]
    assert peak == 64
    assert len(outcomes) == 200


def test_an_unexpected_error_is_unknown_unless_told_nothing_was_written() -> None:
    assert status_for_error(RuntimeError("boom")) is Status.UNKNOWN
    assert status_for_error(RuntimeError("boom"), sent=False) is Status.FAILED


def test_latency_percentiles_take_the_nearest_rank_within_one_percent_above() -> None:
    # Values 3 % apart, so that each has a bucket of its own: the p-th percentile is the
    # value of rank ceil(n * p / 100), reported at most 1 % above it, and never below.
    values = [1e-3 * 1.03**i for i in range(1000)]
    h = LatencyHistogram()
    for v in reversed(values):
        h.add(v)
    for p, rank in [(0.01, 1), (1, 10), (50, 500), (99.9, 999), (100, 1000)]:
        true = values[rank - 1]
        assert true <= h.percentile(p) <= true * 1.01, p
    assert h.percentile(100) == h.max == values[-1]
    assert LatencyHistogram().percentile(50) == 0.0


async def test_the_report_counts_each_status_and_summarises_latency() -> None:
    async def work(n: int) -> int:
        if n == 3:
            raise BadRequestError("no", http_status=400, code=400)
        return n

    async with batch(work, range(4)) as run:
        [o async for o in run]
    report = run.report
    assert (report.count(Status.OK), report.count(Status.REJECTED)) == (3, 1)
    assert report.count(Status.SKIPPED) == 0
    summary = report.as_dict()
    assert set(summary) == {"total", "counts", "elapsed_s", "throughput_per_s", "latency_ms"}
    assert summary["total"] == 4
    assert list(summary["counts"].items()) == [("ok", 3), ("rejected", 1)]
    assert summary["elapsed_s"] == round(report.elapsed, 3)
    assert summary["throughput_per_s"] == round(report.throughput, 1)
    latency = report.latency
    assert summary["latency_ms"] == {
        "p50": round(latency.percentile(50) * 1000, 2),
        "p90": round(latency.percentile(90) * 1000, 2),
        "p99": round(latency.percentile(99) * 1000, 2),
        "max": round(latency.max * 1000, 2),
    }
    d = summary
    assert str(report) == (
        f"4 items in {d['elapsed_s']:.2f} s ({d['throughput_per_s']:.1f}/s): ok 3, rejected 1; "
        f"latency p50 {d['latency_ms']['p50']} ms, p90 {d['latency_ms']['p90']} ms, "
        f"p99 {d['latency_ms']['p99']} ms, max {d['latency_ms']['max']} ms"
    )


async def test_batch_refuses_settings_it_cannot_run_with_saying_which() -> None:
    async def work(n: int) -> int:
        return n

    with pytest.raises(ValueError) as error:
        batch(work, range(3), concurrency=0)
    assert str(error.value) == "concurrency must be at least 1"
    with pytest.raises(ValueError) as error:
        batch(work, range(3), window=-1)
    assert str(error.value) == "window must not be negative"


async def test_an_outcome_is_keyed_by_its_items_key_attribute_by_default() -> None:
    class Order:
        def __init__(self, key: str) -> None:
            self.key = key

    async def work(item: object) -> None:
        return None

    async with batch(work, [Order("A-1"), 7], ordered=True) as run:
        keys = [o.key async for o in run]
    assert keys == ["A-1", ""]  # an item without one: no key


async def test_an_item_whose_key_cannot_be_computed_is_rejected_with_that_error() -> None:
    """A key function that fails on bad input rejects that item only, without running it."""
    ran: list[object] = []

    async def work(item: object) -> object:
        ran.append(item)
        return item

    def key(item: object) -> str:
        if not isinstance(item, str):
            raise TypeError(f"no key for {item!r}")
        return item

    async with batch(work, ["a", 7, "b"], key=key, ordered=True) as run:
        outcomes = [o async for o in run]
    bad = outcomes[1]
    assert [(o.index, o.key, o.item, o.status) for o in outcomes] == [
        (0, "a", "a", Status.OK),
        (1, "", 7, Status.REJECTED),
        (2, "b", "b", Status.OK),
    ]
    assert isinstance(bad.error, TypeError) and str(bad.error) == "no key for 7"
    assert bad.result is None and bad.attempts == 0
    assert ran == ["a", "b"]
    assert run.report.total == 3 and run.report.count(Status.REJECTED) == 1
    assert run.report.latency.count == 2  # only what ran counts


async def test_each_item_counts_only_its_own_attempts_and_writes() -> None:
    """One worker runs the items one after another with the same hooks: the counts start
    afresh for each. An item that wrote, then one that crashes after reads only: the second
    is ``failed`` (nothing of it can be in doubt), with its own attempt count."""

    async def fn(item: tuple[int, int, bool], *, hooks: AttemptHooks) -> str:
        reads, writes, crash = item
        assert hooks.before_send is not None and hooks.before_write is not None
        for n in range(1, reads + writes + 1):
            hooks.before_send(n)
            if n > reads:
                hooks.before_write(n)
        if crash:
            raise RuntimeError("a bug after the calls")
        return "done"

    items = [(0, 3, False), (2, 0, True), (0, 1, True), (1, 0, False)]
    async with batch(fn, items, with_hooks=True, concurrency=1, ordered=True) as run:
        outcomes = [o async for o in run]
    assert [(o.status, o.attempts) for o in outcomes] == [
        (Status.OK, 3),
        (Status.FAILED, 2),
        (Status.UNKNOWN, 1),
        (Status.OK, 1),
    ]
