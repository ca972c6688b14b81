"""The 0.1 home of the converter and the field helpers, kept so that old imports work.

Everything here lives in :mod:`xportcn_async.wire` now (``xportcn_async.wire.converter``,
``wire_field``, ``validate``, ...); import it from there. ``REQUEST_ID_KEY`` is gone: the
request id is no longer passed through the wire dict (see
:func:`xportcn_async.wire.read_result`).
"""

from __future__ import annotations

from typing import Any

from .wire import (
    Check,
    WireValueError,
    camel,
    converter,
    country_code,
    extras_field,
    from_wire,
    integer,
    non_empty,
    not_finite,
    positive,
    request_id_field,
    shown,
    to_wire,
    validate,
    wire_field,
    wire_name,
)
from .wire.validation import finite, integral, whole


def __getattr__(name: str) -> Any:
    if name == "REQUEST_ID_KEY":
        raise AttributeError(
            "xportcn_async.converter.REQUEST_ID_KEY was removed in 0.2: the request id no "
            "longer travels in the wire dict; use xportcn_async.wire.read_result(cls, data, "
            "request_id=...) (see the CHANGELOG)"
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Check",
    "WireValueError",
    "camel",
    "converter",
    "country_code",
    "extras_field",
    "finite",
    "from_wire",
    "integer",
    "integral",
    "non_empty",
    "not_finite",
    "positive",
    "request_id_field",
    "shown",
    "to_wire",
    "validate",
    "whole",
    "wire_field",
    "wire_name",
]
