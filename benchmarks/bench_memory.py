"""Benchmark 4: memory of a huge bulk booking.

Streams N bookings from a generator through ``book_many`` with the in-memory transport and a
canned response, in a fresh process per size, and reports the peak RSS. The baseline is the
same process after imports and set-up, before the run. Target: peak below 150 MB and flat in
the input size (100,000 against 1,000,000 bookings).

    python benchmarks/bench_memory.py [--sizes 100000 1000000] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time

from _common import CANNED, CREDENTIALS, bookings, peak_rss_mb

from xportcn_async import InMemoryTransport, Request, Response, XportcnClient
from xportcn_async.batch import Status

TARGET_MB = 150.0


async def canned(_: Request) -> Response:
    return CANNED


async def run(count: int, concurrency: int) -> dict[str, float]:
    transport = InMemoryTransport(canned, record=False)
    baseline = peak_rss_mb()
    started = time.perf_counter()
    async with (
        XportcnClient(CREDENTIALS, transport=transport) as client,
        client.logistics.book_many(bookings(count), concurrency=concurrency) as batch,
    ):
        async for _ in batch:
            pass
    report = batch.report
    assert report.count(Status.BOOKED) == count, report.as_dict()
    return {
        "count": count,
        "baseline_mb": baseline,
        "peak_mb": peak_rss_mb(),
        "seconds": time.perf_counter() - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(run(args.child, args.concurrency))))
        return
    results = []
    for size in args.sizes:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                str(size),
                "--concurrency",
                str(args.concurrency),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    print(f"book_many memory, concurrency {args.concurrency}, in-memory transport")
    for r in results:
        print(
            f"  {int(r['count']):>9,} bookings: peak RSS {r['peak_mb']:6.1f} MB "
            f"(baseline after set-up {r['baseline_mb']:5.1f} MB, +{r['peak_mb'] - r['baseline_mb']:5.1f} MB), "
            f"{r['count'] / r['seconds']:,.0f} bookings/s"
        )
    small, large = results[0], results[-1]
    growth = (large["peak_mb"] - small["peak_mb"]) / max(small["peak_mb"], 1e-9)
    print(f"  peak growth from {int(small['count']):,} to {int(large['count']):,}: {growth:+.1%}")
    verdict = "met" if large["peak_mb"] < TARGET_MB else "MISSED"
    print(f"  target peak < {TARGET_MB:.0f} MB: {verdict}")


if __name__ == "__main__":
    main()
