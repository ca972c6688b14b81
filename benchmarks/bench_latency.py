"""Benchmark 2: latency-bound efficiency.

The sandbox serves in a separate process on 127.0.0.1 and holds every request for
``--latency`` seconds (50 ms). N bookings (5,000) at concurrency C (250) go through
``client.logistics.book_many``; their renderIds come from previews made in set-up (untimed, at
high concurrency), so only the bookings are timed. With every request taking the latency, at
most C are in flight, so by Little's law the bound is C / latency = 5,000 req/s. The same raw
aiohttp loop as benchmark 1 runs in the same way as a baseline. Every run gets a fresh
sandbox; runs alternate between the sides and the best of ``--repeats`` counts. Target: the
SDK at least 90 % of the bound.

    python benchmarks/bench_latency.py [--bookings 5000] [--concurrency 250]
                                       [--latency 0.05] [--repeats 3]
"""

from __future__ import annotations

import argparse

from _common import (
    SIDES,
    alternating,
    best,
    load_note,
    machine_note,
    measure,
    median_rate,
    plural,
)

TARGET = 0.90
PREVIEW_CONCURRENCY = 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=5000, help="per run and side")
    parser.add_argument("--concurrency", type=int, default=250)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request")
    parser.add_argument("--repeats", type=int, default=3, help="runs per side")
    args = parser.parse_args()

    n, c, latency = args.bookings, args.concurrency, args.latency
    bound = c / latency
    options = ("--latency", str(latency))
    runs = alternating(
        args.repeats,
        lambda side, rep: measure(
            side, n, c, seed=rep, sandbox_options=options, preview_concurrency=PREVIEW_CONCURRENCY
        ),
    )
    print("latency-bound efficiency: sandbox in a separate process, latency added per request")
    print(
        f"  {n:,} bookings at concurrency {c}, {latency * 1000:.0f} ms per request: bound "
        f"{c} / {latency:g} s = {bound:,.0f} req/s (Little's law)"
    )
    print(f"  best of {plural(args.repeats, 'run')} per side, alternating; a fresh sandbox per run")
    print(f"  {machine_note()}")
    for side, label in SIDES.items():
        top = best(runs[side])
        median = median_rate(runs[side])
        print(
            f"  {label:<24} {top.rate:>7,.0f} req/s = {top.rate / bound:4.0%} of the bound "
            f"(median {median:,.0f} req/s = {median / bound:.0%}); client CPU "
            f"{top.client_us:.0f} µs/req ({top.client_load:.0%} of a core), sandbox "
            f"{top.server_us:.0f} µs/req ({top.server_load:.0%})"
        )
    print(f"  {load_note(runs['raw'] + runs['sdk'])}")
    ours = best(runs["sdk"]).rate / bound
    verdict = "met" if ours >= TARGET else "MISSED"
    print(f"  target SDK >= {TARGET:.0%} of the bound: {verdict} ({ours:.0%})")


if __name__ == "__main__":
    main()
