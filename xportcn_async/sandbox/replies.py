"""The two response envelopes (API.md §3), as the sandbox writes them."""

from __future__ import annotations

import json
from typing import Any

from ..endpoints import EnvelopeStyle
from ..transports import Response

__all__ = ["DEVELOP_ID", "K_SUCCESS_MESSAGE", "error", "ok", "style_for_path", "truncated"]

DEVELOP_ID = "1023561483696472887"
K_SUCCESS_MESSAGE = "成功"
_JSON = "application/json; charset=utf-8"


def _encode(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def ok(
    style: EnvelopeStyle,
    data: Any,
    request_id: str,
    *,
    code: int | None = None,
    message: str | None = None,
) -> Response:
    if style is EnvelopeStyle.LOGISTICS:
        doc: dict[str, Any] = {"errorCode": 200, "errorMsg": None, "success": True, "data": data}
    else:
        doc = {
            "requestId": request_id,
            "code": 200 if code is None else code,
            "developId": DEVELOP_ID,
            "msg": K_SUCCESS_MESSAGE if message is None else message,
            "data": data,
        }
    return Response(200, {"content-type": _JSON, "x-request-id": request_id}, _encode(doc))


def error(
    style: EnvelopeStyle,
    code: int,
    message: str,
    request_id: str,
    *,
    http_status: int = 200,
    retry_after: float | None = None,
) -> Response:
    if style is EnvelopeStyle.LOGISTICS:
        doc: dict[str, Any] = {
            "errorCode": code,
            "errorMsg": message,
            "success": False,
            "data": None,
        }
    else:
        doc = {
            "requestId": request_id,
            "code": code,
            "developId": DEVELOP_ID,
            "msg": message,
            "data": None,
        }
    headers = {"content-type": _JSON, "x-request-id": request_id}
    if retry_after is not None:
        headers["retry-after"] = f"{retry_after:g}"
    return Response(http_status, headers, _encode(doc))


def truncated(response: Response) -> Response:
    """``response`` with its body cut in the middle: no longer JSON (the ``malformed``
    fault)."""
    body = response.body[: max(1, len(response.body) // 2)]
    return Response(200, response.headers, body)


def style_for_path(path: str) -> EnvelopeStyle:
    """The envelope style of an unknown path: L under ``/open/pp/``, K elsewhere."""
    return EnvelopeStyle.LOGISTICS if "/open/pp/" in path else EnvelopeStyle.KA
