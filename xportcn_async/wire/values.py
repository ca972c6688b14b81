"""Reading one wire value strictly, and showing a hostile one safely in a message.

Leaves of the wire package: the special types (:mod:`.types`), the converter and the
webhook parser all read integers by the one rule here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any


class WireValueError(ValueError):
    """A wire value that does not fit its field; the message says what was expected and is
    shown as it is in :class:`~xportcn_async.errors.ValidationError`."""


# Plain ASCII digits only: ``int()`` and ``Decimal()`` also take " 7", "1_000", "²" and
# "١٢", none of which is a number on the wire.
_INTEGER_TEXT = re.compile(r"[0-9]+")


def integer(value: Any) -> int:
    """A wire integer: a JSON integer, an integral number (``2.0``) or a string of ASCII
    digits (``"7"``). Not a fraction (``2.7`` is not silently 2), a boolean (``true`` is not
    1), or any other string (``" 7"``, ``"1_000"``, ``"²"``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and len(value) <= 40 and _INTEGER_TEXT.fullmatch(value):
        return int(value)
    raise WireValueError(f"expected an integer, got {shown(value)}")


def not_finite(value: Any) -> bool:
    """Whether ``value`` is a NaN or infinite ``Decimal`` or ``float`` (never valid on the
    wire, and a NaN ``Decimal`` cannot even be compared)."""
    if isinstance(value, Decimal):
        return not value.is_finite()
    return isinstance(value, float) and not math.isfinite(value)


def shown(value: Any) -> str:
    """``value`` for an error message, cut short (a hostile value may be huge)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # a bool is named, and a 5,000-digit integer may not even be printable
        return (
            "a number too long to show"
            if isinstance(value, int) and value > 10**40
            else repr(value)
        )
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:40] + "...")
    return json_type(value)


def json_type(value: Any) -> str:
    """What kind of JSON value ``value`` is, for a message (never the value itself)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, float):
        return f"the number {value!r}"
    return type(value).__name__


__all__ = ["WireValueError", "integer", "json_type", "not_finite", "shown"]
