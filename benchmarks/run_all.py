"""Run the four benchmarks in sequence with their default sizes (``make bench``).

Each runs in its own process with this interpreter; its output is printed as it comes. Takes
about three and a half minutes on two cores. Exits with the first non-zero exit code, if any
(a missed target is not an error: it is printed as ``MISSED``).

    python benchmarks/run_all.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = (
    ("1. throughput against a raw aiohttp loop", "bench_throughput.py"),
    ("2. latency-bound efficiency", "bench_latency.py"),
    ("3. per-call SDK overhead", "bench_overhead.py"),
    ("4. memory of a huge bulk booking", "bench_memory.py"),
)


def main() -> int:
    print(
        f"xportcn-async benchmarks: Python {sys.version.split()[0]}, {os.cpu_count()} CPU "
        f"core(s), {time.strftime('%Y-%m-%d %H:%M')}",
        flush=True,
    )
    failed = 0
    for title, script in SCRIPTS:
        print(f"\n== {title} ({script})", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, str(HERE / script)])
        print(f"   ({time.monotonic() - started:.0f} s, exit code {code})", flush=True)
        failed = failed or code
    return failed


if __name__ == "__main__":
    sys.exit(main())
