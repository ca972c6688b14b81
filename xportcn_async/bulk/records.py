"""The values a bulk run reads and reports: its inputs, their outcomes, and the JSON record of
an outcome that journals and result files hold (no secrets: errors are kept by type, code,
message and request id)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from ..batch import Outcome
from ..errors import FieldError, OutcomeUnknownError, ValidationError, XportcnError
from ..models import Booking, BookingRequest, InternationalLogistics, SubOrder


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


class ClaimedByAnotherWorker(XportcnError):
    """Why an outcome is ``skipped`` on a shared journal: another worker (process or host)
    holds this booking's key and books it; this one sent nothing. The other worker's outcome
    is in the journal."""

    def __init__(self, key: str, worker: str | None) -> None:
        self.key = key
        self.worker = worker
        by = f" ({worker})" if worker else ""
        super().__init__(f"claimed by another worker{by}")


def claim_keys(item: BookingRequest) -> tuple[str, ...]:
    """The keys a booking takes in one run: its key, and, when that is its ``renderId``, its
    upstream order id too (the same order given once without and once with a ``renderId``,
    or with two, must not be booked twice)."""
    if item.render_id is None:
        return (item.key,)
    return (item.key, upstream_key(item))


def upstream_key(item: BookingRequest) -> str:
    """The key of a booking's upstream order: what a booking without a ``renderId`` is keyed
    by, and what no two bookings of one run may share."""
    return f"tmall:{item.tmall_order_id}"


def error_fields(error: BaseException | None) -> dict[str, Any]:
    """The error of an outcome as JSON fields: type, code, message (bounded), request id."""
    if error is None:
        return {}
    cause = error.cause if isinstance(error, OutcomeUnknownError) else error
    code = getattr(cause, "code", None)
    return {
        "error_type": type(error).__name__,
        "error_code": code,
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
    record.update(error_fields(outcome.error))
    record["attempts"] = outcome.attempts
    return record


def booking_of(order_id: str | None, tracking_numbers: Sequence[str]) -> Booking:
    """The :class:`Booking` a journal remembers: its order id and tracking numbers."""
    return Booking(
        order_id=str(order_id),
        sub_orders=[
            SubOrder(international_logistics=InternationalLogistics(tracking_number=t))
            for t in tracking_numbers
        ],
    )
