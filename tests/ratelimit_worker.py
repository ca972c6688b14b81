"""A process that takes slots from a :class:`SharedRateLimiter` and reports when each was
granted, for tests/test_ratelimit.py (run as ``python -m tests.ratelimit_worker``).

It prints ``ready``, waits for a line on stdin (so that all workers start together), takes
``count`` slots with ``callers`` concurrent callers, and prints the grants as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from xportcn_async.ratelimit import SharedRateLimiter

Grant = tuple[float, float]


class RecordingLimiter(SharedRateLimiter):
    """Records, for each slot granted, the wall-clock interval of the Redis call that took it.

    The moving window counts a slot at a time taken inside that call, so an interval is
    where the grant certainly lies, however slowly the process runs afterwards."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.grants: list[Grant] = []

    async def try_acquire(self) -> bool:
        before = time.time()
        granted = await super().try_acquire()
        if granted:
            self.grants.append((before, time.time()))
        return granted


async def take(limiter: SharedRateLimiter, count: int, callers: int) -> None:
    """Take ``count`` slots with ``callers`` callers acquiring concurrently."""
    left = count

    async def caller() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await limiter.acquire()

    await asyncio.gather(*(caller() for _ in range(callers)))


def max_in_one_second(grants: list[Grant]) -> int:
    """The most grants that certainly fall in one window of one second: those whose whole
    interval lies in ``[t, t + 1)``, for every start ``t`` worth trying (a grant's start).

    A limiter that lets more than its rate through shows it here on any machine; a slow
    machine only makes intervals longer, which can lower this count but never raise it."""
    starts = sorted(grants)
    best = 0
    for i, (t, _) in enumerate(starts):
        best = max(best, sum(1 for _, end in starts[i:] if end < t + 1))
    return best


async def _main(url: str, rate: float, key: str, count: int, callers: int) -> None:
    async with RecordingLimiter(url, rate, key=key) as limiter:
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        await take(limiter, count, callers)
        print(json.dumps(limiter.grants), flush=True)


if __name__ == "__main__":
    url, rate, key, count, callers = sys.argv[1:]
    asyncio.run(_main(url, float(rate), key, int(count), int(callers)))
