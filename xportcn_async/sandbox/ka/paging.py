"""Pages, as the KA list operations (product search, the pool, the order list) read and
answer them: 1-based ``beginPage``, ``pageSize`` up to :data:`MAX_PAGE_SIZE`."""

from __future__ import annotations

import math
from typing import Any

from .. import checks as c

__all__ = ["MAX_PAGE_SIZE", "page_of", "paged"]

MAX_PAGE_SIZE = 50


def page_of(body: dict[str, Any]) -> tuple[int, int]:
    """The page asked for: ``(beginPage, pageSize)``, by default ``(1, 20)``."""
    page = c.integer(body, "beginPage", required=False)
    size = c.integer(body, "pageSize", required=False)
    page = 1 if page is None else page
    size = 20 if size is None else size
    if page < 1:
        raise c.bad("beginPage", f"pages are 1-based, got {page}")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise c.bad("pageSize", f"must be between 1 and {MAX_PAGE_SIZE}, got {size}")
    return page, size


def paged(records: list[Any], page: int, size: int) -> dict[str, Any]:
    """Page ``page`` of ``records``, with the totals the API answers next to it."""
    total = len(records)
    return {
        "totalRecords": total,
        "totalPage": math.ceil(total / size),
        "pageSize": size,
        "currentPage": page,
        "data": records[(page - 1) * size : page * size],
    }
