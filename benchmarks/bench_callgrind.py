"""Optional: CPU instructions per booking under ``valgrind --tool=callgrind``, noise-free.

Wall-clock and CPU-time figures on a shared machine swing from run to run; an instruction
count does not. Each side runs twice under callgrind against the stub server (not under
valgrind, on the other core): once booking ``--small`` orders and once ``--large``, after the
same warm-up and with the same orders built, so that start-up, imports and set-up cancel out:
instructions per booking = (I(large) − I(small)) / (large − small). Instructions are not time
(a cache miss costs more than an add), but a change in the hot path moves them the same way
every time. No target: the figure is for comparing commits and sides.

Slow: valgrind runs Python about 50 times slower (about 2 minutes per side with the default
sizes). Not part of ``make bench``.

    python benchmarks/bench_callgrind.py [--sides sdk-aiohttp,sdkbook-aiohttp,raw-aiohttp]
                                         [--small 50] [--large 250] [--concurrency 10]
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from pathlib import Path

from _common import BASELINE_SIDE, DEFAULT_SIDES, cores, run_side, server_process, smoke_note
from sides import parse_sides


def instructions(out_file: Path) -> int:
    """The total instruction count (``Ir``) of a callgrind output file."""
    text = out_file.read_text(errors="replace")
    found = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.MULTILINE)
    if found is None:
        raise RuntimeError(f"no instruction total in {out_file}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sides", default=DEFAULT_SIDES)
    parser.add_argument("--small", type=int, default=50, help="timed bookings, first run")
    parser.add_argument("--large", type=int, default=250, help="timed bookings, second run")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (still ~1 min)")
    args = parser.parse_args()
    if args.smoke:
        args.sides, args.small, args.large, args.concurrency = BASELINE_SIDE, 2, 6, 2
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed")
    sides = parse_sides(args.sides)
    client_core, server_core = cores()
    warmup = 2 * args.concurrency
    print(
        f"instructions per booking under callgrind: {args.large} − {args.small} bookings, "
        f"concurrency {args.concurrency}, stub server"
    )
    smoke_note(args.smoke)
    counts: dict[str, float] = {}
    with (
        tempfile.TemporaryDirectory(prefix="xportcn-callgrind-") as tmp,
        server_process("stub", cpu=server_core) as server,
    ):
        for side in sides:
            totals = []
            for count in (args.small, args.large):
                out = Path(tmp) / f"{side.name}.{count}.out"
                run_side(
                    side.name, server, count=count, concurrency=args.concurrency, warmup=warmup,
                    cpu=client_core, tag=f"cg{count}", build=warmup + args.large,
                    wrapper=["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"],
                )  # fmt: skip
                totals.append(instructions(out))
            counts[side.name] = (totals[1] - totals[0]) / (args.large - args.small)
            print(f"    {side.label:<34} {counts[side.name] / 1e6:8.2f} M instructions/booking")
    if BASELINE_SIDE in counts:
        base = counts[BASELINE_SIDE]
        for side in sides:
            if side.name != BASELINE_SIDE:
                print(f"    {side.label:<34} {counts[side.name] / base:8.2f}x the raw loop")


if __name__ == "__main__":
    main()
