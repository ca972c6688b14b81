"""What users of openai-python and stripe-python expect (issue 8): the base URL from the
environment, a ``max_retries`` shortcut, the raw HTTP response of a call, plain HTTP to a
non-loopback sandbox when asked; and the API as the docs spell it (wire names of message
types, ``FreightInfo``'s empty strings, a preview's ``render_id`` that is always there)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator

import pytest

from xportcn_async import (
    AttemptHooks,
    AttemptResponse,
    Booking,
    ConfigurationError,
    Credentials,
    EnvelopeStyle,
    FreightInfo,
    FreightPreview,
    InMemoryTransport,
    MalformedResponseError,
    NotFoundError,
    PlainHTTPWarning,
    RawResponse,
    Response,
    RetryPolicy,
    ServerError,
    Signing,
    XportcnClient,
    from_wire,
    to_wire,
)
from xportcn_async.examples import example_bookings
from xportcn_async.models import BookingRequest
from xportcn_async.sandbox import serve
from xportcn_async.webhooks import MessageType

CREDS = Credentials("key", "secret")
PREVIEW_PATH = "/open/pp/logistics/orderRenderFreight"


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    monkeypatch.delenv("XPORTCN_BASE_URL", raising=False)
    monkeypatch.delenv("XPORTCN_ALLOW_HTTP", raising=False)
    yield monkeypatch


def example_order() -> BookingRequest:
    return from_wire(next(example_bookings(1)), BookingRequest)


def unavailable() -> Response:
    return Response(503, {"content-type": "text/plain"}, b"Service Unavailable")


# -- XPORTCN_BASE_URL ----------------------------------------------------------------------


async def test_the_base_url_comes_from_the_environment_and_reaches_that_server(
    no_env: pytest.MonkeyPatch,
) -> None:
    assert XportcnClient(CREDS).base_url == "https://www.xportcn.com/api"
    async with serve(port=0) as sandbox:
        no_env.setenv("XPORTCN_BASE_URL", sandbox.base_url + "/")
        async with XportcnClient(sandbox.credentials) as client:
            assert client.base_url == sandbox.base_url
            order = example_order()
            preview = await client.logistics.preview_freight(client.logistics.preview_for(order))
            booking = await client.logistics.book(order.with_render_id(preview.render_id))
        assert booking.order_id in sandbox.sandbox.state.orders
        explicit = XportcnClient(CREDS, base_url="https://example.invalid/api")
        assert explicit.base_url == "https://example.invalid/api"  # an argument wins


# -- max_retries -----------------------------------------------------------------------------


async def test_max_retries_is_a_shortcut_over_the_retry_policy(no_env: pytest.MonkeyPatch) -> None:
    estimate = {"itemId": "1", "skuId": "2", "quantity": 1, "receiverAddress": {"country": "US"}}
    ok = Response.json({"errorCode": 200, "success": True, "data": {"freightOptions": []}})

    transport = InMemoryTransport(script=[unavailable(), ok])
    async with XportcnClient(CREDS, transport=transport, max_retries=0) as client:
        with pytest.raises(ServerError):
            await client.call(
                "/open/pp/logistics/itemLogisticsPrice", estimate, envelope=EnvelopeStyle.LOGISTICS
            )
    assert len(transport.calls) == 1

    transport = InMemoryTransport(script=[unavailable(), ok])
    policy = RetryPolicy(max_retries=0, initial_delay=0.0, jitter=0.0)
    async with XportcnClient(CREDS, transport=transport, retry=policy, max_retries=1) as client:
        assert client._options.retry.initial_delay == 0.0  # the rest of the policy is kept
        await client.call(
            "/open/pp/logistics/itemLogisticsPrice", estimate, envelope=EnvelopeStyle.LOGISTICS
        )
    assert len(transport.calls) == 2


# -- with_raw_response -----------------------------------------------------------------------


async def test_with_raw_response_gives_status_headers_request_id_and_the_result(
    no_env: pytest.MonkeyPatch,
) -> None:
    async with (
        serve(port=0) as sandbox,
        XportcnClient(sandbox.credentials, base_url=sandbox.base_url) as client,
    ):
        order = example_order()
        preview = await client.with_raw_response(
            client.logistics.preview_freight, client.logistics.preview_for(order)
        )
        booked: RawResponse[Booking] = await client.with_raw_response(
            client.logistics.book, order.with_render_id(preview.parsed.render_id)
        )
        data = await client.with_raw_response(
            client.call,
            PREVIEW_PATH,
            to_wire(client.logistics.preview_for(order)),
            auth=Signing.HEADERS_AND_QUERY,
            envelope=EnvelopeStyle.LOGISTICS,
        )
        with pytest.raises(NotFoundError) as missing:
            await client.with_raw_response(
                client.logistics.book, order.with_render_id("no-such-render")
            )
    assert isinstance(preview.parsed, FreightPreview)
    assert booked.status == 200 and booked.attempts == 1
    assert booked.headers["content-type"].startswith("application/json")
    assert booked.request_id is not None and booked.request_id == booked.parsed.request_id
    assert booked.parsed.order_id in sandbox.sandbox.state.orders
    assert isinstance(data.parsed, dict) and data.parsed["renderId"]
    assert missing.value.request_id  # errors are raised as usual, with their request id


async def test_with_raw_response_counts_the_attempts_of_a_retried_call(
    no_env: pytest.MonkeyPatch,
) -> None:
    ok = Response.json(
        {"errorCode": 200, "success": True, "data": {"freightOptions": []}},
        headers={"x-trace": "t-1"},
    )
    transport = InMemoryTransport(script=[unavailable(), ok])
    policy = RetryPolicy(initial_delay=0.0, jitter=0.0)
    async with XportcnClient(CREDS, transport=transport, retry=policy) as client:
        raw = await client.with_raw_response(
            client.call,
            "/open/pp/logistics/itemLogisticsPrice",
            {},
            envelope=EnvelopeStyle.LOGISTICS,
        )
    assert (raw.status, raw.attempts, raw.headers["x-trace"]) == (200, 2, "t-1")


async def test_with_raw_response_hands_the_capture_to_the_call_with_the_callers_hooks(
    no_env: pytest.MonkeyPatch,
) -> None:
    """The response is captured by a hook passed to the call, not by state the client reads:
    the caller's own hooks still run, their ``after_response`` included."""
    ok = Response.json({"errorCode": 200, "success": True, "data": {}}, headers={"x-t": "1"})
    transport = InMemoryTransport(script=[ok])
    sent: list[int] = []
    seen: list[AttemptResponse] = []
    hooks = AttemptHooks(before_send=sent.append, after_response=seen.append)
    async with XportcnClient(CREDS, transport=transport) as client:
        raw = await client.with_raw_response(
            client.call,
            "/open/pp/logistics/itemLogisticsPrice",
            {},
            envelope=EnvelopeStyle.LOGISTICS,
            hooks=hooks,
        )
        with pytest.raises(TypeError, match="hooks"):
            await client.with_raw_response(no_hooks)
    assert sent == [1] and [(a.attempt, a.status, a.headers["x-t"]) for a in seen] == [
        (1, 200, "1")
    ]
    assert (raw.status, raw.attempts, raw.headers["x-t"]) == (200, 1, "1")


async def no_hooks() -> None:
    """A coroutine function that takes no ``hooks``: not a client call."""


# -- plain HTTP --------------------------------------------------------------------------------


def test_plain_http_to_another_host_needs_an_explicit_yes_and_warns(
    no_env: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ConfigurationError, match="XPORTCN_ALLOW_HTTP=1"):
        XportcnClient(CREDS, base_url="http://sandbox:8080/api")
    with pytest.warns(PlainHTTPWarning, match="unencrypted"):
        client = XportcnClient(CREDS, base_url="http://sandbox:8080/api", allow_http=True)
    assert client.base_url == "http://sandbox:8080/api"
    no_env.setenv("XPORTCN_ALLOW_HTTP", "1")
    no_env.setenv("XPORTCN_BASE_URL", "http://sandbox:8080/api")
    with pytest.warns(PlainHTTPWarning):
        assert XportcnClient(CREDS).base_url == "http://sandbox:8080/api"
    with pytest.raises(ConfigurationError):  # the argument wins over the environment
        XportcnClient(CREDS, allow_http=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        XportcnClient(CREDS, base_url="http://127.0.0.1:8080/api")  # loopback: no warning


# -- the API as the docs spell it -----------------------------------------------------------


def test_message_types_are_reachable_by_their_wire_names() -> None:
    assert MessageType.ORDER_BUYER_VIEW_ORDER_PRICE_MODIFY is MessageType.ORDER_PRICE_MODIFY
    assert MessageType.ORDER_BUYER_VIEW_ORDER_BUYER_REFUND is MessageType.ORDER_REFUND
    assert MessageType("ORDER_BUYER_VIEW_ORDER_PRICE_MODIFY") is MessageType.ORDER_PRICE_MODIFY
    assert len(list(MessageType)) == 5  # aliases, not new members


def test_freight_info_sends_empty_company_and_category_like_the_docs() -> None:
    assert to_wire(FreightInfo(service_id="1")) == {
        "serviceId": "1",
        "companyName": "",
        "serviceCategory": "",
    }
    assert to_wire(FreightInfo(service_id="1", company_name="YunExpress")) == {
        "serviceId": "1",
        "companyName": "YunExpress",
        "serviceCategory": "",
    }


async def test_a_preview_without_a_render_id_is_a_malformed_response() -> None:
    answer = {"errorCode": 200, "success": True, "data": {"totalFreight": None}}
    transport = InMemoryTransport(script=[Response.json(answer)] * 4)
    order = example_order()
    async with XportcnClient(CREDS, transport=transport, max_retries=0) as client:
        with pytest.raises(MalformedResponseError, match="FreightPreview"):
            await client.logistics.preview_freight(client.logistics.preview_for(order))
    assert json.loads(transport.calls[0].body)["receiverAddress"]
