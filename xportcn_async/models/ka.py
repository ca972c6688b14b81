"""Shapes shared by the KA groups (API.md §4.4–§5): fen amounts, open enums, China time,
the paged result, and the tolerant decoding used for every KA and wms result.

- :class:`Fen` is an ``int`` (the wire value) with an exact :attr:`Fen.yuan`.
- Open enums (:class:`OrderStatus`, :class:`SearchFilter`, ...) keep values they do not
  know instead of failing: ``OrderStatus("SOMETHING_NEW").is_known`` is ``False``.
- :func:`tolerant` makes a result model decode whatever the server sends: a field whose
  value does not fit its type is left ``None`` and its raw value kept in ``extras``, so a
  response that differs from our (often inferred) shape never fails to decode and never
  loses anything. ``to_wire`` writes such values back out unchanged.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, NewType, TypeVar

import attrs

from ..converter import REQUEST_ID_KEY, WireValueError, converter, integer, shown, wire_name

T = TypeVar("T")

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


def _structure_fen(value: Any, _: type) -> Fen:
    # Only a JSON integer is a fen amount; anything else (a "12.50" string, 12.5) is not
    # guessed at: a tolerant model keeps it, as sent, in ``extras``.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer amount in fen, got {value!r}")
    return Fen(value)


converter.register_structure_hook(Fen, _structure_fen)
converter.register_unstructure_hook(Fen, int)


# -- numbers kept in their wire form ---------------------------------------------------------

#: A quantity as sent: ``2`` or ``2.0`` (the docs' form). The value keeps its form, so ``2.0``
#: goes back on the wire as ``2.0``; a fraction (``2.7``), a boolean or a string is refused.
Number = int | float
#: A wms size or weight as sent: a number (``0.4``) or a plain decimal string (``"34"``).
NumberOrText = int | float | str

_DECIMAL_TEXT = re.compile(r"[0-9]+(\.[0-9]+)?")


def _structure_number(value: Any, _: Any) -> Any:
    if (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, float) and value.is_integer()
    ):
        return value  # an integral float stays a float: it round-trips as sent
    raise WireValueError(f"expected a whole number, got {shown(value)}")


def _structure_number_or_text(value: Any, _: Any) -> Any:
    if (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, float) and math.isfinite(value)
    ):
        return value
    if isinstance(value, str) and len(value) <= 40 and _DECIMAL_TEXT.fullmatch(value):
        return value
    raise WireValueError(f"expected a number or a plain decimal string, got {shown(value)}")


def _optional(hook: Any) -> Any:
    return lambda value, t: None if value is None else hook(value, t)


for _union, _hook in (
    (Number, _structure_number),
    (NumberOrText, _structure_number_or_text),
    (Number | None, _optional(_structure_number)),
    (NumberOrText | None, _optional(_structure_number_or_text)),
):
    converter.register_structure_hook(_union, _hook)


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


def _structure_china_time(value: Any, _: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"expected a 'yyyy-MM-dd HH:mm:ss' time, got {value!r}")
    return parse_china_time(value)


converter.register_structure_hook(ChinaTime, _structure_china_time)
converter.register_unstructure_hook(ChinaTime, format_china_time)


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


def _structure_open_int_enum(value: Any, cl: type[OpenIntEnum]) -> OpenIntEnum:
    # ``PayStatus(True)`` would be ``UNPAID`` (True == 1): read the integer strictly first.
    return cl(integer(value))


# Registered on the base class: every subclass (here or elsewhere) is read the same way.
converter.register_structure_hook(OpenIntEnum, _structure_open_int_enum)


def _register_open_enum(cls: type[Enum]) -> None:
    converter.register_unstructure_hook(cls, lambda v: v.value)


class OrderStatus(OpenEnum):
    """A 1688 order's status. The docs show these three; others are kept as they come."""

    WAITING_FOR_PAYMENT = "WAITING_FOR_PAYMENT"
    WAITING_FOR_SENT = "WAITING_FOR_SENT"
    CANCEL = "CANCEL"


class PayStatus(OpenIntEnum):
    """``payStatus`` of an order message: 1 unpaid, 2 paid."""

    UNPAID = 1
    PAID = 2


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


for _enum in (OrderStatus, PayStatus, SearchFilter):
    _register_open_enum(_enum)


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


def _structure_filters(value: Any, _: type) -> SearchFilters:
    if not isinstance(value, str):
        raise ValueError(f"expected comma-separated filter tokens, got {value!r}")
    return SearchFilters.parse(value)


converter.register_structure_hook(SearchFilters, _structure_filters)
converter.register_unstructure_hook(SearchFilters, SearchFilters.to_wire)


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


def _structure_sort(value: Any, _: type) -> SearchSort:
    if not isinstance(value, str):
        raise ValueError(f'expected a sort string like {{"price":"desc"}}, got {value!r}')
    return SearchSort.parse(value)


converter.register_structure_hook(SearchSort, _structure_sort)
converter.register_unstructure_hook(SearchSort, SearchSort.to_wire)


# -- tolerant decoding -----------------------------------------------------------------------


def tolerant(cls: type[T]) -> type[T]:
    """Make a result model decode any JSON object: a field whose value does not fit is left
    at its default and its raw value kept in ``extras``.

    Apply it to nested models before the models that contain them (define inner classes
    first), and only to models whose every field has a default and that have ``extras``.
    """
    model: Any = cls
    attrs.resolve_types(model)
    fields = [a for a in attrs.fields(model) if a.name not in ("extras", "request_id")]
    if "extras" not in attrs.fields_dict(model):
        raise TypeError(f"{cls.__name__}: a tolerant model needs an extras field")
    required = [a.name for a in fields if a.default is attrs.NOTHING]
    if required:
        raise TypeError(f"{cls.__name__}: tolerant models need defaults ({', '.join(required)})")
    strict = converter.get_structure_hook(cls)
    wire = [(wire_name(a), a.type) for a in fields]

    def structure(data: Any, t: type) -> Any:
        if not isinstance(data, Mapping):
            raise ValueError(f"expected an object for {cls.__name__}, got {type(data).__name__}")
        try:
            return strict(data, t)
        except Exception:  # cattrs raises several kinds; fall back field by field
            pass
        clean = dict(data)
        rejected: dict[str, Any] = {}
        for name, tp in wire:
            if name in clean:
                try:
                    converter.structure(clean[name], tp)
                except Exception:
                    rejected[name] = clean.pop(name)
        obj = strict(clean, t)
        if rejected:
            obj = attrs.evolve(obj, extras={**obj.extras, **rejected})
        return obj

    converter.register_structure_hook(cls, structure)
    _TOLERANT.add(cls)
    return cls


_TOLERANT: set[type] = set()


def is_tolerant(cls: type) -> bool:
    """Whether ``cls`` was made with :func:`tolerant` (decode results with
    :func:`decode_result`)."""
    return cls in _TOLERANT


def decode_result(cls: type[T], data: Any, *, request_id: str | None) -> T:
    """Build a tolerant result model from an envelope's ``data``, whatever its shape.

    An object is decoded field by field. Anything else (a string, a number, ``true``, a list)
    is kept whole in ``extras["data"]``. (The client first puts a bare list under the
    endpoint's ``data_key``, when it has one.)
    """
    if isinstance(data, Mapping):
        try:
            return converter.structure({**data, REQUEST_ID_KEY: request_id}, cls)
        except Exception:  # a required structure that still does not fit: keep it whole
            pass
    extras = {} if data is None else {"data": data}
    return cls(extras=extras, request_id=request_id)  # type: ignore[call-arg]


# -- pages -----------------------------------------------------------------------------------


def page_is_last(
    *, current_page: int | None, total_pages: int | None, count: int, page_size: int
) -> bool:
    """Whether no page follows this one: it is short or empty, or the last one announced."""
    if count == 0 or count < page_size:
        return True
    return current_page is not None and total_pages is not None and current_page >= total_pages


__all__ = [
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
    "decode_result",
    "format_china_time",
    "is_tolerant",
    "page_is_last",
    "parse_china_time",
    "tolerant",
]
