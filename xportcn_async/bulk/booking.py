"""``client.logistics.book_many``: one :class:`BulkBooking` per run, on the batch engine.

Per booking: claim its key in the journal (or, without one, in the run's in-flight set),
preview it when it has no ``renderId``, then book it. Every attempt waits for its rate-limit
slot; the journal's ``started`` record is written after the first attempt's slot and right
before that attempt is sent; the outcome is recorded when the booking ends.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterable, Awaitable, Coroutine, Iterable
from typing import Any, Protocol, TypedDict

import attrs

from ..batch import BatchAbort, BatchRun, Status, Verdict
from ..errors import (
    FieldError,
    MalformedResponseError,
    OutcomeUnknownError,
    ValidationError,
    XportcnError,
)
from ..hooks import AttemptHooks, RateLimiterLike
from ..models import Booking, BookingRequest, FreightPreview, PreviewFreightRequest
from ..wire import validate
from .journal import BookingJournal, Claim, ClaimKind, Journal
from .postgres import PostgresJournal
from .records import (
    BookingInput,
    BookingOutcome,
    ClaimedByAnotherWorker,
    DuplicateKeyError,
    InvalidInput,
    claim_keys,
)

if sys.version_info >= (3, 11):
    from typing import Unpack
else:
    from typing_extensions import Unpack


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


POSTGRES_SCHEMES = ("postgresql://", "postgres://")

JournalSpec = str | os.PathLike[str] | BookingJournal
"""What ``book_many(journal=...)`` accepts: a JSONL path, a PostgreSQL URL, or a journal."""


def open_journal(journal: JournalSpec) -> tuple[BookingJournal, bool]:
    """The journal ``book_many`` was given, and whether the run owns it (made it from a path
    or a URL, so closes it when it ends)."""
    if isinstance(journal, str) and journal.startswith(POSTGRES_SCHEMES):
        return PostgresJournal(journal), True
    if isinstance(journal, (str, os.PathLike)):
        return Journal(journal), True
    return journal, False


def _unknown_from_earlier_run(why: str) -> Verdict:
    cause = XportcnError(f"an earlier run sent this booking and its outcome is unknown; {why}")
    return Status.UNKNOWN, None, OutcomeUnknownError("logistics.book", cause, attempts=0)


class _BookingGate:
    """What every attempt of one booking waits for, as its rate limiter (the ``limiter`` of
    its :class:`~xportcn_async.AttemptHooks`): its slot from the run's limiter, then, before
    the first attempt only, the journal's ``started`` record. There, ``started`` follows the
    rate-limit wait and directly precedes the send (the client signs and sends right after),
    a record that cannot be written stops the attempt before anything is sent, and the record
    may be asynchronous (a PostgreSQL statement), which ``before_send`` cannot be."""

    def __init__(
        self, limiter: RateLimiterLike | None, journal: BookingJournal, key: str, render_id: str
    ) -> None:
        self._limiter = limiter
        self._journal = journal
        self._key = key
        self._render_id = render_id
        self.started = False
        self.error: Exception | None = None
        """The journal's failure to record ``started``: nothing was sent."""

    async def acquire(self) -> None:
        if self._limiter is not None:
            await self._limiter.acquire()
        if self.started:
            return
        try:
            await self._journal.started(self._key, self._render_id)
        except ClaimedByAnotherWorker:
            raise  # this booking only: another worker holds it now
        except Exception as exc:
            self.error = exc
            raise
        self.started = True


class BulkBooking:
    """One ``book_many`` run: the claims, previews, bookings and journal records of its items.

    The batch engine calls :meth:`precheck` (claim the key, or say why not), :meth:`book`
    with the run's :class:`~xportcn_async.AttemptHooks` (its rate limit, its attempt counts),
    :meth:`record` with each outcome and :meth:`close` at the end; :meth:`run` wires them up.
    It books through the public API only: ``preview_freight`` and ``book`` with hooks.
    """

    def __init__(
        self,
        logistics: Booker,
        *,
        journal: JournalSpec | None,
        preview_missing: bool,
        retry_ambiguous: bool,
        resend_unknown: bool | None,
    ) -> None:
        self._logistics = logistics
        self._retry_ambiguous = retry_ambiguous
        self._resend = self._retry_ambiguous if resend_unknown is None else resend_unknown
        self._preview_missing = preview_missing
        self._journal: BookingJournal | None = None
        self._owns_journal = False
        if journal is not None:
            self._journal, self._owns_journal = open_journal(journal)
        self._begun = False
        self._begin_lock = asyncio.Lock()
        # Claims of the bookings in flight: the renderId to resend a booking in doubt with.
        self._claims: dict[str, Claim] = {}
        # Without a journal: the keys being booked right now. A repeat is caught only while
        # the first copy is in flight, so that memory stays bounded.
        self._in_flight: set[str] = set()

    @property
    def journal(self) -> BookingJournal | None:
        return self._journal

    def run(
        self,
        requests: Iterable[BookingInput] | AsyncIterable[BookingInput],
        *,
        concurrency: int,
        rate_limit: float | RateLimiterLike | None,
        burst: int,
        ordered: bool,
        window: int | None,
    ) -> BatchRun[BookingInput, Booking]:
        """The batch run over ``requests``."""
        return BatchRun(
            self.book,
            requests,
            with_hooks=True,
            concurrency=concurrency,
            rate_limit=rate_limit,
            burst=burst,
            ordered=ordered,
            window=window,
            key=lambda item: item.key,
            success=Status.BOOKED,
            precheck=self.precheck,
            on_outcome=self.record,
            on_close=self.close,
            usage="client.logistics.book_many(...)",
        )

    def precheck(
        self, item: BookingInput, key: str
    ) -> Verdict | Coroutine[Any, Any, Verdict | None] | None:
        """Claim ``item``'s key, or the outcome it gets without being sent. Without a
        journal this is synchronous (no coroutine per booking); with one, the claim is
        awaited."""
        if isinstance(item, InvalidInput):
            return Status.REJECTED, None, item.error
        journal = self._journal
        if journal is None:
            keys = claim_keys(item)
            in_flight = self._in_flight
            if any(k in in_flight for k in keys):
                return Status.REJECTED, None, DuplicateKeyError(key)
            in_flight.update(keys)
            return None
        return self._claim(journal, item, key)

    async def _claim(
        self, journal: BookingJournal, item: BookingRequest, key: str
    ) -> Verdict | None:
        if not self._begun:
            async with self._begin_lock:
                if not self._begun:
                    await journal.begin_run()
                    self._begun = True
        claim = await journal.claim(item, resend_unknown=self._resend)
        kind = claim.kind
        if kind is ClaimKind.BOOK:
            self._claims[key] = claim
            return None
        if kind is ClaimKind.ALREADY_BOOKED:
            return Status.SKIPPED, claim.booking, None
        if kind is ClaimKind.TAKEN:
            return Status.SKIPPED, None, ClaimedByAnotherWorker(key, claim.holder)
        if kind is ClaimKind.DUPLICATE:
            return Status.REJECTED, None, DuplicateKeyError(key)
        if kind is ClaimKind.IN_DOUBT:
            return _unknown_from_earlier_run(
                "check the order before resending (or opt in with resend_unknown=True)"
            )
        return _unknown_from_earlier_run(
            "its renderId is not in the journal, so it cannot be resent safely"
        )

    async def book(self, item: BookingInput, *, hooks: AttemptHooks) -> Booking:
        """Preview ``item`` if it needs it, then book it (the engine calls this for the items
        :meth:`precheck` let through). ``hooks`` go to every call it makes."""
        assert isinstance(item, BookingRequest)  # precheck rejected the rest
        claim = self._claims.pop(item.key, None)
        request = item
        if request.render_id is None and claim is not None and claim.render_id:
            # resending a booking in doubt: its renderId, never a new preview (one that failed
            # or was rejected is previewed afresh: its quote may be stale)
            request = request.with_render_id(claim.render_id)
        if request.render_id is None:
            request = await self._preview(request, hooks)
        if self._journal is None:
            return await self._logistics.book(
                request, hooks=hooks, retry_ambiguous=self._retry_ambiguous
            )
        assert request.render_id is not None
        gate = _BookingGate(hooks.limiter, self._journal, item.key, request.render_id)
        try:
            return await self._logistics.book(
                request,
                hooks=attrs.evolve(hooks, limiter=gate),
                retry_ambiguous=self._retry_ambiguous,
            )
        except Exception as exc:
            if exc is gate.error:
                # The journal cannot be written and the booking was not sent: stop the run.
                raise BatchAbort(exc) from exc
            raise

    async def _preview(self, request: BookingRequest, hooks: AttemptHooks) -> BookingRequest:
        """``request`` with the ``renderId`` of a fresh freight preview. The booking is
        validated first, so that an invalid one is rejected with its own field names and no
        request is sent for it (one with a ``renderId`` is validated by ``book()`` alone)."""
        if not self._preview_missing:
            raise ValidationError(
                f"booking {request.key}", [FieldError("render_id", "required (no preview)")]
            )
        validate(request, subject=f"booking {request.key}")
        logistics = self._logistics
        preview = await logistics.preview_freight(logistics.preview_for(request), hooks=hooks)
        if not preview.render_id:
            raise MalformedResponseError(
                "the freight preview returned no renderId",
                http_status=200,
                request_id=preview.request_id,
                operation="logistics.preview_freight",
            )
        return request.with_render_id(preview.render_id)

    def record(self, outcome: BookingOutcome) -> Awaitable[None] | None:
        """Journal ``outcome`` (awaitable), or, without a journal, release its keys (at
        once)."""
        if self._journal is not None:
            return self._journal.record(outcome)
        item = outcome.item
        if isinstance(item, BookingRequest) and not isinstance(outcome.error, DuplicateKeyError):
            self._in_flight.difference_update(claim_keys(item))
        return None

    def close(self) -> Awaitable[None] | None:
        """End the run on its journal, and close the journal if the run opened it. A run that
        never began (nothing was read) has nothing to end: its file journal is closed at once,
        so that a new run can take its lock straight away."""
        journal = self._journal
        if journal is None:
            return None
        if self._begun:
            return self._end(journal)
        if self._owns_journal and isinstance(journal, Journal):
            journal.close()
        return None  # an unused PostgresJournal has opened no connection

    async def _end(self, journal: BookingJournal) -> None:
        self._begun = False
        try:
            await journal.end_run()
        finally:
            if self._owns_journal:
                await journal.aclose()


class BookManyOptions(TypedDict, total=False):
    """The options of :meth:`client.logistics.book_many
    <xportcn_async.resources.LogisticsResource.book_many>` (which says what each means),
    declared once: the resource method and :func:`book_many` take them as keyword
    arguments. Defaults: ``concurrency`` 64, ``rate_limit`` None, ``burst`` 1, ``ordered``
    False, ``window`` None (``concurrency``), ``preview_missing`` True, ``journal`` None,
    ``resend_unknown`` None (``retry_ambiguous``)."""

    concurrency: int
    rate_limit: float | RateLimiterLike | None
    burst: int
    ordered: bool
    window: int | None
    preview_missing: bool
    journal: JournalSpec | None
    resend_unknown: bool | None


def book_many(
    logistics: Booker,
    requests: Iterable[BookingInput] | AsyncIterable[BookingInput],
    *,
    retry_ambiguous: bool,
    **options: Unpack[BookManyOptions],
) -> BatchRun[BookingInput, Booking]:
    """See :meth:`xportcn_async.resources.LogisticsResource.book_many` (which resolves
    ``retry_ambiguous`` from the client's)."""
    booking = BulkBooking(
        logistics,
        journal=options.get("journal"),
        preview_missing=options.get("preview_missing", True),
        retry_ambiguous=retry_ambiguous,
        resend_unknown=options.get("resend_unknown"),
    )
    return booking.run(
        requests,
        concurrency=options.get("concurrency", 64),
        rate_limit=options.get("rate_limit"),
        burst=options.get("burst", 1),
        ordered=options.get("ordered", False),
        window=options.get("window"),
    )
