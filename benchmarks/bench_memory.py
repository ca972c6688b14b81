"""Benchmark 4: memory of a huge bulk booking, with bookings really in flight.

``book_many`` streams N bookings (1,000,000) from a generator to the stub server over HTTP on
127.0.0.1; the stub holds every request a few milliseconds, so that ``--concurrency``
bookings are in flight at once and the client really suspends on its sockets. Client and
stub run in their own processes, pinned to different cores. The client's resident set size
(RSS) is sampled twenty times along the run; the baseline is the same process after imports,
set-up and a warm-up, before the stream starts.

Target (issue 10): peak RSS at most 50 MB, and flat: the last sample at most 5 % above the
first one (taken after 5 % of the bookings).

    python benchmarks/bench_memory.py [--bookings 1000000] [--concurrency 64]
                                      [--latency 0.002] [--smoke]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import time
from collections.abc import Iterator

import attrs
from _common import (
    CREDENTIALS,
    ROOT,
    cores,
    example_orders,
    peak_rss_mb,
    pinned,
    pinning_note,
    rss_mb,
    server_process,
    smoke_note,
    verdict,
)

from xportcn_async import BookingRequest, XportcnClient, from_wire
from xportcn_async.batch import Status

TARGET_MB = 50.0
FLAT = 0.05
SAMPLES = 20


def stream(count: int, tag: str) -> Iterator[BookingRequest]:
    """``count`` distinct bookings, made one by one as ``book_many`` reads them."""
    templates = [from_wire(o, BookingRequest) for o in example_orders()]
    for n in range(count):
        yield attrs.evolve(
            templates[n % len(templates)],
            render_id=f"FFMEM{tag}{n:09d}",
            tmall_order_id=f"MEM{tag}{n:09d}",
        )


async def book(client: XportcnClient, orders: Iterator[BookingRequest], concurrency: int,
               every: int, samples: list[float]) -> int:  # fmt: skip
    async with client.logistics.book_many(orders, concurrency=concurrency) as run:
        done = 0
        async for _ in run:
            done += 1
            if done % every == 0:
                samples.append(rss_mb())
    return run.report.count(Status.BOOKED)


async def child(url: str, count: int, concurrency: int) -> dict[str, object]:
    warmup = 2 * concurrency
    async with XportcnClient(CREDENTIALS, base_url=url, connection_limit=concurrency) as client:
        await book(client, stream(warmup, "w"), concurrency, warmup + 1, [])
        gc.collect()
        baseline = rss_mb()
        samples: list[float] = []
        started = time.perf_counter()
        booked = await book(
            client, stream(count, "m"), concurrency, max(1, count // SAMPLES), samples
        )
        seconds = time.perf_counter() - started
    if booked != count:
        raise RuntimeError(f"only {booked} of {count} booked")
    return {"baseline": baseline, "samples": samples, "peak": peak_rss_mb(), "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=1_000_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.002, help="stub seconds per request")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, no targets")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.smoke:
        args.bookings, args.concurrency = 200, 8
    if args.child:
        print(json.dumps(asyncio.run(child(args.child, args.bookings, args.concurrency))))
        return

    client_core, server_core = cores()
    with server_process("stub", latency=args.latency, cpu=server_core) as server:
        before = server.stub_requests()
        out = subprocess.run(
            [sys.executable, __file__, "--child", server.base_url, "--bookings",
             str(args.bookings), "--concurrency", str(args.concurrency)],
            check=True, capture_output=True, text=True, cwd=ROOT, preexec_fn=pinned(client_core),
        ).stdout  # fmt: skip
        answered = server.stub_requests() - before
    r = json.loads(out.strip().splitlines()[-1])
    samples, base = r["samples"], r["baseline"]
    peak = max([r["peak"], *samples])
    if answered != args.bookings + 2 * args.concurrency:
        raise RuntimeError(f"the stub answered {answered} requests, not {args.bookings} + warm-up")
    print(
        f"book_many memory: {args.bookings:,} bookings streamed to the stub over HTTP, "
        f"{args.concurrency} in flight, {args.latency * 1000:g} ms per request"
    )
    smoke_note(args.smoke)
    print(f"  {pinning_note(client_core, server_core)}; the stub answered {answered:,} requests")
    print(
        f"  RSS after set-up and warm-up {base:.1f} MB; along the run (MB): "
        + " ".join(f"{s:.1f}" for s in samples)
    )
    growth = (samples[-1] - samples[0]) / samples[0] if samples else 0.0
    print(
        f"  peak RSS {peak:.1f} MB (+{peak - base:.1f} MB over set-up); last sample "
        f"{growth:+.1%} against the first; {args.bookings / r['seconds']:,.0f} bookings/s"
    )
    if not args.smoke:
        ok = peak <= TARGET_MB and growth <= FLAT
        print(f"  target peak <= {TARGET_MB:.0f} MB and flat (<= +{FLAT:.0%}): {verdict(ok)}")


if __name__ == "__main__":
    main()
