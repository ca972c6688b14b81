"""The rate limit shared through Redis (``xportcn_async.ratelimit.SharedRateLimiter``): every
process that uses one key stays under the rate together, waiting callers all get through,
and ``book_many`` and the CLI use it for every HTTP request they send.

The tests that take ``redis_url`` need a real Redis server (see tests/services.py)."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import redis.exceptions

from xportcn_async import BookingRequest, ConfigurationError, XportcnClient, from_wire
from xportcn_async.batch import RateLimiter, Status, batch
from xportcn_async.cli import main
from xportcn_async.credentials import ENV_ACCESS_KEY, ENV_ACCESS_SECRET, ENV_USER_ID
from xportcn_async.ratelimit import SharedRateLimiter, _window
from xportcn_async.sandbox import serve

from .ratelimit_worker import RecordingLimiter, max_in_one_second, take
from .test_bulk import ORDERS, bookings

ROOT = Path(__file__).resolve().parents[1]
RATE = 20


@pytest.fixture
def key() -> str:
    """A key of its own for each test, so that tests never share a window."""
    return f"test-{uuid.uuid4().hex}"


class CountingLimiter(SharedRateLimiter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.acquired = 0

    async def acquire(self) -> None:
        await super().acquire()
        self.acquired += 1


# -- arguments ------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [0, -1, float("nan"), float("inf")])
def test_a_rate_that_is_not_a_positive_number_is_refused(rate: float) -> None:
    with pytest.raises(ValueError, match="rate must be a positive number"):
        SharedRateLimiter("redis://127.0.0.1:6379/0", rate, key="k")


def test_an_empty_key_is_refused() -> None:
    with pytest.raises(ValueError, match="key must not be empty"):
        SharedRateLimiter("redis://127.0.0.1:6379/0", 10, key="")


@pytest.mark.parametrize("url", ["http://:pw-SECRET@host:6379/0", "127.0.0.1:6379", ""])
def test_a_url_that_is_not_redis_is_refused_without_echoing_it(url: str) -> None:
    with pytest.raises(ConfigurationError, match="must start with redis://") as caught:
        SharedRateLimiter(url, 10, key="k")
    assert "SECRET" not in str(caught.value)


async def test_the_repr_shows_the_rate_and_key_but_not_the_redis_password() -> None:
    async with SharedRateLimiter("redis://:pw-SECRET@127.0.0.1:6379/0", 5, key="ak") as lim:
        assert repr(lim) == "SharedRateLimiter(rate=5, key='ak')"


@pytest.mark.parametrize(
    ("rate", "window"),
    [(1, (1, 1)), (20, (20, 1)), (2.5, (2, 1)), (0.5, (1, 2)), (1 / 3, (1, 3)), (0.3, (1, 4))],
)
def test_a_rate_becomes_whole_requests_per_whole_seconds_never_more_than_asked(
    rate: float, window: tuple[int, int]
) -> None:
    assert _window(rate) == window


async def test_burst_is_refused_with_a_limiter_object_that_paces_itself() -> None:
    with pytest.raises(ValueError, match="burst applies to a numeric rate_limit only"):
        batch(asyncio.sleep, [0], rate_limit=RateLimiter(10), burst=2)


async def test_book_many_waits_on_a_limiter_object_before_every_request() -> None:
    """Any object with ``acquire()`` is accepted as the rate limit, and is awaited once per
    HTTP request: a preview and a booking for each order."""

    class Gate:
        def __init__(self) -> None:
            self.acquired = 0

        async def acquire(self) -> None:
            self.acquired += 1

    gate = Gate()
    async with (
        serve(port=0) as running,
        XportcnClient(running.credentials, base_url=running.base_url) as client,
        client.logistics.book_many(bookings(5), rate_limit=gate) as run,
    ):
        statuses = [o.status async for o in run]
    assert statuses == [Status.BOOKED] * 5
    assert gate.acquired == running.sandbox.stats.requests_total == 10


async def test_when_redis_cannot_be_reached_the_booking_fails_and_nothing_is_sent() -> None:
    async with (
        serve(port=0) as running,
        SharedRateLimiter("redis://127.0.0.1:1/0", RATE, key="k") as limiter,
        XportcnClient(running.credentials, base_url=running.base_url) as client,
        client.logistics.book_many(bookings(2), rate_limit=limiter) as run,
    ):
        outcomes = [o async for o in run]
    assert [o.status for o in outcomes] == [Status.FAILED] * 2
    assert all(isinstance(o.error, redis.exceptions.ConnectionError) for o in outcomes)
    assert running.sandbox.stats.requests_total == 0


# -- against a real Redis -------------------------------------------------------------------


async def test_one_key_is_shared_by_every_limiter_and_other_keys_are_not(
    redis_url: str, key: str
) -> None:
    """One request per 100 seconds: the first limiter takes the slot, a second limiter (its
    own connections) on the same key finds the window full, another key has its own."""
    async with (
        SharedRateLimiter(redis_url, 0.01, key=key) as first,
        SharedRateLimiter(redis_url, 0.01, key=key) as second,
        SharedRateLimiter(redis_url, 0.01, key=key + "-other") as other,
    ):
        assert await first.try_acquire()
        assert not await second.try_acquire()
        assert not await first.try_acquire()
        assert await other.try_acquire()


async def test_limiters_with_their_own_connections_stay_under_the_rate_together(
    redis_url: str, key: str
) -> None:
    limiters = [RecordingLimiter(redis_url, RATE, key=key) for _ in range(3)]
    try:
        await asyncio.gather(*(take(limiter, 25, callers=4) for limiter in limiters))
    finally:
        for limiter in limiters:
            await limiter.aclose()
    grants = [g for limiter in limiters for g in limiter.grants]
    assert [len(limiter.grants) for limiter in limiters] == [25, 25, 25]
    assert max_in_one_second(grants) <= RATE * 1.1


async def test_three_processes_stay_under_the_rate_together_and_all_get_their_slots(
    redis_url: str, key: str
) -> None:
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.ratelimit_worker",
            redis_url,
            str(RATE),
            key,
            "30",
            "4",
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for _ in range(3)
    ]
    for worker in workers:  # all connected before any starts
        assert worker.stdout is not None
        assert await worker.stdout.readline() == b"ready\n"
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write(b"go\n")
    results = [await worker.communicate() for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0, 0]
    per_worker = [json.loads(out) for out, _ in results]
    assert [len(grants) for grants in per_worker] == [30, 30, 30]
    assert max_in_one_second([tuple(g) for grants in per_worker for g in grants]) <= RATE * 1.1


async def test_book_many_over_http_waits_on_the_shared_limiter_for_every_request(
    redis_url: str, key: str
) -> None:
    async with (
        serve(port=0) as running,
        CountingLimiter(redis_url, 50, key=key) as limiter,
        XportcnClient(running.credentials, base_url=running.base_url) as client,
        client.logistics.book_many(bookings(10), rate_limit=limiter) as run,
    ):
        statuses = [o.status async for o in run]
    assert statuses == [Status.BOOKED] * 10
    assert running.sandbox.stats.requests_total == limiter.acquired == 20


# -- the command line -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--rate-redis", "redis://127.0.0.1:1/0"], "--rate-redis needs --rate"),
        (["--rate", "5", "--burst", "2", "--rate-redis", "redis://127.0.0.1:1/0"], "no --burst"),
        (["--rate", "5", "--rate-key", "k"], "--rate-key needs --rate-redis"),
        (["--rate", "5", "--rate-redis", "http://127.0.0.1:1/0"], "must start with redis://"),
    ],
)
def test_shared_rate_options_that_do_not_fit_exit_2_and_book_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    orders = tmp_path / "orders.jsonl"
    orders.write_text(json.dumps(ORDERS[0]) + "\n", encoding="utf-8")
    assert main(["book", str(orders), "--sandbox", *options]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("rate_key", [None, "shop-7"])
async def test_the_cli_books_under_the_shared_rate_kept_in_redis_under_the_access_key(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rate_key: str | None
) -> None:
    """One booking (its renderId given: one request) at one request per 100 s: the CLI
    takes the only slot of the window in Redis, under ``--rate-key`` or else the access key,
    so that the window is full afterwards for that key only."""
    async with serve(port=0) as running:
        async with XportcnClient(running.credentials, base_url=running.base_url) as client:
            request = from_wire(ORDERS[0], BookingRequest)
            preview = await client.logistics.preview_freight(client.logistics.preview_for(request))
        orders = tmp_path / "orders.jsonl"
        orders.write_text(json.dumps({**ORDERS[0], "renderId": preview.render_id}) + "\n")
        monkeypatch.setenv(ENV_ACCESS_KEY, running.credentials.access_key)
        monkeypatch.setenv(ENV_ACCESS_SECRET, running.credentials.access_secret)
        monkeypatch.setenv(ENV_USER_ID, running.credentials.user_id or "")
        args = ["book", str(orders), "--base-url", running.base_url, "--rate", "0.01"]
        args += ["--rate-redis", redis_url, *(["--rate-key", rate_key] if rate_key else [])]
        code = await asyncio.to_thread(main, args)
        stats = running.sandbox.stats

    assert code == 0
    assert stats.requests_by_operation.get("logistics.book") == stats.bookings == 1
    key = rate_key or running.credentials.access_key
    async with (
        SharedRateLimiter(redis_url, 0.01, key=key) as same,
        SharedRateLimiter(redis_url, 0.01, key=key + "-other") as other,
    ):
        assert not await same.try_acquire()
        assert await other.try_acquire()
