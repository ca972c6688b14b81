"""Property-based tests (hypothesis) of the client against hostile input: whatever the server
sends, decoding gives an envelope or an SDK error; whatever a wire document holds, from_wire
gives a model or a ValidationError; whatever a transport returns, a client call raises only
SDK errors, and a write whose 2xx reply cannot be read is OutcomeUnknownError.

Example counts come from the profile (conftest.py): ``ci``, the default, runs 100 examples
per test, derandomized; ``HYPOTHESIS_PROFILE=explore`` searches afresh with 1,000.
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xportcn_async import (
    Address,
    APIError,
    Booking,
    BookingRequest,
    Credentials,
    InMemoryTransport,
    MalformedResponseError,
    OutcomeUnknownError,
    Request,
    Response,
    RetryPolicy,
    ValidationError,
    XportcnClient,
    XportcnError,
    from_wire,
    to_wire,
)
from xportcn_async._core.codec import read_result
from xportcn_async.endpoints import ENDPOINTS
from xportcn_async.envelope import Envelope, decode
from xportcn_async.models import (
    DecryptOpenUidRequest,
    EstimateFreightRequest,
    ImageSearchRequest,
    OrderDetailRequest,
    OrderPreviewRequest,
    PackageInboundRequest,
    PreviewFreightRequest,
    ProductDetailRequest,
    ProductSearchRequest,
    UpdateDomesticLogisticsRequest,
)
from xportcn_async.webhooks.messages import OrderEvent

from .conftest import EXAMPLES_DIR

# -- strategies -------------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
# Values an attacker or a broken proxy would try in a numeric or id field.
hostile_scalars = st.sampled_from(
    [
        2.7,
        2.0,
        -1,
        0,
        True,
        False,
        None,
        "",
        "1_000",
        "²",
        " 7",
        "7 ",
        "١٢",
        "1e3",
        "NaN",
        "Infinity",
        "9" * 5000,
        10**30,
        -(10**30),
        1e308,
        float("inf"),
        float("-inf"),
        float("nan"),
        [],
        {},
        [1, 2],
        {"a": 1},
    ]
)


def nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


# Copied: a mutation may later add keys to a drawn {} or [], which must not change the strategy.
hostile_values = (hostile_scalars | json_values | st.integers(1, 200).map(nested)).map(
    copy.deepcopy
)

envelope_docs = st.fixed_dictionaries(
    {},
    optional={
        "success": json_scalars,
        "errorCode": hostile_values | st.sampled_from([200, 400, 404, 429, 500, "200"]),
        "errorMsg": json_values,
        "code": hostile_values | st.sampled_from([0, 200, 400, 503, "0"]),
        "msg": json_values,
        "message": json_values,
        "requestId": hostile_values | st.text(max_size=10),
        "data": hostile_values,
    },
)
hostile_bodies = st.one_of(
    st.binary(max_size=300),
    envelope_docs.map(lambda d: json.dumps(d, allow_nan=True).encode()),
    json_values.map(lambda d: json.dumps(d, allow_nan=True).encode()),
    st.integers(0, 120_000).map(lambda n: b"[" * n),
    st.integers(0, 3000).map(lambda n: b'{"code": 200, "data": ' + b"[" * n + b"]" * n + b"}"),
    st.sampled_from(
        [
            b'{"code": 200, "data": {}, "requestId": 1e999}',
            b'{"errorCode": 1e400, "success": true}',
            b'{"errorCode": Infinity, "success": false}',
            b'{"code": [200]}',
            b'{"code": {"a": 1}}',
            b'{"success": true, "errorCode": 200, "data": {"orderId": 1e999}}',
        ]
    ),
)
statuses = st.sampled_from([200, 201, 204, 299, 301, 400, 401, 403, 404, 408, 409, 429, 500]) | (
    st.integers(100, 599)
)
header_values = st.text(max_size=30) | st.sampled_from(
    ["1e400", "nan", "-5", "Wed, 21 Oct 2015 07:28:00 GMT", "Mon, 01 Jan 99999 00:00:00 GMT"]
)
headers = st.dictionaries(
    st.sampled_from(["retry-after", "x-request-id", "content-type", "content-length"]),
    header_values,
    max_size=4,
)


# -- envelope decoding ------------------------------------------------------------------------


def check_decoded(response: Response, style: Any) -> None:
    try:
        env = decode(response, style=style, operation="op")
    except XportcnError as exc:
        assert isinstance(exc, APIError)
        # MalformedResponseError means "processed, reply unreadable": only ever a 2xx.
        if isinstance(exc, MalformedResponseError):
            assert 200 <= response.status < 300
        assert exc.request_id is None or isinstance(exc.request_id, str)
        assert exc.code is None or isinstance(exc.code, (int, str))
        str(exc)  # the message can be built
    else:
        assert isinstance(env, Envelope)
        assert 200 <= response.status < 300
        assert env.code is None or (isinstance(env.code, (int, str)) and env.code is not True)
        assert env.request_id is None or isinstance(env.request_id, str)
        assert env.message is None or isinstance(env.message, str)


@given(
    body=hostile_bodies, status=statuses, headers=headers, style=st.sampled_from([None, "K", "L"])
)
def test_decoding_any_body_gives_an_envelope_or_an_sdk_error(
    body: bytes, status: int, headers: dict[str, str], style: Any
) -> None:
    check_decoded(Response(status, headers, body), style)


@given(doc=json_values | envelope_docs, status=statuses, style=st.sampled_from([None, "K", "L"]))
def test_decoding_any_json_value_gives_an_envelope_or_an_sdk_error(
    doc: Any, status: int, style: Any
) -> None:
    check_decoded(Response(status, {}, json.dumps(doc, allow_nan=True).encode()), style)


# -- from_wire of mutated docs' examples -------------------------------------------------------


def _load(name: str) -> Any:
    return json.loads((EXAMPLES_DIR / name).read_text(encoding="utf-8"))


def _message_body(name: str) -> Any:
    return json.loads(_load(name)["messageBody"])


# Every example under tests/fixtures/examples (the docs' own), with the model it decodes to.
EXAMPLES: list[tuple[str, Callable[[], Any], type[Any]]] = [
    ("basics/addOrUpdate.request", lambda: _load("basics/addOrUpdate.request.json"), Address),
    (
        "ka/im-openuid-decrypt.request",
        lambda: _load("ka/im-openuid-decrypt.request.json"),
        DecryptOpenUidRequest,
    ),
    ("ka/image-query.request", lambda: _load("ka/image-query.request.json"), ImageSearchRequest),
    (
        "ka/keywords-query.request",
        lambda: _load("ka/keywords-query.request.json"),
        ProductSearchRequest,
    ),
    (
        "ka/order-create-preview.request",
        lambda: _load("ka/order-create-preview.request.json"),
        OrderPreviewRequest,
    ),
    ("ka/order-detail.request", lambda: _load("ka/order-detail.request.json"), OrderDetailRequest),
    (
        "ka/product-detail.request",
        lambda: _load("ka/product-detail.request.json"),
        ProductDetailRequest,
    ),
    (
        "logistics/itemLogisticsPrice.request",
        lambda: _load("logistics/itemLogisticsPrice.request.json"),
        EstimateFreightRequest,
    ),
    (
        "logistics/orderBookingFreight.request",
        lambda: _load("logistics/orderBookingFreight.request.json"),
        BookingRequest,
    ),
    (
        "logistics/orderRenderFreight.request",
        lambda: _load("logistics/orderRenderFreight.request.json"),
        PreviewFreightRequest,
    ),
    (
        "logistics/updateLogisticInfo.request",
        lambda: _load("logistics/updateLogisticInfo.request.json"),
        UpdateDomesticLogisticsRequest,
    ),
    (
        "wms/package-inbound.request",
        lambda: _load("wms/package-inbound.request.json"),
        PackageInboundRequest,
    ),
    (
        "messages/ORDER_CREATE body",
        lambda: _message_body("messages/ORDER_CREATE.json"),
        OrderEvent,
    ),
    (
        "messages/ORDER_PAY_SUCCESS body",
        lambda: _message_body("messages/ORDER_PAY_SUCCESS.json"),
        OrderEvent,
    ),
]
# Replies go through the client's own result decoding: a model or MalformedResponseError.
REPLY_EXAMPLES: list[tuple[str, str]] = [
    ("logistics/orderBookingFreight.response.json", "logistics.book"),
    ("ka/order-create-preview.response.json", "orders.preview"),
    ("basics/addOrUpdate.response.json", "addresses.save"),
]


def test_every_example_is_fuzzed() -> None:
    covered = {name for name, _, _ in EXAMPLES} | {name for name, _ in REPLY_EXAMPLES}
    on_disk = {str(p.relative_to(EXAMPLES_DIR)) for p in EXAMPLES_DIR.rglob("*.json")}
    named = {n if n.endswith(".json") else n.split(" ")[0] + ".json" for n in covered}
    assert on_disk <= named, on_disk - named


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value, containers included."""
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*path, index))
    return found


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


@st.composite
def mutated(draw: st.DrawFn, doc: Any) -> Any:
    """``doc`` with one to three places replaced by hostile values, removed, or given an
    unknown key."""
    doc = json.loads(json.dumps(doc))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        # Mostly a scalar (a number, an id, a flag): where silent coercion used to hide.
        leaves = [p for p in paths if not isinstance(_at(doc, p), (dict, list))]
        path = draw(st.sampled_from(leaves if leaves and draw(st.integers(0, 4)) else paths))
        action = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add"]))
        if not path:
            if action == "replace":
                doc = draw(hostile_values)
            continue
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        if action == "delete":
            del parent[last]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = draw(hostile_values)
        else:
            parent[last] = draw(hostile_scalars.map(copy.deepcopy) | hostile_values)
    return doc


@pytest.mark.parametrize(("name", "load", "model"), EXAMPLES, ids=[n for n, _, _ in EXAMPLES])
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_from_wire_of_a_mutated_example_gives_the_model_or_a_validation_error(
    name: str, load: Callable[[], Any], model: type[Any], data: st.DataObject
) -> None:
    doc = data.draw(mutated(load()))
    try:
        result = from_wire(doc, model)
    except ValidationError as exc:
        assert exc.errors and all(isinstance(e.path, str) for e in exc.errors)
        return
    assert isinstance(result, model)
    _assert_numbers_kept(doc, to_wire(result))


def _assert_numbers_kept(sent: Any, back: Any) -> None:
    """What ``from_wire`` then ``to_wire`` gives back holds no number or boolean that was not
    sent as that number or boolean: 2.7 did not become 2, true did not become 1, "1_000" did
    not become 1000 (only an integral float or a string of ASCII digits may become an
    integer). Values a tolerant model set aside come back unchanged."""
    if isinstance(back, bool):
        assert sent is back, (sent, back)
    elif isinstance(back, int):
        assert (
            (isinstance(sent, int) and not isinstance(sent, bool) and sent == back)
            or (isinstance(sent, float) and sent.is_integer() and sent == back)
            or (isinstance(sent, str) and sent.isascii() and sent.isdigit() and int(sent) == back)
        ), (sent, back)
    elif isinstance(back, float):
        assert isinstance(sent, float) and (sent == back or (math.isnan(sent) and math.isnan(back)))
    elif isinstance(back, dict) and isinstance(sent, dict):
        for key in sent.keys() & back.keys():
            _assert_numbers_kept(sent[key], back[key])
    elif isinstance(back, list) and isinstance(sent, list) and len(sent) == len(back):
        for one, other in zip(sent, back, strict=True):
            _assert_numbers_kept(one, other)


@pytest.mark.parametrize(("name", "operation"), REPLY_EXAMPLES, ids=[n for n, _ in REPLY_EXAMPLES])
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_mutated_reply_gives_the_result_or_a_malformed_response(
    name: str, operation: str, data: st.DataObject
) -> None:
    body = data.draw(mutated(_load(name).get("data")))
    try:
        result = read_result(ENDPOINTS[operation], Envelope(body, "rid"))
    except MalformedResponseError:
        return
    response = ENDPOINTS[operation].response
    assert response is not None and isinstance(result, response)


# -- the client: whatever a transport returns --------------------------------------------------

BOOKING_REPLIES = st.one_of(
    hostile_bodies,
    st.builds(
        lambda data: json.dumps(
            {"success": True, "errorCode": 200, "errorMsg": None, "data": data}, allow_nan=True
        ).encode(),
        mutated(_load("logistics/orderBookingFreight.response.json")["data"]),
    ),
    st.integers(4097, 6000).map(lambda n: b" " * n),  # over the transport's limit below
)


async def _call(response: Response, operation: str) -> Any:
    async def handler(request: Request) -> Response:
        return response

    transport = InMemoryTransport(handler, record=False, max_response_size=4096)
    retry = RetryPolicy(max_retries=2, initial_delay=0.0, max_delay=0.0, max_retry_after=0.0)
    async with XportcnClient(
        Credentials("ak", "sk", "user"), transport=transport, retry=retry
    ) as client:
        if operation == "book":
            request = from_wire(_load("logistics/orderBookingFreight.request.json"), BookingRequest)
            return await client.logistics.book(request)
        return await client.addresses.list()


@given(body=BOOKING_REPLIES, status=statuses, headers=headers)
def test_a_booking_raises_only_sdk_errors_and_an_unreadable_2xx_is_outcome_unknown(
    body: bytes, status: int, headers: dict[str, str]
) -> None:
    response = Response(status, headers, body)
    try:
        booking = asyncio.run(_call(response, "book"))
    except OutcomeUnknownError:
        return
    except XportcnError as exc:
        # A 2xx reply to a write that cannot be read never surfaces as a plain error.
        assert not isinstance(exc, MalformedResponseError)
        if 200 <= status < 300:
            # ... so a plain error on a 2xx is a readable error envelope.
            with pytest.raises(APIError) as decoded:
                decode(response, style="L")
            assert not isinstance(decoded.value, MalformedResponseError)
        return
    assert isinstance(booking, Booking) and 200 <= status < 300
    assert isinstance(booking.order_id, str) and booking.order_id not in ("inf", "nan")


@given(body=hostile_bodies, status=statuses, headers=headers)
def test_a_read_raises_only_sdk_errors(body: bytes, status: int, headers: dict[str, str]) -> None:
    try:
        asyncio.run(_call(Response(status, headers, body), "list"))
    except XportcnError as exc:
        assert not isinstance(exc, OutcomeUnknownError)  # a read leaves nothing in doubt
