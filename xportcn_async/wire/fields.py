"""How a model declares its wire form: field metadata, field checks, tolerance.

Everything here is plain data attached to the attrs class being declared (field metadata, a
class marker); nothing is registered anywhere. The converter (:mod:`.convert`) reads it
when it first meets a class, so a model module only declares, and importing it has no
effect on any converter.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from .values import not_finite

T = TypeVar("T")
Check = Callable[[Any], "str | None"]

WIRE = "xportcn_wire"
WRAP = "xportcn_wrap"
CHECK = "xportcn_check"
REQUEST_ID = "xportcn_request_id"
KEEP_NONE = "xportcn_keep_none"
TOLERANT = "__xportcn_tolerant__"
"""The class attribute :func:`tolerant` sets (looked up on the class itself, not inherited)."""


def wire_field(
    *,
    wire: str | None = None,
    wrap: str | None = None,
    check: Check | None = None,
    keep_none: bool = False,
    **kwargs: Any,
) -> Any:
    """An attrs field with wire metadata.

    ``wire``: the exact wire name, when camelCase of the Python name is wrong.
    ``wrap``: the value sits one level down on the wire, as ``{wrap: value}``.
    ``check``: returns a message when a value is invalid (run by ``validate``).
    ``keep_none``: write ``null`` for ``None`` (by default ``None`` fields are left out).
    """
    metadata = dict(kwargs.pop("metadata", {}))
    if wire is not None:
        metadata[WIRE] = wire
    if wrap is not None:
        metadata[WRAP] = wrap
    if check is not None:
        metadata[CHECK] = check
    if keep_none:
        metadata[KEEP_NONE] = True
    return attrs.field(metadata=metadata, **kwargs)


def extras_field() -> Any:
    """Unknown wire fields, kept as they came (``{wire name: value}``)."""
    return attrs.field(factory=dict, repr=lambda v: repr(v) if v else "{}")


def request_id_field() -> Any:
    """The envelope's ``requestId`` of the response this model came from. Not read from
    the wire dict: the converter sets it from the envelope (``read_result``)."""
    return attrs.field(default=None, metadata={REQUEST_ID: True})


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def wire_name(a: attrs.Attribute[Any]) -> str:
    return str(a.metadata.get(WIRE) or camel(a.name))


# -- tolerance -------------------------------------------------------------------------------


def tolerant(cls: type[T]) -> type[T]:
    """Mark a result model as decoding any JSON object: a field whose value does not fit is
    left at its default and its raw value kept in ``extras``.

    Only for models whose every field has a default and that have ``extras`` (checked here,
    when the class is declared). The mark is a class attribute; the converter reads it.
    """
    model: Any = cls
    fields = attrs.fields(model)
    if "extras" not in attrs.fields_dict(model):
        raise TypeError(f"{cls.__name__}: a tolerant model needs an extras field")
    required = [a.name for a in fields if a.default is attrs.NOTHING]
    if required:
        raise TypeError(f"{cls.__name__}: tolerant models need defaults ({', '.join(required)})")
    setattr(cls, TOLERANT, True)
    return cls


def is_tolerant(cls: Any) -> bool:
    """Whether ``cls`` itself was marked with :func:`tolerant` (a subclass is not, unless
    marked too)."""
    return isinstance(cls, type) and cls.__dict__.get(TOLERANT, False) is True


# -- field checks (for ``wire_field(check=...)``) --------------------------------------------

_COUNTRY = re.compile(r"[A-Z]{2}")


def non_empty(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and not value.strip():
        return "must not be empty"
    if isinstance(value, (list, tuple)) and not value:
        return "must contain at least one entry"
    return None


def positive(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return f"must be a number, got {value!r}"
    if not_finite(value):
        return f"must be a finite number, got {value!r}"
    return None if value > 0 else f"must be positive, got {value!r}"


def country_code(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _COUNTRY.fullmatch(value):
        return f"must be an ISO 3166-1 alpha-2 code such as 'US', got {value!r}"
    return None


__all__ = [
    "Check",
    "camel",
    "country_code",
    "extras_field",
    "is_tolerant",
    "non_empty",
    "positive",
    "request_id_field",
    "tolerant",
    "wire_field",
    "wire_name",
]
