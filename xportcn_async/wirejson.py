"""JSON on the wire: request bodies out, response bodies in, with orjson when installed.

orjson (from ``xportcn-async[fast]``) encodes and decodes several times faster than the
standard library, but it does not always produce the same result. The results here are the
same bytes and the same values with it and without it, because each call falls back to the
standard library wherever orjson could differ:

- encoding: a float (orjson writes ``1e-05`` as ``0.00001``), ``NaN``/``Infinity`` (orjson
  writes ``null``), an integer beyond 64 bits, a non-string key, a subclass of ``str``,
  ``int``, ``dict`` or ``list``, and anything orjson refuses. The standard library is then
  asked, and its answer (or its error) is the result;
- decoding: a number of 19 or more digits (orjson turns integers beyond 64 bits into
  floats), and anything orjson refuses (``NaN``, a number that overflows, a lone surrogate,
  a byte-order mark, nesting deeper than 1024), which the standard library then decides.

The one difference left: a value the standard library cannot encode at all, a
``uuid.UUID`` or an ``enum.Enum`` without a ``str`` or ``int`` base, is encoded by orjson.
The SDK's converter never puts one in a request body.

``XPORTCN_JSON=stdlib`` turns orjson off (``auto``, the default, uses it when installed;
``orjson`` requires it). It is read once, when this module is imported.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from .errors import ConfigurationError

#: The environment variable that chooses the JSON library: ``auto``, ``stdlib``, ``orjson``.
ENV_JSON = "XPORTCN_JSON"

Encode = Callable[[Any], bytes]
Decode = Callable[[bytes], Any]

# The checks below search the bytes, some with every digit turned into "0" and "E" into "e"
# (``bytes.translate``): about 3 µs for a booking, where the regular expressions they
# replace took 25 µs, more than orjson saved. What they find inside a string too only costs
# a fallback.
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789E", b"000000000e")
# An integer orjson may not decode exactly (it turns those beyond 64 bits into floats).
_LONG_NUMBER = b"0" * 19


def _may_differ(data: bytes) -> bool:
    """Whether orjson's encoding ``data`` may differ from the standard library's: it holds a
    ``null`` (orjson writes NaN and the infinities so), or a float written with an exponent
    or below 0.0001 (``1e-7`` and ``0.00001`` for ``1e-07`` and ``1e-05``). Every other
    finite float they write alike (the shortest round-trip digits), which the tests check
    over random floats of every magnitude."""
    if b"null" in data or b"0.0000" in data:
        return True
    return b"0e" in data.translate(_DIGITS_TO_ZERO)


# What ``json.dumps(value, ensure_ascii=False, separators=(",", ":"))`` does, with the encoder
# built once (``json.dumps`` with options builds one per call).
_stdlib_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_c_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)  # None: no C speedups


def stdlib_dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON, non-ASCII characters as they are: the SDK's request bodies."""
    if _c_make_encoder is None:
        return _stdlib_encoder.encode(value).encode()
    # What ``JSONEncoder.encode`` runs, without its Python layers: the C encoder, made per
    # call as there (its memo of the containers being written, for circular references,
    # must start empty).
    encode = _c_make_encoder(
        {},
        _stdlib_encoder.default,
        json.encoder.encode_basestring,
        None,
        ":",
        ",",
        False,
        False,
        True,
    )
    return "".join(encode(value, 0)).encode()


def _refuse_subclass(value: Any) -> Any:
    raise TypeError(f"left to the standard library: {type(value).__name__}")


def _orjson_codec() -> tuple[Encode, Decode | None]:
    import orjson

    option = orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATACLASS
    option |= orjson.OPT_PASSTHROUGH_DATETIME
    orjson_dumps = orjson.dumps
    orjson_loads = orjson.loads

    def dumps(value: Any) -> bytes:
        try:
            data = orjson_dumps(value, default=_refuse_subclass, option=option)
        except (TypeError, ValueError, RecursionError):
            return stdlib_dumps(value)
        if _may_differ(data):
            return stdlib_dumps(value)
        return data

    def loads(data: bytes) -> Any:
        if _LONG_NUMBER in data.translate(_DIGITS_TO_ZERO):
            raise ValueError("left to the standard library")
        return orjson_loads(data)

    return dumps, loads


def codec(name: str) -> tuple[str, Encode, Decode | None]:
    """The library for ``name`` (``auto``, ``stdlib`` or ``orjson``), and its ``dumps`` and
    ``fast_loads``."""
    name = name.strip().lower() or "auto"
    if name not in ("auto", "stdlib", "orjson"):
        raise ConfigurationError(f"${ENV_JSON}={name!r}: choose auto, stdlib or orjson")
    if name != "stdlib":
        try:
            return ("orjson", *_orjson_codec())
        except ImportError:
            if name == "orjson":
                raise ConfigurationError(
                    f"${ENV_JSON}=orjson needs orjson: pip install 'xportcn-async[fast]'"
                ) from None
    return "stdlib", stdlib_dumps, None


#: The library in use (``"orjson"`` or ``"stdlib"``); ``dumps(value) -> bytes`` encodes a
#: request body; ``fast_loads(data)`` is orjson's decoding, or ``None``: it raises
#: ``ValueError`` or ``RecursionError`` where the standard library must decide, and the
#: caller then asks it, with its own rules.
library, dumps, fast_loads = codec(os.environ.get(ENV_JSON, ""))
