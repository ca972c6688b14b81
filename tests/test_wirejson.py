"""orjson on the wire (``xportcn-async[fast]``): request bodies and decoded replies are the
same with it and without it, byte for byte and value for value, and hostile replies still end
in typed errors. Each test runs with both libraries (``json_library``) or compares them."""

from __future__ import annotations

import asyncio
import json
import sys
from collections import OrderedDict
from decimal import Decimal
from enum import IntEnum
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import given, settings
from hypothesis import strategies as st

from xportcn_async import (
    BookingRequest,
    ConfigurationError,
    Credentials,
    MalformedResponseError,
    Response,
    XportcnClient,
    from_wire,
    to_wire,
    wirejson,
)
from xportcn_async.envelope import decode

LIBRARIES = ("stdlib", "orjson")
STDLIB = wirejson.codec("stdlib")
ORJSON = wirejson.codec("orjson")


@pytest.fixture(params=LIBRARIES)
def json_library(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each JSON library in turn, as if chosen with ``XPORTCN_JSON``."""
    name, dumps, fast_loads = wirejson.codec(request.param)
    monkeypatch.setattr(wirejson, "library", name)
    monkeypatch.setattr(wirejson, "dumps", dumps)
    monkeypatch.setattr(wirejson, "fast_loads", fast_loads)
    return name


def outcome(encode: wirejson.Encode, value: Any) -> bytes | type[BaseException]:
    try:
        return encode(value)
    except Exception as exc:
        return type(exc)


def decoded(fast_loads: wirejson.Decode | None, body: bytes) -> Any:
    """What the envelope makes of ``body`` with that library: a value or an error type."""
    # decode() reads the library from the module, as the client does.
    saved = wirejson.fast_loads
    wirejson.fast_loads = fast_loads
    try:
        return repr(decode(Response(200, {}, body), operation="x"))
    except Exception as exc:
        return type(exc)
    finally:
        wirejson.fast_loads = saved


def test_orjson_is_in_use_here() -> None:
    # The fast extra is installed in the test environment: both sides really run.
    assert ORJSON[0] == "orjson" and STDLIB[0] == "stdlib"


# -- request bodies ------------------------------------------------------------------------


def example_requests(examples_dir: Path) -> list[Path]:
    return sorted(examples_dir.rglob("*.request.json"))


def test_every_documented_request_encodes_to_the_same_bytes(examples_dir: Path) -> None:
    paths = example_requests(examples_dir)
    assert len(paths) > 10
    for path in paths:
        wire = json.loads(path.read_text("utf-8"))
        assert ORJSON[1](wire) == STDLIB[1](wire), path


def test_a_typed_booking_encodes_to_the_same_bytes(examples_dir: Path) -> None:
    wire = json.loads((examples_dir / "logistics/orderBookingFreight.request.json").read_text())
    body = to_wire(from_wire(wire, BookingRequest))
    data = ORJSON[1](body)
    assert data == STDLIB[1](body)
    assert "这是商品1".encode() in data  # UTF-8, not \\u escapes


JSON_LEAF = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text()
    | st.decimals(allow_nan=False).map(str)  # money travels as text
    | st.decimals(allow_nan=False, allow_infinity=False)  # refused by both
    | st.sampled_from([2**64, -(2**63) - 1, 10**30, float("nan"), float("-inf"), 1e-7, 1e22])
)
JSON_VALUES = st.recursive(
    JSON_LEAF,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=4), inner, max_size=4)
        | st.dictionaries(st.integers(), inner, max_size=2)
    ),  # non-string keys
    max_leaves=16,
)


@settings(max_examples=500)
@given(JSON_VALUES)
def test_any_value_encodes_the_same_or_fails_the_same(value: Any) -> None:
    assert outcome(ORJSON[1], value) == outcome(STDLIB[1], value)


class Level(IntEnum):
    LOW = 1


class Text(str):
    pass


@pytest.mark.parametrize(
    "value",
    [
        {"level": Level.LOW},
        {"name": Text("x")},
        OrderedDict(b=1, a=2),
        {"deep": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]},
        {"too deep": json.loads("[" * 600 + "]" * 600)},
        {"surrogate": "\ud800"},
        {"control": "\x00\x1f\x7f\u2028"},
        {"money": Decimal("1.10")},
        {"small": 0.00001, "big": 1e16, "neg": -0.0},
    ],
    ids=["int-enum", "str-subclass", "ordered", "nested", "too-deep", "surrogate", "control", "decimal", "floats"],
)  # fmt: skip
def test_awkward_values_encode_the_same_or_fail_the_same(value: Any) -> None:
    assert outcome(ORJSON[1], value) == outcome(STDLIB[1], value)


def _json_dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _circular() -> Any:
    loop: list[Any] = [1]
    loop.append({"again": loop})
    return loop


@settings(max_examples=300)
@given(JSON_VALUES)
def test_the_standard_library_encoding_is_json_dumps(value: Any) -> None:
    """``stdlib_dumps`` calls the C encoder directly: the bytes and the errors of
    ``json.dumps`` all the same."""
    assert outcome(wirejson.stdlib_dumps, value) == outcome(_json_dumps, value)


@pytest.mark.parametrize(
    "value",
    ["bare text", 7, None, Decimal("1.10"), object(), _circular(), {"nan": float("nan")}],
    ids=["text", "int", "null", "decimal", "object", "circular", "nan"],
)
def test_the_standard_library_encoding_fails_like_json_dumps(value: Any) -> None:
    assert outcome(wirejson.stdlib_dumps, value) == outcome(_json_dumps, value)
    assert outcome(wirejson.stdlib_dumps, [1, 2]) == b"[1,2]"  # nothing left over after it


# -- decoding ------------------------------------------------------------------------------


def test_every_documented_document_decodes_to_the_same_value(examples_dir: Path) -> None:
    paths = sorted(examples_dir.rglob("*.json"))  # replies, requests and message pushes
    assert len(paths) > 15
    for path in paths:
        for body in (path.read_bytes(), b'{"code": 200, "data": %s}' % path.read_bytes()):
            assert decoded(ORJSON[2], body) == decoded(STDLIB[2], body), path


@pytest.mark.parametrize(
    "body",
    [
        b'{"code": 200, "data": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        b'{"code": 200, "data": ' + b"[" * 100 + b"]" * 100 + b"}",
        b'{"code": 200, "data": ' + b"9" * 5000 + b"}",
        b'{"code": 200, "data": 18446744073709551616}',
        b'{"code": 200, "data": -9223372036854775809}',
        b'{"code": 200, "data": 1e400}',
        b'{"code": 200, "data": Infinity}',
        b'{"code": 200, "data": NaN}',
        b'{"code": 200, "data": "\\ud800"}',
        b'\xef\xbb\xbf{"code": 200, "data": 1}',
        b'{"code": 200, "data": 1, "data": 2}',
        b'{"code": 200, "data": "\xff"}',
    ],
    ids=["deep-5000", "deep-100", "int-5000-digits", "int-65-bits", "int-below-i64", "1e400", "Infinity", "NaN", "lone-surrogate", "bom", "duplicate-key", "bad-utf8"],
)  # fmt: skip
def test_hostile_replies_decode_the_same_with_both_libraries(body: bytes) -> None:
    assert decoded(ORJSON[2], body) == decoded(STDLIB[2], body)


@pytest.mark.parametrize(
    "body",
    [b"[" * 5000 + b"]" * 5000, b'{"code": 1e400}', b'{"code": Infinity}', b"9" * 5000],
    ids=["deep", "1e400", "Infinity", "huge-int"],
)
def test_hostile_replies_are_typed_errors_with_orjson(json_library: str, body: bytes) -> None:
    with pytest.raises(MalformedResponseError):
        decode(Response(200, {}, body), operation="x")


JSON_PIECES = st.sampled_from(
    [b"{", b"}", b"[", b"]", b'"', b":", b",", b"1", b"0", b"-", b".", b"e", b"+", b" ", b"\n",
     b"\x0c", b"\x00", b"a", b"\\", b"u", b"null", b"true", b"NaN", b"\xef\xbb\xbf", b"\xff",
     b"\xc3\xa9", b"\\ud800", b"\\u0041", b"99999999999999999999", b"1e400", b'"code"',
     b'{"data":', b'"x"']
)  # fmt: skip


@settings(max_examples=1000)
@given(st.lists(JSON_PIECES, max_size=12).map(b"".join))
def test_any_bytes_decode_the_same(body: bytes) -> None:
    assert decoded(ORJSON[2], body) == decoded(STDLIB[2], body)


@settings(max_examples=1000)
@given(
    st.floats(allow_nan=False, allow_infinity=False)
    | st.builds(lambda m, e: m * 10.0**e, st.floats(-10, 10), st.integers(-30, 30))
)
def test_floats_of_every_magnitude_encode_to_the_same_bytes(number: float) -> None:
    # orjson writes small and huge floats unlike the standard library (0.00001, 1e-7):
    # those fall back; every other float must come out of orjson itself, the same.
    value = {"price": number, "prices": [number, -number]}
    assert ORJSON[1](value) == STDLIB[1](value)


@settings(max_examples=500)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_decode_to_the_same_value(number: float) -> None:
    for text in (repr(number), f"{number:.17g}", f"{number:.17e}"):
        body = b'{"code": 200, "data": %s}' % text.encode()
        assert decoded(ORJSON[2], body) == decoded(STDLIB[2], body)


# -- over real HTTP ----------------------------------------------------------------------------


def test_a_booking_over_http_sends_the_same_bytes_and_reads_the_same_booking(
    credentials: Credentials, booking_request: BookingRequest, booking_response: bytes
) -> None:
    bodies: dict[str, bytes] = {}
    bookings: dict[str, object] = {}

    async def book_with(name: str) -> None:
        async def handler(request: web.Request) -> web.Response:
            bodies[name] = await request.read()
            return web.Response(body=booking_response, content_type="application/json")

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        try:
            base = f"http://127.0.0.1:{server.port}"
            async with XportcnClient(credentials, base_url=base) as client:
                bookings[name] = await client.logistics.book(booking_request)
        finally:
            await server.close()

    for name in LIBRARIES:
        with pytest.MonkeyPatch.context() as patch:
            library, dumps, fast_loads = wirejson.codec(name)
            patch.setattr(wirejson, "library", library)
            patch.setattr(wirejson, "dumps", dumps)
            patch.setattr(wirejson, "fast_loads", fast_loads)
            asyncio.run(book_with(name))
    assert bodies["orjson"] == bodies["stdlib"]
    assert "这是商品1".encode() in bodies["orjson"]
    assert bookings["orjson"] == bookings["stdlib"]


# -- choosing ----------------------------------------------------------------------------------


def test_xportcn_json_chooses_the_library(monkeypatch: pytest.MonkeyPatch) -> None:
    assert wirejson.codec("stdlib")[0] == "stdlib" and wirejson.codec("stdlib")[2] is None
    assert wirejson.codec("")[0] == wirejson.codec("auto")[0] == "orjson"
    with pytest.raises(ConfigurationError, match="XPORTCN_JSON='ujson'"):
        wirejson.codec("ujson")
    monkeypatch.setitem(sys.modules, "orjson", None)  # as if not installed
    assert wirejson.codec("auto")[0] == "stdlib"
    with pytest.raises(ConfigurationError, match=r"pip install 'xportcn-async\[fast\]'"):
        wirejson.codec("orjson")
