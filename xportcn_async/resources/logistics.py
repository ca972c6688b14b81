"""``client.logistics``: warehouse logistics (API.md §4.2)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterable, Iterable

from .. import endpoints
from ..batch import BatchRun
from ..bulk import BookingInput, BookManyOptions, book_many
from ..errors import FieldError, ValidationError
from ..hooks import AttemptHooks
from ..models import (
    Acknowledgement,
    Booking,
    BookingRequest,
    EstimateFreightRequest,
    FreightEstimate,
    FreightPreview,
    PreviewFreightRequest,
    RenderItem,
    UpdateDomesticLogisticsRequest,
)
from ..transports import Timeout
from ._base import Resource

if sys.version_info >= (3, 11):
    from typing import Unpack
else:
    from typing_extensions import Unpack


class LogisticsResource(Resource):
    """Warehouse logistics: estimate, preview, book, and update domestic logistics."""

    async def estimate_freight(
        self,
        request: EstimateFreightRequest,
        *,
        timeout: Timeout | float | None = None,
        hooks: AttemptHooks | None = None,
    ) -> FreightEstimate:
        """Freight options for one item to one address."""
        return await self._client.request(
            endpoints.LOGISTICS_ESTIMATE_FREIGHT, request, timeout=timeout, hooks=hooks
        )

    async def preview_freight(
        self,
        request: PreviewFreightRequest,
        *,
        timeout: Timeout | float | None = None,
        hooks: AttemptHooks | None = None,
    ) -> FreightPreview:
        """Quote an order's freight; book the quote with its ``render_id``."""
        return await self._client.request(
            endpoints.LOGISTICS_PREVIEW_FREIGHT, request, timeout=timeout, hooks=hooks
        )

    async def book(
        self,
        request: BookingRequest,
        *,
        timeout: Timeout | float | None = None,
        hooks: AttemptHooks | None = None,
        retry_ambiguous: bool | None = None,
    ) -> Booking:
        """Book the international logistics of one order.

        The request must carry the ``render_id`` of a preview (see :meth:`preview_for`). A
        booking is never retried once it may have reached the server, unless
        ``retry_ambiguous`` is true (here or on the client): such a failure raises
        :class:`~xportcn_async.errors.OutcomeUnknownError`.
        """
        if request.render_id is None:
            raise ValidationError(
                "logistics.book request",
                [FieldError("render_id", "required: preview the freight first (preview_for)")],
            )
        return await self._client.request(
            endpoints.LOGISTICS_BOOK,
            request,
            timeout=timeout,
            hooks=hooks,
            retry_ambiguous=retry_ambiguous,
        )

    def book_many(
        self,
        requests: Iterable[BookingInput] | AsyncIterable[BookingInput],
        *,
        retry_ambiguous: bool | None = None,
        **options: Unpack[BookManyOptions],
    ) -> BatchRun[BookingInput, Booking]:
        """Book many orders concurrently; an async iterator of one outcome per input.

        ``requests`` (any iterable or async iterable, read lazily) holds
        :class:`BookingRequest` values, or :class:`~xportcn_async.bulk.InvalidInput` for inputs
        that could not be read (they become ``rejected`` outcomes). A request without a
        ``render_id`` is previewed first when ``preview_missing`` is true. The options are
        keyword arguments (:class:`~xportcn_async.bulk.BookManyOptions`, with its defaults):

        - ``concurrency``: bookings in flight at once. ``rate_limit``: HTTP requests per
          second (previews, bookings and retries all count), ``burst`` of them back to back
          at most (default 1: no burst above the rate); or a limiter object, such as a
          :class:`~xportcn_async.ratelimit.SharedRateLimiter` shared through Redis by every
          process that books for the account.
        - ``ordered``: yield in input order. ``window`` (default: ``concurrency``) bounds how
          far input is read ahead of the consumer: ``concurrency + window`` items at most.
        - ``journal``: a JSONL path (or :class:`~xportcn_async.bulk.Journal`), for one
          process; or a PostgreSQL URL (``postgresql://...``, or a
          :class:`~xportcn_async.bulk.PostgresJournal` for a journal name and lease), shared
          by any number of workers on any number of hosts: each key is claimed atomically
          before it is sent, so exactly one worker books it and the others report it
          ``skipped`` ("claimed by another worker"). Outcomes are recorded as they happen.
          Running the same input with the same journal skips what is ``booked``, retries what
          ``failed`` or was ``rejected``, and reports without resending what is ``unknown``
          (or was in flight when its process or worker died), unless ``resend_unknown``
          (default: ``retry_ambiguous``), which resends it with the same ``renderId``, never
          a new preview.
        - A booking that appears twice in one input is rejected the second time (its key is
          the ``renderId`` or ``tmall:<order id>``; a booking with a ``renderId`` takes both):
          while the first copy is in flight, and with a journal for the whole run.
        - ``retry_ambiguous`` (default: the client's): retry bookings whose outcome is
          unknown. Only for accounts that deduplicate bookings by ``renderId``.

        Use it as ``async with client.logistics.book_many(...) as run: async for outcome in
        run: ...``; ``run.report`` has counts, throughput and latency percentiles.
        """
        ambiguous_ok = self._client.retry_ambiguous if retry_ambiguous is None else retry_ambiguous
        return book_many(self, requests, retry_ambiguous=ambiguous_ok, **options)

    @staticmethod
    def preview_for(request: BookingRequest) -> PreviewFreightRequest:
        """The freight preview request that matches a booking's address and lines."""
        return PreviewFreightRequest(
            receiver_address=request.receiver_address,
            render_items=[
                RenderItem(
                    item_id=line.item_id,
                    sku_id=line.sku_id,
                    quantity=line.quantity,
                    freight_info=line.freight_info,
                    currency=line.currency,
                    price=line.price,
                )
                for line in request.line_items
            ],
        )

    async def update_domestic_logistics(
        self,
        request: UpdateDomesticLogisticsRequest,
        *,
        timeout: Timeout | float | None = None,
        hooks: AttemptHooks | None = None,
    ) -> Acknowledgement:
        """Report the domestic (China) parcels of a booked order."""
        return await self._client.request(
            endpoints.LOGISTICS_UPDATE_DOMESTIC_LOGISTICS,
            request,
            timeout=timeout,
            hooks=hooks,
        )
