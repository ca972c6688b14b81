"""Bulk booking: ``client.logistics.book_many`` and its resumable journal.

The journal is a JSONL file. Before a booking is sent, a ``started`` line is appended for its
key, with the ``renderId`` it books; when it ends, a line with its final status (order id and
tracking numbers, or the error code and message). Lines are flushed as they are written, so
a process killed with SIGKILL loses at most the outcomes of in-flight items, and those still
have their ``started`` line: a later run reports them as ``unknown`` instead of booking them
a second time. The journal holds no secrets.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from .batch import BatchRun, Outcome, Status, Verdict
from .converter import validate
from .errors import (
    FieldError,
    MalformedResponseError,
    OutcomeUnknownError,
    ValidationError,
    XportcnError,
)
from .models import Booking, BookingRequest, InternationalLogistics, SubOrder

if TYPE_CHECKING:
    from .client import XportcnClient


@attrs.frozen
class InvalidInput:
    """An input that could not be read as a booking (for example a malformed JSONL line). It
    becomes a ``rejected`` outcome carrying ``error``; nothing is sent."""

    key: str
    error: Exception


BookingInput = BookingRequest | InvalidInput
BookingOutcome = Outcome[BookingInput, Booking]


class DuplicateKeyError(ValidationError):
    """The same booking key appears twice in one input; the second is not sent."""

    def __init__(self, key: str) -> None:
        super().__init__(
            f"booking {key}", [FieldError("key", "the same key appears earlier in this input")]
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
    """What earlier runs' journal lines say about one key."""

    status: str | None = None
    """``booked``, ``unknown`` (or in flight when a run died), ``failed`` or ``rejected``."""
    order_id: str | None = None
    tracking_numbers: tuple[str, ...] = ()
    render_id: str | None = None
    """The ``renderId`` of the last booking sent for this key."""
    open_start: bool = False


class Journal:
    """An append-only JSONL record of booking outcomes, for resuming a bulk run.

    Reading it back, ``booked`` is final; a booking that was sent and never finished (or
    ended ``unknown``) stays ``unknown`` until a later line says ``booked``; otherwise the
    last final status counts. It keeps a small state per key in memory (so its memory grows
    with the number of keys, unlike the rest of a bulk run). ``fsync=True`` also forces each
    line to disk (survives power loss, not just SIGKILL).
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self.path = Path(path)
        self._fsync = fsync
        self._keys: dict[str, KeyState] = {}
        self._this_run: set[str] = set()
        self.unreadable_lines = 0
        ends_cut = False
        if self.path.exists():
            with self.path.open(encoding="utf-8") as fh:
                line = ""
                for line in fh:
                    self._load(line)
                ends_cut = bool(line) and not line.endswith("\n")
        for state in self._keys.values():
            if state.open_start and state.status != "booked":
                state.status = "unknown"  # sent, and the run died before its outcome
        self._fh = self.path.open("a", encoding="utf-8")
        if ends_cut:  # a line cut short by SIGKILL: start ours on a fresh line
            self._fh.write("\n")

    def _load(self, line: str) -> None:
        try:
            record = json.loads(line)
            key = str(record["key"])
            status = record["status"]
        except (ValueError, TypeError, KeyError):
            self.unreadable_lines += 1
            return
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
            state.tracking_numbers = tuple(record.get("tracking_numbers") or ())
        elif status == "unknown" or state.status == "unknown":
            state.status = "unknown"  # a later failure does not undo a possible booking
        else:
            state.status = status

    def previous(self, key: str) -> KeyState | None:
        """What earlier runs left for ``key``."""
        return self._keys.get(key)

    def claim(self, key: str) -> bool:
        """Mark ``key`` as taken by this run; False when it already was."""
        if key in self._this_run:
            return False
        self._this_run.add(key)
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
        self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._fh.flush()
        if self._fsync:
            os.fsync(self._fh.fileno())

    def close(self) -> None:
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
    client: XportcnClient,
    requests: Iterable[BookingInput] | AsyncIterable[BookingInput],
    *,
    concurrency: int = 64,
    rate_limit: float | None = None,
    burst: int = 1,
    ordered: bool = False,
    window: int | None = None,
    preview_missing: bool = True,
    journal: str | os.PathLike[str] | Journal | None = None,
    retry_ambiguous: bool | None = None,
    resend_unknown: bool | None = None,
) -> BatchRun[BookingInput, Booking]:
    """See :meth:`xportcn_async.resources.LogisticsResource.book_many`."""
    logistics = client.logistics
    log = Journal(journal) if isinstance(journal, (str, os.PathLike)) else journal
    ambiguous_ok = client._options.retry_ambiguous if retry_ambiguous is None else retry_ambiguous
    resend = ambiguous_ok if resend_unknown is None else resend_unknown
    in_flight: set[str] = set()  # without a journal: keys being booked right now

    def precheck(item: BookingInput, key: str) -> Verdict | None:
        if isinstance(item, InvalidInput):
            return Status.REJECTED, None, item.error
        if log is None:
            if key in in_flight:
                return Status.REJECTED, None, DuplicateKeyError(key)
            in_flight.add(key)
            return None
        if not log.claim(key):
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

    async def book_one(item: BookingInput) -> Booking:
        assert isinstance(item, BookingRequest)  # precheck rejected the rest
        validate(item, subject=f"booking {item.key}")
        request = item
        previous = log.previous(item.key) if log is not None else None
        if request.render_id is None and previous is not None and previous.render_id:
            # resending an unknown booking: the same renderId, never a new preview
            request = request.with_render_id(previous.render_id)
        if request.render_id is None:
            if not preview_missing:
                raise ValidationError(
                    f"booking {item.key}", [FieldError("render_id", "required (no preview)")]
                )
            preview = await logistics.preview_freight(logistics.preview_for(request))
            if not preview.render_id:
                raise MalformedResponseError(
                    "the freight preview returned no renderId",
                    http_status=200,
                    request_id=preview.request_id,
                    operation="logistics.preview_freight",
                )
            request = request.with_render_id(preview.render_id)
        if log is not None:
            log.started(item.key, request.render_id or "")
        booking: Booking = await client.request(
            "logistics.book", request, retry_ambiguous=ambiguous_ok, prevalidated=True
        )
        return booking

    def on_outcome(outcome: BookingOutcome) -> None:
        if log is None:
            if not isinstance(outcome.error, DuplicateKeyError):
                in_flight.discard(outcome.key)
        else:
            log.record(outcome)

    return BatchRun(
        book_one,
        requests,
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
    )
