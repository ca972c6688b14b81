"""The webhook inbox benchmark's smoke mode runs (figures are in benchmarks/README.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_webhook_inbox.py"
PROFILE = SCRIPT.with_name("profile_webhook_inbox_ack.py")


def test_the_webhook_inbox_benchmark_runs() -> None:
    pinned = ["--receiver-cpus", "0", "--client-cpus", "0"]
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--json"]
        + (pinned if hasattr(os, "sched_setaffinity") else []),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report = json.loads(done.stdout)
    assert set(report["load_average"]) == {"before", "after"}
    results = report["results"]
    expected = {"memory (not durable)", "SQLite FULL", "SQLite NORMAL"}
    if os.environ.get("XPORTCN_TEST_POSTGRES_URL"):
        expected.add("PostgreSQL")
    assert set(results) == expected
    for name, figures in results.items():
        assert figures["failed"] == 0, name
        assert figures["sent"] == 25 and figures["accepted_per_s"] > 0, name


def test_the_ack_profile_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(PROFILE), "NORMAL", "--rate", "50", "--seconds", "0.2"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert done.stdout.startswith("NORMAL add p50 ") and "writes each" in done.stdout
