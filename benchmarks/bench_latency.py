"""Benchmark 2: latency-bound efficiency, against Little's law.

The server holds every request for a fixed latency, 50 ms. With C bookings in flight, each
taking at least that long, no client can book faster than C / latency (Little's law): at
C = 100, 2,000 bookings/s. Each side runs in a fresh client process pinned to one core, the
server to the other; each run books a warm-up first, then times N bookings. Runs are
interleaved as in benchmark 1.

- The target part runs against the stub server (``stub_server.py --latency``): what it
  measures is the client's ability to keep C bookings in flight. The sandbox spends 200-300 µs
  of CPU per request; 100 requests that arrive together wait up to 25 ms in its queue, which
  no client can help.
- Then, unless ``--no-search``, for each side: the highest bound (raising the concurrency at
  the same latency, against the stub) at which it still reaches 90 % of the bound on this
  machine.
- End to end (no target, ``--e2e-repeats``): the same runs against the sandbox.

Target (issue 10): ``book_many`` at least 95 % of the bound at concurrency 100 and 50 ms.

    python benchmarks/bench_latency.py [--sides sdk-aiohttp,sdk-httptools,raw-aiohttp]
        [--bookings 10000]
        [--concurrency 100] [--latency 0.05] [--repeats 3] [--e2e-repeats 3]
        [--ladder 25 50 100 150 ... 1200] [--no-search] [--smoke]
"""

from __future__ import annotations

import argparse

from _common import BASELINE_SIDE, Run, load_note, measure_sides, median, smoke_note, verdict
from sides import Side, parse_sides

TARGET = 0.95
SEARCH_LEVEL = 0.90


def search(
    sides: list[Side], args: argparse.Namespace, everything: list[Run]
) -> dict[str, float | None]:
    """The highest bound of ``args.ladder`` at which each side reaches ``SEARCH_LEVEL`` (best
    of two interleaved runs per step); a side drops out at its first miss."""
    reached: dict[str, float | None] = {s.name: None for s in sides}
    left = list(sides)
    for c in args.ladder:
        if not left:
            break
        bound = c / args.latency
        count = max(args.bookings, int(30 * c))
        runs = measure_sides(
            left, "stub", c, args.search_repeats, count, smoke=args.smoke, latency=args.latency
        )
        everything += [r for rs in runs.values() for r in rs]
        shares = {name: max(r.rate for r in rs) / bound for name, rs in runs.items()}
        print(
            f"    bound {bound:>7,.0f}/s (concurrency {c:>4}): "
            + ", ".join(f"{s.label} {shares[s.name]:.0%}" for s in left)
        )
        for side in list(left):
            if shares[side.name] >= SEARCH_LEVEL:
                reached[side.name] = bound
            else:
                left.remove(side)
    return reached


def shares(
    sides: list[Side], runs: dict[str, list[Run]], bound: float, *, targets: bool
) -> list[bool]:
    """Print each side's share of the bound; the verdicts of the targets, if checked."""
    verdicts = []
    for side in sides:
        rates = [r.rate for r in runs[side.name]]
        line = (
            f"    {side.label:<34} median {median(rates):>7,.0f}/s = "
            f"{median(rates) / bound:6.1%} of the bound (best {max(rates) / bound:.1%}); "
            f"client CPU {median([r.client_us for r in runs[side.name]]):.0f} µs/booking"
        )
        if targets and side.kind == "sdk":
            ok = median(rates) / bound >= TARGET
            verdicts.append(ok)
            line += f"; target >= {TARGET:.0%}: {verdict(ok)}"
        print(line)
    return verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sides", default=f"sdk-aiohttp,sdk-httptools,{BASELINE_SIDE}")
    parser.add_argument("--bookings", type=int, default=10_000, help="timed, per run")
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request")
    parser.add_argument("--repeats", type=int, default=3, help="runs per side")
    parser.add_argument("--e2e-repeats", type=int, default=3, help="0: no end-to-end runs")
    parser.add_argument(
        "--ladder", type=int, nargs="+", default=[25, 50, 100, 150, 200, 300, 400, 600, 800, 1200]
    )
    parser.add_argument("--search-repeats", type=int, default=2)
    parser.add_argument("--no-search", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, no targets")
    args = parser.parse_args()
    if args.smoke:
        args.bookings, args.concurrency, args.latency, args.repeats = 20, 5, 0.01, 1
        args.e2e_repeats = 1
        args.ladder, args.search_repeats = [5, 10], 1
    sides = parse_sides(args.sides)
    n, c, latency = args.bookings, args.concurrency, args.latency
    bound = c / latency

    print(f"latency-bound efficiency: the server holds every request {latency * 1000:g} ms")
    smoke_note(args.smoke)
    print(
        f"  concurrency {c}: bound {c} / {latency:g} s = {bound:,.0f} bookings/s (Little's law); "
        f"{n:,} timed bookings per run after a warm-up, {args.repeats} repeat(s), interleaved"
    )
    print("  client-bound: the stub server")
    runs = measure_sides(sides, "stub", c, args.repeats, n, smoke=args.smoke, latency=latency)
    everything = [r for rs in runs.values() for r in rs]
    verdicts = shares(sides, runs, bound, targets=not args.smoke)
    if args.e2e_repeats:
        print(f"  end to end: the sandbox (a fresh one per repeat), {args.e2e_repeats} repeat(s)")
        runs = measure_sides(
            sides, "sandbox", c, args.e2e_repeats, n, smoke=args.smoke, latency=latency
        )
        everything += [r for rs in runs.values() for r in rs]
        shares(sides, runs, bound, targets=False)
    if not args.no_search:
        print(
            f"  highest bound at which each side still reaches {SEARCH_LEVEL:.0%} "
            f"({latency * 1000:g} ms, concurrency raised step by step):"
        )
        reached = search(sides, args, everything)
        for side in sides:
            top = reached[side.name]
            print(
                f"    {side.label:<34} "
                + (f"{top:,.0f} bookings/s" if top else f"below {args.ladder[0] / latency:,.0f}/s")
            )
    print(f"  {load_note(everything)}")
    if verdicts:
        print(f"  target: {verdict(all(verdicts))}")


if __name__ == "__main__":
    main()
