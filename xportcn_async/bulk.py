"""Bulk booking: ``client.logistics.book_many`` and its resumable journal.

The journal is a JSONL file. Before a booking is sent, a ``started`` line is appended for its
key; when it ends, a line with its final status (order id and tracking numbers, or the error
code and message). Lines are flushed as they are written, so a process killed with SIGKILL
loses at most the outcomes of in-flight items, and those still have their ``started`` line: a
later run reports them as ``unknown`` instead of booking them a second time. The journal holds
no secrets.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from .batch import BatchRun, Outcome, Status
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


class Journal:
    """An append-only JSONL record of booking outcomes, for resuming a bulk run.

    ``fsync=True`` also forces each line to disk (survives power loss, not just SIGKILL).
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self.path = Path(path)
        self._fsync = fsync
        self._last: dict[str, dict[str, Any]] = {}  # key -> last record from earlier runs
        self._this_run: set[str] = set()
        self.unreadable_lines = 0
        if self.path.exists():
            with self.path.open(encoding="utf-8") as fh:
                for line in fh:
                    try:
                        record = json.loads(line)
                        key = record["key"]
                    except (ValueError, TypeError, KeyError):
                        self.unreadable_lines += 1  # e.g. a line cut short by SIGKILL
                        continue
                    self._last[key] = record  # the last line for a key tells its state
        self._fh = self.path.open("a", encoding="utf-8")

    def previous(self, key: str) -> dict[str, Any] | None:
        """The last record an earlier run left for ``key``."""
        return self._last.get(key)

    def seen_in_this_run(self, key: str) -> bool:
        return key in self._this_run

    def started(self, key: str) -> None:
        self._this_run.add(key)
        self._write({"key": key, "status": "started", "ts": round(time.time(), 3)})

    def record(self, outcome: BookingOutcome) -> None:
        if outcome.status is Status.SKIPPED:
            return  # already recorded by the run that booked it
        self._write({**outcome_record(outcome), "ts": round(time.time(), 3)})

    def _write(self, record: dict[str, Any]) -> None:
        self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._fh.flush()
        if self._fsync:
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()


def _booking_from_record(record: dict[str, Any]) -> Booking:
    return Booking(
        order_id=str(record.get("order_id")),
        sub_orders=[
            SubOrder(international_logistics=InternationalLogistics(tracking_number=t))
            for t in record.get("tracking_numbers") or []
        ],
    )


def _key(item: BookingInput) -> str:
    return item.key


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
    retry_ambiguous: bool = False,
    resend_unknown: bool | None = None,
) -> BatchRun[BookingInput, Booking]:
    """See :meth:`xportcn_async.resources.LogisticsResource.book_many`."""
    logistics = client.logistics
    owns_journal = not (journal is None or isinstance(journal, Journal))
    log = Journal(journal) if not (journal is None or isinstance(journal, Journal)) else journal
    resend = retry_ambiguous if resend_unknown is None else resend_unknown

    def precheck(item: BookingInput) -> tuple[Status, Any, BaseException | None] | None:
        if log is None or isinstance(item, InvalidInput):
            return None
        key = item.key
        if log.seen_in_this_run(key):
            error = ValidationError(
                f"booking {key}", [FieldError("key", "the same key appears twice in this input")]
            )
            return Status.REJECTED, None, error
        previous = log.previous(key)
        if previous is None:
            return None
        status = previous.get("status")
        if status == "booked":
            return Status.SKIPPED, _booking_from_record(previous), None
        if status in ("unknown", "started") and not resend:
            cause = XportcnError(
                "an earlier run sent this booking and its outcome is unknown; check the "
                "order before resending (or opt in with resend_unknown=True)"
            )
            return Status.UNKNOWN, None, OutcomeUnknownError("logistics.book", cause, attempts=0)
        return None

    async def book_one(item: BookingInput) -> Booking:
        if isinstance(item, InvalidInput):
            raise item.error
        validate(item, subject=f"booking {item.key}")
        request = item
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
            log.started(item.key)
        return await logistics.book(request, retry_ambiguous=retry_ambiguous)

    def on_outcome(outcome: BookingOutcome) -> None:
        if log is not None:
            log.record(outcome)

    return _JournaledRun(
        book_one,
        requests,
        concurrency=concurrency,
        rate_limit=rate_limit,
        burst=burst,
        ordered=ordered,
        window=window,
        key=_key,
        success=Status.BOOKED,
        precheck=precheck,
        on_outcome=on_outcome,
        journal=log if owns_journal else None,
    )


class _JournaledRun(BatchRun[BookingInput, Booking]):
    """A batch run that closes the journal it opened when it ends."""

    def __init__(self, *args: Any, journal: Journal | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._journal = journal

    async def aclose(self) -> None:
        try:
            await super().aclose()
        finally:
            if self._journal is not None:
                self._journal.close()
                self._journal = None

    async def __anext__(self) -> BookingOutcome:
        try:
            return await super().__anext__()
        except StopAsyncIteration:
            if self._journal is not None:
                self._journal.close()
                self._journal = None
            raise
