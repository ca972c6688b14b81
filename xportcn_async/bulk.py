"""Bulk booking: ``client.logistics.book_many`` and its resumable journal.

The journal is a JSONL file. Right before a booking is handed to the transport (after its
rate-limit wait), a ``started`` line is appended for its key, with the ``renderId`` it books;
when it ends, a line with its final status (order id and tracking numbers, or the error code
and message). Lines are written straight to the file, so a process killed with SIGKILL loses
at most the outcomes of in-flight items, and those still have their ``started`` line: a later
run reports them as ``unknown`` instead of booking them a second time. A booking that was
never sent has no ``started`` line. One run at a time: the journal is locked while it is
open. The journal holds no secrets.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterable, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

import attrs

from .batch import BatchAbort, BatchRun, Outcome, Status, Verdict
from .converter import validate
from .errors import (
    ConfigurationError,
    FieldError,
    MalformedResponseError,
    OutcomeUnknownError,
    ValidationError,
    XportcnError,
)
from .hooks import AttemptHooks, RateLimiterLike
from .models import (
    Booking,
    BookingRequest,
    FreightPreview,
    InternationalLogistics,
    PreviewFreightRequest,
    SubOrder,
)

try:
    import fcntl
except ImportError:  # Windows: no advisory lock (see Journal)
    fcntl = None  # type: ignore[assignment]


class Booker(Protocol):
    """What ``book_many`` books through: ``client.logistics`` (public API only)."""

    async def preview_freight(
        self, request: PreviewFreightRequest, *, hooks: AttemptHooks | None = None
    ) -> FreightPreview: ...

    async def book(
        self,
        request: BookingRequest,
        *,
        hooks: AttemptHooks | None = None,
        retry_ambiguous: bool | None = None,
    ) -> Booking: ...

    def preview_for(self, request: BookingRequest) -> PreviewFreightRequest: ...


@attrs.frozen
class InvalidInput:
    """An input that could not be read as a booking (for example a malformed JSONL line). It
    becomes a ``rejected`` outcome carrying ``error``; nothing is sent."""

    key: str
    error: Exception


BookingInput = BookingRequest | InvalidInput
BookingOutcome = Outcome[BookingInput, Booking]


class DuplicateKeyError(ValidationError):
    """The same booking appears twice in one input (the same key, or, for a booking with a
    ``renderId``, the same upstream order id); the second is not sent."""

    def __init__(self, key: str) -> None:
        super().__init__(
            f"booking {key}",
            [FieldError("key", "the same key or upstream order appears earlier in this input")],
        )


def _error_fields(error: BaseException | None) -> dict[str, Any]:
    if error is None:
        return {}
    cause = error.cause if isinstance(error, OutcomeUnknownError) else error
    return {
        "error_type": type(error).__name__,
        "error_code": getattr(cause, "code", None),
        "error": str(error)[:1000],
        "request_id": getattr(error, "request_id", None),
    }


def outcome_record(outcome: BookingOutcome) -> dict[str, Any]:
    """The JSON record of an outcome, as written to journals and result files."""
    record: dict[str, Any] = {"key": outcome.key, "status": outcome.status.value}
    booking = outcome.result
    if booking is not None:
        record["order_id"] = booking.order_id
        record["tracking_numbers"] = booking.tracking_numbers
    record.update(_error_fields(outcome.error))
    record["attempts"] = outcome.attempts
    return record


@attrs.define
class KeyState:
    """What the journal's lines say about one key."""

    status: str | None = None
    """``booked``, ``unknown`` (or in flight when a run died), ``failed`` or ``rejected``."""
    order_id: str | None = None
    tracking_numbers: tuple[str, ...] = ()
    render_id: str | None = None
    """The ``renderId`` of the last booking sent for this key."""
    open_start: bool = False


def _claim_keys(item: BookingRequest) -> tuple[str, ...]:
    """The keys a booking takes in one run: its key, and, when that is its ``renderId``, its
    upstream order id too (the same order given once without and once with a ``renderId``,
    or with two, must not be booked twice)."""
    if item.render_id is None:
        return (item.key,)
    return (item.key, f"tmall:{item.tmall_order_id}")


class Journal:
    """An append-only JSONL record of booking outcomes, for resuming a bulk run.

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
        status = record["status"]
        if not isinstance(status, str):
            raise TypeError("status must be a string")
        tracking_numbers = tuple(record.get("tracking_numbers") or ())
        state = self._keys.setdefault(key, KeyState())
        if state.status == "booked":
            return
        if status == "started":
            if state.open_start:
                state.status = "unknown"
            state.open_start = True
            state.render_id = record.get("render_id") or state.render_id
            return
        state.open_start = False
        if status == "booked":
            state.status = "booked"
            state.order_id = record.get("order_id")
            state.tracking_numbers = tracking_numbers
        elif status == "unknown" or state.status == "unknown":
            state.status = "unknown"  # a later failure does not undo a possible booking
        else:
            state.status = status

    def _settle(self) -> None:
        """A booking with a ``started`` line and no outcome was sent, and its run ended
        before the outcome: ``unknown``."""
        for state in self._keys.values():
            if state.open_start:
                state.open_start = False
                if state.status != "booked":
                    state.status = "unknown"

    def begin_run(self) -> None:
        """Start a new run on this journal (``book_many`` calls it): forget the keys the
        previous run claimed, and count what it left in flight as ``unknown``."""
        self._this_run.clear()
        self._settle()

    def previous(self, key: str) -> KeyState | None:
        """What the journal says about ``key`` (earlier runs, and this run's lines)."""
        return self._keys.get(key)

    def claim(self, key: str, *also: str) -> bool:
        """Mark ``key`` (and ``also``) as taken by this run; False, taking none, when one of
        them already was."""
        keys = (key, *also)
        if any(k in self._this_run for k in keys):
            return False
        self._this_run.update(keys)
        return True

    def started(self, key: str, render_id: str) -> None:
        self._write(
            {"key": key, "status": "started", "render_id": render_id, "ts": round(time.time(), 3)}
        )

    def record(self, outcome: BookingOutcome) -> None:
        if outcome.status is Status.SKIPPED or isinstance(outcome.error, DuplicateKeyError):
            return  # nothing new about this key
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


def _booking_from_journal(state: KeyState) -> Booking:
    return Booking(
        order_id=str(state.order_id),
        sub_orders=[
            SubOrder(international_logistics=InternationalLogistics(tracking_number=t))
            for t in state.tracking_numbers
        ],
    )


def _unknown_from_earlier_run(why: str) -> Verdict:
    cause = XportcnError(f"an earlier run sent this booking and its outcome is unknown; {why}")
    return Status.UNKNOWN, None, OutcomeUnknownError("logistics.book", cause, attempts=0)


def book_many(
    logistics: Booker,
    requests: Iterable[BookingInput] | AsyncIterable[BookingInput],
    *,
    concurrency: int = 64,
    rate_limit: float | RateLimiterLike | None = None,
    burst: int = 1,
    ordered: bool = False,
    window: int | None = None,
    preview_missing: bool = True,
    journal: str | os.PathLike[str] | Journal | None = None,
    retry_ambiguous: bool,
    resend_unknown: bool | None = None,
) -> BatchRun[BookingInput, Booking]:
    """See :meth:`xportcn_async.resources.LogisticsResource.book_many` (which resolves
    ``retry_ambiguous`` from the client's)."""
    log = Journal(journal) if isinstance(journal, (str, os.PathLike)) else journal
    if log is not None:
        log.begin_run()
    ambiguous_ok = retry_ambiguous
    resend = ambiguous_ok if resend_unknown is None else resend_unknown
    # Without a journal: the keys being booked right now. A repeat is caught only while the
    # first copy is in flight, so that memory stays bounded.
    in_flight: set[str] = set()

    def precheck(item: BookingInput, key: str) -> Verdict | None:
        if isinstance(item, InvalidInput):
            return Status.REJECTED, None, item.error
        keys = _claim_keys(item)
        if log is None:
            if any(k in in_flight for k in keys):
                return Status.REJECTED, None, DuplicateKeyError(key)
            in_flight.update(keys)
            return None
        if not log.claim(*keys):
            return Status.REJECTED, None, DuplicateKeyError(key)
        previous = log.previous(key)
        if previous is None or previous.status in (None, "failed", "rejected"):
            return None
        if previous.status == "booked":
            return Status.SKIPPED, _booking_from_journal(previous), None
        if not resend:
            return _unknown_from_earlier_run(
                "check the order before resending (or opt in with resend_unknown=True)"
            )
        if previous.render_id is None and item.render_id is None:
            return _unknown_from_earlier_run(
                "its renderId is not in the journal, so it cannot be resent safely"
            )
        return None

    async def book_one(item: BookingInput, *, hooks: AttemptHooks) -> Booking:
        assert isinstance(item, BookingRequest)  # precheck rejected the rest
        request = item
        previous = log.previous(item.key) if log is not None else None
        if (
            request.render_id is None
            and previous is not None
            and previous.status == "unknown"
            and previous.render_id
        ):
            # resending an unknown booking: the same renderId, never a new preview (a booking
            # that failed or was rejected is previewed afresh: its quote may be stale)
            request = request.with_render_id(previous.render_id)
        if request.render_id is None:
            if not preview_missing:
                raise ValidationError(
                    f"booking {item.key}", [FieldError("render_id", "required (no preview)")]
                )
            # Validated before a preview is spent on it, so that its errors name the
            # booking's fields (book() validates it again; previewed bookings only).
            validate(request, subject=f"booking {item.key}")
            preview = await logistics.preview_freight(logistics.preview_for(request), hooks=hooks)
            if not preview.render_id:
                raise MalformedResponseError(
                    "the freight preview returned no renderId",
                    http_status=200,
                    request_id=preview.request_id,
                    operation="logistics.preview_freight",
                )
            request = request.with_render_id(preview.render_id)
        if log is None:
            return await logistics.book(request, hooks=hooks, retry_ambiguous=ambiguous_ok)
        return await _book_journalled(log, item.key, request, hooks)

    async def _book_journalled(
        log: Journal, key: str, request: BookingRequest, hooks: AttemptHooks
    ) -> Booking:
        """Book, writing the ``started`` line right before the booking is handed to the
        transport (after any rate-limit wait), once, on its first attempt."""
        render_id = request.render_id or ""
        count_attempt = hooks.before_send
        start_error: list[BaseException] = []

        def before_send(attempt: int) -> None:
            if attempt == 1:  # once per item: retries need no second line
                try:
                    log.started(key, render_id)
                except Exception as exc:
                    start_error.append(exc)
                    raise  # this attempt is not sent, so not counted either
            if count_attempt is not None:
                count_attempt(attempt)

        try:
            return await logistics.book(
                request,
                hooks=attrs.evolve(hooks, before_send=before_send),
                retry_ambiguous=ambiguous_ok,
            )
        except Exception as exc:
            if start_error and exc is start_error[0]:
                # The journal cannot be written and the booking was not sent: stop the run.
                raise BatchAbort(exc) from exc
            raise

    def on_outcome(outcome: BookingOutcome) -> None:
        if log is None:
            item = outcome.item
            if isinstance(item, BookingRequest) and not isinstance(
                outcome.error, DuplicateKeyError
            ):
                in_flight.difference_update(_claim_keys(item))
        else:
            log.record(outcome)

    return BatchRun(
        book_one,
        requests,
        with_hooks=True,
        concurrency=concurrency,
        rate_limit=rate_limit,
        burst=burst,
        ordered=ordered,
        window=window,
        key=lambda item: item.key,
        success=Status.BOOKED,
        precheck=precheck,
        on_outcome=on_outcome,
        on_close=log.close if log is not None and log is not journal else None,
        usage="client.logistics.book_many(...)",
    )
