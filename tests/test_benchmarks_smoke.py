"""Every benchmark's smoke mode runs to the end: a benchmark that crashes fails the suite.

The smoke modes use tiny sizes and check no target (no timing threshold here, ever); they run
the real thing: client processes, the stub server and the sandbox over HTTP on 127.0.0.1.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from _common import run_side, server_process  # noqa: E402
from sides import parse_side, parse_sides, raw_signature  # noqa: E402


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("bench_throughput.py", ["SDK book_many, aiohttp", "raw loop, aiohttp", "end-to-end"]),
        ("bench_latency.py", ["of the bound", "highest bound"]),
        ("bench_overhead.py", ["xportcn-async book()"]),
        ("bench_memory.py", ["peak RSS"]),
    ],
)
def test_smoke_mode_runs_to_the_end(script: str, expected: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--smoke"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "smoke mode" in done.stdout
    for text in expected:
        assert text in done.stdout, done.stdout
    assert ": met" not in done.stdout  # no target is checked in smoke mode
    assert "MISSED" not in done.stdout


def test_raw_loop_signs_as_the_spec_says() -> None:
    # The test vector of API.md §2, against the hand-written signer of the raw loop.
    assert (
        raw_signature(
            "ak-demo-0001", "1732665600000", "N0nceN0nceN0nceN0nceN0nceN0nce12", "sk-demo-secret"
        )
        == "DF94144C525D31C3312F82BF51979356"
    )


def test_side_names_parse_into_kind_client_and_options() -> None:
    side = parse_side("raw-aiohttp+orjson")
    assert (side.kind, side.client, side.options) == ("raw", "aiohttp", ("orjson",))
    assert [s.kind for s in parse_sides("sdk-aiohttp, sdkbook-aiohttp,raw-aiohttp")] == [
        "sdk",
        "sdkbook",
        "raw",
    ]
    for bad in ("sdk-nope", "fast-aiohttp", "raw-aiohttp+turbo"):
        with pytest.raises(ValueError):
            parse_side(bad)


@pytest.mark.parametrize(
    ("side", "library"), [("sdk-aiohttp", "stdlib"), ("sdk-aiohttp+orjson", "orjson")]
)
def test_an_sdk_side_uses_the_json_library_its_name_says(side: str, library: str) -> None:
    # Whether orjson is installed (it is, in the test environment) does not decide: the side
    # does, so that `sdk-aiohttp` always measures the default set-up.
    with server_process("stub", cpu=None) as server:
        run = run_side(side, server, count=4, concurrency=2, warmup=2, cpu=None, tag="json")
    assert run.json_library == library


@pytest.mark.reqwest
def test_the_reqwest_transport_is_a_side() -> None:
    # The fast transport (the `fast` extra) in the throughput benchmark, end to end.
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_throughput.py"), "--smoke", "--sides",
         "sdk-reqwest,raw-reqwest,raw-aiohttp"],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "SDK book_many, reqwest" in done.stdout
    assert "raw loop, reqwest" in done.stdout


@pytest.mark.httptools
def test_the_httptools_transport_is_a_side() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_throughput.py"), "--smoke", "--sides",
         "sdk-httptools,raw-aiohttp"],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "SDK book_many, httptools" in done.stdout


def test_the_workers_benchmark_smoke_mode_runs_to_the_end(postgres_url: str) -> None:
    script = str(BENCHMARKS / "bench_workers.py")
    done = subprocess.run(
        [sys.executable, script, "--smoke", "--postgres-url", postgres_url],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "smoke mode" in done.stdout
    for text in ("of the bound", "PostgreSQL", "JSONL", "per booking"):
        assert text in done.stdout, done.stdout
