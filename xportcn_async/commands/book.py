"""``xportcn book``: book international logistics for the orders of a JSONL file.

Safe by default: a journal is kept next to the results, so that running the same command
again after a crash never books an order twice; a rerun that finds the journal is refused
until the user says how to go on (``--resume``) or to start over (``--fresh``, which moves
the old journal aside). Everything that can fail (the input, the results file, the
credentials, the options) is checked before the journal is created, and no two of the
input, the results and the journal may be the same file.

A PostgreSQL journal (``--journal postgresql://...``) is shared by every worker that runs the
same command, on any host: joining a run in progress is the normal case there, so it needs no
``--resume``, and each booking is claimed atomically before it is sent (``--shard i/n`` makes
each worker start with its own part of the input).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import signal
import stat
import sys
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Callable,
    Generator,
    Iterable,
    Iterator,
)
from pathlib import Path
from typing import Any, BinaryIO

from ..batch import BatchRun, Status
from ..bulk import (
    DEFAULT_JOURNAL_NAME,
    DEFAULT_LEASE,
    BookingInput,
    BookingJournal,
    BookingOutcome,
    InvalidInput,
    Journal,
    PostgresJournal,
    Shard,
    outcome_record,
)
from ..bulk.booking import POSTGRES_SCHEMES
from ..client import DEFAULT_BASE_URL, ENV_ALLOW_HTTP, ENV_BASE_URL, XportcnClient
from ..credentials import ENV_ACCESS_KEY, ENV_ACCESS_SECRET, ENV_USER_ID, Credentials
from ..errors import (
    AuthenticationError,
    ConfigurationError,
    FieldError,
    OutcomeUnknownError,
    ValidationError,
)
from ..models import Booking, BookingRequest
from ..ratelimit import SharedRateLimiter
from ..sandbox import serve
from ..sandbox.cli import add_fault_arguments, faults_from_args, latency_from_args
from ..transports import Timeout
from ..wire import from_wire
from . import loop
from .display import open_progress, print_table, quiet_stdout
from .pipe import is_regular, pipe_lines

STDIN = "-"
STDIN_RESULTS = "results.jsonl"
"""The default results file when the bookings come from standard input."""
CREDENTIAL_ENV_VARS = (ENV_ACCESS_KEY, ENV_ACCESS_SECRET, ENV_USER_ID)
AUTH_FAILURES_TO_STOP = 5
"""Consecutive orders refused with 401/403, with none booked, that stop a run."""
PROBLEMS_SHOWN = 5
"""Rejected, failed or unknown orders printed at the end; the rest are in the results."""
CLI_DOCS = "the docs, page 'The xportcn command line' (docs/cli.md)"


# -- reading the input ---------------------------------------------------------------------


def read_bookings(
    fh: BinaryIO, line_numbers: dict[int, int]
) -> Generator[BookingInput, None, None]:
    """Yield one booking per non-blank line, lazily. A line that is not UTF-8, not valid JSON
    or not a valid booking becomes an :class:`InvalidInput` naming its line number.
    ``line_numbers`` receives ``input index -> line number``."""
    index = 0
    for line_no, line in enumerate(fh, start=1):
        if not line.strip():
            continue
        line_numbers[index] = line_no
        index += 1
        yield parse_booking_line(line, line_no)


async def read_piped_bookings(
    fh: BinaryIO, line_numbers: dict[int, int]
) -> AsyncGenerator[BookingInput, None]:
    """:func:`read_bookings` for a pipe or a terminal: read by a thread, so that waiting for
    the next line never stalls the bookings in flight or Ctrl-C (see :mod:`.pipe`)."""
    index = line_no = 0
    async for line in pipe_lines(fh):
        line_no += 1
        if not line.strip():
            continue
        line_numbers[index] = line_no
        index += 1
        yield parse_booking_line(line, line_no)


class InputReadError(Exception):
    """The input failed mid-run (an I/O error), named so that it is not taken for the
    journal's."""


def _named_input(
    name: str, bookings: Iterator[BookingInput] | AsyncGenerator[BookingInput, None]
) -> Iterator[BookingInput] | AsyncGenerator[BookingInput, None]:
    """``bookings``, with a read error turned into an :class:`InputReadError` naming ``name``."""

    def error(exc: OSError) -> InputReadError:
        return InputReadError(f"cannot read the input {name}: {exc.strerror or exc}")

    def sync(items: Iterator[BookingInput]) -> Iterator[BookingInput]:
        try:
            yield from items
        except OSError as exc:
            raise error(exc) from exc

    async def from_pipe(
        items: AsyncGenerator[BookingInput, None],
    ) -> AsyncGenerator[BookingInput, None]:
        async with contextlib.aclosing(items):
            try:
                async for item in items:
                    yield item
            except OSError as exc:
                raise error(exc) from exc

    return from_pipe(bookings) if isinstance(bookings, AsyncGenerator) else sync(bookings)


def read_shard(
    fh: BinaryIO, line_numbers: dict[int, int], shard: Shard
) -> Generator[BookingInput, None, None]:
    """Like :func:`read_bookings`, in two passes over the file: the bookings of ``shard``
    first, then the others (which the other workers have mostly booked by then: the journal's
    claims skip those, and take over what a stopped worker left)."""
    index = 0
    for own in (True, False):
        fh.seek(0)
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            item = parse_booking_line(line, line_no)
            if shard.owns(item.key) is own:
                line_numbers[index] = line_no
                index += 1
                yield item


def parse_booking_line(line: str | bytes, line_no: int) -> BookingInput:
    where = f"line {line_no}"

    def invalid(message: str) -> InvalidInput:
        return InvalidInput(where, ValidationError(where, [FieldError("", message)]))

    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            return invalid(f"not UTF-8: {exc}")
    try:
        data = json.loads(line)
    except RecursionError:  # '[' x 100,000: Python's parser gives up; so do we, for this line
        return invalid("not JSON that can be read: nested too deeply")
    except ValueError as exc:
        return invalid(f"not JSON: {exc}")
    if not isinstance(data, dict):
        return invalid("expected a JSON object (a booking)")
    try:
        return from_wire(data, BookingRequest)
    except ValidationError as exc:
        return InvalidInput(where, ValidationError(where, exc.errors))
    except RecursionError:
        return invalid("not a booking: nested too deeply")


def _open_input(name: str) -> tuple[BinaryIO, int | None]:
    """The input, opened, and its number of bookings when it can be counted up front (a
    regular file; not standard input or a pipe)."""
    if name == STDIN:
        if sys.stdin.isatty():
            sys.stderr.write("reading bookings from the terminal, one a line; end with Ctrl-D\n")
        return sys.stdin.buffer, None
    path = Path(name)
    if path.is_dir():
        raise ConfigurationError(f"{path} is a directory; give a JSONL file (one booking a line)")
    try:
        fh = path.open("rb")
    except FileNotFoundError:
        raise ConfigurationError(f"{path}: no such file") from None
    except OSError as exc:
        raise ConfigurationError(f"cannot open the input {path}: {exc.strerror}") from None
    if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
        return fh, None
    total = sum(1 for line in fh if line.strip())
    fh.seek(0)
    return fh, total


# -- the files: distinct, opened before the journal is created -----------------------------


def _identity(path: Path) -> tuple[int, int] | str:
    """What makes two names the same file: device and inode when it exists (so symlinks and
    hard links match), else the resolved path."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return str(path.resolve())
    return (st.st_dev, st.st_ino)


def _check_distinct(input_fh: BinaryIO, files: dict[str, Path]) -> None:
    """No two of the input, ``--out`` and ``--journal`` may be one file: the results would
    overwrite the input, or a resumed journal would be read back as new orders."""
    st = os.fstat(input_fh.fileno())
    seen: dict[tuple[int, int] | str, str] = {}
    if stat.S_ISREG(st.st_mode):
        seen[(st.st_dev, st.st_ino)] = "the input"
    for what, path in files.items():
        identity = _identity(path)
        if identity in seen:
            raise ConfigurationError(
                f"{what} {path} is the same file as {seen[identity]}; choose another path"
            )
        seen[identity] = f"{what} {path}"


def results_path(args: argparse.Namespace, input_fh: BinaryIO) -> Path:
    """``--out``, else ``orders.jsonl`` -> ``orders.results.jsonl`` next to the input. An
    input that is not a file (``-``, a pipe, ``/dev/stdin``, ``<(...)``) has no place of its
    own: its results go to ``results.jsonl`` in the current directory, the same on a rerun."""
    if args.out:
        return Path(args.out)
    if args.file == STDIN or not is_regular(input_fh):
        return Path(STDIN_RESULTS)
    return Path(args.file).with_suffix(".results.jsonl")


def default_journal(results: Path) -> Path:
    """``orders.results.jsonl`` -> ``orders.results.journal.jsonl``, next to the results.
    Results that are not a file (``/dev/stdout``) have no such place: ``--journal`` then."""
    with contextlib.suppress(OSError):
        if not stat.S_ISREG(results.stat().st_mode):
            raise ConfigurationError(
                f"the results go to {results}, which is not a file, so the journal cannot go "
                "next to them: pass --journal PATH (or --no-journal)"
            )
    return results.with_name(results.stem + ".journal.jsonl")


@contextlib.contextmanager
def _opening(what: str, path: Path) -> Generator[None, None, None]:
    """A file that cannot be opened at the start is named, with its role, and ends the
    command with status 2 (nothing was sent)."""
    try:
        yield
    except OSError as exc:
        raise ConfigurationError(f"cannot open {what} {path}: {exc.strerror or exc}") from None


def _move_aside(path: Path) -> Path:
    """Rename an old journal to a free name with a timestamp; never delete it. It is locked
    while it is moved, so a journal in use by another run is left alone."""
    old = Journal(path)  # takes the lock, or raises: in use by another run
    try:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        for n in range(1000):
            suffix = f"{stamp}-{n}" if n else stamp
            target = path.with_name(f"{path.stem}.{suffix}{path.suffix}")
            if not target.exists():
                os.rename(path, target)
                return target
        raise ConfigurationError(f"cannot find a free name to move {path} aside")
    finally:
        old.close()


class ResultsFile:
    """The results JSONL, written line by line. A failed write (disk full) is kept in
    :attr:`error`, never raised, so that the run can finish its in-flight bookings."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.created = not path.exists()
        # Append mode: nothing is truncated until everything else is ready (start()).
        with _opening("the results file (--out)", path):
            self._fh = path.open("ab", buffering=0)
        self.error: OSError | None = None
        self.started = False

    def start(self) -> None:
        """Called once the client, the journal and the target are ready: only then are the
        results of an earlier run replaced."""
        if stat.S_ISREG(os.fstat(self._fh.fileno()).st_mode):
            self._fh.truncate(0)
        self.started = True

    def write(self, record: dict[str, Any]) -> bool:
        if self.error is not None:
            return False
        view = memoryview((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
        try:
            while view:
                written = self._fh.write(view)
                if not written:
                    raise OSError(f"the write to {self.path} made no progress")
                view = view[written:]
        except OSError as exc:
            self.error = exc
            return False
        return True

    def close(self) -> None:
        try:
            self._fh.close()
        except OSError as exc:
            self.error = self.error or exc

    def discard(self) -> None:
        """Close, and remove the file if this run created it and wrote nothing."""
        self.close()
        if self.created:
            with contextlib.suppress(OSError):
                if self.path.stat().st_size == 0:
                    self.path.unlink()

    def end(self) -> None:
        """Close after a run; if the run never started (the client or the target refused
        to), the earlier results stay as they were."""
        if self.started:
            self.close()
        else:
            self.discard()


# -- watching the outcomes -----------------------------------------------------------------


class CredentialWatch:
    """Notices a wrong secret: several orders in a row refused with 401/403, none booked."""

    def __init__(self, limit: int = AUTH_FAILURES_TO_STOP) -> None:
        self.limit = limit
        self.streak = 0
        self.booked = False
        self.last: AuthenticationError | None = None

    def refused(self, outcome: BookingOutcome) -> bool:
        """See one outcome; True when the credentials look refused."""
        if outcome.status is Status.BOOKED:
            self.booked = True
        error = outcome.error
        if isinstance(error, OutcomeUnknownError):
            error = error.cause
        if isinstance(error, AuthenticationError):
            self.streak += 1
            self.last = error
        elif outcome.attempts:
            self.streak = 0
        return not self.booked and self.streak >= self.limit


def _problem_line(record: dict[str, Any]) -> str:
    error = str(record.get("error") or "")
    error = error.removeprefix(f"invalid line {record['line']}: ")
    return f"  line {record['line']}: {record['status']}: {error[:300]}"


# -- the command ---------------------------------------------------------------------------


def check_options(args: argparse.Namespace) -> None:
    if args.concurrency < 1:
        raise ConfigurationError("--concurrency must be at least 1")
    if args.rate is not None and not (math.isfinite(args.rate) and args.rate > 0):
        raise ConfigurationError("--rate must be a positive number (HTTP requests per second)")
    if args.burst < 1:
        raise ConfigurationError("--burst must be at least 1")
    if args.rate_redis is not None and (args.rate is None or args.burst != 1):
        raise ConfigurationError("--rate-redis needs --rate (the rate to share) and no --burst")
    if args.rate_key is not None and args.rate_redis is None:
        raise ConfigurationError("--rate-key needs --rate-redis")
    if not (math.isfinite(args.timeout) and args.timeout > 0):
        raise ConfigurationError("--timeout must be a positive number of seconds")
    if args.no_journal and (args.resume or args.fresh):
        raise ConfigurationError("--no-journal cannot be combined with --resume or --fresh")
    if args.resume and args.fresh:
        raise ConfigurationError("choose one of --resume (continue) and --fresh (start over)")
    shared = args.journal is not None and args.journal.startswith(POSTGRES_SCHEMES)
    if not shared and (args.journal_name is not None or args.journal_lease is not None):
        raise ConfigurationError(
            "--journal-name and --journal-lease apply to a PostgreSQL --journal only"
        )
    if shared and args.fresh:
        raise ConfigurationError(
            "--fresh moves a journal file aside; for a PostgreSQL journal, start over "
            "under another --journal-name"
        )
    if args.journal_lease is not None and not (
        math.isfinite(args.journal_lease) and args.journal_lease > 0
    ):
        raise ConfigurationError("--journal-lease must be a positive number of seconds")
    if args.shard is not None:
        try:
            args.shard = Shard.parse(args.shard)
        except ValueError as exc:
            raise ConfigurationError(f"--shard: {exc}") from None


def _credentials(args: argparse.Namespace) -> Credentials | None:
    if args.sandbox:
        return None
    try:
        return Credentials.from_env()
    except ConfigurationError as exc:
        raise ConfigurationError(
            f"{exc}; to try it without an account, pass --sandbox (a local sandbox)"
        ) from None


def run_book(args: argparse.Namespace) -> int:
    check_options(args)
    input_fh, total = _open_input(args.file)
    try:
        if args.shard is not None and not is_regular(input_fh):
            raise ConfigurationError(
                "--shard reads the input twice (its own part first): give a file, not a pipe"
            )
        return _book(args, input_fh, total)
    finally:
        if input_fh is not sys.stdin.buffer:
            input_fh.close()


def _book(args: argparse.Namespace, input_fh: BinaryIO, total: int | None) -> int:
    if args.journal is not None and args.journal.startswith(POSTGRES_SCHEMES):
        return _book_shared(args, input_fh, total)
    out = results_path(args, input_fh)
    journal_path = None if args.no_journal else Path(args.journal or default_journal(out))
    files = {"--out": out}
    if journal_path is not None:
        files["--journal"] = journal_path
    _check_distinct(input_fh, files)
    journal_existed = journal_path is not None and journal_path.exists()
    if journal_path is not None and journal_existed:
        if journal_path.stat().st_size and not (args.resume or args.fresh):
            raise ConfigurationError(
                f"journal {journal_path} exists from an earlier run. Pass --resume to continue "
                "it (what was booked is skipped, nothing is booked twice), or --fresh to move "
                "it aside and start over"
            )
    elif args.resume:
        raise ConfigurationError(f"--resume: there is no journal {journal_path} to continue")
    credentials = _credentials(args)

    results = ResultsFile(out)
    moved: Path | None = None
    try:
        if args.fresh and journal_existed:
            assert journal_path is not None
            with _opening("the journal, to move it aside,", journal_path):
                moved = _move_aside(journal_path)
            sys.stderr.write(f"moved the old journal aside to {moved}\n")
        journal = None
        if journal_path is not None:
            with _opening("the journal", journal_path):
                journal = Journal(journal_path)
    except BaseException:
        results.discard()
        raise
    created_journal = journal_path is not None and not journal_existed
    try:
        return loop.run(_run(args, credentials, input_fh, total, results, journal))
    finally:
        results.end()
        if journal is not None:
            journal.close()
            if created_journal:  # a run that recorded nothing leaves no journal behind
                assert journal_path is not None
                with contextlib.suppress(OSError):
                    if journal_path.stat().st_size == 0:
                        journal_path.unlink()


def _book_shared(args: argparse.Namespace, input_fh: BinaryIO, total: int | None) -> int:
    """``xportcn book`` on a PostgreSQL journal: no file to check or move aside, and no
    refusal when the journal has entries (other workers may be on it right now)."""
    out = results_path(args, input_fh)
    _check_distinct(input_fh, {"--out": out})
    credentials = _credentials(args)
    journal = PostgresJournal(
        args.journal,
        name=args.journal_name or DEFAULT_JOURNAL_NAME,
        lease=args.journal_lease or DEFAULT_LEASE,
        pool_size=min(max(args.concurrency, 2), 20),
    )
    results = ResultsFile(out)
    try:
        return loop.run(_run(args, credentials, input_fh, total, results, journal))
    finally:
        results.end()


async def _run(
    args: argparse.Namespace,
    credentials: Credentials | None,
    input_fh: BinaryIO,
    total: int | None,
    results: ResultsFile,
    journal: BookingJournal | None,
) -> int:
    try:
        return await _run_with(args, credentials, input_fh, total, results, journal)
    finally:
        if isinstance(journal, PostgresJournal):  # its connections live in this event loop
            await journal.aclose()


async def _run_with(
    args: argparse.Namespace,
    credentials: Credentials | None,
    input_fh: BinaryIO,
    total: int | None,
    results: ResultsFile,
    journal: BookingJournal | None,
) -> int:
    async with (
        _target(args, credentials) as (credentials, base_url),
        _rate_limit(args, credentials) as rate_limit,
        XportcnClient(
            credentials,
            base_url=base_url,
            timeout=Timeout(total=args.timeout),
            retry_ambiguous=args.retry_ambiguous,
            connection_limit=args.concurrency,
        ) as client,
    ):
        results.start()
        line_numbers: dict[int, int] = {}
        bookings: Iterable[BookingInput] | AsyncIterable[BookingInput]
        if args.shard is not None:
            bookings = read_shard(input_fh, line_numbers, args.shard)
        elif is_regular(input_fh):
            bookings = read_bookings(input_fh, line_numbers)
        else:
            bookings = read_piped_bookings(input_fh, line_numbers)
        run = client.logistics.book_many(
            _named_input("standard input" if args.file == STDIN else args.file, bookings),
            concurrency=args.concurrency,
            rate_limit=rate_limit,
            burst=args.burst,
            ordered=args.ordered,
            journal=journal,
            resend_unknown=args.resend_unknown or None,
        )
        booking = _Booking(run, results, journal)
        with _interrupts(run) as interrupted:
            await booking.consume(line_numbers, total)
        return booking.finish(args, total, client.base_url, interrupted())


class _Booking:
    """One run of ``xportcn book``: writes the results, watches the outcomes, reports."""

    def __init__(
        self,
        run: BatchRun[BookingInput, Booking],
        results: ResultsFile,
        journal: BookingJournal | None,
    ) -> None:
        self.run = run
        self.results = results
        self.journal = journal
        self.credentials = CredentialWatch()
        self.refused = False
        self.problems: list[str] = []
        self.problem_count = 0
        self.unsaved: list[dict[str, Any]] = []
        self.aborted = False
        self.failure: Exception | None = None

    @property
    def _rerun(self) -> str:
        """How to go on after a stop: a journal file needs --resume, a shared one does not."""
        if isinstance(self.journal, Journal):
            return "run the same command with --resume"
        return "run the same command again"

    async def consume(self, line_numbers: dict[int, int], total: int | None) -> None:
        progress = open_progress(self.run.report, total, sys.stderr)
        try:
            async with self.run:
                async for outcome in self.run:
                    self._see(outcome, line_numbers.pop(outcome.index, None))
                    progress.update()
        except asyncio.CancelledError:  # a second Ctrl-C: in-flight bookings were cancelled
            self.aborted = True
        except Exception as exc:  # a machinery fault: the input cannot be read or the
            self.failure = exc  # journal cannot be written. In-flight bookings were finished.
        finally:
            progress.close()

    def _see(self, outcome: BookingOutcome, line: int | None) -> None:
        record = {"line": line, **outcome_record(outcome)}
        if not self.results.write(record):
            # Stop taking new orders; the in-flight ones finish and reach the journal.
            self.run.stop()
            if self.journal is None:
                self.unsaved.append(record)
        if not self.refused and self.credentials.refused(outcome):
            self.refused = True
            self.run.stop()
        if outcome.status in (Status.REJECTED, Status.FAILED, Status.UNKNOWN):
            self.problem_count += 1
            if len(self.problems) < PROBLEMS_SHOWN:
                self.problems.append(_problem_line(record))

    def finish(
        self, args: argparse.Namespace, total: int | None, base_url: str, interrupted: int
    ) -> int:
        report = self.run.report
        err = sys.stderr
        if self.problems:
            first = (
                f"; the first {len(self.problems)}"
                if self.problem_count > len(self.problems)
                else ""
            )
            err.write(f"{self.problem_count} order(s) not booked{first}:\n")
            err.write("\n".join(self.problems) + "\n")
            if self.results.error is None:
                err.write(f"every outcome is in {self.results.path}\n")
            if unknown := report.count(Status.UNKNOWN):
                err.write(
                    f"{unknown} order(s) have an unknown outcome: they may be booked. Check them "
                    "before sending them again (--resume --resend-unknown resends them with "
                    "the same renderId)\n"
                )
        elapsed = report.elapsed
        booked = report.count(Status.BOOKED)
        lat = report.as_dict()["latency_ms"]
        rows = [(s.value, str(report.count(s))) for s in Status if report.count(s)]
        rows += [
            ("total", str(report.total)),
            ("time", f"{elapsed:.2f} s"),
            ("throughput", f"{booked / elapsed if elapsed > 0 else 0.0:.1f} booked/s"),
            ("latency", f"p50 {lat['p50']} ms, p90 {lat['p90']} ms, p99 {lat['p99']} ms"),
            ("results", str(self.results.path)),
            ("journal", self.journal.location if self.journal else "none (--no-journal)"),
        ]
        try:
            print_table("Summary", rows, sys.stdout)
        except BrokenPipeError:  # `xportcn book ... | head`: the summary is lost, not the status
            quiet_stdout()
        code = 0
        if self.results.error is not None:
            err.write(f"xportcn: cannot write the results to {self.results.path}: ")
            err.write(f"{self.results.error.strerror or self.results.error}; ")
            if self.journal is not None:
                err.write(
                    f"no new orders were started; every outcome is in {self.journal.location}. "
                    f"When there is room again, {self._rerun}: what was "
                    "booked is skipped, and written to the results again\n"
                )
            else:
                err.write(
                    "no new orders were started; the unwritten outcomes follow. Keep them: "
                    "without a journal, a rerun would book every order again\n"
                )
                err.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in self.unsaved)
            code = 1
        if self.failure is not None:
            err.write(f"xportcn: {self._failure_message()}\n")
            code = 1
        if self.refused:
            err.write(_refused_message(args, base_url, self.credentials))
            code = 1
        if code:
            return code
        if self.aborted or interrupted:
            how = (
                f"{self._rerun} to finish"
                if self.journal is not None
                else "without a journal, a rerun books everything again"
            )
            if self.aborted:
                how = (
                    "the bookings in flight were cancelled, so their outcome is unknown (a "
                    "rerun reports them as unknown and does not send them "
                    f"again); {how}"
                )
            err.write(f"{'aborted' if self.aborted else 'interrupted'}: {how}\n")
            return 128 + (interrupted or signal.SIGINT)  # 130 for Ctrl-C, 143 for SIGTERM
        done = report.count(Status.BOOKED) + report.count(Status.SKIPPED)
        return 0 if done == report.total and (total is None or total == done) else 1

    def _failure_message(self) -> str:
        failure = self.failure
        if isinstance(failure, OSError) and self.journal is not None:
            # not the input (InputReadError) and not the results (kept in results.error)
            what = (
                f"cannot write the journal {self.journal.location}: {failure.strerror or failure}"
            )
        else:
            what = str(failure)
        again = f"; when that is fixed, {self._rerun} to finish" if self.journal is not None else ""
        return f"{what}; no new orders were started, the ones in flight finished{again}"


def _refused_message(args: argparse.Namespace, base_url: str, watch: CredentialWatch) -> str:
    last = watch.last
    code = last.code if last is not None and last.code is not None else None
    code = code if code is not None else (last.http_status if last is not None else None)
    if args.sandbox:
        source = "the sandbox's demo credentials"
    else:
        names = [name for name in CREDENTIAL_ENV_VARS if os.environ.get(name)]
        source = "the environment variables " + ", ".join(names)
    return (
        f"xportcn: {base_url} refused the credentials (error {code}) for {watch.streak} "
        f"orders in a row and none was booked, so no new orders were started. "
        f"The credentials were read from {source}; check the access key and secret.\n"
    )


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_AGAIN = {signal.SIGINT: "Ctrl-C again to abort", signal.SIGTERM: "SIGTERM again to abort"}


@contextlib.contextmanager
def _interrupts(run: BatchRun[Any, Any]) -> Generator[Callable[[], int], None, None]:
    """The first Ctrl-C or SIGTERM (a service manager, a container stopping) stops taking
    new orders; the second cancels the in-flight ones. Yields what says which signal came
    first (0: none)."""
    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()
    first = 0
    count = 0

    def on_interrupt(signum: signal.Signals) -> None:
        nonlocal count, first
        count += 1
        if count == 1:
            first = signum
            how = "" if signum == signal.SIGINT else f" on {signum.name}"
            sys.stderr.write(f"\nstopping{how}: finishing in-flight bookings ({_AGAIN[signum]})\n")
            run.stop()
        elif main_task is not None:
            main_task.cancel()

    # Not in the main thread (a program that runs the CLI in a thread): no signal handler;
    # asyncio says so with RuntimeError, uvloop with ValueError.
    for signum in _STOP_SIGNALS:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, on_interrupt, signum)
    try:
        yield lambda: first
    finally:
        for signum in _STOP_SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signum)


@contextlib.asynccontextmanager
async def _target(
    args: argparse.Namespace, credentials: Credentials | None
) -> AsyncIterator[tuple[Credentials, str | None]]:
    if not args.sandbox:
        assert credentials is not None
        yield credentials, args.base_url  # None: $XPORTCN_BASE_URL, else production
        return
    async with serve(
        port=0, faults=faults_from_args(args), latency=latency_from_args(args), seed=args.seed
    ) as running:
        sys.stderr.write(f"sandbox listening on {running.base_url}\n")
        yield running.credentials, running.base_url


@contextlib.asynccontextmanager
async def _rate_limit(
    args: argparse.Namespace, credentials: Credentials
) -> AsyncIterator[float | SharedRateLimiter | None]:
    """``--rate`` for this process alone, or shared through ``--rate-redis`` by every process
    that uses the same ``--rate-key`` (by default the access key, never the secret)."""
    if args.rate_redis is None:
        yield args.rate
        return
    key = args.rate_key or credentials.access_key
    async with SharedRateLimiter(args.rate_redis, args.rate, key=key) as limiter:
        yield limiter


# -- the options ---------------------------------------------------------------------------

ENVIRONMENT_HELP = f"""\
environment variables (read without --sandbox):
  {ENV_ACCESS_KEY}     the access key of your Xportcn account
  {ENV_ACCESS_SECRET}  its secret
  {ENV_USER_ID}        the sub-account (user id) to act as (optional)
  {ENV_BASE_URL}       the API base URL when --base-url is not given
  {ENV_ALLOW_HTTP}     1 allows a plain-HTTP base URL that is not loopback

The journal: by default, outcomes are journalled next to the results
(RESULTS with .journal.jsonl). Rerunning the same command after a crash is
refused until you pass --resume (skip what was booked) or --fresh (move the old
journal aside and start over). A PostgreSQL journal (--journal postgresql://...)
is shared: run the same command in any number of processes, on any hosts; each
order is booked by one of them, and a rerun continues where they stopped.
Exit status: 0 every order booked, 1 otherwise, 2 bad options, 130 interrupted by Ctrl-C,
143 by SIGTERM.
More in {CLI_DOCS}.
"""


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``book`` to the ``xportcn`` subcommands."""
    book: argparse.ArgumentParser = sub.add_parser(
        "book",
        help="book international logistics for the orders of a JSONL file",
        description="Book international logistics for the orders of a JSONL file\n"
        "(one booking a line, in the API's wire format; see `xportcn example-orders`).",
        epilog=ENVIRONMENT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    book.add_argument("file", help="JSONL file, one booking a line; - reads standard input")
    book.add_argument(
        "--sandbox", action="store_true", help="book against an in-process local sandbox"
    )
    book.add_argument(
        "--base-url",
        default=None,
        help=f"API base URL (default: ${ENV_BASE_URL}, else production, {DEFAULT_BASE_URL})",
    )
    book.add_argument("--concurrency", type=int, default=32, help="bookings in flight (default 32)")
    book.add_argument(
        "--rate",
        type=float,
        default=None,
        help="at most this many HTTP requests per second (previews, bookings and retries each count)",
    )
    book.add_argument(
        "--burst",
        type=int,
        default=1,
        help="requests allowed back to back under --rate (default 1)",
    )
    book.add_argument(
        "--rate-redis",
        metavar="URL",
        help="share --rate with every process that books through this Redis "
        "(redis://host:port/db) with the same --rate-key; needs the redis extra",
    )
    book.add_argument(
        "--rate-key",
        metavar="NAME",
        help="what --rate-redis counts together (default: the access key)",
    )
    book.add_argument(
        "--timeout", type=float, default=30.0, help="seconds per attempt (default 30)"
    )
    book.add_argument(
        "--out",
        metavar="RESULTS",
        help=f"results JSONL (default: FILE with .results.jsonl; {STDIN_RESULTS} in the "
        "current directory when FILE is - or a pipe)",
    )
    journal = book.add_mutually_exclusive_group()
    journal.add_argument(
        "--journal",
        metavar="PATH_OR_URL",
        help="the journal: a JSONL file (default: RESULTS with .journal.jsonl, next to it), "
        "or a PostgreSQL URL (postgresql://...) shared by every worker that runs this command",
    )
    journal.add_argument(
        "--no-journal",
        action="store_true",
        help="keep no journal (a rerun after a crash then books everything again)",
    )
    book.add_argument(
        "--resume",
        action="store_true",
        help="continue the journal file of an earlier run: skip what was booked "
        "(a PostgreSQL journal is always continued)",
    )
    book.add_argument(
        "--fresh",
        action="store_true",
        help="move an earlier run's journal aside (never deleted) and start over",
    )
    book.add_argument(
        "--journal-name",
        metavar="NAME",
        help=f"with a PostgreSQL --journal: the run's name in it (default {DEFAULT_JOURNAL_NAME}"
        "); independent runs in one database use different names",
    )
    book.add_argument(
        "--journal-lease",
        metavar="SECONDS",
        type=float,
        default=None,
        help="with a PostgreSQL --journal: how long a stopped worker's bookings stay its own "
        f"before they count as in doubt (default {DEFAULT_LEASE:g}; the same for every worker)",
    )
    book.add_argument(
        "--shard",
        metavar="I/N",
        help="worker I of N (from 0): book the bookings whose key hashes to part I first, "
        "then the rest (the journal's claims skip what the others booked)",
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
    add_fault_arguments(book, prefix="sandbox-")
    book.set_defaults(run=run_book)
    return book
