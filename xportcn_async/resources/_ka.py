"""What the paged KA resources share: the page walker and its limits."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Protocol, TypeVar

from ..errors import FieldError, ValidationError

T = TypeVar("T")
Item = TypeVar("Item", covariant=True)


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
