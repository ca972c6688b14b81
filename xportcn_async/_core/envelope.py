"""Decoding the two response envelopes (API.md §3) into data or a typed error. Pure."""

from __future__ import annotations

import email.utils
import enum
import json
import math
import re
import time
from collections.abc import Mapping
from typing import Any

import attrs

from .. import inferred, wirejson
from ..errors import APIError, MalformedResponseError, ServerError
from .http import Response

MAX_RETRY_AFTER_HEADER = 24 * 3600.0

#: How deeply a response body's arrays and objects may nest. This API's replies nest about six
#: levels; anything far deeper is hostile or broken, and left unchecked it would raise
#: ``RecursionError`` in the JSON parser or in any later code that walks the value.
MAX_JSON_DEPTH = 64


class EnvelopeStyle(str, enum.Enum):
    """The envelope around an operation's reply (the values are the old literals)."""

    LOGISTICS = "L"
    """``{"success", "errorCode", "errorMsg", "data"}``: the warehouse-logistics operations."""
    KA = "K"
    """``{"code", "msg", "requestId", "data"}``: the KA, address and wms operations."""


@attrs.define(frozen=True)
class Envelope:
    """A successful response: its ``data``, the envelope's metadata, and the number of HTTP
    ``attempts`` the call took (set by the client)."""

    data: Any
    request_id: str | None = None
    code: int | str | None = None
    message: str | None = None
    attempts: int = 1


# Read on every reply: module globals are cheaper to reach than enum members (Python 3.11).
_KA = EnvelopeStyle.KA
_LOGISTICS = EnvelopeStyle.LOGISTICS
_NOT_JSON: Any = object()
_L_KEYS = ("success", "errorCode")
_K_KEYS = ("code",)


def decode(
    response: Response,
    *,
    style: EnvelopeStyle | None = None,
    operation: str | None = None,
) -> Envelope:
    """Return the envelope of a successful response, or raise the matching :class:`APIError`.

    ``style`` is the endpoint's declared envelope (``LOGISTICS``: ``success``/``errorCode``/
    ``errorMsg``; ``KA``: ``code``/``msg``/``requestId``). Its keys are read when present;
    the other style's only when the declared style's keys are absent (a proxy or a server
    that answers in the other style). Without ``style`` the keys decide, style L first.
    """
    status = response.status
    doc = _parse(response.body)
    if type(doc) is dict and 200 <= status < 300:
        env = _plain_success(doc, style, response.headers)
        if env is not None:
            return env
    if doc is _NOT_JSON and 200 <= status < 300:
        _raise(MalformedResponseError, "response body is not JSON", response, operation)
    if isinstance(doc, dict):
        request_id, id_ok = _request_id(doc, response.headers)
        found = _style_of(doc, style)
        code: int | str | None = None
        message: str | None = None
        code_ok = ok = False
        if found is _LOGISTICS:
            code, code_ok = _code(doc.get("errorCode"))
            message = _message(doc.get("errorMsg"))
            ok = doc.get("success") is True and (
                code is None or _as_int(code) == inferred.L_SUCCESS_CODE
            )
        elif found is _KA:
            code, code_ok = _code(doc.get("code"))
            message = _message(doc.get("msg") if "msg" in doc else doc.get("message"))
            ok = code in inferred.K_SUCCESS_CODES
        if not (code_ok and id_ok):
            # Not an envelope, or one whose code or requestId is not a string or an integer
            # (a list, an object, a boolean, a fraction, an overflowing number).
            if 200 <= status < 300:
                _raise(
                    MalformedResponseError,
                    "response JSON is not an API envelope"
                    if found is None
                    else "response envelope has a code or requestId that is not a string or an integer",
                    response,
                    operation,
                    request_id=request_id,
                )
            _raise_for_status(response, operation, request_id=request_id)
        if ok and 200 <= status < 300:
            return Envelope(doc.get("data"), request_id, code, message)
        _raise_api(response, operation, code, message, request_id)
    if 200 <= status < 300:
        _raise(MalformedResponseError, "response JSON is not an API envelope", response, operation)
    _raise_for_status(response, operation, request_id=_header_request_id(response.headers))
    raise AssertionError("unreachable")  # pragma: no cover


def _plain_success(
    doc: dict[str, Any], style: EnvelopeStyle | None, headers: Mapping[str, str]
) -> Envelope | None:
    """The envelope of the reply almost every call gets, read in a few steps: a success in
    the declared style whose code, message and request id are plain (an integer or string
    code, a string message, a string request id or none). ``None`` for anything else, which
    :func:`decode` then reads in full, to the same result."""
    if style is _KA:
        code = doc.get("code")
        if not ((type(code) is int or type(code) is str) and code in inferred.K_SUCCESS_CODES):
            return None
        message = doc.get("msg") if "msg" in doc else doc.get("message")
    else:
        if doc.get("success") is not True:
            return None
        code = doc.get("errorCode")
        if not (code is None or (type(code) is int and code == inferred.L_SUCCESS_CODE)):
            return None
        message = doc.get("errorMsg")
    if not (message is None or type(message) is str):
        return None
    request_id = doc.get("requestId")
    if request_id is None:
        request_id = _header_request_id(headers)
    elif type(request_id) is not str:
        return None
    return Envelope(doc.get("data"), request_id, code, message)


def _parse(body: bytes) -> Any:
    """The body's JSON value, or ``_NOT_JSON``: not UTF-8 JSON, nested deeper than
    :data:`MAX_JSON_DEPTH`, or holding a number no float can hold (``1e400``; ``NaN`` and
    ``Infinity`` are not JSON at all). orjson decodes it when installed and not turned off
    (:mod:`xportcn_async.wirejson`); where orjson may differ, the standard library decides."""
    fast_loads = wirejson.fast_loads
    doc: Any = _NOT_JSON
    if fast_loads is not None:
        try:
            doc = fast_loads(body)
        except (ValueError, RecursionError):
            doc = _NOT_JSON
    if doc is _NOT_JSON:
        try:
            doc = _decode_json(body.decode(_encoding(body), "surrogatepass"))
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            return _NOT_JSON
    # Counting brackets costs nothing and rules out deep nesting for almost every reply.
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and _too_deep(doc):
        return _NOT_JSON
    return doc


def _encoding(body: bytes) -> str:
    """``json.detect_encoding(body)``, answered at once for an object in UTF-8 (no BOM, no
    NUL byte after its ``{``): every reply the API sends."""
    if body[:1] == b"{" and body[1:2] != b"\x00":
        return "utf-8"
    return json.detect_encoding(body)


def _refuse(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (math.inf, -math.inf):
        raise ValueError(f"number out of range: {text[:40]}")
    return value


# ``json.loads(body, parse_constant=..., parse_float=...)`` with one decoder built once
# (``json.loads`` with options builds one per call): bytes are decoded as it decodes them.
_decoder = json.JSONDecoder(parse_constant=_refuse, parse_float=_finite_float)
_scan: Any = _decoder.scan_once  # type: ignore[attr-defined]  # set by JSONDecoder()


def _decode_json(text: str) -> Any:
    """``_decoder.decode(text)``: the same value, or a ``ValueError`` where it raises one.
    An object (every call's reply) goes to the scanner straight away, without ``decode``'s
    Python layers and their two regular expressions."""
    if text[:1] != "{":
        return _decoder.decode(text)
    try:
        doc, end = _scan(text, 0)
    except StopIteration:  # a value missing inside (``{"a":``): raw_decode's ValueError
        raise ValueError("expecting a value") from None
    if end != len(text) and text[end:].strip(" \t\n\r"):
        raise ValueError("extra data after the JSON value")
    return doc


def _too_deep(doc: Any) -> bool:
    """Whether ``doc`` nests deeper than :data:`MAX_JSON_DEPTH` (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(doc, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth >= MAX_JSON_DEPTH:
                return True
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return False


def _style_of(doc: Mapping[str, Any], declared: EnvelopeStyle | None) -> EnvelopeStyle | None:
    """Which style's keys to read: the declared one when its keys are there, else the other
    one when its keys are there, else ``None`` (not an envelope)."""
    has_l = any(k in doc for k in _L_KEYS)
    has_k = any(k in doc for k in _K_KEYS)
    if declared == _KA:  # == : a caller may still pass the old literal "K"
        return _KA if has_k else _LOGISTICS if has_l else None
    return _LOGISTICS if has_l else _KA if has_k else None


def error_class(code: int | None) -> type[APIError]:
    """The error kind for an envelope code or HTTP status, from the inferred error-code table
    (:data:`inferred.ERROR_CODES`, :data:`inferred.SERVER_ERROR_CODES`)."""
    if code is None:
        return APIError
    cls = inferred.ERROR_CODES.get(code)
    if cls is not None:
        return cls
    if code in inferred.SERVER_ERROR_CODES:
        return ServerError
    return APIError


_INT_TEXT = re.compile(r"-?[0-9]{1,18}")


def _as_int(code: int | str | None) -> int | None:
    """An envelope code as a number: an integer, or a string of ASCII digits (not ``" 7"``,
    ``"1_000"`` or ``"²"``, which ``int()`` would take)."""
    if isinstance(code, int):
        return code
    if isinstance(code, str) and _INT_TEXT.fullmatch(code):
        return int(code)
    return None


def _code(value: Any) -> tuple[int | str | None, bool]:
    """An envelope code and whether it is one: absent, an integer (an integral float counts)
    or a string. A boolean, a list, an object or a fraction is not."""
    if value is None or isinstance(value, str):
        return value, True
    if isinstance(value, bool):
        return None, False
    if isinstance(value, int):
        return value, True
    if isinstance(value, float) and value.is_integer():
        return int(value), True
    return None, False


def _message(value: Any) -> str | None:
    """The envelope's message as text: a string, or a number written out; anything else (an
    object, a list) is left to the body excerpt."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def _raise_api(
    response: Response, operation: str | None, code: Any, message: Any, request_id: str | None
) -> None:
    cls = error_class(_as_int(code))
    if cls is APIError and response.status >= 400:
        cls = error_class(response.status)
    text = str(message) if message else f"API error code {code}"
    _raise(cls, text, response, operation, code=code, request_id=request_id)


def _raise_for_status(response: Response, operation: str | None, *, request_id: str | None) -> None:
    cls = error_class(response.status)
    _raise(
        cls,
        f"HTTP {response.status} without an API envelope",
        response,
        operation,
        request_id=request_id,
    )


def _raise(
    cls: type[APIError],
    message: str,
    response: Response,
    operation: str | None,
    *,
    code: Any = None,
    request_id: str | None = None,
) -> None:
    raise cls(
        message,
        http_status=response.status,
        code=code,
        request_id=request_id,
        body_excerpt=response.body[:2000].decode("utf-8", "replace"),
        operation=operation,
        retry_after=retry_after(response.headers),
    )


def _request_id(doc: Mapping[str, Any], headers: Mapping[str, str]) -> tuple[str | None, bool]:
    """The envelope's ``requestId`` (else the ``x-request-id`` header), and whether it is a
    string or an integer, as an id must be (``1e999`` is not the id ``"inf"``)."""
    rid = doc.get("requestId")
    if rid is None:
        return _header_request_id(headers), True
    if isinstance(rid, str):
        return rid, True
    if isinstance(rid, int) and not isinstance(rid, bool):
        return str(rid), True
    return _header_request_id(headers), False


def _header_request_id(headers: Mapping[str, str]) -> str | None:
    rid = headers.get("x-request-id")
    return rid if isinstance(rid, str) else None


def retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """``Retry-After`` in seconds (from delta-seconds or an HTTP date), or ``None``."""
    value = headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_HEADER)
