"""``client.orders``: 1688 orders (API.md §4.5): preview → create → pay → detail / logistics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from .. import endpoints
from ..errors import XportcnError
from ..hooks import AttemptHooks
from ..models import (
    ChinaTime,
    CreatedOrder,
    CreateOrderRequest,
    Order,
    OrderDetailRequest,
    OrderItem,
    OrderListRequest,
    OrderLogistics,
    OrderLogisticsRequest,
    OrderPage,
    OrderPreview,
    OrderPreviewRequest,
    OrderStatus,
    Payment,
    PayOrderRequest,
    PlacedOrder,
    PreviewLine,
)
from ..transports import Timeout
from ._base import Resource
from ._ka import walk_pages


class PreviewRejectedError(XportcnError):
    """:meth:`OrdersResource.preview_and_create` did not create the order, because its
    preview shows that the order cannot be placed as asked. Nothing was created.

    ``problems`` lists ``(where, message)`` pairs, ``where`` naming the request line (such
    as ``items[1] (offer 889512351602, spec 530ad…)``); ``preview`` is the whole preview.
    """

    def __init__(self, preview: OrderPreview, problems: list[tuple[str, str]]) -> None:
        self.preview = preview
        self.problems = problems
        details = "; ".join(f"{where}: {message}" for where, message in problems)
        rid = f" (preview request id {preview.request_id})" if preview.request_id else ""
        super().__init__(f"order not created, the preview reports: {details}{rid}")

    @property
    def request_id(self) -> str | None:
        return self.preview.request_id


class OrdersResource(Resource):
    """Preview, create and pay 1688 orders; read them back with their parcels."""

    async def preview(
        self,
        request: OrderPreviewRequest | CreateOrderRequest,
        *,
        timeout: Timeout | float | None = None,
        hooks: AttemptHooks | None = None,
    ) -> OrderPreview:
        """Price an order (one :class:`~xportcn_async.models.PreviewOrder` per seller).
        Given a :class:`CreateOrderRequest`, previews that order."""
        if isinstance(request, CreateOrderRequest):
            request = request.preview_request()
        return await self._client.request(
            endpoints.ORDERS_PREVIEW, request, timeout=timeout, hooks=hooks
        )

    async def create(
        self,
        request: CreateOrderRequest,
        *,
        timeout: Timeout | float | None = None,
        hooks: AttemptHooks | None = None,
        retry_ambiguous: bool | None = None,
    ) -> CreatedOrder:
        """Create an order (preview it first, or use :meth:`preview_and_create`).

        Never retried once it may have reached the server, unless ``retry_ambiguous`` is
        true: such a failure raises :class:`~xportcn_async.errors.OutcomeUnknownError`.
        Look the order up (by your ``out_order_id``) before trying again.
        """
        return await self._client.request(
            endpoints.ORDERS_CREATE,
            request,
            timeout=timeout,
            hooks=hooks,
            retry_ambiguous=retry_ambiguous,
        )

    async def preview_and_create(
        self,
        request: CreateOrderRequest,
        *,
        timeout: Timeout | float | None = None,
        hooks: AttemptHooks | None = None,
        retry_ambiguous: bool | None = None,
    ) -> PlacedOrder:
        """Preview the order, then create it: the result holds the previewed totals and the
        created order.

        Raises :class:`PreviewRejectedError`, creating nothing, when a previewed line carries
        a message (an unavailable SKU, for example), when a requested line is missing from
        the preview, or when the preview's lines cannot be read.
        """
        preview = await self.preview(request, timeout=timeout, hooks=hooks)
        problems = preview_problems(request.items, preview)
        if problems:
            raise PreviewRejectedError(preview, problems)
        order = await self.create(
            request, timeout=timeout, hooks=hooks, retry_ambiguous=retry_ambiguous
        )
        return PlacedOrder(preview=preview, order=order)

    async def pay(
        self,
        order_id: str,
        *,
        timeout: Timeout | float | None = None,
        hooks: AttemptHooks | None = None,
        retry_ambiguous: bool | None = None,
    ) -> Payment:
        """Pay a created order.

        Never retried once it may have reached the server, unless ``retry_ambiguous`` is
        true: such a failure raises :class:`~xportcn_async.errors.OutcomeUnknownError`.
        Check the order's status (:meth:`detail`) before paying again.
        """
        return await self._client.request(
            endpoints.ORDERS_PAY,
            PayOrderRequest(order_id=order_id),
            timeout=timeout,
            hooks=hooks,
            retry_ambiguous=retry_ambiguous,
        )

    async def detail(
        self,
        order_id: str,
        *,
        timeout: Timeout | float | None = None,
        hooks: AttemptHooks | None = None,
    ) -> Order:
        """One order, with its status and lines."""
        request = OrderDetailRequest(order_id=order_id)
        return await self._client.request(
            endpoints.ORDERS_DETAIL, request, timeout=timeout, hooks=hooks
        )

    async def logistics(
        self,
        order_id: str,
        *,
        timeout: Timeout | float | None = None,
        hooks: AttemptHooks | None = None,
    ) -> OrderLogistics:
        """The domestic parcels of an order (none until the seller ships)."""
        request = OrderLogisticsRequest(order_id=order_id)
        return await self._client.request(
            endpoints.ORDERS_LOGISTICS, request, timeout=timeout, hooks=hooks
        )

    async def list(
        self,
        *,
        page: int = 1,
        page_size: int = 20,
        status: OrderStatus | str | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        timeout: Timeout | float | None = None,
        hooks: AttemptHooks | None = None,
    ) -> OrderPage:
        """One page (1-based) of your orders, optionally of one ``status`` and created in a
        time range (naive datetimes are taken as China time)."""
        request = OrderListRequest(
            page=page,
            page_size=page_size,
            status=None if status is None else OrderStatus(status),
            created_from=None if created_from is None else ChinaTime(created_from),
            created_to=None if created_to is None else ChinaTime(created_to),
        )
        return await self._client.request(
            endpoints.ORDERS_LIST, request, timeout=timeout, hooks=hooks
        )

    def iter_list(
        self,
        *,
        page_size: int = 20,
        max_items: int | None = None,
        max_pages: int | None = None,
        start_page: int = 1,
        status: OrderStatus | str | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        timeout: Timeout | float | None = None,
        hooks: AttemptHooks | None = None,
    ) -> AsyncIterator[Order]:
        """Every order matching the filters, page after page, one request per page. It stops
        after the last page, ``max_items`` orders or ``max_pages`` pages."""

        async def fetch(page: int) -> OrderPage:
            return await self.list(
                page=page,
                page_size=page_size,
                status=status,
                created_from=created_from,
                created_to=created_to,
                timeout=timeout,
                hooks=hooks,
            )

        return walk_pages(
            fetch,
            start_page=start_page,
            page_size=page_size,
            max_items=max_items,
            max_pages=max_pages,
        )


def preview_problems(items: list[OrderItem], preview: OrderPreview) -> list[tuple[str, str]]:
    """Why an order should not be created from ``preview``: ``(where, message)`` pairs, empty
    when every requested line was previewed without a message."""
    problems: list[tuple[str, str]] = []
    unread = [
        f"orders[{i}]"
        for i, order in enumerate(preview.orders)
        if "orderItemTOList" in order.extras
    ]
    if unread or not preview.orders:
        where = ", ".join(unread) or "preview"
        return [(where, "the previewed lines could not be read")]
    lines = preview.lines
    for i, item in enumerate(items):
        where = _describe(i, item)
        matches = [line for line in lines if _same_line(item, line)]
        if not matches:
            problems.append((where, "not in the preview"))
        for line in matches:
            message = _line_message(line)
            if message:
                problems.append((where, message))
    return problems


def _describe(index: int, item: OrderItem) -> str:
    spec = f", spec {item.spec_id}" if item.spec_id else ""
    return f"items[{index}] (offer {item.offer_id}{spec})"


def _same_line(item: OrderItem, line: PreviewLine) -> bool:
    if line.offer_id is not None and line.offer_id != item.offer_id:
        return False
    if item.spec_id is not None and line.spec_id is not None:
        return line.spec_id == item.spec_id
    return line.offer_id == item.offer_id


def _line_message(line: PreviewLine) -> str | None:
    if line.has_problem:
        return line.message
    raw = line.extras.get("message")  # a message that is not a string is a message too
    return None if raw in (None, "", [], {}) else str(raw)
