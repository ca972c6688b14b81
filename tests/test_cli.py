"""The ``xportcn`` command line, as a user runs it."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

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
    from xportcn_async import cli

    real = cli.read_bookings

    def failing_disk(path: Path, line_numbers: dict[int, int]) -> Iterator[BookingInput]:
        for n, booking in enumerate(real(path, line_numbers)):
            if n == 3:
                raise OSError(5, "Input/output error")
            yield booking

    monkeypatch.setattr(cli, "read_bookings", failing_disk)
    orders = write_orders(tmp_path / "orders.jsonl", EXAMPLE_LINES[:10])
    out = tmp_path / "results.jsonl"
    code = main(["book", str(orders), "--sandbox", "--out", str(out), "--ordered"])
    captured = capsys.readouterr()
    assert code == 1
    assert "Summary" in captured.out
    assert captured.err.rstrip().splitlines()[-1] == "xportcn: [Errno 5] Input/output error"
    assert [r["status"] for r in read_results(out)] == ["booked"] * 3


def test_a_journal_that_cannot_be_written_ends_the_run_with_a_summary_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Journal.record
    records = 0

    def full_disk(self: Journal, outcome: BookingOutcome) -> None:
        nonlocal records
        records += 1
        if records == 2:
            raise OSError(28, "No space left on device")
        real(self, outcome)

    monkeypatch.setattr(Journal, "record", full_disk)
    orders = write_orders(tmp_path / "orders.jsonl", EXAMPLE_LINES[:10])
    journal = tmp_path / "run.journal"
    out = tmp_path / "results.jsonl"
    args = ["book", str(orders), "--sandbox", "--journal", str(journal), "--out", str(out)]
    code = main([*args, "--concurrency", "2"])
    captured = capsys.readouterr()
    assert code == 1
    assert "Summary" in captured.out and "Traceback" not in captured.err
    assert captured.err.rstrip().splitlines()[-1] == "xportcn: [Errno 28] No space left on device"
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
