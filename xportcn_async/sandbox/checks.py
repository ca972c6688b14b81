"""Small validators for request bodies: each returns the checked value or raises a 400
:class:`~xportcn_async.sandbox.registry.SandboxError` naming the field by its wire path
(``lineItems[1].quantity``)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from .body import MAX_INTEGER, digits
from .registry import SandboxError

__all__ = [
    "as_numeric_id",
    "at",
    "bad",
    "id_string",
    "integer",
    "items",
    "non_negative_decimal",
    "numeric_id",
    "obj",
    "positive_int",
    "string",
]


def bad(path: str, message: str) -> SandboxError:
    return SandboxError(400, f"{path}: {message}" if path else message)


def at(path: str, key: str | int) -> str:
    """``at("lineItems", 0)`` -> ``lineItems[0]``; ``at("a", "b")`` -> ``a.b``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _get(body: dict[str, Any], path: str, key: str, required: bool) -> Any:
    value = body.get(key)
    if value is None and required:
        raise bad(at(path, key), "required")
    return value


def obj(body: dict[str, Any], key: str, path: str = "", *, required: bool = True) -> Any:
    """A JSON object (``dict``), or ``None`` when optional and absent."""
    value = _get(body, path, key, required)
    if value is not None and not isinstance(value, dict):
        raise bad(at(path, key), f"must be an object, got {_kind(value)}")
    return value


def items(body: dict[str, Any], key: str, path: str = "") -> list[dict[str, Any]]:
    """A non-empty JSON array of objects."""
    value = _get(body, path, key, True)
    where = at(path, key)
    if not isinstance(value, list):
        raise bad(where, f"must be an array, got {_kind(value)}")
    if not value:
        raise bad(where, "must contain at least one entry")
    for i, entry in enumerate(value):
        if not isinstance(entry, dict):
            raise bad(at(where, i), f"must be an object, got {_kind(entry)}")
    return value


def string(body: dict[str, Any], key: str, path: str = "", *, required: bool = True) -> str | None:
    """A string; a required one must not be blank."""
    value = _get(body, path, key, required)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad(at(path, key), f"must be a string, got {_kind(value)}")
    if required and not value.strip():
        raise bad(at(path, key), "must not be empty")
    return value


def id_string(body: dict[str, Any], key: str, path: str = "") -> str:
    """A required id sent as a string or an integer (returned as a string)."""
    value = _get(body, path, key, True)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise bad(at(path, key), f"must be a non-empty string, got {value!r}"[:200])
    return value


def numeric_id(body: dict[str, Any], key: str, path: str = "") -> int:
    """A required numeric id, sent as an integer or as a string of ASCII digits."""
    return as_numeric_id(_get(body, path, key, True), at(path, key))


def as_numeric_id(value: Any, where: str) -> int:
    """``value`` (found at ``where``) as a numeric id: an integer, or a string of ASCII
    digits, within the range of :func:`~.body.digits`."""
    number = digits(value) if isinstance(value, str) else value
    if isinstance(number, bool) or not isinstance(number, int) or number < 0:
        raise bad(where, f"must be a numeric id, got {value!r}"[:200])
    return number


def non_negative_decimal(body: dict[str, Any], key: str, path: str = "") -> Decimal | None:
    """An optional non-negative decimal, sent as a number or a string (``"12.50"``), at most
    :data:`~.body.MAX_INTEGER`; ``None`` when absent or ``""``."""
    value = body.get(key)
    if value is None or value == "":
        return None
    try:
        number = Decimal(value if isinstance(value, str) else str(value))
    except InvalidOperation:
        number = Decimal("NaN")
    if isinstance(value, bool) or not number.is_finite() or not 0 <= number <= MAX_INTEGER:
        message = f"must be a non-negative number up to {MAX_INTEGER}, got {value!r}"
        raise bad(at(path, key), message[:200])
    return number


def integer(body: dict[str, Any], key: str, path: str = "", *, required: bool = True) -> int | None:
    value = _get(body, path, key, required)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad(at(path, key), f"must be an integer, got {value!r}"[:200])
    return value


def positive_int(body: dict[str, Any], key: str, path: str = "") -> int:
    value = integer(body, key, path)
    assert value is not None
    if value <= 0:
        raise bad(at(path, key), f"must be a positive integer, got {value}")
    return value


def _kind(value: Any) -> str:
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)
