"""Shapes shared by the KA groups (API.md §4.4–§5): the KA statuses and the paged result.

The wire's special types (``Fen``, ``ChinaTime``, open enums, search filters) and tolerant
decoding were declared here until 0.2; they live in :mod:`xportcn_async.wire` now and are
still importable from here.
"""

from __future__ import annotations

from typing import Any

from ..wire.fields import is_tolerant, tolerant
from ..wire.types import (
    CHINA_TIME_FORMAT,
    CHINA_TZ,
    ChinaTime,
    Fen,
    Number,
    NumberOrText,
    OpenEnum,
    OpenIntEnum,
    SearchFilter,
    SearchFilters,
    SearchSort,
    format_china_time,
    parse_china_time,
)


class OrderStatus(OpenEnum):
    """A 1688 order's status. The docs show these three; others are kept as they come."""

    WAITING_FOR_PAYMENT = "WAITING_FOR_PAYMENT"
    WAITING_FOR_SENT = "WAITING_FOR_SENT"
    CANCEL = "CANCEL"


class PayStatus(OpenIntEnum):
    """``payStatus`` of an order message: 1 unpaid, 2 paid."""

    UNPAID = 1
    PAID = 2


# -- pages -----------------------------------------------------------------------------------


def page_is_last(
    *, current_page: int | None, total_pages: int | None, count: int, page_size: int
) -> bool:
    """Whether no page follows this one: it is short or empty, or the last one announced."""
    if count == 0 or count < page_size:
        return True
    return current_page is not None and total_pages is not None and current_page >= total_pages


def __getattr__(name: str) -> Any:
    if name == "decode_result":
        raise AttributeError(
            "xportcn_async.models.ka.decode_result was removed in 0.2: models only declare; "
            "use xportcn_async.wire.read_result(cls, data, request_id=...) (see the CHANGELOG)"
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CHINA_TIME_FORMAT",
    "CHINA_TZ",
    "ChinaTime",
    "Fen",
    "Number",
    "NumberOrText",
    "OpenEnum",
    "OpenIntEnum",
    "OrderStatus",
    "PayStatus",
    "SearchFilter",
    "SearchFilters",
    "SearchSort",
    "format_china_time",
    "is_tolerant",
    "page_is_last",
    "parse_china_time",
    "tolerant",
]
