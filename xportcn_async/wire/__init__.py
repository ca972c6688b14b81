"""The wire format: how models are declared, the special types, the one converter.

- :mod:`.fields`: what a model declares (wire names, checks, ``extras``, the request id,
  tolerance), as field metadata and a class mark. Registers nothing.
- :mod:`.types`: ``Fen``, ``ChinaTime``, ``Number``, open enums, search filters and sort.
- :mod:`.convert`: the one converter, with every hook registered in one place;
  :func:`to_wire`, :func:`from_wire` and :func:`read_result` (a reply's typed result).
- :mod:`.validation`: :func:`validate`, run before anything is sent.

Models (:mod:`xportcn_async.models`) import :mod:`.fields`, :mod:`.types` and :mod:`.values`
only, never the converter: they are plain declarations.
"""

from .convert import converter, from_wire, make_converter, read_result, to_wire
from .fields import (
    Check,
    camel,
    country_code,
    extras_field,
    is_tolerant,
    non_empty,
    positive,
    request_id_field,
    tolerant,
    wire_field,
    wire_name,
)
from .types import (
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
from .validation import validate
from .values import WireValueError, integer, not_finite, shown

__all__ = [
    "CHINA_TIME_FORMAT",
    "CHINA_TZ",
    "Check",
    "ChinaTime",
    "Fen",
    "Number",
    "NumberOrText",
    "OpenEnum",
    "OpenIntEnum",
    "SearchFilter",
    "SearchFilters",
    "SearchSort",
    "WireValueError",
    "camel",
    "converter",
    "country_code",
    "extras_field",
    "format_china_time",
    "from_wire",
    "integer",
    "is_tolerant",
    "make_converter",
    "non_empty",
    "not_finite",
    "parse_china_time",
    "positive",
    "read_result",
    "request_id_field",
    "shown",
    "to_wire",
    "tolerant",
    "validate",
    "wire_field",
    "wire_name",
]
