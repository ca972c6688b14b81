"""The ``xportcn`` command line.

xportcn book orders.jsonl --sandbox              # bulk booking against the local sandbox
xportcn book orders.jsonl --journal run.journal  # against production (credentials from env)
xportcn sandbox --port 8080                      # serve the sandbox until interrupted
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import signal
import sys
import time
from collections.abc import AsyncIterator, Generator, Sequence
from pathlib import Path
from typing import Any, TextIO

from .batch import BatchReport, Status
from .bulk import BookingInput, BookingOutcome, InvalidInput, Journal, outcome_record
from .client import DEFAULT_BASE_URL, XportcnClient
from .converter import from_wire
from .credentials import Credentials
from .errors import ConfigurationError, FieldError, ValidationError
from .models import BookingRequest
from .transports import Timeout


def count_bookings(path: Path) -> int:
    """The number of non-blank lines (the inputs :func:`read_bookings` yields)."""
    with path.open("rb") as fh:
        return sum(1 for line in fh if line.strip())


def read_bookings(path: Path, line_numbers: dict[int, int]) -> Generator[BookingInput, None, None]:
    """Yield one booking per non-blank line, lazily. A line that is not UTF-8, not valid JSON
    or not a valid booking becomes an :class:`InvalidInput` naming its line number.
    ``line_numbers`` receives ``input index -> line number``."""
    index = 0
    with path.open("rb") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            line_numbers[index] = line_no
            index += 1
            yield parse_booking_line(line, line_no)


def parse_booking_line(line: str | bytes, line_no: int) -> BookingInput:
    where = f"line {line_no}"
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            error = ValidationError(where, [FieldError("", f"not UTF-8: {exc}")])
            return InvalidInput(where, error)
    try:
        data = json.loads(line)
    except ValueError as exc:
        return InvalidInput(where, ValidationError(where, [FieldError("", f"not JSON: {exc}")]))
    if not isinstance(data, dict):
        error = ValidationError(where, [FieldError("", "expected a JSON object (a booking)")])
        return InvalidInput(where, error)
    try:
        return from_wire(data, BookingRequest)
    except ValidationError as exc:
        return InvalidInput(where, ValidationError(where, exc.errors))


class Progress:
    """A one-line progress bar on a terminal; a plain line every few seconds otherwise."""

    def __init__(self, report: BatchReport, total: int | None, stream: TextIO) -> None:
        self.report = report
        self.total = total
        self.stream = stream
        self.tty = stream.isatty()
        self._last = 0.0

    def update(self, *, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self._last < (0.1 if self.tty else 5.0):
            return
        self._last = now
        r = self.report
        done = r.total
        counts = " ".join(f"{s.value}={r.count(s)}" for s in Status if r.count(s))
        if self.total:
            width = 30
            filled = int(width * done / self.total) if self.total else width
            bar = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total}"
        else:
            bar = f"{done} done"
        line = f"{bar} {r.throughput:7.1f}/s {counts}"
        if self.tty:
            self.stream.write("\r" + line.ljust(100)[:120] + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def print_summary(report: BatchReport, stream: TextIO, results: Path) -> None:
    d = report.as_dict()
    rows = [(s.value, str(report.count(s))) for s in Status if report.count(s)]
    rows += [
        ("total", str(d["total"])),
        ("time", f"{d['elapsed_s']:.2f} s"),
        ("throughput", f"{d['throughput_per_s']:.1f} bookings/s"),
    ]
    lat = d["latency_ms"]
    rows.append(
        (
            "latency",
            f"p50 {lat['p50']} ms, p90 {lat['p90']} ms, p99 {lat['p99']} ms, max {lat['max']} ms",
        )
    )
    rows.append(("results", str(results)))
    width = max(len(k) for k, _ in rows)
    stream.write("\nSummary\n")
    for k, v in rows:
        stream.write(f"  {k.ljust(width)}  {v}\n")
    stream.flush()


def _check_options(args: argparse.Namespace) -> None:
    if args.concurrency < 1:
        raise ConfigurationError("--concurrency must be at least 1")
    if args.rate is not None and not (math.isfinite(args.rate) and args.rate > 0):
        raise ConfigurationError("--rate must be a positive number (bookings per second)")
    if args.burst < 1:
        raise ConfigurationError("--burst must be at least 1")
    if not (math.isfinite(args.timeout) and args.timeout > 0):
        raise ConfigurationError("--timeout must be a positive number of seconds")


def _book(args: argparse.Namespace) -> int:
    _check_options(args)
    path = Path(args.file)
    if not path.is_file():
        raise ConfigurationError(f"{path}: no such file")
    if args.journal and Path(args.journal).exists() and not args.resume:
        raise ConfigurationError(
            f"journal {args.journal} exists: pass --resume to continue it, or choose a new path"
        )
    if args.resume and not args.journal:
        raise ConfigurationError("--resume needs --journal")
    args.credentials = None if args.sandbox else Credentials.from_env()
    total = count_bookings(path)
    out = Path(args.out) if args.out else path.with_suffix(".results.jsonl")
    # Opened (and locked) before the results file: a journal in use by another run stops
    # this one before it writes anything.
    journal = Journal(args.journal) if args.journal else None
    try:
        with out.open("w", encoding="utf-8") as results:
            code = asyncio.run(_run(args, path, total, results, journal, out))
    finally:
        if journal is not None:
            journal.close()
    return code


async def _run(
    args: argparse.Namespace,
    path: Path,
    total: int,
    results: TextIO,
    journal: Journal | None,
    out: Path,
) -> int:
    async with (
        _target(args) as (credentials, base_url),
        XportcnClient(
            credentials,
            base_url=base_url,
            timeout=Timeout(total=args.timeout),
            retry_ambiguous=args.retry_ambiguous,
            connection_limit=args.concurrency,
        ) as client,
    ):
        line_numbers: dict[int, int] = {}
        run = client.logistics.book_many(
            read_bookings(path, line_numbers),
            concurrency=args.concurrency,
            rate_limit=args.rate,
            burst=args.burst,
            ordered=args.ordered,
            journal=journal,
            resend_unknown=args.resend_unknown or None,
        )
        progress = Progress(run.report, total, sys.stderr)
        loop = asyncio.get_running_loop()
        main_task = asyncio.current_task()
        interrupts = 0

        def on_interrupt() -> None:
            nonlocal interrupts
            interrupts += 1
            if interrupts == 1:
                sys.stderr.write(
                    "\nstopping: finishing in-flight bookings (Ctrl-C again to abort)\n"
                )
                run.stop()
            elif main_task is not None:
                main_task.cancel()

        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGINT, on_interrupt)
        aborted = False
        failure: Exception | None = None
        try:
            async with run:
                async for outcome in run:
                    line = _result_line(outcome, line_numbers)
                    results.write(json.dumps(line, ensure_ascii=False) + "\n")
                    progress.update()
        except asyncio.CancelledError:
            aborted = True
        except Exception as exc:  # a machinery fault: the input cannot be read, the journal
            failure = exc  # or the results cannot be written. In-flight bookings were finished.
        finally:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signal.SIGINT)
        try:
            results.flush()
        except OSError as exc:
            failure = failure or exc
        progress.update(final=True)
        print_summary(run.report, sys.stdout, out)
        if failure is not None:
            sys.stderr.write(f"xportcn: {failure}\n")
            return 1
        if aborted or interrupts:
            sys.stderr.write(
                "interrupted: run again with the same --journal and --resume to finish\n"
            )
            return 130
        report = run.report
        done = report.count(Status.BOOKED) + report.count(Status.SKIPPED)
        return 0 if done == report.total == total else 1


def _result_line(outcome: BookingOutcome, line_numbers: dict[int, int]) -> dict[str, Any]:
    return {"line": line_numbers.pop(outcome.index, None), **outcome_record(outcome)}


@contextlib.asynccontextmanager
async def _target(args: argparse.Namespace) -> AsyncIterator[tuple[Credentials, str]]:
    if not args.sandbox:
        yield args.credentials, args.base_url
        return
    from .sandbox import serve
    from .sandbox.cli import faults_from_args, latency_from_args

    async with serve(
        port=0, faults=faults_from_args(args), latency=latency_from_args(args), seed=args.seed
    ) as running:
        sys.stderr.write(f"sandbox listening on {running.base_url}\n")
        yield running.credentials, running.base_url


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xportcn", description="Xportcn KA open API tools")
    sub = parser.add_subparsers(dest="command", required=True)

    book = sub.add_parser("book", help="book international logistics for orders in a JSONL file")
    book.add_argument("file", help="JSONL file: one booking (wire format) per line")
    book.add_argument(
        "--sandbox", action="store_true", help="book against an in-process local sandbox"
    )
    book.add_argument(
        "--base-url", default=DEFAULT_BASE_URL, help="API base URL (default: production)"
    )
    book.add_argument("--concurrency", type=int, default=32, help="bookings in flight (default 32)")
    book.add_argument(
        "--rate", type=float, default=None, help="at most this many bookings started per second"
    )
    book.add_argument(
        "--burst", type=int, default=1, help="starts allowed back to back under --rate (default 1)"
    )
    book.add_argument(
        "--timeout", type=float, default=30.0, help="seconds per attempt (default 30)"
    )
    book.add_argument("--out", help="results JSONL (default: FILE with .results.jsonl)")
    book.add_argument("--journal", help="append outcomes to this JSONL journal, for --resume")
    book.add_argument(
        "--resume", action="store_true", help="continue an existing --journal: skip what is booked"
    )
    book.add_argument("--ordered", action="store_true", help="write results in input order")
    book.add_argument(
        "--retry-ambiguous",
        action="store_true",
        help="retry bookings whose outcome is unknown (only if your account deduplicates renderIds)",
    )
    book.add_argument(
        "--resend-unknown",
        action="store_true",
        help="with --resume: resend bookings whose outcome was unknown",
    )
    book.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    from .sandbox.cli import add_fault_arguments

    add_fault_arguments(book, prefix="sandbox-")

    sandbox = sub.add_parser("sandbox", help="serve the local sandbox until interrupted")
    from .sandbox.cli import add_arguments

    add_arguments(sandbox)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "book":
            return _book(args)
        from .sandbox.cli import run

        return asyncio.run(run(args))
    except ConfigurationError as exc:
        sys.stderr.write(f"xportcn: {exc}\n")
        return 2
    except OSError as exc:  # e.g. the results file or the journal cannot be opened
        sys.stderr.write(f"xportcn: {exc}\n")
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
