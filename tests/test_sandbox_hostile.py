"""The sandbox under hostile input: every client error gets a 4xx error envelope in the
endpoint's style and no logged traceback; only a bug in the sandbox answers 500.

The regression cases below each answered 500 (or aiohttp's plain text) before the body,
number and header checks moved to one boundary (``xportcn_async/sandbox/body.py``). The
property tests then feed mutations of the docs' wire examples, and garbage headers and query
parameters, signed correctly and not, in-process and over a real socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xportcn_async import (
    BookingRequest,
    Request,
    Response,
    XportcnClient,
    from_wire,
    signature,
)
from xportcn_async.endpoints import ENDPOINTS, Endpoint
from xportcn_async.resources import LogisticsResource
from xportcn_async.sandbox import Route, Sandbox, SandboxState, serve
from xportcn_async.sandbox.state import RATE_WINDOW_SECONDS
from xportcn_async.signing import new_nonce

from .conftest import EXAMPLES_DIR

BY_NAME = {e.name: e for e in ENDPOINTS.values()}
ESTIMATE = BY_NAME["logistics.estimate_freight"]
DETAIL = BY_NAME["products.detail"]
ERROR_LOGGERS = ("xportcn_async", "aiohttp")


def example(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((EXAMPLES_DIR / name).read_bytes())
    return doc


# The docs' request examples by operation, and seed bodies (valid ones, from the sandbox's
# catalogue) for the operations the docs show no example of: every handler gets fed.
PREVIEW = example("ka/order-create-preview.request.json")
INBOUND = example("wms/package-inbound.request.json")
SEEDS: dict[str, dict[str, Any]] = {
    "addresses.list": {},
    "addresses.save": example("basics/addOrUpdate.request.json"),
    "logistics.estimate_freight": example("logistics/itemLogisticsPrice.request.json"),
    "logistics.preview_freight": example("logistics/orderRenderFreight.request.json"),
    "logistics.book": example("logistics/orderBookingFreight.request.json"),
    "logistics.update_domestic_logistics": example("logistics/updateLogisticInfo.request.json"),
    "products.search": example("ka/keywords-query.request.json"),
    "products.image_search": example("ka/image-query.request.json"),
    "products.category": {"categoryId": 1001, "country": "en"},
    "products.detail": example("ka/product-detail.request.json"),
    "products.detail_multi": {"offerIds": [889512351602, "706627393257"]},
    "products.freight_estimate": {
        "offerId": 889512351602,
        "totalNum": 2,
        "toProvinceCode": "15",
        "logisticsSkuNumModels": [{"skuId": 5736673805656, "number": 2}],
    },
    "products.pool": {"poolId": "default", "beginPage": 1, "pageSize": 10},
    "orders.preview": PREVIEW,
    "orders.create": {**PREVIEW, "outOrderId": "shop-1", "message": "hi"},
    "orders.pay": {"orderId": "3305000000000000001"},
    "orders.list": {"orderStatus": "WAITING_FOR_PAYMENT", "createStartTime": "2025-01-01 00:00:00"},
    "orders.detail": example("ka/order-detail.request.json"),
    "orders.logistics": {"webSite": "1688", "orderId": "3305000000000000001"},
    "im.decrypt_open_uid": example("ka/im-openuid-decrypt.request.json"),
    "wms.forecast": INBOUND,
    "wms.inbound": INBOUND,
    "wms.update": INBOUND,
}


def test_every_operation_is_fed_by_the_property_tests() -> None:
    assert set(SEEDS) == {route.endpoint.name for route in Sandbox().routes.values()}


# -- helpers -------------------------------------------------------------------------------


def signed(
    sandbox: Sandbox, *, timestamp: str | None = None, nonce: str | None = None
) -> dict[str, str]:
    creds = sandbox.credentials
    ts = str(int(time.time() * 1000)) if timestamp is None else timestamp
    nonce = new_nonce() if nonce is None else nonce
    return {
        "access-key": creds.access_key,
        "timestamp": ts,
        "nonce-str": nonce,
        "signature": signature(creds.access_key, ts, nonce, creds.access_secret),
    }


def repeat_in_query(headers: dict[str, str]) -> str:
    return "?" + urlencode({"timestamp": headers["timestamp"], "sign": headers["signature"]})


async def send(
    sandbox: Sandbox,
    endpoint: Endpoint,
    body: bytes | dict[str, Any],
    headers: dict[str, str] | None = None,
    query: str | None = None,
) -> Response:
    """One request through ``Sandbox.handle``, properly signed unless ``headers`` are given."""
    headers = signed(sandbox) if headers is None else headers
    if query is None:
        query = repeat_in_query(headers) if endpoint.auth == "Q" and "signature" in headers else ""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await sandbox.handle(
        Request("POST", f"http://x/api{endpoint.path}{query}", headers, raw)
    )


def envelope_code(endpoint_or_path: Endpoint | str, response: Response) -> int:
    """The envelope's code, after checking that the reply is an envelope of the path's style
    and never a server error (HTTP status or code)."""
    path = endpoint_or_path if isinstance(endpoint_or_path, str) else endpoint_or_path.path
    assert response.status < 500, response.body[:300]
    assert response.status == 200 or 400 <= response.status < 500
    doc = json.loads(response.body)
    if "/open/pp/" in path:
        assert set(doc) == {"errorCode", "errorMsg", "success", "data"}, doc
        code = doc["errorCode"]
        assert doc["success"] is (code == 200)
    else:
        assert set(doc) == {"requestId", "code", "developId", "msg", "data"}, doc
        code = doc["code"]
    assert isinstance(code, int)
    assert code in (0, 200) or 400 <= code < 500, doc
    if response.status != 200:
        assert code == response.status
    return code


class ErrorRecords(logging.Handler):
    """Collects the records at ERROR or above (and any with a traceback) of the sandbox and
    aiohttp loggers, from any thread."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)

    def describe(self) -> list[str]:
        return [f"{r.name}: {r.getMessage()} {r.exc_info!r}" for r in self.records]


@contextlib.contextmanager
def error_records() -> Iterator[ErrorRecords]:
    handler = ErrorRecords()
    loggers = [logging.getLogger(name) for name in ERROR_LOGGERS]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


# -- the cases that answered 500 -----------------------------------------------------------

HUGE = "9" * 5000


@pytest.mark.parametrize("timestamp", ["²", "9" * 400, HUGE, "-1", "1e3", " 123"])
@pytest.mark.parametrize("endpoint", [ESTIMATE, DETAIL], ids=["query-signed", "header-signed"])
async def test_a_timestamp_that_is_not_a_plain_integer_is_a_401_envelope(
    timestamp: str, endpoint: Endpoint
) -> None:
    sandbox = Sandbox()
    with error_records() as errors:
        response = await send(sandbox, endpoint, {}, signed(sandbox, timestamp=timestamp))
    assert envelope_code(endpoint, response) == 401
    message = response.body.decode()
    assert "timestamp must be an integer" in message or "headers must be ASCII" in message
    assert errors.records == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[" * 100_000, "nests deeper than 32 levels"),
        (b'{"a":' + b"[" * 500 + b"]" * 500 + b"}", "nests deeper than 32 levels"),
        (b'{"a":' + b"{" * 40 + b"}" * 40 + b"}", "not valid JSON"),  # {{ is not JSON
        (b'{"itemId":' + HUGE.encode() + b"}", "out of range"),
        (b'{"quantity": 1e400}', "out of range"),
        (b'{"quantity": NaN}', "NaN is not a JSON number"),
        (b'{"quantity": -Infinity}', "-Infinity is not a JSON number"),
        (b'{"itemId": "\\ud800"}', "not valid Unicode"),
        (b'{"itemId": "\xed\xa0\x80"}', "not valid UTF-8"),
        ('{"itemId": "1"}'.encode("utf-16"), "not valid UTF-8"),
        (b"[1, 2]", "must be a JSON object"),
    ],
)
async def test_unusable_bodies_are_400_envelopes(body: bytes, message: str) -> None:
    sandbox = Sandbox()
    with error_records() as errors:
        response = await send(sandbox, ESTIMATE, body)
    assert envelope_code(ESTIMATE, response) == 400
    assert message in json.loads(response.body)["errorMsg"]
    assert errors.records == []


async def test_nesting_up_to_the_limit_is_accepted() -> None:
    line = {"itemId": "1", "skuId": "2", "quantity": 1}
    nested: Any = "US"
    for _ in range(30):  # the body, receiverAddress, then 30 more levels: 32
        nested = [nested]
    body = {**line, "receiverAddress": {"country": "US", "extra": nested}}
    assert envelope_code(ESTIMATE, await send(Sandbox(), ESTIMATE, body)) == 200
    body["receiverAddress"]["extra"] = [nested]
    assert envelope_code(ESTIMATE, await send(Sandbox(), ESTIMATE, body)) == 400


async def test_a_huge_quantity_is_refused_and_the_largest_accepted_is_priced() -> None:
    base = example("logistics/itemLogisticsPrice.request.json")
    sandbox = Sandbox()
    with error_records() as errors:
        huge = await send(sandbox, ESTIMATE, {**base, "quantity": 10**30})
        largest = await send(sandbox, ESTIMATE, {**base, "quantity": 2**63 - 1})
    assert envelope_code(ESTIMATE, huge) == 400
    assert "out of range" in json.loads(huge.body)["errorMsg"]
    assert envelope_code(ESTIMATE, largest) == 200
    fees = [o["freightFee"]["amount"] for o in json.loads(largest.body)["data"]["freightOptions"]]
    assert all(len(fee) > 20 for fee in fees)
    assert errors.records == []


@pytest.mark.parametrize(
    "bad", ["²", HUGE, "9" * 20, "1_000", " 7", "-1", 1e400, 2.5, True, -3, [1]]
)
@pytest.mark.parametrize(
    ("operation", "body", "field"),
    [
        ("products.detail", {"offerId": None}, "offerId"),
        ("products.freight_estimate", {"offerId": None, "totalNum": 1}, "offerId"),
        ("products.detail_multi", {"offerIds": [889512351602, None]}, "offerIds[1]"),
        ("products.search", {"keyword": "a", "categoryId": None}, "categoryId"),
        ("im.decrypt_open_uid", {"openUid": "x", "offerId": None}, "offerId"),
        (
            "orders.preview",
            {**PREVIEW, "cargoParamList": [{"offerId": None, "quantity": 1}]},
            "cargoParamList[0].offerId",
        ),
    ],
)
async def test_numeric_ids_that_are_not_plain_in_range_integers_are_400_envelopes(
    bad: Any, operation: str, body: dict[str, Any], field: str
) -> None:
    endpoint = BY_NAME[operation]
    text = json.dumps(body).replace("null", "1e400" if bad == 1e400 else json.dumps(bad))
    sandbox = Sandbox()
    with error_records() as errors:
        response = await send(sandbox, endpoint, text.encode())
    assert envelope_code(endpoint, response) == 400
    message = json.loads(response.body)["msg"]
    assert message.startswith(field) or "out of range" in message, message
    assert errors.records == []


# Raw JSON for the ``null`` of each body below: numbers no handler could compute with, and
# (for the number fields) strings that are no numbers the handlers can use.
NOT_COMPUTABLE = ["1e400", "NaN", "Infinity", str(10**30), "1e300", "[[[[[[[[[[1]]]]]]]]]]"]
NOT_NUMBERS = ['"1e9999999"', '"1e9999999999999999999"', f'"{HUGE}"', '"²"', '"\\ud83d"']
NUMBER_FIELDS = [
    (
        "orders.preview",
        {**PREVIEW, "cargoParamList": [{"offerId": 889512351602, "quantity": None}]},
    ),
    ("products.search", {"keyword": "a", "priceStart": None}),
    ("products.freight_estimate", {"offerId": 889512351602, "totalNum": None}),
    ("wms.inbound", {**INBOUND, "quality_inspection_info": {"weight": None}}),
]
ID_FIELD = ("logistics.estimate_freight", {"itemId": None, "skuId": "2", "quantity": 1})


@pytest.mark.parametrize(
    ("operation", "body", "bad"),
    [(op, body, bad) for op, body in NUMBER_FIELDS for bad in NOT_COMPUTABLE + NOT_NUMBERS]
    + [(*ID_FIELD, bad) for bad in [*NOT_COMPUTABLE, '"\\ud83d"']],
)
async def test_numbers_the_handlers_could_not_compute_with_are_400_envelopes(
    operation: str, body: dict[str, Any], bad: str
) -> None:
    endpoint = BY_NAME[operation]
    text = json.dumps(body).replace("null", bad)
    sandbox = Sandbox()
    with error_records() as errors:
        code = envelope_code(endpoint, await send(sandbox, endpoint, text.encode()))
    assert code == 400
    assert errors.records == []


# -- the HTTP boundary ---------------------------------------------------------------------


def raw_http(port: int, head: bytes, body: bytes = b"") -> tuple[int, bytes, bytes]:
    """One request on a fresh socket (``Connection: close``): status, headers, body."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head + b"Connection: close\r\n\r\n" + body)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    reply = b"".join(chunks)
    top, _, payload = reply.partition(b"\r\n\r\n")
    status = int(top.split(b" ", 2)[1])
    return status, top, payload


def request_head(path: str, headers: dict[str, bytes], body: bytes, query: str = "") -> bytes:
    lines = [f"POST /api{path}{query} HTTP/1.1".encode(), b"Host: 127.0.0.1"]
    lines += [name.encode() + b": " + value for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}".encode())
    return b"\r\n".join(lines) + b"\r\n"


def as_response(status: int, body: bytes) -> Response:
    return Response(status, {}, body)


@pytest.mark.parametrize("endpoint", [ESTIMATE, DETAIL], ids=["style-L", "style-K"])
async def test_a_body_over_1_mib_is_a_413_envelope(endpoint: Endpoint) -> None:
    body = b'{"pad": "' + b"x" * ((1 << 20) - 10) + b'"}'
    assert len(body) == (1 << 20) + 1
    async with serve(port=0) as running:
        with error_records() as errors:
            status, top, payload = await asyncio.to_thread(
                raw_http, running.port, request_head(endpoint.path, {}, body), body
            )
        stats = running.sandbox.stats
    assert status == 413
    assert b"application/json" in top
    assert envelope_code(endpoint, as_response(status, payload)) == 413
    assert stats.requests_by_status == {413: 1}
    assert stats.requests_by_operation == {endpoint.name: 1}
    assert errors.records == []


async def test_a_body_of_1_mib_is_read() -> None:
    body = b'{"pad": "' + b"x" * ((1 << 20) - 11) + b'"}'
    assert len(body) == 1 << 20
    async with serve(port=0) as running:
        status, _, payload = await asyncio.to_thread(
            raw_http, running.port, request_head(DETAIL.path, {}, body), body
        )
    assert envelope_code(DETAIL, as_response(status, payload)) == 401  # read, then unsigned


async def test_a_gzip_body_that_does_not_decode_is_a_400_envelope_and_a_good_one_is_read() -> None:
    async with serve(port=0) as running:
        headers = {k: v.encode() for k, v in signed(running.sandbox).items()}
        headers["Content-Encoding"] = b"gzip"
        good = gzip.compress(json.dumps(SEEDS["products.detail"]).encode())
        with error_records() as errors:
            bad_status, _, bad = await asyncio.to_thread(
                raw_http,
                running.port,
                request_head(DETAIL.path, headers, b"0123456789"),
                b"0123456789",
            )
            good_status, _, ok = await asyncio.to_thread(
                raw_http,
                running.port,
                request_head(DETAIL.path, headers | {"nonce-str": b"x"}, good),
                good,
            )
    assert envelope_code(DETAIL, as_response(bad_status, bad)) == 400
    assert "cannot be read" in json.loads(bad)["msg"]
    assert envelope_code(DETAIL, as_response(good_status, ok)) == 401  # decoded; nonce changed
    assert "signature" in json.loads(ok)["msg"]
    assert errors.records == []


async def test_header_bytes_that_are_not_utf8_are_a_401_envelope_over_http() -> None:
    async with serve(port=0) as running:
        for name in ("timestamp", "nonce-str", "signature", "access-key"):
            headers = {k: v.encode() for k, v in signed(running.sandbox).items()}
            headers[name] = b"\xff\xfe12"
            with error_records() as errors:
                status, _, payload = await asyncio.to_thread(
                    raw_http, running.port, request_head(DETAIL.path, headers, b"{}"), b"{}"
                )
            assert envelope_code(DETAIL, as_response(status, payload)) == 401, name
            assert errors.records == []


async def test_the_regression_cases_leave_no_traceback_over_http(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The cases of the issue, over a real socket with the real client's signing."""
    caplog.set_level(logging.DEBUG)
    cases: list[tuple[Endpoint, bytes, str | None]] = [
        (ESTIMATE, b"{}", "²"),
        (ESTIMATE, b"{}", "9" * 400),
        (DETAIL, b"{}", HUGE),
        (ESTIMATE, b"[" * 100_000, None),
        (
            ESTIMATE,
            json.dumps({**SEEDS["logistics.estimate_freight"], "quantity": 10**30}).encode(),
            None,
        ),
        (DETAIL, b'{"offerId": "\xc2\xb2"}', None),
        (DETAIL, b'{"offerId": "' + HUGE.encode() + b'"}', None),
    ]
    async with serve(port=0) as running:
        for endpoint, body, timestamp in cases:
            headers = signed(running.sandbox, timestamp=timestamp)
            query = repeat_in_query(headers) if endpoint.auth == "Q" else ""
            head = request_head(
                endpoint.path,
                {k: quote(v, safe="").encode() for k, v in headers.items()},
                body,
                query,
            )
            status, _, payload = await asyncio.to_thread(raw_http, running.port, head, body)
            assert 400 <= envelope_code(endpoint, as_response(status, payload)) < 500
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []


# -- the last resort -----------------------------------------------------------------------


async def test_a_bug_in_a_handler_is_a_500_envelope_with_a_logged_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sandbox = Sandbox()
    path = f"/api{ESTIMATE.path}"

    def broken(state: SandboxState, body: dict[str, Any]) -> Any:
        raise ZeroDivisionError("a bug")

    sandbox.routes[path] = Route(ESTIMATE, broken)
    with caplog.at_level(logging.ERROR, logger="xportcn_async.sandbox"):
        response = await send(sandbox, ESTIMATE, SEEDS["logistics.estimate_freight"])
    doc = json.loads(response.body)
    assert response.status == 500
    assert doc == {
        "errorCode": 500,
        "errorMsg": "internal sandbox error",
        "success": False,
        "data": None,
    }
    [record] = caplog.records
    assert record.exc_info is not None and record.exc_info[0] is ZeroDivisionError
    assert "logistics.estimate_freight" in record.getMessage()


async def test_a_reply_that_cannot_be_encoded_is_a_500_envelope_not_an_exception() -> None:
    sandbox = Sandbox()

    def unencodable(state: SandboxState, body: dict[str, Any]) -> Any:
        return {"bad": object()}

    sandbox.routes[f"/api{DETAIL.path}"] = Route(DETAIL, unencodable)
    response = await send(sandbox, DETAIL, {})
    assert response.status == 500
    assert json.loads(response.body)["code"] == 500


# -- property tests: mutated bodies, garbage headers ---------------------------------------


@attrs.frozen
class Raw:
    """JSON text put into a body as it is (numbers json.dumps cannot or will not write)."""

    text: str


def dump(value: Any) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dump(v) for v in value) + "]"
    return json.dumps(value)


HOSTILE_SCALARS = st.one_of(
    st.sampled_from(
        [
            Raw("1e400"),
            Raw("-1e400"),
            Raw("NaN"),
            Raw("Infinity"),
            Raw(HUGE),
            Raw("-" + HUGE),
            Raw("[" * 40 + "]" * 40),
            Raw("[" * 2000 + "]" * 2000),
            10**30,
            -(10**30),
            2**63,
            2**63 - 1,
            -(2**63),
            0,
            -1,
            2.0,
            2.7,
            -0.0,
            1e300,
            "²",
            "٣",
            HUGE,
            "9" * 400,
            "1_000",
            " 7",
            "",
            "-1",
            "1e3",
            "\ud800",
            "\udfff",
            "0x1F",
            True,
            False,
            None,
            [],
            {},
        ]
    ),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.text(alphabet="0123456789", min_size=1, max_size=25),
)
JSON_VALUES = st.recursive(
    HOSTILE_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from paths(child, (*prefix, index))


def replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = replace(value[head], rest, new)
    return copy


def delete(value: Any, path: tuple[Any, ...]) -> Any:
    parent, key = _at(value, path[:-1]), path[-1]
    if isinstance(parent, dict):
        kept: Any = {k: v for k, v in parent.items() if k != key}
    else:
        kept = [v for i, v in enumerate(parent) if i != key]
    return replace(value, path[:-1], kept)


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


@st.composite
def mutated_bodies(draw: st.DrawFn, operation: str) -> bytes:
    """A seed body with 0-3 tree mutations (a node replaced by a hostile value, a key or
    entry removed, a value wrapped in an array), then perhaps a byte-level mutation."""
    doc: Any = SEEDS[operation]
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.sampled_from(list(paths(doc))))
        kind = draw(st.sampled_from(["replace", "delete", "wrap"]))
        if kind == "delete" and where:
            doc = delete(doc, where)
        elif kind == "wrap":
            doc = replace(doc, where, [_at(doc, where)])
        else:
            doc = replace(doc, where, draw(JSON_VALUES))
    text = dump(doc).encode()  # ASCII: json.dumps escapes the rest, lone surrogates too
    byte_edit = draw(st.sampled_from(["none", "none", "truncate", "insert", "garbage"]))
    if byte_edit == "truncate":
        text = text[: draw(st.integers(0, len(text)))]
    elif byte_edit == "insert":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.binary(min_size=1, max_size=8)) + text[at:]
    elif byte_edit == "garbage":
        text = draw(st.binary(max_size=64))
    return text


HEADER_TEXT = st.one_of(
    st.sampled_from(
        ["²", "9" * 400, HUGE, "", " ", "-1", "1e3", "\ud800", "\udcff\udcfe", "0" * 19]
    ),
    st.text(max_size=40),
)


@st.composite
def system_parameters(
    draw: st.DrawFn, sandbox: Sandbox, endpoint: Endpoint
) -> tuple[dict[str, str], str]:
    """Headers and query: properly signed, signed over hostile values, or garbage."""
    how = draw(st.sampled_from(["signed", "signed-hostile", "garbage"]))
    if how == "signed":
        headers = signed(sandbox)
    elif how == "signed-hostile":
        # Signed as the rule says, over any printable timestamp and nonce: the signature
        # holds, so only the sandbox's reading of the values decides.
        printable = st.text(
            st.characters(blacklist_categories=("Cs",)), max_size=40
        ) | HEADER_TEXT.filter(lambda s: not any("\ud800" <= c <= "\udfff" for c in s))
        headers = signed(sandbox, timestamp=draw(printable), nonce=draw(printable) or "n")
    else:
        names = st.sampled_from(
            ["access-key", "timestamp", "nonce-str", "signature", "user-id", "x-other"]
        )
        headers = draw(st.dictionaries(names, HEADER_TEXT, max_size=6))
        if draw(st.booleans()):
            headers = {**signed(sandbox), **headers}
    query_kind = draw(st.sampled_from(["repeat", "garbage", "none"]))
    if query_kind == "repeat" and "timestamp" in headers and "signature" in headers:
        query = "?" + urlencode(
            {"timestamp": headers["timestamp"], "sign": headers["signature"]},
            encoding="utf-8",
            errors="surrogatepass",
        )
    elif query_kind == "garbage":
        pairs = draw(
            st.lists(
                st.tuples(st.sampled_from(["timestamp", "sign", "x"]), HEADER_TEXT), max_size=3
            )
        )
        query = "?" + "&".join(f"{quote(k)}={quote(v, errors='surrogatepass')}" for k, v in pairs)
    else:
        query = ""
    return headers, query


OPERATIONS = sorted(SEEDS)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), operation=st.sampled_from(OPERATIONS))
def test_mutated_bodies_get_an_envelope_never_a_500(data: st.DataObject, operation: str) -> None:
    endpoint = BY_NAME[operation]
    sandbox = Sandbox()
    body = data.draw(mutated_bodies(operation))
    with error_records() as errors:
        response = asyncio.run(send(sandbox, endpoint, body))
    envelope_code(endpoint, response)
    assert errors.records == [], errors.describe()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), operation=st.sampled_from(OPERATIONS))
def test_garbage_headers_and_query_get_a_4xx_envelope_never_a_500(
    data: st.DataObject, operation: str
) -> None:
    endpoint = BY_NAME[operation]
    sandbox = Sandbox()
    headers, query = data.draw(system_parameters(sandbox, endpoint))
    body = data.draw(
        st.sampled_from([b"", json.dumps(SEEDS[operation]).encode()]) | mutated_bodies(operation)
    )
    with error_records() as errors:
        response = asyncio.run(send(sandbox, endpoint, body, headers, query))
    code = envelope_code(endpoint, response)
    if not correctly_signed(sandbox, headers):
        assert code == 401  # refused before the body is even read
    assert errors.records == [], errors.describe()


def correctly_signed(sandbox: Sandbox, headers: dict[str, str]) -> bool:
    creds = sandbox.credentials
    try:
        expected = signature(
            creds.access_key, headers["timestamp"], headers["nonce-str"], creds.access_secret
        )
    except (KeyError, UnicodeEncodeError):
        return False
    return headers.get("access-key") == creds.access_key and headers.get("signature") == expected


def test_the_unmutated_seeds_are_answered_with_success_or_a_client_error() -> None:
    """The seeds are valid bodies: what they get is success or a 4xx about state (an unknown
    renderId or order), never a complaint about their shape."""

    async def run() -> dict[str, tuple[int, str]]:
        sandbox = Sandbox()
        out = {}
        for operation in OPERATIONS:
            response = await send(sandbox, BY_NAME[operation], SEEDS[operation])
            doc = json.loads(response.body)
            out[operation] = (
                envelope_code(BY_NAME[operation], response),
                str(doc.get("msg") or doc.get("errorMsg")),
            )
        return out

    answers = asyncio.run(run())
    refused = {op: answer for op, answer in answers.items() if answer[0] not in (0, 200)}
    assert set(refused) <= {
        "logistics.book",
        "logistics.update_domestic_logistics",
        "orders.pay",
        "orders.detail",
        "orders.logistics",
        "wms.update",
    }, refused
    assert all(code in (404, 409) for code, _ in refused.values()), refused


# -- over a real socket: raw header bytes ----------------------------------------------------


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[int, Sandbox]]:
    """A sandbox on 127.0.0.1 in a thread of its own, for blocking raw-socket clients."""
    ready = threading.Event()
    started: list[tuple[int, Sandbox, asyncio.AbstractEventLoop, asyncio.Event]] = []

    async def main() -> None:
        stop = asyncio.Event()
        async with serve(port=0) as running:
            started.append((running.port, running.sandbox, asyncio.get_running_loop(), stop))
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(30)
    port, sandbox, loop, stop = started[0]
    yield port, sandbox
    loop.call_soon_threadsafe(stop.set)
    thread.join(30)


HEADER_BYTES = st.binary(max_size=40).map(
    lambda b: bytes(c for c in b if c >= 0x20 and c != 0x7F).strip()
)


@settings(
    max_examples=150,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data(), operation=st.sampled_from(OPERATIONS))
def test_raw_header_bytes_over_http_get_an_envelope_never_a_500(
    served: tuple[int, Sandbox], data: st.DataObject, operation: str
) -> None:
    port, sandbox = served
    endpoint = BY_NAME[operation]
    headers = {k: v.encode() for k, v in signed(sandbox).items()}
    for name in data.draw(st.lists(st.sampled_from(sorted(headers)), max_size=4, unique=True)):
        headers[name] = data.draw(HEADER_BYTES)
    body = data.draw(mutated_bodies(operation))
    query = "?" + urlencode({"timestamp": headers["timestamp"], "sign": headers["signature"]})
    with error_records() as errors:
        status, _, payload = raw_http(port, request_head(endpoint.path, headers, body, query), body)
    envelope_code(endpoint, as_response(status, payload))
    assert errors.records == [], errors.describe()


# -- stats for exactly-once and rate checks --------------------------------------------------


async def test_an_upstream_order_booked_through_two_previews_is_counted_once_over_http(
    examples_dir: Path,
) -> None:
    data = json.loads((examples_dir / "logistics/orderBookingFreight.request.json").read_bytes())
    booking = attrs.evolve(from_wire(data, BookingRequest), render_id=None)
    async with serve(port=0) as running:
        async with XportcnClient(running.credentials, base_url=running.base_url) as client:

            async def previewed(request: BookingRequest) -> BookingRequest:
                quote = await client.logistics.preview_freight(
                    LogisticsResource.preview_for(request)
                )
                assert quote.render_id
                return request.with_render_id(quote.render_id)

            first, second = await previewed(booking), await previewed(booking)
            await client.logistics.book(first)
            await client.logistics.book(first)  # the same render again: the same order
            before = running.sandbox.stats.upstream_orders_booked_more_than_once
            await client.logistics.book(second)  # another render, the same tmallOrderId
            await client.logistics.book(
                await previewed(attrs.evolve(booking, tmall_order_id="another-upstream-order"))
            )
        async with aiohttp.ClientSession() as session, session.get(running.stats_url) as resp:
            stats = await resp.json()
    assert before == 0
    assert stats["bookings"] == 3
    assert stats["duplicate_booking_attempts"] == 1
    assert stats["upstream_orders_booked_more_than_once"] == 1


async def test_requests_are_counted_per_second_of_the_sandbox_clock() -> None:
    """Every request received counts, signed or not, in the second of the sandbox clock."""
    base = int(time.time())  # near the real time: the client's timestamps stay in the window
    now = float(base)
    sandbox = Sandbox(clock=lambda: now)
    for offset, headers in [
        (0.1, None),
        (0.9, {}),
        (1.0, None),
        (1.5, None),
        (1.99, {}),
        (3.2, None),
    ]:
        now = base + offset
        await send(sandbox, ESTIMATE, SEEDS["logistics.estimate_freight"], headers)
    stats = sandbox.stats
    assert stats.requests_per_second == {base: 2, base + 1: 3, base + 3: 1}
    assert stats.requests_per_second_max == 3
    as_json = sandbox.stats_dict()
    assert as_json["requests_per_second"] == {str(base): 2, str(base + 1): 3, str(base + 3): 1}
    assert as_json["requests_per_second_max"] == 3


def test_the_per_second_counts_keep_the_newest_hour() -> None:
    now = [1_000_000.5]
    state = SandboxState(clock=lambda: now[0])
    for _ in range(RATE_WINDOW_SECONDS + 2):
        state.count_request("x")
        state.count_request("x")
        now[0] += 1
    per_second = state.snapshot().requests_per_second
    assert len(per_second) == RATE_WINDOW_SECONDS
    assert min(per_second) == 1_000_002 and max(per_second) == 1_000_000 + RATE_WINDOW_SECONDS + 1
    assert set(per_second.values()) == {2}
    assert state.snapshot().as_dict()["requests_per_second_max"] == 2
