"""The command line runs on uvloop when it is installed (the ``fast`` extra), unless
``XPORTCN_UVLOOP=0``; a booking run works on it."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from xportcn_async.cli import main
from xportcn_async.commands import loop
from xportcn_async.examples import example_lines


async def running_loop() -> str:
    return type(asyncio.get_running_loop()).__module__.split(".")[0]


@pytest.fixture(autouse=True)
def no_uvloop_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(loop.ENV_UVLOOP, raising=False)


def test_uvloop_when_installed() -> None:
    assert loop.loop_name() == "uvloop"
    assert loop.run(running_loop()) == "uvloop"


@pytest.mark.parametrize("value", ["0", "false", "off", "No"])
def test_xportcn_uvloop_0_keeps_asyncio(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(loop.ENV_UVLOOP, value)
    assert loop.loop_name() == "asyncio"
    assert loop.run(running_loop()) == "asyncio"


def test_without_uvloop_asyncio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as if not installed
    assert loop.loop_name() == "asyncio"
    assert loop.run(running_loop()) == "asyncio"


@pytest.mark.parametrize(
    "transport",
    [
        "aiohttp",
        pytest.param("httptools", marks=pytest.mark.httptools),
        pytest.param("reqwest", marks=pytest.mark.reqwest),
    ],
)
def test_a_sandbox_booking_run_on_uvloop_with_each_transport(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, transport: str
) -> None:
    seen: list[str] = []
    real_run = loop.run

    def spy(main_coroutine: Coroutine[Any, Any, int]) -> int:
        async def wrapped() -> int:
            seen.append(await running_loop())
            return await main_coroutine

        return real_run(wrapped())

    monkeypatch.setattr(loop, "run", spy)
    monkeypatch.setenv("XPORTCN_TRANSPORT", transport)
    orders = tmp_path / "orders.jsonl"
    orders.write_text("".join(example_lines(5)), encoding="utf-8")
    assert main(["book", str(orders), "--sandbox", "--fresh"]) == 0
    results = [
        json.loads(line) for line in orders.with_suffix(".results.jsonl").read_text().splitlines()
    ]
    assert len(results) == 5 and all(r["status"] == "booked" for r in results)
    assert seen == ["uvloop"]


def test_a_booking_run_on_uvloop_outside_the_main_thread(tmp_path: Path) -> None:
    # No Ctrl-C handling there (uvloop refuses signal handlers with ValueError, asyncio with
    # RuntimeError), but the run itself works: an application may run the CLI in a thread.
    orders = tmp_path / "orders.jsonl"
    orders.write_text("".join(example_lines(3)), encoding="utf-8")
    with ThreadPoolExecutor(1) as thread:
        code = thread.submit(main, ["book", str(orders), "--sandbox", "--fresh"]).result()
    assert code == 0
    lines = orders.with_suffix(".results.jsonl").read_text().splitlines()
    assert [json.loads(line)["status"] for line in lines] == ["booked"] * 3
