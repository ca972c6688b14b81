"""Which products a search answers, and in which order: the ``filter``, price, category and
``sort`` fields shared by ``products.search``, ``products.image_search`` and
``products.pool``.

Filter tokens are the SDK's :class:`~xportcn_async.models.SearchFilter`; unknown tokens are
ignored, as a server would.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from ...models import SearchFilter, SearchFilters
from .. import checks as c
from ..registry import SandboxError
from .catalogue import CATEGORIES, Product

__all__ = ["SORT_FIELDS", "select"]

SORT_FIELDS = ("price", "monthSold")


def select(products: Iterable[Product], body: dict[str, Any]) -> list[Product]:
    """Apply ``filter``, ``priceStart``/``priceEnd``, ``categoryId`` and ``sort``."""
    tags = _filters(body)
    low, high = _yuan(body, "priceStart"), _yuan(body, "priceEnd")
    category_id = _category_filter(body)
    sort = _sort(body)
    chosen = [
        p
        for p in products
        if tags <= p.tags
        and (low is None or p.price >= low)
        and (high is None or p.price <= high)
        and _in_category(p, category_id)
    ]
    if sort is not None:
        field, descending = sort
        key: Callable[[Product], int] = (
            (lambda p: p.price) if field == "price" else (lambda p: p.monthly_sales)
        )
        chosen.sort(key=key, reverse=descending)
    return chosen


def _filters(body: dict[str, Any]) -> frozenset[SearchFilter]:
    """The known tokens of ``filter``."""
    value = c.string(body, "filter", required=False) or ""
    return frozenset(t for t in SearchFilters.parse(value) if t.is_known)


def _yuan(body: dict[str, Any], key: str) -> int | None:
    """A yuan amount sent as a decimal string (or number), in fen."""
    amount = c.non_negative_decimal(body, key)
    return None if amount is None else int(amount * 100)


def _category_filter(body: dict[str, Any]) -> int | None:
    value = body.get("categoryId")
    if value is None or value == "":
        return None
    category_id = c.numeric_id(body, "categoryId")
    if category_id not in CATEGORIES:
        raise SandboxError(404, f"unknown categoryId {category_id}")
    return category_id


def _in_category(product: Product, category_id: int | None) -> bool:
    return category_id in (None, 0, product.category_id, product.top_category_id)


def _sort(body: dict[str, Any]) -> tuple[str, bool] | None:
    value = c.string(body, "sort", required=False)
    if not value:
        return None
    try:
        doc = json.loads(value)
    except ValueError:
        doc = None
    if not isinstance(doc, dict) or len(doc) != 1:
        raise c.bad("sort", f'must be a JSON string like {{"price":"desc"}}, got {value!r}'[:200])
    ((field, direction),) = doc.items()
    if field not in SORT_FIELDS:
        raise c.bad("sort", f"the sandbox sorts by {', '.join(SORT_FIELDS)}, not {field!r}")
    if direction not in ("asc", "desc"):
        raise c.bad("sort", f"direction must be asc or desc, got {direction!r}"[:200])
    return field, direction == "desc"
