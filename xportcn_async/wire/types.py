"""The special types of the wire: values whose Python form differs from their JSON form.

- :class:`Fen` is an ``int`` (the wire value) with an exact :attr:`Fen.yuan`.
- :data:`Number` and :data:`NumberOrText` keep a quantity or a size in the form it was sent.
- :data:`ChinaTime` is an aware ``datetime`` that travels as ``yyyy-MM-dd HH:mm:ss`` in UTC+8.
- Open enums (:class:`OpenEnum`, :class:`OpenIntEnum`) keep values they do not know instead of
  failing: ``OrderStatus("SOMETHING_NEW").is_known`` is ``False``.
- :class:`SearchFilters` and :class:`SearchSort` travel as strings (a comma-separated list,
  and a JSON object inside a string).

Plain declarations: how each is read and written is registered in :mod:`.convert`.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, NewType

import attrs

#: China Standard Time (UTC+8, no daylight saving since 1991): the zone of the KA API's
#: ``yyyy-MM-dd HH:mm:ss`` times.
CHINA_TZ = timezone(timedelta(hours=8), "CST")
CHINA_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


# -- fen ----------------------------------------------------------------------------------


class Fen(int):
    """A KA amount: an integer count of fen (1/100 CNY), exactly as on the wire.

    It is an ``int`` (``Fen(6561) == 6561``), so arithmetic gives plain ints. :attr:`yuan` is
    the exact :class:`~decimal.Decimal` amount in yuan (``Decimal("65.61")``).
    """

    __slots__ = ()

    @property
    def yuan(self) -> Decimal:
        """The amount in yuan, exact, with two decimal places."""
        return Decimal(int(self)).scaleb(-2)

    @classmethod
    def from_yuan(cls, amount: Decimal | str | int) -> Fen:
        """``Fen.from_yuan("65.61") == Fen(6561)``. Refuses amounts finer than one fen."""
        try:
            value = Decimal(amount) * 100
        except (InvalidOperation, TypeError) as exc:
            raise ValueError(f"not a yuan amount: {amount!r}") from exc
        if value != value.to_integral_value():
            raise ValueError(f"{amount!r} yuan is not a whole number of fen")
        return cls(int(value))

    def __repr__(self) -> str:
        return f"Fen({int(self)})"

    def __str__(self) -> str:
        return int.__repr__(self)


# -- numbers kept in their wire form ---------------------------------------------------------

#: A quantity as sent: ``2`` or ``2.0`` (the docs' form). The value keeps its form, so ``2.0``
#: goes back on the wire as ``2.0``; a fraction (``2.7``), a boolean or a string is refused.
Number = int | float
#: A wms size or weight as sent: a number (``0.4``) or a plain decimal string (``"34"``).
NumberOrText = int | float | str


# -- China time -----------------------------------------------------------------------------

#: A ``yyyy-MM-dd HH:mm:ss`` time in China (UTC+8) on the wire; an aware ``datetime`` here.
ChinaTime = NewType("ChinaTime", datetime)


def parse_china_time(value: str) -> datetime:
    """``"2026-05-20 15:40:00"`` as an aware datetime in UTC+8."""
    return datetime.strptime(value, CHINA_TIME_FORMAT).replace(tzinfo=CHINA_TZ)


def format_china_time(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(CHINA_TZ)
    return value.strftime(CHINA_TIME_FORMAT)


# -- open enums ------------------------------------------------------------------------------


class OpenEnum(str, Enum):
    """A string enum that accepts values it does not know: they become members that are not
    listed (``is_known`` is ``False``) and compare equal to their string."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member

    @property
    def is_known(self) -> bool:
        """Whether this value is one the SDK knows (documented or seen)."""
        return type(self).__members__.get(self._name_) is self

    def __str__(self) -> str:
        return str(self.value)


class OpenIntEnum(int, Enum):
    """An integer enum that keeps unknown values, like :class:`OpenEnum`."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            return None
        member = int.__new__(cls, value)
        member._name_ = f"UNKNOWN_{value}"
        member._value_ = value
        return member

    @property
    def is_known(self) -> bool:
        return type(self).__members__.get(self._name_) is self


class SearchFilter(OpenEnum):
    """The documented product-search filter tokens. Any other string is accepted too."""

    SHIP_IN_TODAY = "shipInToday"
    SHIP_IN_24_HOURS = "shipIn24Hours"
    SHIP_IN_48_HOURS = "shipIn48Hours"
    CERTIFIED_FACTORY = "certifiedFactory"
    TOTAL_EP_SCORE_LV1 = "totalEpScoreLv1"
    TOTAL_EP_SCORE_LV2 = "totalEpScoreLv2"
    TOTAL_EP_SCORE_LV3 = "totalEpScoreLv3"
    TOTAL_EP_SCORE_LV4 = "totalEpScoreLv4"
    NO_REASON_7D_RETURN = "noReason7DReturn"
    NEW_7 = "new7"
    NEW_30 = "new30"


# -- search filters and sort (JSON-in-a-string on the wire) -----------------------------------


class SearchFilters(tuple[SearchFilter, ...]):
    """An ordered set of filter tokens, sent as ``"shipInToday,certifiedFactory"``.

    Build it from tokens or strings: ``SearchFilters.of(SearchFilter.NEW_7, "ksCiphertext")``.
    Duplicates are dropped; order is kept (a ``set`` is sorted first, so the wire form is
    stable).
    """

    __slots__ = ()

    @classmethod
    def of(cls, *tokens: SearchFilter | str) -> SearchFilters:
        seen: dict[SearchFilter, None] = {}
        for token in tokens:
            seen.setdefault(SearchFilter(token), None)
        return cls(seen)

    @classmethod
    def coerce(cls, value: SearchFilters | str | Any) -> SearchFilters:
        """From a ``SearchFilters``, a comma-separated string, or an iterable of tokens."""
        if isinstance(value, SearchFilters):
            return value
        if isinstance(value, str):
            return cls.parse(value)
        if isinstance(value, (set, frozenset)):
            return cls.of(*sorted(str(v) for v in value))
        return cls.of(*value)

    @classmethod
    def parse(cls, wire: str) -> SearchFilters:
        return cls.of(*(t.strip() for t in wire.split(",") if t.strip()))

    def to_wire(self) -> str:
        return ",".join(t.value for t in self)

    def __repr__(self) -> str:
        return f"SearchFilters({self.to_wire()!r})"


@attrs.frozen
class SearchSort:
    """A search order: a field and a direction, sent as the JSON string ``{"price":"desc"}``.

    ``field`` is what the API sorts on (``"price"`` in the docs; other fields pass through).
    """

    field: str
    direction: str = attrs.field(default="desc")

    @direction.validator
    def _check_direction(self, _: Any, value: str) -> None:
        if value not in ("asc", "desc"):
            raise ValueError(f"sort direction must be 'asc' or 'desc', got {value!r}")

    @classmethod
    def ascending(cls, field: str) -> SearchSort:
        return cls(field, "asc")

    @classmethod
    def descending(cls, field: str) -> SearchSort:
        return cls(field, "desc")

    @classmethod
    def coerce(cls, value: SearchSort | tuple[str, str] | str) -> SearchSort:
        """From a ``SearchSort``, a ``(field, direction)`` pair, or the wire string."""
        if isinstance(value, SearchSort):
            return value
        if isinstance(value, str):
            return cls.parse(value)
        field, direction = value
        return cls(field, direction)

    @classmethod
    def parse(cls, wire: str) -> SearchSort:
        try:
            doc = json.loads(wire)
        except ValueError:
            doc = None
        if not isinstance(doc, dict) or len(doc) != 1:
            raise ValueError(f'expected a sort like {{"price":"desc"}}, got {wire!r}')
        ((field, direction),) = doc.items()
        return cls(str(field), str(direction))

    def to_wire(self) -> str:
        return json.dumps({self.field: self.direction}, separators=(",", ":"))


__all__ = [
    "CHINA_TIME_FORMAT",
    "CHINA_TZ",
    "ChinaTime",
    "Fen",
    "Number",
    "NumberOrText",
    "OpenEnum",
    "OpenIntEnum",
    "SearchFilter",
    "SearchFilters",
    "SearchSort",
    "format_china_time",
    "parse_china_time",
]
