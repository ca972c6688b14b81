"""Envelope decoding (API.md §3): both styles, every error kind, hostile bodies. Pure."""

from __future__ import annotations

import email.utils
import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xportcn_async import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    MalformedResponseError,
    NotFoundError,
    RateLimitError,
    Response,
    ServerError,
    XportcnError,
)
from xportcn_async._core import envelope as core_envelope
from xportcn_async.envelope import Envelope, EnvelopeStyle, decode, retry_after


def raw(status: int, body: bytes | str, headers: dict[str, str] | None = None) -> Response:
    if isinstance(body, str):
        body = body.encode()
    return Response(status, headers or {}, body)


def l_style(
    code: int, *, data: Any = None, message: str | None = None, success: bool
) -> dict[str, Any]:
    return {"errorCode": code, "errorMsg": message, "success": success, "data": data}


def decode_error(response: Response) -> APIError:
    with pytest.raises(APIError) as info:
        decode(response, operation="logistics.book")
    return info.value


# -- style L -----------------------------------------------------------------------------


def test_style_l_success_returns_data(examples_dir: Path) -> None:
    body = (examples_dir / "logistics/orderBookingFreight.response.json").read_bytes()
    env = decode(raw(200, body))
    assert isinstance(env, Envelope)
    assert env.data["orderId"] == "21"
    assert env.data["orderFee"] == {"amount": "322.92", "currency": "USD"}


def test_style_l_failure_raises_with_code_and_message() -> None:
    body = l_style(404, message="renderId 不存在", success=False)
    err = decode_error(Response.json(body))
    assert isinstance(err, NotFoundError)
    assert err.code == 404
    assert err.message == "renderId 不存在"
    assert err.http_status == 200
    assert err.operation == "logistics.book"
    assert "renderId 不存在" in str(err)
    assert "renderId" in err.body_excerpt


def test_style_l_success_false_is_a_failure_even_with_code_200() -> None:
    with pytest.raises(APIError):
        decode(Response.json(l_style(200, success=False, message="失败")))


def test_style_l_success_flag_with_an_error_code_is_a_failure() -> None:
    with pytest.raises(BadRequestError):
        decode(Response.json(l_style(400, success=True, message="bad")))


def test_style_l_request_id_comes_from_the_response_header() -> None:
    resp = Response.json(l_style(200, data=True, success=True), headers={"x-request-id": "rid-L"})
    assert decode(resp).request_id == "rid-L"


# -- style K -----------------------------------------------------------------------------


@pytest.mark.parametrize("code", [200, 0])
def test_style_k_success_keeps_the_request_id(code: int) -> None:
    body = {
        "requestId": "a4ad5d30dd2e45adbf0569ed4b44ae6e",
        "code": code,
        "developId": "1023561483696472887",
        "msg": "成功",
        "data": [{"id": 1}],
    }
    env = decode(Response.json(body))
    assert env.data == [{"id": 1}]
    assert env.request_id == "a4ad5d30dd2e45adbf0569ed4b44ae6e"
    assert env.message == "成功"


def test_address_save_example_response_is_a_success(examples_dir: Path) -> None:
    body = (examples_dir / "basics/addOrUpdate.response.json").read_bytes()
    env = decode(raw(200, body))
    assert env.data is None
    assert env.message == "string"


@pytest.mark.parametrize("develop_id", ["1023561483696472887", 1023561483696472887, None])
def test_style_k_develop_id_may_be_a_string_or_an_integer(develop_id: Any) -> None:
    body = {"requestId": "r1", "code": 200, "developId": develop_id, "msg": "ok", "data": {"x": 1}}
    assert decode(Response.json(body)).data == {"x": 1}


def test_style_k_failure_keeps_the_request_id_code_and_message() -> None:
    body = {"requestId": "req-123", "code": 409, "developId": 7, "msg": "重复", "data": None}
    err = decode_error(Response.json(body))
    assert isinstance(err, ConflictError)
    assert err.request_id == "req-123"
    assert err.code == 409
    assert err.message == "重复"
    assert "req-123" in str(err)  # what support asks for is in the message


def test_style_k_unknown_code_is_still_an_api_error() -> None:
    err = decode_error(Response.json({"requestId": "r", "code": 10042, "msg": "odd"}))
    assert type(err) is APIError
    assert err.code == 10042
    assert err.request_id == "r"


def test_a_declared_style_k_error_with_a_success_key_keeps_code_and_message() -> None:
    # A style-K error body that also says "success": false must not be read as style L
    # (which would lose the code, the message and the error kind).
    body = {"requestId": "rid-k", "code": 404, "msg": "订单不存在", "success": False}
    with pytest.raises(NotFoundError) as info:
        decode(Response.json(body), style="K", operation="orders.detail")
    err = info.value
    assert (err.code, err.message, err.request_id) == (404, "订单不存在", "rid-k")


def test_a_declared_style_k_success_with_a_success_key_is_a_success() -> None:
    body = {"requestId": "rid-k", "code": 200, "msg": "ok", "success": False, "data": {"x": 1}}
    env = decode(Response.json(body), style="K")
    assert (env.data, env.code, env.request_id) == ({"x": 1}, 200, "rid-k")


def test_a_declared_style_l_reads_the_l_keys_even_when_a_code_key_is_present() -> None:
    body = {"errorCode": 404, "errorMsg": "no render", "success": False, "code": 200}
    with pytest.raises(NotFoundError) as info:
        decode(Response.json(body), style="L")
    assert (info.value.code, info.value.message) == (404, "no render")


@pytest.mark.parametrize(
    ("style", "body", "kind", "code"),
    [
        ("K", l_style(409, success=False, message="dup"), ConflictError, 409),
        ("L", {"requestId": "r", "code": 401, "msg": "签名错误"}, AuthenticationError, 401),
    ],
)
def test_the_other_style_is_read_when_the_declared_keys_are_absent(
    style: Any, body: dict[str, Any], kind: type[APIError], code: int
) -> None:
    with pytest.raises(kind) as info:
        decode(Response.json(body), style=style)
    assert info.value.code == code


@pytest.mark.parametrize("style", ["K", "L", None])
def test_the_declared_style_decodes_successes_of_both_styles(style: Any) -> None:
    assert decode(Response.json(l_style(200, data=1, success=True)), style=style).data == 1
    k_body = {"requestId": "r", "code": 200, "msg": "ok", "data": 2}
    assert decode(Response.json(k_body), style=style).data == 2


def test_style_l_error_code_200_as_a_string_is_a_success() -> None:
    body = {"errorCode": "200", "errorMsg": None, "success": True, "data": True}
    assert decode(Response.json(body), style="L").data is True


# -- error kinds by code -----------------------------------------------------------------

KINDS = [
    (400, BadRequestError),
    (401, AuthenticationError),
    (403, AuthenticationError),
    (404, NotFoundError),
    (409, ConflictError),
    (429, RateLimitError),
    (500, ServerError),
    (502, ServerError),
    (503, ServerError),
    (504, ServerError),
]


@pytest.mark.parametrize(("code", "kind"), KINDS)
def test_envelope_codes_map_to_error_kinds(code: int, kind: type[APIError]) -> None:
    for body in (
        l_style(code, success=False, message="no"),
        {"requestId": "r", "code": code, "msg": "no"},
    ):
        err = decode_error(Response.json(body))
        assert type(err) is kind
        assert err.code == code


@pytest.mark.parametrize(("status", "kind"), KINDS)
def test_http_statuses_map_to_error_kinds(status: int, kind: type[APIError]) -> None:
    err = decode_error(raw(status, "<html>nope</html>", {"content-type": "text/html"}))
    assert type(err) is kind
    assert err.http_status == status


def test_http_error_status_with_an_envelope_keeps_both() -> None:
    body = {"requestId": "r-503", "code": 503, "msg": "维护中"}
    err = decode_error(Response.json(body, status=503))
    assert isinstance(err, ServerError)
    assert (err.http_status, err.code, err.request_id, err.message) == (503, 503, "r-503", "维护中")


def test_every_api_error_is_an_xportcn_error() -> None:
    for _, kind in KINDS:
        assert issubclass(kind, APIError)
    assert issubclass(APIError, XportcnError)
    assert issubclass(MalformedResponseError, APIError)


# -- hostile bodies ----------------------------------------------------------------------


def test_html_502_page_is_a_server_error_with_a_bounded_excerpt() -> None:
    page = (
        "<html><head><title>502 Bad Gateway</title></head><body>" + "x" * 10_000 + "</body></html>"
    )
    assert len(page) > 10_000
    err = decode_error(raw(502, page, {"content-type": "text/html"}))
    assert isinstance(err, ServerError)
    assert err.http_status == 502
    assert err.code is None
    assert err.body_excerpt.startswith("<html><head><title>502 Bad Gateway")
    assert len(err.body_excerpt) <= 500
    assert len(str(err)) <= 1000  # the message does not carry the whole page either


def test_excerpt_of_a_large_json_error_is_bounded() -> None:
    body = {"requestId": "r", "code": 400, "msg": "bad", "data": {"echo": "y" * 20_000}}
    err = decode_error(Response.json(body))
    assert len(err.body_excerpt) <= 500


def test_excerpt_survives_a_multibyte_character_cut_in_half() -> None:
    body = ("错" * 1000).encode()
    err = decode_error(raw(500, body))
    assert len(err.body_excerpt) <= 500
    assert err.body_excerpt.startswith("错错")


@pytest.mark.parametrize(
    "body",
    [
        b'{"errorCode": 200, "success": true, "data": {"orderId": "2',
        b"",
        b"<html>OK</html>",
        b"\xff\xfe\x00garbage",
    ],
    ids=["truncated", "empty", "html", "binary"],
)
def test_unreadable_2xx_body_is_a_malformed_response(body: bytes) -> None:
    err = decode_error(raw(200, body))
    assert isinstance(err, MalformedResponseError)
    assert err.http_status == 200
    assert len(err.body_excerpt) <= 500


@pytest.mark.parametrize(
    "doc",
    [[1, 2, 3], {"foo": 1}, "just a string", 42, None, {"data": {"orderId": "1"}}],
    ids=["list", "foreign-object", "string", "number", "null", "data-only"],
)
def test_json_that_is_not_an_envelope_is_a_malformed_response(doc: Any) -> None:
    err = decode_error(raw(200, json.dumps(doc)))
    assert isinstance(err, MalformedResponseError)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504, 400, 302])
@pytest.mark.parametrize(
    "body", [b"<html>busy</html>", b"", b'{"foo": 1}', b"[1]"], ids=["html", "empty", "obj", "list"]
)
def test_a_non_2xx_without_an_envelope_is_never_a_malformed_response(
    status: int, body: bytes
) -> None:
    # MalformedResponseError only ever comes from a 2xx, so the retry rules can treat it as
    # "the request was processed" without looking at the status.
    err = decode_error(raw(status, body))
    assert not isinstance(err, MalformedResponseError)
    assert err.http_status == status


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"[]",
        b"null",
        b'{"code": null}',
        b'{"code": "abc", "msg": 5}',
        b'{"errorCode": "E-1", "success": "yes"}',
        b'{"success": false}',
        b'{"requestId": {"nested": 1}, "code": 500}',
        b"\x00\x01",
    ],
)
@pytest.mark.parametrize("status", [200, 400, 429, 500, 502])
def test_never_a_key_error_or_json_error(body: bytes, status: int) -> None:
    # Whatever arrives, the caller sees an SDK error, never KeyError/JSONDecodeError.
    with pytest.raises(APIError):
        decode(raw(status, body))


# -- hostile values inside an envelope -----------------------------------------------------

DEEP = b"[" * 100_000


@pytest.mark.parametrize(
    "body",
    [
        b'{"code": [200], "msg": "ok", "data": {}}',
        b'{"code": {"a": 1}, "msg": "ok", "data": {}}',
        b'{"code": true, "data": {}}',
        b'{"code": 200.5, "data": {}}',
        b'{"errorCode": [200], "success": true, "data": {}}',
        b'{"errorCode": {"x": 200}, "success": true}',
        b'{"errorCode": Infinity, "success": false}',
        b'{"errorCode": -Infinity, "success": false}',
        b'{"errorCode": NaN, "success": false}',
        b'{"errorCode": 1e400, "success": false}',
        b'{"code": 1e400, "data": {}}',
        b'{"code": -1e400}',
        DEEP,
        b"{" + b'"a":{' * 5_000,
        b'{"code": 200, "data": ' + b"[" * 3_000 + b"]" * 3_000 + b"}",
    ],
    ids=[
        "code-list",
        "code-object",
        "code-bool",
        "code-fraction",
        "errorCode-list",
        "errorCode-object",
        "errorCode-Infinity",
        "errorCode--Infinity",
        "errorCode-NaN",
        "errorCode-1e400",
        "code-1e400",
        "code--1e400",
        "deep-open",
        "deep-objects-open",
        "deep-but-closed",
    ],
)
@pytest.mark.parametrize("status", [200, 201, 400, 404, 429, 500, 503])
@pytest.mark.parametrize("style", [None, "K", "L"])
def test_hostile_codes_and_nesting_are_api_errors(body: bytes, status: int, style: Any) -> None:
    # Once TypeError (unhashable code), OverflowError (int(inf)) or RecursionError.
    with pytest.raises(APIError) as info:
        decode(raw(status, body), style=style)
    err = info.value
    assert err.http_status == status
    if 200 <= status < 300:
        assert isinstance(err, MalformedResponseError)
    else:
        assert not isinstance(err, MalformedResponseError)
        assert type(err) is type(decode_error(raw(status, b"")))  # the status decides


def test_nesting_up_to_the_limit_is_decoded() -> None:
    from xportcn_async.envelope import MAX_JSON_DEPTH

    inner = MAX_JSON_DEPTH - 2  # the envelope object and its data object take two levels
    body = b'{"code": 200, "data": {"x": ' + b"[" * inner + b"]" * inner + b"}}"
    env = decode(raw(200, body))
    value, depth = env.data["x"], 1
    while value:
        value, depth = value[0], depth + 1
    assert depth == inner
    with pytest.raises(MalformedResponseError):
        decode(raw(200, body.replace(b"[", b"[[", 1).replace(b"]", b"]]", 1)))


@pytest.mark.parametrize(
    "request_id",
    ["1e999", "[1, 2]", "true", "12.5", '{"id": 1}', "-1e400"],
)
def test_a_request_id_that_is_not_a_string_or_an_integer_is_malformed(request_id: str) -> None:
    body = f'{{"requestId": {request_id}, "code": 200, "msg": "ok", "data": {{}}}}'
    with pytest.raises(MalformedResponseError) as info:
        decode(raw(200, body))
    assert info.value.request_id not in ("inf", "[1, 2]", "True", "12.5")
    # On an error status the status decides, and the bad id is not shown as the id.
    err = decode_error(raw(400, body, {"x-request-id": "hdr-1"}))
    assert isinstance(err, BadRequestError)
    assert err.request_id == "hdr-1"


@pytest.mark.parametrize(("request_id", "expected"), [('"r-1"', "r-1"), ("123", "123")])
def test_string_and_integer_request_ids_are_kept(request_id: str, expected: str) -> None:
    body = f'{{"requestId": {request_id}, "code": 200, "data": {{}}}}'
    assert decode(raw(200, body)).request_id == expected


@pytest.mark.parametrize("code", ['" 200"', '"2_00"', '"²00"', '"200 "'])
def test_a_style_l_code_must_be_plain_digits_to_mean_success(code: str) -> None:
    body = f'{{"errorCode": {code}, "success": true, "data": {{}}}}'
    with pytest.raises(APIError):
        decode(raw(200, body), style="L")


def test_an_integral_float_code_is_read_as_an_integer() -> None:
    assert decode(raw(200, b'{"code": 200.0, "data": 1}')).code == 200
    err = decode_error(raw(200, b'{"code": 404.0, "msg": "gone"}'))
    assert isinstance(err, NotFoundError) and err.code == 404


def test_a_message_that_is_not_text_is_left_to_the_excerpt() -> None:
    err = decode_error(raw(400, b'{"code": 400, "msg": ["a", {"b": 1}]}'))
    assert isinstance(err, BadRequestError)
    assert err.message == "API error code 400"
    assert '"b": 1' in err.body_excerpt


# -- Retry-After -------------------------------------------------------------------------


def test_429_with_retry_after_seconds() -> None:
    err = decode_error(raw(429, "Too Many Requests", {"retry-after": "3"}))
    assert isinstance(err, RateLimitError)
    assert err.retry_after == 3.0
    assert err.http_status == 429


def test_429_envelope_with_retry_after() -> None:
    body = {"requestId": "r", "code": 429, "msg": "slow down"}
    err = decode_error(Response.json(body, status=429, headers={"retry-after": "1.5"}))
    assert isinstance(err, RateLimitError)
    assert err.retry_after == 1.5
    assert err.request_id == "r"


def test_429_with_retry_after_http_date() -> None:
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    err = decode_error(raw(429, "", {"retry-after": when}))
    assert isinstance(err, RateLimitError)
    assert err.retry_after is not None
    # The date has one-second resolution; anything near two minutes is right.
    assert 60 < err.retry_after <= 120


def test_429_without_retry_after() -> None:
    err = decode_error(raw(429, ""))
    assert isinstance(err, RateLimitError)
    assert err.retry_after is None


def test_retry_after_parsing_is_pure() -> None:
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert retry_after({"retry-after": date}, now=now) == 30.0
    assert (
        retry_after({"retry-after": email.utils.formatdate(now - 30, usegmt=True)}, now=now) == 0.0
    )
    assert retry_after({"retry-after": " 7 "}, now=now) == 7.0
    assert retry_after({"retry-after": "-5"}, now=now) == 0.0
    assert retry_after({"retry-after": "soon"}, now=now) is None
    assert retry_after({"retry-after": "nan"}, now=now) is None
    assert retry_after({}, now=now) is None


# -- the fast path for plain successes ---------------------------------------------------------

_CODES = st.sampled_from(
    [0, 200, 201, 400, 500, "0", "200", "201", 200.0, 200.5, True, None, [200]]
)
_TEXTS = st.sampled_from([None, "ok", "", 7, {"a": 1}])
_IDS = st.sampled_from([None, "rid", 12, 1.5, True, [1]])


@given(
    fields=st.fixed_dictionaries(
        {},
        optional={
            "success": st.sampled_from([True, True, True, False, 1, None]),
            "errorCode": _CODES,
            "errorMsg": _TEXTS,
            "code": _CODES,
            "msg": _TEXTS,
            "message": _TEXTS,
            "requestId": _IDS,
            "data": st.sampled_from([None, {"a": 1}, [1], "x"]),
        },
    ),
    status=st.sampled_from([200, 200, 201, 400, 500]),
    style=st.sampled_from([EnvelopeStyle.KA, EnvelopeStyle.LOGISTICS, None]),
    header_id=st.sampled_from([None, "hdr-1"]),
)
@settings(max_examples=1000)
def test_the_plain_success_fast_path_decodes_as_the_full_reading(
    fields: dict[str, Any], status: int, style: EnvelopeStyle | None, header_id: str | None
) -> None:
    """Every envelope decodes to the same result, or the same error, with the fast path for
    plain successes as with the full reading alone."""
    headers = {"x-request-id": header_id} if header_id else {}
    response = Response(status, headers, json.dumps(fields).encode())

    def outcome() -> Any:
        try:
            return decode(response, style=style, operation="op")
        except APIError as exc:
            return (type(exc), str(exc), exc.code, exc.request_id)

    fast = outcome()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(core_envelope, "_plain_success", lambda *args: None)
        full = outcome()
    assert fast == full


# -- what an error tells the caller, at the edges of 2xx ------------------------------------------

NOT_AN_ENVELOPE = "response JSON is not an API envelope"
BAD_CODE = "response envelope has a code or requestId that is not a string or an integer"


@pytest.mark.parametrize(
    ("status", "body", "kind", "message", "request_id"),
    [
        (200, b"<html>", MalformedResponseError, "response body is not JSON", None),
        (299, b"<html>", MalformedResponseError, "response body is not JSON", None),
        (199, b"<html>", APIError, "HTTP 199 without an API envelope", "hdr"),
        (300, b"<html>", APIError, "HTTP 300 without an API envelope", "hdr"),
        (200, b'{"a": 1}', MalformedResponseError, NOT_AN_ENVELOPE, "hdr"),
        (299, b'{"a": 1}', MalformedResponseError, NOT_AN_ENVELOPE, "hdr"),
        (300, b'{"a": 1}', APIError, "HTTP 300 without an API envelope", "hdr"),
        (200, b"[1]", MalformedResponseError, NOT_AN_ENVELOPE, None),
        (300, b"[1]", APIError, "HTTP 300 without an API envelope", "hdr"),
        (200, b'{"code": [0], "requestId": "r-1"}', MalformedResponseError, BAD_CODE, "r-1"),
        (299, b'{"code": 0, "requestId": 1.5}', MalformedResponseError, BAD_CODE, "hdr"),
        (300, b'{"code": [0], "requestId": "r-1"}', APIError, "HTTP 300 without", "r-1"),
        (300, b'{"code": 0, "msg": "ok", "requestId": "r-1"}', APIError, "ok", "r-1"),
        (199, b'{"code": 0, "requestId": "r-1"}', APIError, "API error code 0", "r-1"),
        (200, b'{"code": 400, "message": "bad sku"}', BadRequestError, "bad sku", "hdr"),
    ],
)
@pytest.mark.parametrize("style", [EnvelopeStyle.KA, EnvelopeStyle.LOGISTICS, None])
def test_an_error_names_the_operation_the_request_id_and_what_was_wrong(
    status: int,
    body: bytes,
    kind: type[APIError],
    message: str,
    request_id: str | None,
    style: EnvelopeStyle | None,
) -> None:
    # Only a 2xx can be a malformed success (the call may have been processed); any other
    # status without an envelope is an HTTP error. Either way the error says which call failed
    # and carries the request id, the envelope's or else the x-request-id header's.
    with pytest.raises(APIError) as info:
        decode(
            raw(status, body, {"x-request-id": "hdr"}), style=EnvelopeStyle.KA, operation="wms.get"
        )
    error = info.value
    assert type(error) is kind
    assert error.message.startswith(message)
    assert (error.operation, error.http_status, error.request_id) == ("wms.get", status, request_id)
    assert str(error).startswith(f"wms.get: {message}")
    assert error.body_excerpt == body.decode()


def test_a_malformed_2xx_without_a_request_id_anywhere_has_none() -> None:
    with pytest.raises(MalformedResponseError) as info:
        decode(raw(200, b'{"code": [0]}'), operation="wms.get")
    assert info.value.request_id is None


def test_a_wide_but_shallow_reply_is_decoded_and_one_level_too_deep_is_not() -> None:
    # Many arrays side by side are no threat; only depth is limited.
    from xportcn_async.envelope import MAX_JSON_DEPTH

    deepest = MAX_JSON_DEPTH - 2  # the envelope object and its data object take two levels
    nested = b"[" * deepest + b"]" * deepest
    wide = b"[" + b",".join([b"[]"] * 200) + b"]"
    body = b'{"code": 200, "data": {"wide": ' + wide + b', "x": ' + nested + b"}}"
    assert len(decode(raw(200, body)).data["wide"]) == 200
    with pytest.raises(MalformedResponseError, match="not JSON"):
        decode(raw(200, body.replace(nested, b"[" + nested + b"]")))


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"])
def test_a_number_no_float_can_hold_makes_a_2xx_malformed(number: str) -> None:
    # Python's json module takes NaN and Infinity, and reads 1e400 as inf: none is JSON data.
    with pytest.raises(MalformedResponseError, match="response body is not JSON"):
        decode(raw(200, f'{{"code": 200, "data": {{"fee": {number}}}}}'))


@pytest.mark.parametrize(("msg", "message"), [(404, "404"), (2.5, "2.5"), (True, None)])
def test_a_numeric_error_message_is_written_out(msg: Any, message: str | None) -> None:
    error = decode_error(Response.json({"code": 400, "msg": msg}))
    assert error.message == (message or "API error code 400")


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (200, 999, APIError),  # a code the table does not know, on a 2xx: a plain API error
        (400, 999, BadRequestError),  # ... on an HTTP error: the status decides
        (404, 999, NotFoundError),
        (401, 999, AuthenticationError),
        (500, 400, BadRequestError),  # a known code wins over the status
        (400, 503, ServerError),
    ],
)
def test_the_envelope_code_decides_the_error_kind_and_the_status_only_when_it_cannot(
    status: int, code: int, kind: type[APIError]
) -> None:
    error = decode_error(Response.json({"code": code, "msg": "no"}, status=status))
    assert type(error) is kind
    assert (error.code, error.http_status) == (code, status)


def _decoded_or_refused(decode_json: Any, text: str) -> Any:
    try:
        return "value", decode_json(text)
    except ValueError:
        return "refused", None


_JSON_TEXT = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=8,
).map(json.dumps)
_AROUND = st.sampled_from(["", " ", "\n", "\r\n\t", "\x0c", " x", "}", "{}", "]", "\u3000"])


@settings(max_examples=300)
@given(
    text=st.builds(lambda a, t, b: a + t + b, _AROUND, _JSON_TEXT, _AROUND)
    | st.builds(lambda t, n: "{" + t[1:n], _JSON_TEXT, st.integers(0, 30))  # cut short
    | st.text(max_size=12)
    | st.text(max_size=12).map(lambda t: "{" + t)
)
def test_a_reply_is_decoded_as_the_json_decoder_decodes_it(text: str) -> None:
    """The shortcut for objects (the scanner straight away) gives the decoder's value, or
    refuses what it refuses: leading and trailing whitespace, extra data, NaN, 1e999."""
    reference = core_envelope._decoder.decode
    assert _decoded_or_refused(core_envelope._decode_json, text) == _decoded_or_refused(
        reference, text
    )
