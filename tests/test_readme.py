"""The README's Python blocks as a user pastes them.

Each block either starts with ``# fragment`` (a part of a program) or is a complete
program. Every complete program runs, in its own process, against the sandbox (also in
its own process, reached through ``XPORTCN_BASE_URL`` and the ``XPORTCN_*`` credentials, the
way the README tells a user to), and passes ``mypy --strict``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sandbox_process import sandbox_process
from xportcn_async.sandbox.core import DEMO_CREDENTIALS

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
FRAGMENT = "# fragment"


def python_blocks() -> list[tuple[int, str]]:
    """(line number, code) of every ```python block, dedented."""
    text = README.read_text(encoding="utf-8")
    blocks = []
    for match in re.finditer(r"^([ \t]*)```python\n(.*?)^[ \t]*```", text, re.S | re.M):
        line = text.count("\n", 0, match.start()) + 1
        blocks.append((line, textwrap.dedent(match.group(2))))
    return blocks


def complete_programs() -> list[tuple[int, str]]:
    return [(line, code) for line, code in python_blocks() if not code.startswith(FRAGMENT)]


PROGRAMS = complete_programs()


def test_the_readme_has_complete_programs_and_marked_fragments() -> None:
    blocks = python_blocks()
    assert len(PROGRAMS) >= 2  # the Quickstart and its sandbox variant
    assert len(blocks) > len(PROGRAMS)
    assert "## Quickstart" in README.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def sandbox_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with sandbox_process(tmp_path_factory.mktemp("sandbox")) as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("XPORTCN_")}
        env.update(
            XPORTCN_BASE_URL=url,
            XPORTCN_ACCESS_KEY=DEMO_CREDENTIALS.access_key,
            XPORTCN_ACCESS_SECRET=DEMO_CREDENTIALS.access_secret,
            XPORTCN_USER_ID=DEMO_CREDENTIALS.user_id or "",
        )
        yield env


@pytest.mark.parametrize(("line", "code"), PROGRAMS, ids=[f"line {n}" for n, _ in PROGRAMS])
def test_each_complete_program_runs_against_the_sandbox(
    tmp_path: Path, sandbox_env: dict[str, str], line: int, code: str
) -> None:
    program = tmp_path / f"readme_line_{line}.py"
    program.write_text(code, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(program)],
        env=sandbox_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()  # every program shows its result


def test_the_quickstart_books_an_order_at_the_price_the_readme_gives(
    tmp_path: Path, sandbox_env: dict[str, str]
) -> None:
    code = PROGRAMS[0][1]
    assert "Credentials.from_env()" in code and "client.logistics.book(" in code
    program = tmp_path / "quickstart.py"
    program.write_text(code, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(program)], env=sandbox_env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    freight, booking = done.stdout.splitlines()
    price = re.search(r"order at `([0-9.]+ USD)`", README.read_text(encoding="utf-8"))
    assert price and freight == f"freight: {price.group(1)}"
    assert re.fullmatch(r"\S+ \['[A-Z0-9]+'\] [0-9a-f]+", booking)


def test_every_complete_program_passes_mypy_strict(tmp_path: Path) -> None:
    files = []
    for line, code in PROGRAMS:
        path = tmp_path / f"readme_line_{line}.py"
        path.write_text(code, encoding="utf-8")
        files.append(str(path))
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", *files],
        cwd=ROOT,  # the project's configuration and its warm cache
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
