"""Decoding the two response envelopes (API.md §3) into data or a typed error. Pure."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping
from typing import Any

import attrs

from . import inferred
from .errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    MalformedResponseError,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from .transports import Response

MAX_RETRY_AFTER_HEADER = 24 * 3600.0


@attrs.define(frozen=True)
class Envelope:
    """A successful response: its ``data`` and the envelope's metadata."""

    data: Any
    request_id: str | None = None
    code: int | str | None = None
    message: str | None = None


def decode(response: Response, *, operation: str | None = None) -> Envelope:
    """Return the envelope of a successful response, or raise the matching :class:`APIError`.

    Both styles are recognised by their keys (``success``/``errorCode`` for style L,
    ``code`` for style K), so callers never need to know which one an endpoint uses.
    """
    status = response.status
    try:
        doc = json.loads(response.body)
    except (UnicodeDecodeError, ValueError):
        doc = None
        if 200 <= status < 300:
            _raise(MalformedResponseError, "response body is not JSON", response, operation)
    if isinstance(doc, dict):
        request_id = _request_id(doc, response.headers)
        if "success" in doc or "errorCode" in doc:
            code = doc.get("errorCode")
            message = doc.get("errorMsg")
            ok = doc.get("success") is True and (
                code is None or _as_int(code) == inferred.L_SUCCESS_CODE
            )
        elif "code" in doc:
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


_BY_CODE: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: AuthenticationError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def error_class(code: int | None) -> type[APIError]:
    """The error kind for an HTTP-like code (see :data:`inferred.ENVELOPE_CODES_ARE_HTTP_LIKE`)."""
    if code is None:
        return APIError
    if code in _BY_CODE:
        return _BY_CODE[code]
    if 500 <= code < 600:
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
