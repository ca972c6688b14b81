"""Benchmark 3: per-call SDK overhead (CPU time of sign + encode + decode per booking).

The client books through an in-memory transport that returns a canned response, so only the
SDK's own work is measured. The baseline is ``json.dumps`` of the same request dict plus
``json.loads`` of the same response body: the least any client must do. Target: below 60 µs
per call.

    python benchmarks/bench_overhead.py [--calls N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from _common import CANNED, CREDENTIALS, bookings

from xportcn_async import InMemoryTransport, Request, Response, XportcnClient, to_wire

TARGET_US = 60.0


async def canned(_: Request) -> Response:
    return CANNED


async def sdk(calls: int) -> float:
    requests = list(bookings(calls))
    transport = InMemoryTransport(canned, record=False)
    async with XportcnClient(CREDENTIALS, transport=transport) as client:
        for r in requests[:200]:  # warm-up
            await client.logistics.book(r)
        start = time.process_time()
        for r in requests:
            await client.logistics.book(r)
        return (time.process_time() - start) / calls * 1e6


def baseline(calls: int) -> float:
    bodies = [to_wire(r) for r in bookings(calls)]
    raw = CANNED.body
    start = time.process_time()
    for body in bodies:
        json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        json.loads(raw)
    return (time.process_time() - start) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    base = baseline(args.calls)
    ours = asyncio.run(sdk(args.calls))
    print(f"per-call CPU time over {args.calls} bookings")
    print(f"  baseline json.dumps + json.loads : {base:7.1f} µs")
    print(f"  xportcn-async book()             : {ours:7.1f} µs  ({ours / base:.1f}x baseline)")
    print(f"  SDK overhead above the baseline  : {ours - base:7.1f} µs")
    verdict = "met" if ours < TARGET_US else "MISSED"
    print(f"  target < {TARGET_US:.0f} µs per call: {verdict}")


if __name__ == "__main__":
    main()
