"""Decoding the two response envelopes (API.md §3) into data or a typed error. Pure."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from . import inferred
from .errors import APIError, MalformedResponseError, ServerError
from .transports import Response

if TYPE_CHECKING:
    from .endpoints import EnvelopeStyle

MAX_RETRY_AFTER_HEADER = 24 * 3600.0


@attrs.define(frozen=True)
class Envelope:
    """A successful response: its ``data``, the envelope's metadata, and the number of HTTP
    ``attempts`` the call took (set by the client)."""

    data: Any
    request_id: str | None = None
    code: int | str | None = None
    message: str | None = None
    attempts: int = 1


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

    ``style`` is the endpoint's declared envelope (``"L"``: ``success``/``errorCode``/
    ``errorMsg``; ``"K"``: ``code``/``msg``/``requestId``). Its keys are read when present;
    the other style's only when the declared style's keys are absent (a proxy or a server
    that answers in the other style). Without ``style`` the keys decide, style L first.
    """
    status = response.status
    try:
        doc = json.loads(response.body)
    except (UnicodeDecodeError, ValueError):
        doc = _NOT_JSON
    if doc is _NOT_JSON and 200 <= status < 300:  # raised outside the except: no __context__
        _raise(MalformedResponseError, "response body is not JSON", response, operation)
    if isinstance(doc, dict):
        request_id = _request_id(doc, response.headers)
        found = _style_of(doc, style)
        if found == "L":
            code = doc.get("errorCode")
            message = doc.get("errorMsg")
            ok = doc.get("success") is True and (
                code is None or _as_int(code) == inferred.L_SUCCESS_CODE
            )
        elif found == "K":
            code = doc.get("code")
            message = doc.get("msg") if "msg" in doc else doc.get("message")
            ok = code in inferred.K_SUCCESS_CODES
        else:
            if 200 <= status < 300:
                _raise(
                    MalformedResponseError,
                    "response JSON is not an API envelope",
                    response,
                    operation,
                )
            _raise_for_status(response, operation, request_id=request_id)
        if ok and 200 <= status < 300:
            return Envelope(doc.get("data"), request_id, code, message)
        _raise_api(response, operation, code, message, request_id)
    if 200 <= status < 300:
        _raise(MalformedResponseError, "response JSON is not an API envelope", response, operation)
    _raise_for_status(response, operation, request_id=response.headers.get("x-request-id"))
    raise AssertionError("unreachable")  # pragma: no cover


def _style_of(doc: Mapping[str, Any], declared: EnvelopeStyle | None) -> EnvelopeStyle | None:
    """Which style's keys to read: the declared one when its keys are there, else the other
    one when its keys are there, else ``None`` (not an envelope)."""
    has_l = any(k in doc for k in _L_KEYS)
    has_k = any(k in doc for k in _K_KEYS)
    if declared == "K":
        return "K" if has_k else "L" if has_l else None
    return "L" if has_l else "K" if has_k else None


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


def _as_int(code: Any) -> int | None:
    try:
        return int(code)
    except (TypeError, ValueError):
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


def _request_id(doc: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
    rid = doc.get("requestId")
    if rid is None:
        return headers.get("x-request-id")
    return str(rid)


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
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_HEADER)
