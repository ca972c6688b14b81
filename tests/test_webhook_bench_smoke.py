"""The webhook inbox benchmark's smoke mode runs (figures are in benchmarks/README.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_webhook_inbox.py"


def test_the_webhook_inbox_benchmark_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    results = json.loads(done.stdout)
    expected = {"memory (not durable)", "SQLite FULL", "SQLite NORMAL"}
    if os.environ.get("XPORTCN_TEST_POSTGRES_URL"):
        expected.add("PostgreSQL")
    assert set(results) == expected
    for name, figures in results.items():
        assert figures["failed"] == 0, name
        assert figures["sent"] == 25 and figures["accepted_per_s"] > 0, name
