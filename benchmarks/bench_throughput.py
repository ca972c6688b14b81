"""Benchmark 1: client CPU per booking and throughput, against a hand-written aiohttp loop.

Client-bound part (the targets): a minimal stub server (``stub_server.py``, the recorded
booking reply) runs in its own process pinned to one core; every run of every side is a fresh
client process pinned to the other core. A run builds its orders, books a warm-up on the same
connections, then times N bookings: its headline figure is the client process's CPU time per
booking during that real run. Each repeat runs every side once, in a rotating order, and
ratios are paired within a repeat. Min and median over the repeats are reported.

End-to-end part (no target): the same sides against the sandbox (signatures checked, orders
kept), pinned the same way, at one concurrency.

Targets (issue 10), with the default aiohttp transport: ``book_many`` at least 0.80x the raw
loop's throughput and at most 40 µs of client CPU per booking above it, at every
concurrency. With any other SDK transport: ``book_many`` at least 1.10x the raw aiohttp
loop's throughput at concurrency 100 and above.

    python benchmarks/bench_throughput.py [--sides sdk-aiohttp,sdkbook-aiohttp,raw-aiohttp,...]
        [--bookings 4000] [--concurrency 10 100 500] [--repeats 5]
        [--e2e-concurrency 100] [--e2e-repeats 3] [--smoke]
"""

from __future__ import annotations

import argparse

from _common import (
    BASELINE_SIDE,
    DEFAULT_SIDES,
    Run,
    cores,
    load_note,
    measure_sides,
    median,
    pinning_note,
    smoke_note,
    verdict,
)
from sides import Side, parse_sides

CPU_OVER_RAW_US = 40.0
THROUGHPUT_SIDES = f"{DEFAULT_SIDES},sdk-aiohttp+orjson,sdk-httptools,sdk-reqwest"
"""The default sides (and so ``make bench``'s): besides the SDK on aiohttp, a ``book()`` loop
and the raw loop, the SDK with orjson, and on each fast transport."""


def throughput_target(side: Side, concurrency: int) -> float | None:
    """The least throughput ratio against the raw aiohttp loop that ``side`` must reach."""
    if side.kind != "sdk" or side.options:
        return None
    if side.client == "aiohttp":
        return 0.80
    return 1.10 if concurrency >= 100 else None


def report(
    sides: list[Side], runs: dict[str, list[Run]], concurrency: int, *, targets: bool
) -> list[bool]:
    """Print one concurrency's table and paired ratios; the verdicts of its targets."""
    print(
        f"    {'side':<34} {'client CPU µs/booking':>22} {'bookings/s':>16} {'server µs/req':>14}"
    )
    print(f"    {'':<34} {'min':>10} {'median':>11} {'max':>7} {'median':>8} {'median':>14}")
    for side in sides:
        rs = runs[side.name]
        print(
            f"    {side.label:<34} {min(r.client_us for r in rs):>10.0f} "
            f"{median([r.client_us for r in rs]):>11.0f} {max(r.rate for r in rs):>7,.0f} "
            f"{median([r.rate for r in rs]):>8,.0f} {median([r.server_us for r in rs]):>14.0f}"
        )
    verdicts: list[bool] = []
    if BASELINE_SIDE not in runs:
        return verdicts
    base = runs[BASELINE_SIDE]
    print(f"    paired with the {parse_sides(BASELINE_SIDE)[0].label} of the same repeat:")
    for side in sides:
        if side.name == BASELINE_SIDE:
            continue
        pairs = list(zip(runs[side.name], base, strict=True))
        ratios = [r.rate / b.rate for r, b in pairs]
        extra = [r.client_us - b.client_us for r, b in pairs]
        line = (
            f"      {side.label:<32} throughput {median(ratios):.2f}x "
            f"(min {min(ratios):.2f}x), CPU {median(extra):+.0f} µs/booking "
            f"(min {min(extra):+.0f} µs)"
        )
        goal = throughput_target(side, concurrency) if targets else None
        if goal is not None:
            ok = median(ratios) >= goal
            verdicts.append(ok)
            line += f"; target >= {goal:.2f}x: {verdict(ok)}"
            if side.client == "aiohttp":
                ok = median(extra) <= CPU_OVER_RAW_US
                verdicts.append(ok)
                line += f", target <= +{CPU_OVER_RAW_US:.0f} µs: {verdict(ok)}"
        print(line)
    return verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sides",
        help=f"comma-separated, see sides.py (default {THROUGHPUT_SIDES}; smoke: {DEFAULT_SIDES})",
    )
    parser.add_argument("--bookings", type=int, default=4000, help="timed, per run")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[10, 100, 500])
    parser.add_argument("--repeats", type=int, default=5, help="runs per side and concurrency")
    parser.add_argument("--e2e-concurrency", type=int, default=100)
    parser.add_argument("--e2e-repeats", type=int, default=3, help="0: no end-to-end runs")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, no targets")
    args = parser.parse_args()
    if args.smoke:
        args.bookings, args.concurrency, args.repeats = 30, [5], 2
        args.e2e_concurrency, args.e2e_repeats = 5, 1
    # The smoke mode's default leaves out the extras' sides (they have tests of their own,
    # deselected where the extra cannot be installed).
    sides = parse_sides(args.sides or (DEFAULT_SIDES if args.smoke else THROUGHPUT_SIDES))
    client_core, server_core = cores()

    print("throughput: client CPU per booking against a raw aiohttp loop")
    smoke_note(args.smoke)
    print(f"  {pinning_note(client_core, server_core)}; a fresh client process per run")
    print(
        f"  {args.bookings:,} timed bookings per run after a warm-up; "
        f"{args.repeats} repeat(s), sides interleaved"
    )
    everything: list[Run] = []
    verdicts: list[bool] = []
    print("  client-bound: stub server (recorded booking reply)")
    for c in args.concurrency:
        print(f"  concurrency {c}")
        runs = measure_sides(sides, "stub", c, args.repeats, args.bookings, smoke=args.smoke)
        verdicts += report(sides, runs, c, targets=not args.smoke)
        everything += [r for rs in runs.values() for r in rs]
    if args.e2e_repeats:
        c = args.e2e_concurrency
        print(
            f"  end-to-end: the sandbox (a fresh one per repeat), concurrency {c}, "
            f"{args.e2e_repeats} repeat(s); no target (the sandbox's own CPU per request bounds "
            f"every side)"
        )
        runs = measure_sides(sides, "sandbox", c, args.e2e_repeats, args.bookings, smoke=args.smoke)
        report(sides, runs, c, targets=False)
        everything += [r for rs in runs.values() for r in rs]
    print(f"  {load_note(everything)}")
    if verdicts:
        print(f"  all client-bound targets: {verdict(all(verdicts))}")


if __name__ == "__main__":
    main()
