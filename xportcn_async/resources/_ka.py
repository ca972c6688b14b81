"""What the KA and wms resources share: one call through the endpoint table with tolerant
decoding of the result, and a page walker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ..converter import to_wire, validate
from ..errors import FieldError, ValidationError
from ..models.ka import decode_result
from ..transports import Timeout

if TYPE_CHECKING:
    from ..client import XportcnClient

T = TypeVar("T")
Item = TypeVar("Item", covariant=True)


async def call(
    client: XportcnClient,
    name: str,
    request: Any,
    result: type[T],
    *,
    timeout: Timeout | float | None = None,
    retry_ambiguous: bool | None = None,
) -> T:
    """Validate ``request``, run table operation ``name``, and decode its ``data`` into
    ``result`` whatever its shape (see :func:`~xportcn_async.models.ka.decode_result`)."""
    endpoint = client.endpoint(name)
    validate(request, subject=f"{name} request")
    envelope = await client.send(
        endpoint, to_wire(request), timeout=timeout, retry_ambiguous=retry_ambiguous
    )
    return decode_result(
        result, envelope.data, request_id=envelope.request_id, data_key=endpoint.data_key
    )


class Page(Protocol[Item]):
    def __iter__(self) -> Iterator[Item]: ...

    def is_last(self, requested_page_size: int) -> bool: ...


def walk_pages(
    fetch: Callable[[int], Awaitable[Page[T]]],
    *,
    start_page: int,
    page_size: int,
    max_items: int | None,
    max_pages: int | None,
) -> AsyncIterator[T]:
    """The items of page ``start_page``, then of the following pages, until a page is the
    last one, ``max_items`` items were yielded, or ``max_pages`` pages were fetched. The
    limits are checked now; pages are fetched lazily, one at a time."""
    check_limits(
        start_page=start_page, page_size=page_size, max_items=max_items, max_pages=max_pages
    )

    async def items() -> AsyncIterator[T]:
        yielded = 0
        fetched = 0
        page_number = start_page
        while max_items is None or yielded < max_items:
            page = await fetch(page_number)
            fetched += 1
            for item in page:
                yield item
                yielded += 1
                if max_items is not None and yielded >= max_items:
                    return
            if page.is_last(page_size) or (max_pages is not None and fetched >= max_pages):
                return
            page_number += 1

    return items()


def check_limits(
    *, start_page: int, page_size: int, max_items: int | None, max_pages: int | None
) -> None:
    errors = []
    if start_page < 1:
        errors.append(FieldError("start_page", f"pages are 1-based, got {start_page}"))
    if page_size < 1:
        errors.append(FieldError("page_size", f"must be positive, got {page_size}"))
    if max_items is not None and max_items < 0:
        errors.append(FieldError("max_items", f"must not be negative, got {max_items}"))
    if max_pages is not None and max_pages < 1:
        errors.append(FieldError("max_pages", f"must be positive, got {max_pages}"))
    if errors:
        raise ValidationError("pagination options", errors)
