"""The Python blocks of the README and of the docs site's pages (docs/) as a user pastes them.

Each block either starts with ``# fragment`` (a part of a program) or is a complete
program. Every complete program runs, in its own process, against the sandbox (also in
its own process, reached through ``XPORTCN_BASE_URL`` and the ``XPORTCN_*`` credentials, the
way the quickstart tells a user to), and passes ``mypy --strict`` (all in one mypy run).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.sandbox_process import sandbox_process
from xportcn_async.sandbox.core import DEMO_CREDENTIALS

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").rglob("*.md"))]
FRAGMENT = "# fragment"


def python_blocks(page: Path) -> list[tuple[int, str]]:
    """(line number, code) of every ```python block of ``page``, dedented."""
    text = page.read_text(encoding="utf-8")
    blocks = []
    for match in re.finditer(r"^([ \t]*)```python\n(.*?)^[ \t]*```", text, re.S | re.M):
        line = text.count("\n", 0, match.start()) + 1
        blocks.append((line, textwrap.dedent(match.group(2))))
    return blocks


class Program(NamedTuple):
    page: Path
    line: int
    code: str

    @property
    def label(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def filename(self) -> str:
        """A file name that is a distinct module name for each program (for one mypy run)."""
        stem = re.sub(r"\W", "_", str(self.page.relative_to(ROOT).with_suffix(""))).lower()
        return f"{stem}_line_{self.line}.py"


def complete_programs(page: Path) -> list[Program]:
    return [
        Program(page, line, code)
        for line, code in python_blocks(page)
        if not code.startswith(FRAGMENT)
    ]


def distinct(programs: list[Program]) -> list[Program]:
    """A program shown on two pages (the quickstart) is run and checked once."""
    return list({program.code: program for program in reversed(programs)}.values())[::-1]


README_PROGRAMS = complete_programs(README)
PROGRAMS = distinct([program for page in PAGES for program in complete_programs(page)])


def test_the_readme_and_docs_have_complete_programs_and_marked_fragments() -> None:
    assert len(README_PROGRAMS) >= 2  # the Quickstart and its sandbox variant
    assert "## Quickstart" in README.read_text(encoding="utf-8")
    blocks = [block for page in PAGES for block in python_blocks(page)]
    assert any(code.startswith(FRAGMENT) for _, code in blocks)


def test_the_readme_links_to_files_that_exist() -> None:
    """The README's links into docs/ (the site's pages, as a repository browser shows them)."""
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README.read_text(encoding="utf-8"))
    local = [t for t in targets if "://" not in t]
    assert any(t.startswith("docs/") for t in local)
    assert [t for t in local if not (ROOT / t).exists()] == []


def test_the_docs_pages_have_complete_programs_too() -> None:
    docs_programs = [p for p in PROGRAMS if p.page != README]
    # the models, errors, bulk booking and transports pages each have one at least
    assert {p.page.name for p in docs_programs} >= {
        "models.md",
        "errors.md",
        "bulk.md",
        "transports.md",
    }


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


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.label for p in PROGRAMS])
def test_each_complete_program_runs_against_the_sandbox(
    tmp_path: Path, sandbox_env: dict[str, str], program: Program
) -> None:
    path = tmp_path / program.filename
    path.write_text(program.code, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(path)],
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
    code = README_PROGRAMS[0].code
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
    for program in PROGRAMS:
        path = tmp_path / program.filename
        path.write_text(program.code, encoding="utf-8")
        files.append(str(path))
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", *files],
        cwd=ROOT,  # the project's configuration and its warm cache
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
