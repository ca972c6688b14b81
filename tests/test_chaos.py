"""The multi-worker chaos run (tests/chaos.py), bounded, in the suite: three worker processes
book the same 3,000 orders through one PostgreSQL journal and one Redis rate limit, against
one sandbox process with about 20 % mixed faults; one worker is SIGKILLed mid-run and
restarted; at the end one run resends what is unknown."""

from __future__ import annotations

from pathlib import Path

from .chaos import ChaosResult, problems, run_chaos, summary


def test_three_workers_one_killed_book_3000_orders_once_at_the_shared_rate(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    result = run_chaos(tmp_path, postgres_url=postgres_url, redis_url=redis_url)
    print(summary(result))
    assert problems(result, rate_window=3) == []
    # the run was a real one: faults of every kind, a worker killed with bookings in flight
    assert set(result.stats["faults_by_kind"]) >= {"drop_after", "slow", "unavailable"}
    assert 0 < result.killed_at_booked < result.orders
    statuses = list(result.rows.values())
    # nothing lost: the sandbox booked every order the journal says is booked, and at most
    # the ones in doubt besides
    booked, unknown = statuses.count("booked"), statuses.count("unknown")
    assert booked <= result.stats["bookings"] <= booked + unknown
    assert booked > 0.9 * result.orders


def _result(per_second: dict[str, int]) -> ChaosResult:
    return ChaosResult(
        orders=1,
        rate=100.0,
        stats={"upstream_orders_booked_more_than_once": 0, "requests_per_second": per_second},
        rows={"tmall:1": "booked"},
        keys=["tmall:1"],
        worker_codes=[0, 0, 0],
        final_code=0,
        killed_at_booked=0,
        seconds=1.0,
    )


def test_the_rate_check_counts_every_window_of_the_given_length() -> None:
    # one second over by 20 %, its neighbours under: a stall's shape
    stalled = _result({"10": 90, "11": 120, "12": 90})
    assert any("over 1 s" in p for p in problems(stalled))
    assert problems(stalled, rate_window=3) == []
    # a limiter that grants too much is caught over several seconds too
    too_fast = _result({"10": 120, "11": 120, "12": 120})
    assert any("over 3 s" in p for p in problems(too_fast, rate_window=3))
