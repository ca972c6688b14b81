"""The ``xportcn`` command line, as a user runs it."""

from __future__ import annotations

import io
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from xportcn_async.bulk import BookingInput, BookingOutcome, Journal
from xportcn_async.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_LINES = (ROOT / "examples" / "orders.jsonl").read_text(encoding="utf-8").splitlines()


def write_orders(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_results(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_book_against_the_sandbox_books_every_order_and_prints_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = write_orders(tmp_path / "orders.jsonl", EXAMPLE_LINES[:40])
    out = tmp_path / "results.jsonl"
    code = main(["book", str(orders), "--sandbox", "--out", str(out), "--concurrency", "8"])
    captured = capsys.readouterr()
    assert code == 0
    results = read_results(out)
    assert len(results) == 40
    assert sorted(r["line"] for r in results) == list(range(1, 41))  # type: ignore[type-var]
    assert all(r["status"] == "booked" and r["order_id"] and r["tracking_numbers"] for r in results)
    assert "Summary" in captured.out and "booked      40" in captured.out
    assert "throughput" in captured.out and "p99" in captured.out


def test_a_malformed_line_is_reported_with_its_line_number_and_the_others_go_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = EXAMPLE_LINES[:5]
    lines[1] = '{"tmallOrderInfo": {"tmallOrderId": "1"}, "lineItems": ['  # cut short
    bad_quantity = json.loads(EXAMPLE_LINES[5])
    bad_quantity["lineItems"][0]["quantity"] = 0
    lines.insert(3, "")  # blank lines are ignored
    lines.append(json.dumps(bad_quantity))
    orders = write_orders(tmp_path / "orders.jsonl", lines)
    out = tmp_path / "results.jsonl"
    code = main(["book", str(orders), "--sandbox", "--out", str(out), "--ordered"])
    capsys.readouterr()
    assert code == 1  # not everything was booked
    results = read_results(out)
    assert [r["line"] for r in results] == [1, 2, 3, 5, 6, 7]
    assert [r["status"] for r in results] == [
        "booked",
        "rejected",
        "booked",
        "booked",
        "booked",
        "rejected",
    ]
    assert "line 2" in str(results[1]["error"]) and "not JSON" in str(results[1]["error"])
    assert "line_items[0].quantity" in str(results[5]["error"])


def test_journal_resume_skips_what_was_booked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = write_orders(tmp_path / "orders.jsonl", EXAMPLE_LINES[:10])
    journal = tmp_path / "run.journal"
    out = tmp_path / "results.jsonl"
    args = ["book", str(orders), "--sandbox", "--journal", str(journal), "--out", str(out)]
    assert main(args) == 0
    # the same journal again needs --resume, so that nobody continues one by accident
    assert main(args) == 2
    assert "--resume" in capsys.readouterr().err
    # (each --sandbox run has a fresh sandbox, so only the journal knows what was booked)
    assert main([*args, "--resume"]) == 0
    assert {r["status"] for r in read_results(out)} == {"skipped"}


def test_bad_options_and_missing_credentials_exit_2_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["book", str(tmp_path / "missing.jsonl"), "--sandbox"]) == 2
    assert "no such file" in capsys.readouterr().err
    orders = write_orders(tmp_path / "orders.jsonl", EXAMPLE_LINES[:1])
    monkeypatch.delenv("XPORTCN_ACCESS_KEY", raising=False)
    monkeypatch.delenv("XPORTCN_ACCESS_SECRET", raising=False)
    assert main(["book", str(orders)]) == 2
    assert "XPORTCN_ACCESS_KEY" in capsys.readouterr().err
    assert not (tmp_path / "orders.results.jsonl").exists()  # nothing started


# -- review findings (2) ---------------------------------------------------------------------


def test_a_line_that_is_not_utf8_is_rejected_with_its_line_number_and_the_others_go_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [line.encode() for line in EXAMPLE_LINES[:4]]
    lines[2] = lines[2].replace(b'"', b'"\xfc', 1)  # a Latin-1 byte
    orders = tmp_path / "orders.jsonl"
    orders.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "results.jsonl"
    code = main(["book", str(orders), "--sandbox", "--out", str(out), "--ordered"])
    captured = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in captured.err
    results = read_results(out)
    assert [r["status"] for r in results] == ["booked", "booked", "rejected", "booked"]
    assert [r["line"] for r in results] == [1, 2, 3, 4]
    assert "line 3" in str(results[2]["error"]) and "not UTF-8" in str(results[2]["error"])
    assert "total       4" in captured.out


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--rate", "0"], "--rate"),
        (["--rate", "-1"], "--rate"),
        (["--rate", "nan"], "--rate"),
        (["--burst", "0"], "--burst"),
        (["--timeout", "0"], "--timeout"),
        (["--timeout", "-5"], "--timeout"),
        (["--concurrency", "0"], "--concurrency"),
    ],
)
def test_bad_numeric_options_exit_2_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: list[str], message: str
) -> None:
    orders = write_orders(tmp_path / "orders.jsonl", EXAMPLE_LINES[:1])
    assert main(["book", str(orders), "--sandbox", *option]) == 2
    err = capsys.readouterr().err
    assert f"xportcn: {message}" in err and "Traceback" not in err
    assert not (tmp_path / "orders.results.jsonl").exists()


def test_an_input_that_cannot_be_read_ends_the_run_with_a_summary_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from xportcn_async.commands import book

    real = book.read_bookings

    def failing_disk(fh: BinaryIO, line_numbers: dict[int, int]) -> Iterator[BookingInput]:
        for n, booking in enumerate(real(fh, line_numbers)):
            if n == 3:
                raise OSError(5, "Input/output error")
            yield booking

    monkeypatch.setattr(book, "read_bookings", failing_disk)
    orders = write_orders(tmp_path / "orders.jsonl", EXAMPLE_LINES[:10])
    out = tmp_path / "results.jsonl"
    code = main(["book", str(orders), "--sandbox", "--out", str(out), "--ordered"])
    captured = capsys.readouterr()
    assert code == 1
    assert "Summary" in captured.out
    last = captured.err.rstrip().splitlines()[-1]
    assert last.startswith(f"xportcn: cannot read the input {orders}: Input/output error; ")
    assert last.endswith("run the same command with --resume to finish")
    assert [r["status"] for r in read_results(out)] == ["booked"] * 3


def test_a_journal_that_cannot_be_written_ends_the_run_with_a_summary_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Journal.record
    records = 0

    async def full_disk(self: Journal, outcome: BookingOutcome) -> None:
        nonlocal records
        records += 1
        if records == 2:
            raise OSError(28, "No space left on device")
        await real(self, outcome)

    monkeypatch.setattr(Journal, "record", full_disk)
    orders = write_orders(tmp_path / "orders.jsonl", EXAMPLE_LINES[:10])
    journal = tmp_path / "run.journal"
    out = tmp_path / "results.jsonl"
    args = ["book", str(orders), "--sandbox", "--journal", str(journal), "--out", str(out)]
    code = main([*args, "--concurrency", "2"])
    captured = capsys.readouterr()
    assert code == 1
    assert "Summary" in captured.out and "Traceback" not in captured.err
    last = captured.err.rstrip().splitlines()[-1]
    assert last.startswith(f"xportcn: cannot write the journal {journal}: No space left on device")
    assert 2 <= len(read_results(out)) < 10  # it stopped taking new orders


@pytest.mark.skipif(sys.platform == "win32", reason="no journal lock without fcntl")
def test_a_journal_in_use_by_another_run_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = write_orders(tmp_path / "orders.jsonl", EXAMPLE_LINES[:3])
    path = tmp_path / "run.journal"
    out = tmp_path / "results.jsonl"
    out.write_text("the other run's results\n", encoding="utf-8")
    other_run = Journal(path)
    try:
        code = main(
            [
                "book",
                str(orders),
                "--sandbox",
                "--journal",
                str(path),
                "--resume",
                "--out",
                str(out),
            ]
        )
    finally:
        other_run.close()
    assert code == 2
    assert "is in use by another run" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "the other run's results\n"
    assert path.read_bytes() == b""


# -- issue 8: no data loss --------------------------------------------------------------------


def _same_file(kind: str, target: Path, link: Path) -> Path:
    if kind == "symlink":
        link.symlink_to(target)
    elif kind == "hardlink":
        link.hardlink_to(target)
    else:
        return target
    return link


@pytest.mark.parametrize("kind", ["same path", "symlink", "hardlink"])
def test_results_that_are_the_input_file_are_refused_and_the_input_is_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    orders = write_orders(tmp_path / "orders.jsonl", EXAMPLE_LINES[:5])
    before = orders.read_bytes()
    out = _same_file(kind, orders, tmp_path / "out.jsonl")
    assert main(["book", str(orders), "--sandbox", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"--out {out} is the same file as the input" in err
    assert orders.read_bytes() == before


@pytest.mark.parametrize("kind", ["same path", "symlink", "hardlink"])
def test_a_journal_that_is_the_input_file_is_refused_even_with_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    orders = write_orders(tmp_path / "orders.jsonl", EXAMPLE_LINES[:5])
    before = orders.read_bytes()
    journal = _same_file(kind, orders, tmp_path / "run.journal")
    args = ["book", str(orders), "--sandbox", "--journal", str(journal), "--resume"]
    assert main(args) == 2
    assert f"--journal {journal} is the same file as the input" in capsys.readouterr().err
    assert orders.read_bytes() == before
    assert not (tmp_path / "orders.results.jsonl").exists()


@pytest.mark.parametrize("kind", ["same path", "symlink"])
def test_a_journal_that_is_the_results_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    orders = write_orders(tmp_path / "orders.jsonl", EXAMPLE_LINES[:5])
    out = tmp_path / "results.jsonl"
    journal = _same_file(kind, out, tmp_path / "run.journal")  # neither exists yet
    assert (
        main(["book", str(orders), "--sandbox", "--out", str(out), "--journal", str(journal)]) == 2
    )
    assert "is the same file as --out" in capsys.readouterr().err
    assert not out.exists()


def _journal_records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_results_file_that_fails_lets_in_flight_bookings_finish_into_the_journal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = write_orders(tmp_path / "orders.jsonl", EXAMPLE_LINES[:60])
    out = tmp_path / "results.jsonl"
    out.symlink_to("/dev/full")  # every write fails: disk full
    journal = tmp_path / "results.journal.jsonl"
    args = ["book", str(orders), "--sandbox", "--out", str(out), "--journal", str(journal)]
    code = main([*args, "--concurrency", "8"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("cannot write the results") == 1
    assert f"cannot write the results to {out}: No space left on device" in err
    records = _journal_records(journal)
    started = {r["key"] for r in records if r["status"] == "started"}
    finished = {r["key"] for r in records if r["status"] != "started"}
    # every booking that was sent has its outcome in the journal: none was cancelled
    assert started and started == finished
    assert {r["status"] for r in records if r["status"] != "started"} == {"booked"}
    assert len(started) < 60  # it stopped taking new orders


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_without_a_journal_the_outcomes_that_could_not_be_written_are_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = write_orders(tmp_path / "orders.jsonl", EXAMPLE_LINES[:30])
    args = ["book", str(orders), "--sandbox", "--out", "/dev/full", "--no-journal"]
    assert main([*args, "--concurrency", "4"]) == 1
    err = capsys.readouterr().err
    printed = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert printed and all(r["status"] == "booked" and r["order_id"] for r in printed)


def test_the_journal_is_on_by_default_and_a_rerun_must_say_resume_or_fresh(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = write_orders(tmp_path / "orders.jsonl", EXAMPLE_LINES[:6])
    journal = tmp_path / "orders.results.journal.jsonl"
    assert main(["book", str(orders), "--sandbox"]) == 0
    summary = capsys.readouterr().out
    assert f"results     {tmp_path / 'orders.results.jsonl'}" in summary
    assert f"journal     {journal}" in summary
    first = journal.read_bytes()
    assert first.count(b'"booked"') == 6

    # the same command again: refused, nothing touched
    assert main(["book", str(orders), "--sandbox"]) == 2
    err = capsys.readouterr().err
    assert "--resume" in err and "--fresh" in err and str(journal) in err
    assert journal.read_bytes() == first

    # --resume: nothing is booked twice (each --sandbox run has a fresh sandbox)
    assert main(["book", str(orders), "--sandbox", "--resume"]) == 0
    results = read_results(tmp_path / "orders.results.jsonl")
    assert {r["status"] for r in results} == {"skipped"}

    # --fresh: the old journal is moved aside, never deleted
    resumed = journal.read_bytes()
    assert main(["book", str(orders), "--sandbox", "--fresh"]) == 0
    moved = [p for p in tmp_path.iterdir() if p.name.startswith("orders.results.journal.2")]
    assert len(moved) == 1 and moved[0].read_bytes() == resumed
    assert str(moved[0]) in capsys.readouterr().err
    assert journal.read_bytes().count(b'"booked"') == 6


def test_no_journal_keeps_none(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    orders = write_orders(tmp_path / "orders.jsonl", EXAMPLE_LINES[:3])
    assert main(["book", str(orders), "--sandbox", "--no-journal"]) == 0
    assert main(["book", str(orders), "--sandbox", "--no-journal"]) == 0
    assert "none (--no-journal)" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["orders.jsonl", "orders.results.jsonl"]


def test_the_makefile_demo_command_works_twice_in_a_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile[makefile.index("\ndemo:") :].splitlines()[2].split()
    assert recipe[0] == "$(BIN)/xportcn" and recipe[2] == "examples/orders.jsonl"
    (tmp_path / "examples").mkdir()
    write_orders(tmp_path / "examples" / "orders.jsonl", EXAMPLE_LINES[:20])
    monkeypatch.chdir(tmp_path)
    assert main(recipe[1:]) == 0
    assert main(recipe[1:]) == 0
    assert len(read_results(tmp_path / "examples" / "orders.results.jsonl")) == 20
    capsys.readouterr()


def test_a_failed_start_leaves_no_journal_behind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = write_orders(tmp_path / "orders.jsonl", EXAMPLE_LINES[:3])
    journal = tmp_path / "run.journal"
    bad_out = tmp_path / "missing-dir" / "results.jsonl"
    args = ["book", str(orders), "--sandbox", "--journal", str(journal)]
    assert main([*args, "--out", str(bad_out)]) == 2  # nothing was started
    err = capsys.readouterr().err
    assert f"cannot open the results file (--out) {bad_out}: No such file or directory" in err
    assert not journal.exists()
    assert main([*args, "--out", str(tmp_path / "results.jsonl")]) == 0  # not "journal exists"


def test_a_deeply_nested_line_is_rejected_with_its_line_number_and_later_lines_go_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [EXAMPLE_LINES[0], "[" * 100_000, '{"a": ' * 5_000, EXAMPLE_LINES[1]]
    orders = write_orders(tmp_path / "orders.jsonl", lines)
    out = tmp_path / "results.jsonl"
    assert main(["book", str(orders), "--sandbox", "--out", str(out), "--ordered"]) == 1
    err = capsys.readouterr().err
    results = read_results(out)
    assert [(r["line"], r["status"]) for r in results] == [
        (1, "booked"),
        (2, "rejected"),
        (3, "rejected"),
        (4, "booked"),
    ]
    assert "nested too deeply" in str(results[1]["error"])
    assert "line 2: rejected: not JSON that can be read: nested too deeply" in err


# -- issue 8: what a new user meets --------------------------------------------------------------


def test_example_orders_are_the_repository_examples_and_deterministic_by_seed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["example-orders", "25"]) == 0
    assert capsys.readouterr().out.splitlines() == EXAMPLE_LINES[:25]
    assert main(["example-orders", "5", "--seed", "7"]) == 0
    seven = capsys.readouterr().out
    assert main(["example-orders", "5", "--seed", "7"]) == 0
    assert capsys.readouterr().out == seven != "\n".join(EXAMPLE_LINES[:5]) + "\n"


def test_book_reads_standard_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    orders = write_orders(tmp_path / "orders.jsonl", EXAMPLE_LINES[:7])
    monkeypatch.chdir(tmp_path)
    with orders.open("rb") as fh:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(fh))
        assert main(["book", "-", "--sandbox"]) == 0
    assert len(read_results(tmp_path / "results.jsonl")) == 7
    assert (tmp_path / "results.journal.jsonl").exists()
    assert "booked      7" in capsys.readouterr().out


def test_a_directory_as_input_is_reported_as_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["book", str(tmp_path), "--sandbox"]) == 2
    assert f"{tmp_path} is a directory" in capsys.readouterr().err


def test_missing_credentials_suggest_the_sandbox(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XPORTCN_ACCESS_KEY", raising=False)
    orders = write_orders(tmp_path / "orders.jsonl", EXAMPLE_LINES[:1])
    assert main(["book", str(orders)]) == 2
    assert "--sandbox" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["orders.jsonl"]  # nothing created


def test_version_and_the_environment_variables_in_book_help(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import xportcn_async

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"xportcn {xportcn_async.__version__}"
    with pytest.raises(SystemExit):
        main(["book", "--help"])
    help_text = capsys.readouterr().out
    for name in ("XPORTCN_ACCESS_KEY", "XPORTCN_ACCESS_SECRET", "XPORTCN_USER_ID"):
        assert name in help_text
    assert "HTTP requests per second" in help_text
    assert "--sandbox-slow-seconds" in help_text.split("--sandbox-fault-slow P")[1]
    assert "API.md" not in help_text


@pytest.fixture(scope="module")
def sandbox_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from tests.sandbox_process import sandbox_process

    with sandbox_process(tmp_path_factory.mktemp("sandbox")) as url:
        yield url


def test_refused_credentials_stop_the_run_and_say_which_variables_were_read(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    sandbox_url: str,
) -> None:
    from xportcn_async.sandbox.core import DEMO_CREDENTIALS

    monkeypatch.setenv("XPORTCN_ACCESS_KEY", DEMO_CREDENTIALS.access_key)
    monkeypatch.setenv("XPORTCN_ACCESS_SECRET", "not-the-secret")
    monkeypatch.delenv("XPORTCN_USER_ID", raising=False)
    orders = write_orders(tmp_path / "orders.jsonl", EXAMPLE_LINES[:60])
    monkeypatch.setenv("XPORTCN_BASE_URL", sandbox_url)  # as a user points the CLI elsewhere
    code = main(["book", str(orders), "--concurrency", "2"])
    err = capsys.readouterr().err
    assert code == 1
    assert "refused the credentials (error 401)" in err
    assert "XPORTCN_ACCESS_KEY, XPORTCN_ACCESS_SECRET" in err
    assert "not-the-secret" not in err
    results = read_results(tmp_path / "orders.results.jsonl")
    # stopped after 5 in a row; what was in flight (2) or finished and not yet read (the
    # batch window, 2 more) still gets its outcome
    assert 5 <= len(results) <= 5 + 2 + 2
    assert {r["error_type"] for r in results} == {"AuthenticationError"}


def test_a_booked_order_means_the_credentials_work_and_the_run_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from xportcn_async.batch import Outcome, Status
    from xportcn_async.commands.book import CredentialWatch
    from xportcn_async.errors import AuthenticationError

    def outcome(status: Status, error: BaseException | None = None) -> BookingOutcome:
        return Outcome(index=0, key="k", item=None, status=status, error=error, attempts=1)  # type: ignore[arg-type]

    refused = AuthenticationError("signature does not match", http_status=401)
    watch = CredentialWatch(limit=3)
    assert not any(watch.refused(outcome(Status.REJECTED, refused)) for _ in range(2))
    assert not watch.refused(outcome(Status.FAILED))  # another error breaks the streak
    assert not watch.refused(outcome(Status.REJECTED, refused))
    assert not watch.refused(outcome(Status.REJECTED, refused))
    assert watch.refused(outcome(Status.REJECTED, refused))
    watch = CredentialWatch(limit=3)
    watch.refused(outcome(Status.BOOKED))
    assert not any(watch.refused(outcome(Status.REJECTED, refused)) for _ in range(5))


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def test_on_an_80_column_terminal_the_progress_and_summary_fit_the_width(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("NO_COLOR", raising=False)
    out, err = FakeTerminal(), FakeTerminal()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    lines = EXAMPLE_LINES[:40]
    lines[3] = "not json"
    orders = write_orders(tmp_path / "orders.jsonl", lines)
    assert main(["book", str(orders), "--sandbox"]) == 1
    screen = [ANSI.sub("", part) for part in re.split(r"[\r\n]", err.getvalue() + out.getvalue())]
    progress = [line for line in screen if "/40" in line]
    assert progress and "40/40" in progress[-1] and "booked 39, rejected 1" in progress[-1]
    table = [line for line in screen if line.startswith("│")]
    assert any("booked" in line and "39" in line for line in table)
    assert any("journal" in line for line in table)
    too_wide = [line for line in progress + table if len(line) > 80]
    assert not too_wide
    assert "line 4: rejected: not JSON" in err.getvalue()


def test_on_a_terminal_without_rich_it_prints_plain_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from xportcn_async.commands import display

    monkeypatch.setattr(display, "_rich", lambda: None)  # the `cli` extra is not installed
    out, err = FakeTerminal(), FakeTerminal()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    orders = write_orders(tmp_path / "orders.jsonl", EXAMPLE_LINES[:5])
    assert main(["book", str(orders), "--sandbox"]) == 0
    assert "5/5 done" in err.getvalue() and "\x1b[" not in err.getvalue()
    assert "  booked      5" in out.getvalue()


# -- review of issue 8: the CLI as a real process ------------------------------------------------

WAIT = 120.0
"""A bound on waiting for a child process (not a measurement): a test that reaches it fails."""


def xportcn(*args: str, **popen: Any) -> subprocess.Popen[bytes]:
    """``xportcn ARGS`` as a separate process, as a user runs it."""
    return subprocess.Popen(
        [sys.executable, "-m", "xportcn_async.cli", *args],
        stdout=popen.pop("stdout", subprocess.PIPE),
        stderr=popen.pop("stderr", subprocess.PIPE),
        **popen,
    )


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            _, err = proc.communicate()
            raise AssertionError(f"gave up waiting; exit {proc.returncode}: {err.decode()}")
        time.sleep(0.05)


def test_a_pipe_that_waits_for_its_next_line_stalls_nothing_and_ctrl_c_still_stops(
    tmp_path: Path,
) -> None:
    # A producer that sends three orders and then stays silent (streaming orders as they come):
    # the three are booked meanwhile, and Ctrl-C stops the run at once.
    proc = xportcn("book", "-", "--sandbox", stdin=subprocess.PIPE, cwd=tmp_path)
    assert proc.stdin is not None
    proc.stdin.write("".join(line + "\n" for line in EXAMPLE_LINES[:3]).encode())
    proc.stdin.flush()
    results = tmp_path / "results.jsonl"
    wait_for(lambda: results.exists() and len(read_results(results)) == 3, proc)
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=WAIT)  # with the pipe still open: no end of input to help
    finally:
        proc.stdin.close()
    assert proc.stdout is not None and proc.stderr is not None
    with proc.stdout, proc.stderr:
        err = proc.stderr.read()
    assert proc.returncode == 130, err.decode()
    assert [r["status"] for r in read_results(results)] == ["booked"] * 3
    journal = _journal_records(tmp_path / "results.journal.jsonl")
    assert [r["status"] for r in journal if r["status"] != "started"] == ["booked"] * 3


def test_sigterm_stops_like_ctrl_c_the_bookings_in_flight_finish_and_are_recorded(
    tmp_path: Path,
) -> None:
    # What a service manager or a container runtime sends: no new orders are started, the
    # ones in flight (held 2 s by the sandbox) finish and are recorded, and the exit status
    # says SIGTERM (143). Before, SIGTERM killed the process with its bookings in flight.
    proc = xportcn(
        "book", "-", "--sandbox", "--sandbox-latency", "2", stdin=subprocess.PIPE, cwd=tmp_path
    )
    assert proc.stdin is not None and proc.stderr is not None
    proc.stdin.write("".join(line + "\n" for line in EXAMPLE_LINES[:2]).encode())
    proc.stdin.flush()
    journal = tmp_path / "results.journal.jsonl"
    wait_for(lambda: journal.exists() and journal.read_bytes().count(b'"started"') == 2, proc)
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=WAIT)  # the pipe still open: no end of input
    finally:
        proc.stdin.close()
    assert proc.returncode == 143, err.decode()
    assert "stopping on SIGTERM: finishing in-flight bookings" in err.decode()
    assert [r["status"] for r in read_results(tmp_path / "results.jsonl")] == ["booked"] * 2
    assert [r["status"] for r in _journal_records(journal) if r["status"] != "started"] == [
        "booked"
    ] * 2


def test_lines_from_a_pipe_come_whole_across_chunks_and_the_last_may_lack_a_newline() -> None:
    import asyncio
    import os
    import threading

    from xportcn_async.commands.pipe import pipe_lines

    lines = [b"short\n", b"\n", b"x" * 200_000 + b"\n", b"a\n", b"last, no newline"]
    read_fd, write_fd = os.pipe()

    def produce() -> None:
        with os.fdopen(write_fd, "wb", buffering=0) as w:
            for line in lines:
                w.write(line)

    async def collect() -> list[bytes]:
        with os.fdopen(read_fd, "rb") as fh:
            return [line async for line in pipe_lines(fh)]

    producer = threading.Thread(target=produce)
    producer.start()
    try:
        assert asyncio.run(collect()) == lines
    finally:
        producer.join()


def test_a_reader_that_stops_early_is_no_error(tmp_path: Path) -> None:
    # `xportcn example-orders 100000 | head -1`
    proc = xportcn("example-orders", "100000")
    assert proc.stdout is not None and proc.stderr is not None
    assert json.loads(proc.stdout.readline())
    proc.stdout.close()
    assert proc.wait(timeout=WAIT) == 0
    assert proc.stderr.read() == b""
    proc.stderr.close()
    # `xportcn book orders.jsonl --sandbox | head -0`: the summary is lost, the status is not
    orders = write_orders(tmp_path / "orders.jsonl", EXAMPLE_LINES[:3])
    lines = write_orders(tmp_path / "bad.jsonl", [*EXAMPLE_LINES[:2], "not json"])
    for path, status in ((orders, 0), (lines, 1)):
        proc = xportcn("book", str(path), "--sandbox", "--no-journal")
        assert proc.stdout is not None
        proc.stdout.close()
        _, err = proc.communicate(timeout=WAIT)
        assert proc.returncode == status, err.decode()
        assert b"Broken pipe" not in err and b"Traceback" not in err
        assert len(read_results(path.with_suffix(".results.jsonl"))) == 3


def test_a_start_refused_by_the_client_leaves_the_earlier_results_and_journal_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    orders = write_orders(tmp_path / "orders.jsonl", EXAMPLE_LINES[:3])
    assert main(["book", str(orders), "--sandbox"]) == 0
    results = tmp_path / "orders.results.jsonl"
    journal = tmp_path / "orders.results.journal.jsonl"
    before = results.read_bytes(), journal.read_bytes()
    monkeypatch.setenv("XPORTCN_ACCESS_KEY", "ak")
    monkeypatch.setenv("XPORTCN_ACCESS_SECRET", "sk")
    monkeypatch.setenv("XPORTCN_BASE_URL", "http://api.example.invalid")  # plain HTTP: refused
    monkeypatch.delenv("XPORTCN_ALLOW_HTTP", raising=False)
    assert main(["book", str(orders), "--resume"]) == 2
    assert "plain HTTP" in capsys.readouterr().err
    assert (results.read_bytes(), journal.read_bytes()) == before
    # a first run refused the same way leaves no empty files behind
    other = write_orders(tmp_path / "other.jsonl", EXAMPLE_LINES[:3])
    assert main(["book", str(other)]) == 2
    assert not any(p.name.startswith("other.results") for p in tmp_path.iterdir())


@pytest.mark.skipif(sys.platform == "win32", reason="no named pipes")
def test_results_of_a_piped_input_go_to_the_current_directory_and_a_rerun_finds_them(
    tmp_path: Path,
) -> None:
    import os

    fifo = tmp_path / "orders.fifo"  # like /dev/stdin or <(...): a name that is not a file
    os.mkfifo(fifo)
    work = tmp_path / "work"
    work.mkdir()
    proc = xportcn("book", str(fifo), "--sandbox", cwd=work)
    write_orders(fifo, EXAMPLE_LINES[:3])  # blocks until the run opens it
    _, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == 0, err.decode()
    # the same command again finds the journal (a writer that is there, reading nothing)
    writer = os.open(fifo, os.O_RDWR)
    try:
        proc = xportcn("book", str(fifo), "--sandbox", cwd=work)
        _, err = proc.communicate(timeout=WAIT)
    finally:
        os.close(writer)
    assert proc.returncode == 2
    assert "journal results.journal.jsonl exists" in err.decode()
    assert sorted(p.name for p in work.iterdir()) == ["results.journal.jsonl", "results.jsonl"]
    assert len(read_results(work / "results.jsonl")) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["orders.fifo", "work"]


def test_results_that_are_not_a_file_need_an_explicit_journal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = write_orders(tmp_path / "orders.jsonl", EXAMPLE_LINES[:2])
    out = tmp_path / "out"
    out.symlink_to("/dev/null")  # like --out /dev/stdout: no place next to it for a journal
    assert main(["book", str(orders), "--sandbox", "--out", str(out)]) == 2
    assert "pass --journal PATH (or --no-journal)" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["orders.jsonl", "out"]
    journal = tmp_path / "run.journal"
    assert (
        main(["book", str(orders), "--sandbox", "--out", str(out), "--journal", str(journal)]) == 0
    )


@pytest.mark.parametrize("option", ["--journal", "--out"])
def test_a_file_that_cannot_be_opened_at_the_start_is_named_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    orders = write_orders(tmp_path / "orders.jsonl", EXAMPLE_LINES[:2])
    path = tmp_path / "no-such-dir" / "file.jsonl"
    assert main(["book", str(orders), "--sandbox", option, str(path)]) == 2
    what = "the journal" if option == "--journal" else "the results file (--out)"
    assert f"cannot open {what} {path}: No such file or directory" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["orders.jsonl"]


def test_ctrl_c_twice_says_the_aborted_bookings_are_unknown_and_resume_says_how_to_resend(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = write_orders(tmp_path / "orders.jsonl", EXAMPLE_LINES[:4])
    journal = tmp_path / "orders.results.journal.jsonl"
    held = ["--sandbox-fault-slow", "1", "--sandbox-fault-operations", "logistics.book"]
    held += ["--sandbox-slow-seconds", "600", "--timeout", "900"]  # booked, the reply held
    proc = xportcn("book", str(orders), "--sandbox", *held)
    wait_for(lambda: journal.exists() and b'"started"' in journal.read_bytes(), proc)
    assert proc.stderr is not None
    proc.send_signal(signal.SIGINT)
    while b"stopping" not in proc.stderr.readline():
        pass
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == 130
    assert "aborted: the bookings in flight were cancelled, so their outcome is unknown" in (
        err.decode()
    )
    assert main(["book", str(orders), "--sandbox", "--resume"]) == 1
    assert "--resume --resend-unknown resends them" in capsys.readouterr().err


def test_example_orders_of_two_seeds_share_no_booking_key(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from xportcn_async.examples import DEFAULT_SEED

    keys = []
    for seed in (DEFAULT_SEED, 1, 2):
        assert main(["example-orders", "50", "--seed", str(seed)]) == 0
        lines = capsys.readouterr().out.splitlines()
        keys.append({json.loads(line)["tmallOrderInfo"]["tmallOrderId"] for line in lines})
    assert all(len(k) == 50 for k in keys)
    assert not (keys[0] & keys[1] or keys[0] & keys[2] or keys[1] & keys[2])
