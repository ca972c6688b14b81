"""The sandbox's in-memory state: renders, bookings, orders, addresses, and counters.

Everything is plain data. The handlers (``logistics.py``, ``basics.py``, ...) hold the
rules; other handler modules keep their own state under :meth:`SandboxState.namespace`.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar, cast

import attrs

__all__ = ["RATE_WINDOW_SECONDS", "OrderRecord", "RenderRecord", "SandboxState", "SandboxStats"]

T = TypeVar("T")

RATE_WINDOW_SECONDS = 3600
"""How many one-second windows of request counts the sandbox keeps (the newest)."""


@attrs.define(eq=False)
class RenderRecord:
    """A freight preview: the request it answered and the preview (the ``data`` sent)."""

    render_id: str
    request: dict[str, Any]
    preview: dict[str, Any]


@attrs.define(eq=False)
class OrderRecord:
    """A booked international logistics order.

    ``booking`` is the ``data`` answered to the booking, sent again unchanged when the same
    ``render_id`` is booked again. ``domestic_logistics`` holds the latest
    ``logisticInfos`` sent with ``updateLogisticInfo``.
    """

    order_id: str
    render_id: str
    tmall_order_id: str
    request: dict[str, Any]
    booking: dict[str, Any]
    domestic_logistics: list[Any] = attrs.field(factory=list)
    logistics_updates: int = 0


@attrs.frozen(kw_only=True)
class SandboxStats:
    """A snapshot of the sandbox's counters.

    - ``requests_by_status``: requests by the HTTP status answered (dropped connections have
      none; they are counted in ``faults_by_kind``).
    - ``bookings``: orders created. A ``renderId`` is booked at most once, so this is also the
      number of distinct renders booked.
    - ``booking_attempts``: valid bookings of a known ``renderId`` (first or repeated);
      ``duplicate_booking_attempts`` the repeated ones (answered with the existing order, or
      409 when they name another ``tmallOrderId``).
    - ``bookings_by_render_id``: ``renderId`` -> booking attempts.
    - ``upstream_orders_booked_more_than_once``: how many ``tmallOrderId`` values more than
      one booking created an order for, whatever their ``renderId``: each is an upstream
      order shipped twice (what exactly-once booking must keep at 0).
    - ``requests_per_second``: epoch second (by the sandbox clock) -> API requests received
      in it, faults included, for the last :data:`RATE_WINDOW_SECONDS` seconds with any
      request: what a client's rate limit is measured against.
    """

    requests_total: int
    requests_by_status: dict[int, int]
    requests_by_operation: dict[str, int]
    faults_by_kind: dict[str, int]
    renders: int
    bookings: int
    booking_attempts: int
    duplicate_booking_attempts: int
    bookings_by_render_id: dict[str, int]
    logistics_updates: int
    addresses: int
    upstream_orders_booked_more_than_once: int
    requests_per_second: dict[int, int]

    @property
    def renders_attempted_more_than_once(self) -> int:
        """How many ``renderId`` values were booked more than once (never a new order)."""
        return sum(1 for n in self.bookings_by_render_id.values() if n > 1)

    @property
    def requests_per_second_max(self) -> int:
        """The most API requests received in one second (of :attr:`requests_per_second`)."""
        return max(self.requests_per_second.values(), default=0)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (status codes become string keys)."""
        return {
            "requests_total": self.requests_total,
            "requests_by_status": {str(k): v for k, v in sorted(self.requests_by_status.items())},
            "requests_by_operation": dict(sorted(self.requests_by_operation.items())),
            "faults_by_kind": dict(sorted(self.faults_by_kind.items())),
            "renders": self.renders,
            "bookings": self.bookings,
            "booking_attempts": self.booking_attempts,
            "duplicate_booking_attempts": self.duplicate_booking_attempts,
            "renders_attempted_more_than_once": self.renders_attempted_more_than_once,
            "bookings_by_render_id": dict(self.bookings_by_render_id),
            "logistics_updates": self.logistics_updates,
            "addresses": self.addresses,
            "upstream_orders_booked_more_than_once": self.upstream_orders_booked_more_than_once,
            "requests_per_second": {str(k): v for k, v in self.requests_per_second.items()},
            "requests_per_second_max": self.requests_per_second_max,
        }


class SandboxState:
    """Renders, bookings, orders and addresses, with a seeded RNG and a clock.

    Ids are sequential (``renderId`` ``FF<yyyymmdd><counter>``, ``orderId`` ``"1"``, ``"2"``,
    ...), tracking numbers ``FARJP<yymm><counter>YQ``, request ids 32 hex characters from
    the seeded RNG, so a run with one seed gives the same ids in the same order.
    """

    def __init__(self, *, seed: int = 0, clock: Callable[[], float] = time.time) -> None:
        self.rng = random.Random(seed)
        self.clock = clock
        self.renders: dict[str, RenderRecord] = {}
        self.bookings: dict[str, OrderRecord] = {}
        """``renderId`` -> its order."""
        self.orders: dict[str, OrderRecord] = {}
        """``orderId`` -> the order."""
        self.addresses: dict[int, dict[str, Any]] = {}
        self.requests_total = 0
        self.requests_by_status: Counter[int] = Counter()
        self.requests_by_operation: Counter[str] = Counter()
        self.faults_by_kind: Counter[str] = Counter()
        self.booking_attempts = 0
        self.duplicate_booking_attempts = 0
        self.bookings_by_render_id: Counter[str] = Counter()
        self.logistics_updates = 0
        self.orders_by_upstream_order: Counter[str] = Counter()
        """``tmallOrderId`` -> orders created for it (more than 1: booked twice)."""
        self.requests_per_second: dict[int, int] = {}
        """Epoch second -> API requests received in it (the newest
        :data:`RATE_WINDOW_SECONDS` seconds)."""
        self._render_seq = 0
        self._order_seq = 0
        self._tracking_seq = 0
        self._address_seq = 0
        self._namespaces: dict[str, Any] = {}

    def namespace(self, key: str, factory: Callable[[], T]) -> T:
        """The state object of another handler module: made by ``factory()`` on first use,
        the same object afterwards. ``state.namespace("ka", KaState)``."""
        try:
            return cast(T, self._namespaces[key])
        except KeyError:
            value = self._namespaces[key] = factory()
            return value

    def count_request(self, operation: str) -> None:
        """Count one API request received for ``operation``, in its one-second window."""
        self.requests_total += 1
        self.requests_by_operation[operation] += 1
        second = int(self.clock())
        per_second = self.requests_per_second
        if second in per_second:
            per_second[second] += 1
        else:
            per_second[second] = 1
            if len(per_second) > RATE_WINDOW_SECONDS:
                del per_second[next(iter(per_second))]

    # -- ids -------------------------------------------------------------------------------

    def new_request_id(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    def new_render_id(self) -> str:
        self._render_seq += 1
        return f"FF{time.strftime('%Y%m%d', time.localtime(self.clock()))}{self._render_seq:05d}"

    def new_order_id(self) -> str:
        self._order_seq += 1
        return str(self._order_seq)

    def new_tracking_number(self) -> str:
        self._tracking_seq += 1
        return (
            f"FARJP{time.strftime('%y%m', time.localtime(self.clock()))}{self._tracking_seq:06d}YQ"
        )

    def new_address_id(self) -> int:
        self._address_seq += 1
        return self._address_seq

    # -- stats -----------------------------------------------------------------------------

    def snapshot(self) -> SandboxStats:
        return SandboxStats(
            requests_total=self.requests_total,
            requests_by_status=dict(self.requests_by_status),
            requests_by_operation=dict(self.requests_by_operation),
            faults_by_kind=dict(self.faults_by_kind),
            renders=len(self.renders),
            bookings=len(self.bookings),
            booking_attempts=self.booking_attempts,
            duplicate_booking_attempts=self.duplicate_booking_attempts,
            bookings_by_render_id=dict(self.bookings_by_render_id),
            logistics_updates=self.logistics_updates,
            addresses=len(self.addresses),
            upstream_orders_booked_more_than_once=sum(
                1 for n in self.orders_by_upstream_order.values() if n > 1
            ),
            requests_per_second=dict(self.requests_per_second),
        )
