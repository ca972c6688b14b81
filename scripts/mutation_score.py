"""The mutation score per module, from the results `mutmut run` leaves in mutants/.

    python scripts/mutation_score.py [--min 90] [--survivors]

A mutant counts as killed when a test failed or timed out with it. The score is killed /
(killed + survived + no tests): a mutant that no selected test reaches counts against the
module, not for it. (Mutants that mutmut's type-check filter rejects, if it is turned on,
count neither way.)
``--min`` exits 1 when a module scores lower; ``--survivors`` lists the surviving mutants
(``mutmut show NAME`` prints one's diff).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

# mutmut's exit codes (mutmut.stats.status_by_exit_code), grouped for the score.
KILLED = {1, 3, 36, 24, -24, 152, 255}  # a test failed, pytest broke, or a timeout
SURVIVED = {0}
NO_TESTS = {5, 33}
TYPE_ERROR = {37}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min", type=float, default=0.0, help="lowest acceptable score, %%")
    parser.add_argument("--survivors", action="store_true", help="list surviving mutants")
    parser.add_argument("--dir", type=Path, default=Path("mutants"))
    args = parser.parse_args()

    metas = sorted(args.dir.rglob("*.py.meta"))
    if not metas:
        print(f"no results under {args.dir}/: run `make mutation` first", file=sys.stderr)
        return 2
    rows = []
    survivors: list[str] = []
    for meta in metas:
        codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        module = str(meta.relative_to(args.dir)).removesuffix(".meta")
        counts: Counter[str] = Counter()
        for name, code in codes.items():
            if code in KILLED:
                counts["killed"] += 1
            elif code in SURVIVED:
                counts["survived"] += 1
                survivors.append(name)
            elif code in NO_TESTS:
                counts["no tests"] += 1
                survivors.append(name)
            elif code in TYPE_ERROR:
                counts["type error"] += 1
            else:  # not run yet, interrupted, suspicious, segfault
                counts["other"] += 1
        scored = counts["killed"] + counts["survived"] + counts["no tests"]
        if scored:  # else not run (`make mutation MUTANTS=...` ran other modules)
            rows.append((module, 100.0 * counts["killed"] / scored, counts))

    print(
        f"{'module':<36} {'score':>6} {'killed':>7} {'survived':>9} {'no tests':>9}"
        f" {'type error':>11} {'other':>6}"
    )
    for module, score, c in rows:
        print(
            f"{module:<36} {score:>5.1f}% {c['killed']:>7} {c['survived']:>9} {c['no tests']:>9}"
            f" {c['type error']:>11} {c['other']:>6}"
        )
    if args.survivors:
        print("\nsurvivors (`mutmut show NAME`):")
        for name in survivors:
            print(f"  {name}")
    low = [module for module, score, _ in rows if score < args.min]
    if low:
        print(f"\nbelow {args.min:g} %: {', '.join(low)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
