"""The journal of a bulk run: what was sent, and how each booking ended, so that a later run
(or another worker) never books an order twice.

Every journal keeps, per booking key, a :class:`JournalStatus` and follows the same rules:

- Before a booking is sent its key is *claimed*: one run (one worker) at a time may book it.
  What the journal already says decides the claim (:func:`decide`): ``booked`` is skipped with
  its booking; ``failed`` and ``rejected`` are booked again (previewed afresh: their quote may
  be stale); ``unknown`` is reported without being resent, unless the caller opts in to resend
  it, which reuses its ``renderId`` and never previews it again.
- Right before the booking is handed to the transport (after its rate-limit wait) the journal
  records ``started`` with the ``renderId`` it books. A booking that is ``started`` and never
  finished (its process was killed, its worker stopped) is ``unknown``: it may have reached the
  server.
- When the booking ends, its final status: ``booked`` (with the order id and tracking
  numbers), ``unknown``, ``failed`` or ``rejected``. ``booked`` is final. An ``unknown`` is
  sticky: a later failure of a resend never undoes it (the first send may have booked it).

Two backends: :class:`Journal`, a JSONL file for one process (the default), and
:class:`~xportcn_async.bulk.postgres.PostgresJournal`, a PostgreSQL table that many workers on
many hosts share. Anything with the methods of :class:`BookingJournal` can serve as a journal.
"""

from __future__ import annotations

import enum
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import attrs

from ..batch import Status
from ..errors import ConfigurationError
from ..models import Booking, BookingRequest
from .records import BookingOutcome, DuplicateKeyError, booking_of, claim_keys, outcome_record

try:
    import fcntl
except ImportError:  # Windows: no advisory lock (see Journal)
    fcntl = None  # type: ignore[assignment]


class JournalStatus(str, enum.Enum):
    """Where one booking key stands in a journal. The final ones share their values with
    :class:`~xportcn_async.batch.Status`."""

    CLAIMED = "claimed"
    """A worker of a shared journal took the key; nothing was sent yet."""
    STARTED = "started"
    """The booking was handed to the transport (or is about to be). In doubt until its outcome
    is recorded: ``unknown`` once its run or worker has ended without one."""
    BOOKED = "booked"
    UNKNOWN = "unknown"
    FAILED = "failed"
    REJECTED = "rejected"


FINAL_STATUSES = (
    JournalStatus.BOOKED,
    JournalStatus.UNKNOWN,
    JournalStatus.FAILED,
    JournalStatus.REJECTED,
)


@attrs.define
class KeyState:
    """What a journal says about one key."""

    status: JournalStatus | None = None
    """The last final status (``booked``, ``unknown``, ``failed``, ``rejected``); None when
    the key was only ever started, in a run still going on."""
    order_id: str | None = None
    tracking_numbers: tuple[str, ...] = ()
    render_id: str | None = None
    """The ``renderId`` of the last booking sent for this key."""
    open_start: bool = False
    """A ``started`` record with no outcome after it yet."""


class ClaimKind(enum.Enum):
    """The answer to a claim."""

    BOOK = "book"
    """Book it: this run holds the key now."""
    ALREADY_BOOKED = "already booked"
    """Booked earlier: skip it, with the booking the journal remembers."""
    IN_DOUBT = "in doubt"
    """Sent earlier, outcome unknown, and the caller did not opt in to resend it."""
    CANNOT_RESEND = "cannot resend"
    """In doubt, and its ``renderId`` is not known, so it cannot be resent safely."""
    DUPLICATE = "duplicate"
    """This run already has this key (or this upstream order) from an earlier input."""
    TAKEN = "taken"
    """Another live worker of a shared journal holds the key."""


@attrs.frozen(kw_only=True)
class Claim:
    """The answer to :meth:`BookingJournal.claim`."""

    kind: ClaimKind
    render_id: str | None = None
    """``BOOK`` of a booking in doubt: the ``renderId`` to resend it with (never a new one)."""
    booking: Booking | None = None
    """``ALREADY_BOOKED``: the booking, as the journal remembers it."""
    holder: str | None = None
    """``TAKEN``: the worker that holds the key."""


def decide(state: KeyState | None, *, resend_unknown: bool, has_render_id: bool) -> Claim:
    """The claim rule for a key that this run does not hold yet, given what the journal
    says about it. ``has_render_id``: the booking to send carries its own ``renderId``."""
    if state is None or state.status in (None, JournalStatus.FAILED, JournalStatus.REJECTED):
        return Claim(kind=ClaimKind.BOOK)
    if state.status is JournalStatus.BOOKED:
        return Claim(
            kind=ClaimKind.ALREADY_BOOKED,
            booking=booking_of(state.order_id, state.tracking_numbers),
        )
    if not resend_unknown:
        return Claim(kind=ClaimKind.IN_DOUBT)
    if state.render_id is None and not has_render_id:
        return Claim(kind=ClaimKind.CANNOT_RESEND)
    return Claim(kind=ClaimKind.BOOK, render_id=state.render_id)


def recorded(outcome: BookingOutcome) -> bool:
    """Whether a journal records ``outcome``: a skipped booking or a duplicate input says
    nothing new about its key."""
    return outcome.status is not Status.SKIPPED and not isinstance(outcome.error, DuplicateKeyError)


class BookingJournal(Protocol):
    """What a bulk run needs of a journal (see the module docs for the rules).

    A run calls :meth:`begin_run` before its first claim and :meth:`end_run` when it ends;
    in between, per booking, :meth:`claim`, then (if it books) :meth:`started` right before
    the booking is sent, then :meth:`record` with its outcome. A method that cannot reach its
    storage raises: the run stops, and a booking whose ``started`` could not be recorded is
    not sent.
    """

    @property
    def location(self) -> str:
        """Where the journal is, for messages (never a password)."""
        ...

    async def begin_run(self) -> None: ...

    async def claim(self, item: BookingRequest, *, resend_unknown: bool) -> Claim: ...

    async def started(self, key: str, render_id: str) -> None: ...

    async def record(self, outcome: BookingOutcome) -> None: ...

    async def end_run(self) -> None: ...

    async def aclose(self) -> None: ...


class Journal:
    """An append-only JSONL record of booking outcomes, for resuming a bulk run in one process.

    Reading it back, ``booked`` is final; a booking that was sent and never finished (or
    ended ``unknown``) stays ``unknown`` until a later line says ``booked``; otherwise the
    last final status counts. Lines that cannot be read (a line cut short by SIGKILL, bytes
    that are not UTF-8) are skipped and counted in ``unreadable_lines``. It keeps a small
    state per key in memory (so its memory grows with the number of keys, unlike the rest of
    a bulk run), updated as lines are written, so that it always says what its file says.
    ``fsync=True`` also forces each line to disk (survives power loss, not just SIGKILL).

    Opening it takes an exclusive lock on the file (``flock``), held until :meth:`close`:
    a second run on the same journal, in this process or another, gets a
    :class:`~xportcn_async.errors.ConfigurationError` instead of booking the same orders
    again. Where ``fcntl`` does not exist (Windows) there is no lock: do not run two bulk
    runs on one journal at once there. One object serves one run at a time; each
    ``book_many`` call starts a new run on it (:meth:`begin_run`).
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self.path = Path(path)
        self._fsync = fsync
        self._keys: dict[str, KeyState] = {}
        self._this_run: set[str] = set()
        self.unreadable_lines = 0
        # Unbuffered: each line goes to the file in whole writes, nothing waits in a buffer.
        self._fh = self.path.open("ab", buffering=0)
        try:
            self._lock()
            self._cut = self._read()  # the last line was cut short (SIGKILL, a failed write)
        except BaseException:
            self._fh.close()
            raise
        self._settle()

    @property
    def location(self) -> str:
        return str(self.path)

    def _lock(self) -> None:
        if fcntl is None:
            return
        try:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigurationError(f"journal {self.path} is in use by another run") from None

    def _read(self) -> bool:
        """Load every line; True when the last one has no newline."""
        last = b""
        with self.path.open("rb") as fh:
            for last in fh:
                if not last.strip():
                    continue
                try:
                    record = json.loads(last.decode("utf-8"))
                    self._apply(record)
                except (ValueError, TypeError, KeyError):  # UnicodeDecodeError is a ValueError
                    self.unreadable_lines += 1
        return bool(last) and not last.endswith(b"\n")

    def _apply(self, record: Mapping[str, Any]) -> None:
        """Update the key state with one line: the same rule for lines read back and lines
        written by this object."""
        key = str(record["key"])
        status = JournalStatus(record["status"])  # ValueError: not a journal status
        tracking_numbers = tuple(record.get("tracking_numbers") or ())
        state = self._keys.setdefault(key, KeyState())
        if state.status is JournalStatus.BOOKED:
            return
        if status is JournalStatus.STARTED:
            if state.open_start:
                state.status = JournalStatus.UNKNOWN
            state.open_start = True
            state.render_id = record.get("render_id") or state.render_id
            return
        state.open_start = False
        if status is JournalStatus.BOOKED:
            state.status = status
            state.order_id = record.get("order_id")
            state.tracking_numbers = tracking_numbers
        elif JournalStatus.UNKNOWN in (status, state.status):
            state.status = JournalStatus.UNKNOWN  # a later failure does not undo a booking
        else:
            state.status = status

    def _settle(self) -> None:
        """A booking with a ``started`` line and no outcome was sent, and its run ended
        before the outcome: ``unknown``."""
        for state in self._keys.values():
            if state.open_start:
                state.open_start = False
                if state.status is not JournalStatus.BOOKED:
                    state.status = JournalStatus.UNKNOWN

    async def begin_run(self) -> None:
        """Start a new run on this journal (``book_many`` calls it): forget the keys the
        previous run claimed, and count what it left in flight as ``unknown``."""
        self._this_run.clear()
        self._settle()

    async def end_run(self) -> None:
        """Nothing to do: what this run left in flight is settled by the next one."""

    def previous(self, key: str) -> KeyState | None:
        """What the journal says about ``key`` (earlier runs, and this run's lines)."""
        return self._keys.get(key)

    async def claim(self, item: BookingRequest, *, resend_unknown: bool) -> Claim:
        """Take ``item``'s keys for this run (see :func:`claim_keys`), or say why not."""
        keys = claim_keys(item)
        if any(k in self._this_run for k in keys):
            return Claim(kind=ClaimKind.DUPLICATE)
        self._this_run.update(keys)
        return decide(
            self._keys.get(item.key),
            resend_unknown=resend_unknown,
            has_render_id=item.render_id is not None,
        )

    async def started(self, key: str, render_id: str) -> None:
        self._write(
            {
                "key": key,
                "status": JournalStatus.STARTED.value,
                "render_id": render_id,
                "ts": round(time.time(), 3),
            }
        )

    async def record(self, outcome: BookingOutcome) -> None:
        if recorded(outcome):
            self._write({**outcome_record(outcome), "ts": round(time.time(), 3)})

    def _write(self, record: dict[str, Any]) -> None:
        data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        if self._cut:  # after a line cut short: start on a fresh one
            data = b"\n" + data
        self._cut = True  # until the whole line is down
        view = memoryview(data)
        while view:
            written = self._fh.write(view)
            if not written:
                raise OSError(f"journal {self.path}: the write made no progress")
            view = view[written:]
        self._cut = False
        self._apply(record)
        if self._fsync:
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        """Close the file and release its lock. Safe to call more than once."""
        self._fh.close()

    async def aclose(self) -> None:
        self.close()
