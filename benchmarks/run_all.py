"""Run every benchmark in sequence (``make bench``), or every smoke mode (``--smoke``).

Each runs in its own process with this interpreter; its output is printed as it comes. The
full run takes 15-20 minutes on two cores, most of it the 1,000,000 bookings of the
memory benchmark. Exits with the first non-zero exit code, if any (a missed target is not an
error: it is printed as ``MISSED``).

    python benchmarks/run_all.py [--smoke]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCRIPTS = (
    ("1. client CPU and throughput against a raw aiohttp loop", "bench_throughput.py"),
    ("2. latency-bound efficiency", "bench_latency.py"),
    ("3. per-call SDK overhead", "bench_overhead.py"),
    ("4. memory of a huge bulk booking", "bench_memory.py"),
)


def commit() -> str:
    try:
        return subprocess.run(
            ["git", "log", "-1", "--format=%h %s"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip()
    except OSError:
        return "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="every benchmark's smoke mode")
    args = parser.parse_args()
    extra = ["--smoke"] if args.smoke else []
    print(
        f"xportcn-async benchmarks{' (smoke)' if args.smoke else ''}: Python "
        f"{sys.version.split()[0]}, {os.cpu_count()} CPU core(s), "
        f"{time.strftime('%Y-%m-%d %H:%M')}, commit {commit()}, load average "
        f"{os.getloadavg()[0]:.2f}",
        flush=True,
    )
    failed = 0
    for title, script in SCRIPTS:
        print(f"\n== {title} ({script})", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, str(HERE / script), *extra])
        print(f"   ({time.monotonic() - started:.0f} s, exit code {code})", flush=True)
        failed = failed or code
    return failed


if __name__ == "__main__":
    sys.exit(main())
