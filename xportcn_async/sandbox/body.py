"""Reading an untrusted request body: the one place where client bytes become Python data.

Whatever the client sends, :func:`decode_body` returns a JSON object whose values every
handler can use as they are, or raises a 400 :class:`~.registry.SandboxError`:

- numbers are finite and within :data:`MAX_INTEGER` in size (the range of a signed 64-bit
  integer, which any id or count column holds), so no handler meets an ``inf``, a ``NaN``,
  a Decimal beyond its precision or an integer of thousands of digits;
- objects and arrays nest at most :data:`MAX_DEPTH` levels, so neither the parser nor any
  later ``json.dumps`` of a part of the body runs out of recursion;
- the body is UTF-8 and its strings valid Unicode (no lone surrogate from a ``\\ud800``
  escape), so every reply that echoes them can be encoded as UTF-8.

Numeric *strings* (ids sent as ``"889512351602"``) go through :func:`digits`, the same
range rule for text.
"""

from __future__ import annotations

import json
import re
from typing import Any, NoReturn

from .registry import SandboxError

__all__ = ["MAX_DEPTH", "MAX_INTEGER", "decode_body", "digits"]

MAX_INTEGER = 2**63 - 1
"""The largest number (in size) a request may carry: a signed 64-bit integer's."""
MAX_DEPTH = 32
"""How deeply objects and arrays may nest in a request body (the documented bodies need 4)."""

_MAX_DIGITS = len(str(MAX_INTEGER))
_SURROGATE = re.compile("[\ud800-\udfff]")


def digits(text: str) -> int | None:
    """The integer that ``text`` writes in plain ASCII digits (``"007"`` -> 7), or None:
    for any other character (``"²"``, ``"1_000"``, ``" 7"``, ``"-1"``) and for a value above
    :data:`MAX_INTEGER` (or longer than it). Never converts a long string: Python refuses
    to above 4,300 digits."""
    if not (0 < len(text) <= _MAX_DIGITS and text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= MAX_INTEGER else None


def decode_body(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object (``{}`` for an empty body), or a 400
    :class:`~.registry.SandboxError` saying what is wrong with it."""
    if not body.strip():
        return {}
    try:
        # Strict UTF-8 (a BOM is allowed): json.loads(bytes) would also take UTF-16 and
        # surrogates encoded in UTF-8, so lone surrogates could come from more than escapes.
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SandboxError(400, f"the request body is not valid UTF-8: {exc}") from None
    try:
        doc = json.loads(text, parse_int=_integer, parse_float=_float, parse_constant=_not_a_number)
    except RecursionError:
        raise _too_deep() from None
    except ValueError as exc:
        raise SandboxError(400, f"the request body is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise SandboxError(400, "the request body must be a JSON object")
    # Only bodies that could break a rule are walked: the usual ones cost two byte counts.
    if text.count("[") + text.count("{") > MAX_DEPTH or "\\u" in text:
        _check_nesting_and_strings(doc)
    return doc


def _integer(text: str) -> int:
    value = digits(text.removeprefix("-"))
    if value is None:
        _out_of_range(text)
    return -value if text.startswith("-") else value


def _float(text: str) -> float:
    value = float(text)
    if not -MAX_INTEGER <= value <= MAX_INTEGER:  # also refuses inf (1e400)
        _out_of_range(text)
    return value


def _not_a_number(text: str) -> NoReturn:
    raise SandboxError(400, f"the request body is not valid JSON: {text} is not a JSON number")


def _out_of_range(text: str) -> NoReturn:
    shown = text if len(text) <= 30 else f"{text[:12]}...{text[-12:]} ({len(text)} characters)"
    raise SandboxError(
        400,
        f"a number in the request body is out of range: {shown} (numbers must be finite and "
        f"at most {MAX_INTEGER} in size)",
    )


def _too_deep() -> SandboxError:
    return SandboxError(400, f"the request body nests deeper than {MAX_DEPTH} levels")


def _check_nesting_and_strings(doc: dict[str, Any]) -> None:
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
            _check_strings(value.keys())
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > MAX_DEPTH:
            raise _too_deep()
        _check_strings(v for v in children if isinstance(v, str))
        stack.extend((v, depth + 1) for v in children if isinstance(v, (dict, list)))


def _check_strings(strings: Any) -> None:
    for text in strings:
        if _SURROGATE.search(text):
            raise SandboxError(
                400, "the request body has a string that is not valid Unicode (a lone surrogate)"
            )
