"""Benchmark 1: throughput against a raw aiohttp loop.

The sandbox serves in a separate process on 127.0.0.1, without latency. Each side books N
orders whose renderIds were made by previews in set-up (untimed), so both do the same work: a
first booking of a render. The baseline is a hand-written loop: a bare ``aiohttp.ClientSession``
(``TCPConnector(limit=concurrency)``) and an ``asyncio.Semaphore`` POST pre-signed bodies
(headers and ``?timestamp=&sign=`` computed in advance, a fresh nonce each), check for HTTP 200
and read the body. The SDK side runs ``client.logistics.book_many`` with the default
``AiohttpTransport(limit=concurrency)``: it signs, encodes, sends, decodes and types every
booking itself. Every run gets a fresh sandbox; runs alternate between the sides and the best
of ``--repeats`` counts. Target: the SDK at least 0.85x the raw loop at every concurrency.

    python benchmarks/bench_throughput.py [--bookings N] [--concurrency 10 100 500]
                                          [--repeats 5] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import re

from _common import (
    ROOT,
    SIDES,
    Measurement,
    alternating,
    best,
    load_note,
    machine_note,
    measure,
    median_rate,
    plural,
)

TARGET = 0.85


def profile_sdk(count: int, concurrency: int) -> None:
    """One SDK run under cProfile, summarised per booking. The profiler slows Python code
    several times over (C code much less): read the shares, not the absolute times."""
    profiler = cProfile.Profile()
    m = measure("sdk", count, concurrency, seed=999, profiler=profiler)
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(tt for _, _, tt, _, _ in stats.values())
    rows = []
    for (path, line, func), (_, _, tt, ct, _) in stats.items():
        where = re.sub(r".*/(site-packages|lib/python3\.\d+)/", "", path)
        rows.append((ct, tt, f"{func} ({where.removeprefix(str(ROOT) + '/')}:{line})"))
    print(f"cProfile of one SDK run: {count:,} bookings at concurrency {concurrency}")
    print(
        f"  {m.rate:,.0f} req/s under the profiler; client CPU {m.client_us:.0f} µs/req; "
        f"profiled time {total / count * 1e6:.0f} µs/req"
    )
    print("  inclusive time of the SDK's own functions, per booking:")
    sdk_rows = [r for r in rows if "xportcn_async/" in r[2] or "cattrs generated" in r[2]]
    for ct, _, name in sorted(sdk_rows, reverse=True)[:25]:
        print(f"    {ct / count * 1e6:7.1f} µs {ct / total:6.1%}  {name}")
    print("  self time, all code, per booking:")
    for _, tt, name in sorted(((tt, tt, n) for _, tt, n in rows), reverse=True)[:20]:
        print(f"    {tt / count * 1e6:7.1f} µs {tt / total:6.1%}  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=3000, help="per run and side")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[10, 100, 500])
    parser.add_argument("--repeats", type=int, default=5, help="runs per side and concurrency")
    parser.add_argument(
        "--profile", action="store_true", help="profile one SDK run (first concurrency) instead"
    )
    args = parser.parse_args()
    if args.profile:
        profile_sdk(args.bookings, args.concurrency[0])
        return

    n = args.bookings
    print("throughput: book_many against a raw aiohttp loop, sandbox in a separate process")
    print(
        f"  {n:,} bookings per run; best of {plural(args.repeats, 'run')} per side, "
        f"alternating; a fresh sandbox per run"
    )
    print(f"  {machine_note()}")
    print(
        f"  {'concurrency':>11}  {'side':<24} {'best req/s':>10} {'median':>8}   "
        f"{'client CPU per req (core)':<26}{'sandbox CPU per req (core)':<26}"
    )
    verdicts = []
    everything: list[Measurement] = []
    for c in args.concurrency:
        runs = alternating(args.repeats, lambda side, rep, c=c: measure(side, n, c, seed=rep))
        for side, label in SIDES.items():
            everything += runs[side]
            top = best(runs[side])
            print(
                f"  {c:>11}  {label:<24} {top.rate:>10,.0f} {median_rate(runs[side]):>8,.0f}   "
                f"{top.client_us:>5.0f} µs ({top.client_load:>4.0%}){'':<13}"
                f"{top.server_us:>5.0f} µs ({top.server_load:>4.0%})"
            )
        ratio = best(runs["sdk"]).rate / best(runs["raw"]).rate
        median_ratio = median_rate(runs["sdk"]) / median_rate(runs["raw"])
        verdict = "met" if ratio >= TARGET else "MISSED"
        verdicts.append(verdict)
        print(
            f"  {'':>11}  SDK / raw: {ratio:.2f}x best, {median_ratio:.2f}x median; "
            f"target >= {TARGET:.2f}x: {verdict}"
        )
    print(f"  {load_note(everything)}")
    overall = "met" if all(v == "met" for v in verdicts) else "MISSED"
    print(f"  target >= {TARGET:.2f}x the raw loop at every concurrency: {overall}")


if __name__ == "__main__":
    main()
