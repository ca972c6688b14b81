"""The client over a scripted in-memory transport: signing per attempt, retries, what is
never retried, options, paths, lifecycle."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable, Coroutine
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from xportcn_async import (
    DEFAULT_BASE_URL,
    Address,
    AddressList,
    APIError,
    AttemptHooks,
    BadRequestError,
    Booking,
    BookingRequest,
    ClientClosedError,
    ConfigurationError,
    ConnectError,
    ConnectionDroppedError,
    Credentials,
    DefaultSigner,
    EnvelopeStyle,
    EstimateFreightRequest,
    FreightEstimate,
    InMemoryTransport,
    MalformedResponseError,
    NotFoundError,
    OutcomeUnknownError,
    PackageForecastRequest,
    PackageInboundRequest,
    RateLimitError,
    Request,
    RequestTimeoutError,
    Response,
    ResponseTooLargeError,
    RetryPolicy,
    ServerError,
    Signing,
    Timeout,
    TransportError,
    XportcnClient,
    endpoints,
    from_wire,
    signature,
)

BOOK_PATH = "/open/pp/logistics/orderBookingFreight"
ESTIMATE_PATH = "/open/pp/logistics/itemLogisticsPrice"


# -- helpers -----------------------------------------------------------------------------


def ok_l(data: Any) -> Response:
    return Response.json({"errorCode": 200, "errorMsg": None, "success": True, "data": data})


def ok_k(data: Any, request_id: str = "rid-k") -> Response:
    return Response.json({"requestId": request_id, "code": 200, "msg": "成功", "data": data})


def unavailable() -> Response:
    return Response(503, {"content-type": "text/plain"}, b"Service Unavailable")


ESTIMATE_DATA = {
    "itemId": "2048232789087639",
    "skuId": "4970432383383",
    "quantity": 1,
    "freightOptions": [
        {
            "serviceId": "1",
            "companyName": "UCS",
            "serviceCategory": "STANDARD",
            "freightFee": {"amount": "12.50", "currency": "USD"},
            "estimatedDeliveryDays": "7-12",
        }
    ],
}


@pytest.fixture
def make_client(credentials: Credentials, fast_retry: RetryPolicy) -> Callable[..., XportcnClient]:
    def make(transport: InMemoryTransport, **kwargs: Any) -> XportcnClient:
        kwargs.setdefault("retry", fast_retry)
        return XportcnClient(credentials, transport=transport, **kwargs)

    return make


def query(request: Request) -> dict[str, list[str]]:
    return parse_qs(urlsplit(request.url).query)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the delays the client asks for instead of sleeping them."""
    recorded: list[float] = []
    real_sleep: Callable[[float], Coroutine[Any, Any, None]] = asyncio.sleep

    async def fake_sleep(delay: float, *args: Any, **kwargs: Any) -> Any:
        recorded.append(delay)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    return recorded


# -- a successful booking ----------------------------------------------------------------


async def test_book_sends_a_signed_post_and_returns_a_typed_booking(
    make_client: Callable[..., XportcnClient],
    credentials: Credentials,
    booking_request: BookingRequest,
    booking_ok: Response,
    examples_dir: Path,
) -> None:
    transport = InMemoryTransport(script=[booking_ok])
    async with make_client(transport) as client:
        booking = await client.logistics.book(booking_request)

    assert isinstance(booking, Booking)
    assert booking.order_id == "21"
    assert booking.order_fee is not None and booking.order_fee.amount == Decimal("322.92")
    assert booking.tracking_numbers == ["FARJP2408000013YQ", "FARJP2408000014YQ"]

    (sent,) = transport.calls
    assert sent.method == "POST"
    assert sent.url.split("?")[0] == DEFAULT_BASE_URL + BOOK_PATH
    assert sent.headers["content-type"].startswith("application/json")
    expected = json.loads((examples_dir / "logistics/orderBookingFreight.request.json").read_text())
    assert json.loads(sent.body.decode("utf-8")) == expected
    h = sent.headers
    assert h["access-key"] == credentials.access_key
    assert h["user-id"] == credentials.user_id
    assert h["signature"] == signature(
        credentials.access_key, h["timestamp"], h["nonce-str"], credentials.access_secret
    )
    assert query(sent) == {"timestamp": [h["timestamp"]], "sign": [h["signature"]]}


async def test_header_signed_endpoints_send_no_query(
    make_client: Callable[..., XportcnClient],
) -> None:
    transport = InMemoryTransport(script=[ok_k([{"id": 3, "name": "仓库"}], request_id="r-list")])
    async with make_client(transport) as client:
        result = await client.addresses.list()
    assert isinstance(result, AddressList)
    assert [a.name for a in result] == ["仓库"]
    assert result.request_id == "r-list"
    assert "?" not in transport.calls[0].url
    assert "signature" in transport.calls[0].headers


async def test_estimate_freight_returns_a_typed_estimate_with_exact_money(
    make_client: Callable[..., XportcnClient], estimate_request: EstimateFreightRequest
) -> None:
    transport = InMemoryTransport(script=[ok_l(ESTIMATE_DATA)])
    async with make_client(transport) as client:
        estimate = await client.logistics.estimate_freight(estimate_request)
    assert isinstance(estimate, FreightEstimate)
    fee = estimate.freight_options[0].freight_fee
    assert fee is not None and fee.amount == Decimal("12.50")


# -- retries -----------------------------------------------------------------------------


async def test_503_is_retried_with_a_fresh_signature_each_attempt(
    credentials: Credentials,
    fast_retry: RetryPolicy,
    booking_request: BookingRequest,
    booking_ok: Response,
) -> None:
    ticks = itertools.count(1_732_665_600.0, 1.0)
    signer = DefaultSigner(clock=lambda: next(ticks))
    transport = InMemoryTransport(script=[unavailable(), booking_ok])
    async with XportcnClient(
        credentials, transport=transport, retry=fast_retry, signer=signer
    ) as client:
        booking = await client.logistics.book(booking_request)
    assert booking.order_id == "21"

    first, second = transport.calls
    assert first.body == second.body
    for header in ("nonce-str", "signature", "timestamp"):
        assert first.headers[header] != second.headers[header], header
    for call in (first, second):
        h = call.headers
        assert h["signature"] == signature(
            credentials.access_key, h["timestamp"], h["nonce-str"], credentials.access_secret
        )
        assert query(call) == {"timestamp": [h["timestamp"]], "sign": [h["signature"]]}


async def test_429_retry_after_is_honoured(
    make_client: Callable[..., XportcnClient],
    estimate_request: EstimateFreightRequest,
    sleeps: list[float],
) -> None:
    limited = Response(429, {"retry-after": "3"}, b"")
    transport = InMemoryTransport(script=[limited, ok_l(ESTIMATE_DATA)])
    async with make_client(transport) as client:
        await client.logistics.estimate_freight(estimate_request)
    assert len(transport.calls) == 2
    assert sleeps == [3.0]


async def test_429_is_retried_even_for_a_booking(
    make_client: Callable[..., XportcnClient],
    booking_request: BookingRequest,
    booking_ok: Response,
    sleeps: list[float],
) -> None:
    limited = Response.json({"errorCode": 429, "errorMsg": "限流", "success": False}, status=429)
    transport = InMemoryTransport(script=[limited, booking_ok])
    async with make_client(transport) as client:
        await client.logistics.book(booking_request)
    assert len(transport.calls) == 2
    assert len(sleeps) == 1


async def test_backoff_delays_grow_between_attempts(
    credentials: Credentials, estimate_request: EstimateFreightRequest, sleeps: list[float]
) -> None:
    policy = RetryPolicy(max_retries=3, initial_delay=1.0, max_delay=100.0, jitter=0.0)
    transport = InMemoryTransport(script=[unavailable()] * 3 + [ok_l(ESTIMATE_DATA)])
    async with XportcnClient(credentials, transport=transport, retry=policy) as client:
        await client.logistics.estimate_freight(estimate_request)
    assert sleeps == [1.0, 2.0, 4.0]


async def test_retries_are_exhausted_and_the_last_error_is_raised(
    make_client: Callable[..., XportcnClient], estimate_request: EstimateFreightRequest
) -> None:
    transport = InMemoryTransport(script=[unavailable()] * 4)
    async with make_client(transport) as client:
        with pytest.raises(ServerError) as info:
            await client.logistics.estimate_freight(estimate_request)
    assert info.value.http_status == 503
    assert len(transport.calls) == 4  # 1 + max_retries


async def test_a_dropped_booking_is_not_retried(
    make_client: Callable[..., XportcnClient], booking_request: BookingRequest, booking_ok: Response
) -> None:
    transport = InMemoryTransport(script=[ConnectionDroppedError("reset by peer"), booking_ok])
    async with make_client(transport) as client:
        with pytest.raises(OutcomeUnknownError) as info:
            await client.logistics.book(booking_request)
    assert len(transport.calls) == 1
    assert isinstance(info.value.cause, ConnectionDroppedError)
    assert info.value.operation == "logistics.book"


@pytest.mark.parametrize(
    "failure",
    [
        RequestTimeoutError("read timeout"),
        Response(502, {"content-type": "text/html"}, b"<html>Bad Gateway</html>"),
        Response(500, {}, b"oops"),
        Response(200, {}, b'{"errorCode": 200, "success": true, "data": {"orderI'),
    ],
    ids=["timeout", "502", "500", "truncated-200"],
)
async def test_a_booking_that_may_have_happened_is_outcome_unknown(
    make_client: Callable[..., XportcnClient],
    booking_request: BookingRequest,
    booking_ok: Response,
    failure: Response | Exception,
) -> None:
    transport = InMemoryTransport(script=[failure, booking_ok])
    async with make_client(transport) as client:
        with pytest.raises(OutcomeUnknownError):
            await client.logistics.book(booking_request)
    assert len(transport.calls) == 1


async def test_a_booking_whose_data_cannot_be_read_is_outcome_unknown(
    make_client: Callable[..., XportcnClient], booking_request: BookingRequest
) -> None:
    # The server said "success" but the order id is unreadable: the order may exist.
    transport = InMemoryTransport(script=[ok_l({"orderFee": {"amount": "x"}})])
    async with make_client(transport) as client:
        with pytest.raises(OutcomeUnknownError):
            await client.logistics.book(booking_request)
    assert len(transport.calls) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,
        b'{"errorCode": 200, "success": true, "data": {"orderId": 1e999}}',
        b'{"errorCode": 200, "success": true, "data": {"orderId": 21.5}}',
        b'{"errorCode": 200, "success": true, "data": {"orderId": [1, 2]}}',
        b'{"errorCode": [200], "success": true, "data": {"orderId": "21"}}',
        b'{"errorCode": Infinity, "success": true, "data": {"orderId": "21"}}',
    ],
    ids=["deep", "order-id-1e999", "order-id-fraction", "order-id-list", "code-list", "code-inf"],
)
async def test_an_unreadable_2xx_booking_reply_is_outcome_unknown(
    make_client: Callable[..., XportcnClient], booking_request: BookingRequest, body: bytes
) -> None:
    # Once RecursionError, OverflowError, TypeError, or a booking with the order id "inf".
    transport = InMemoryTransport(script=[Response(200, {}, body)])
    async with make_client(transport) as client:
        with pytest.raises(OutcomeUnknownError) as info:
            await client.logistics.book(booking_request)
    assert isinstance(info.value.cause, MalformedResponseError)
    assert len(transport.calls) == 1


@pytest.mark.parametrize("status", [400, 500, 502])
async def test_a_deeply_nested_error_reply_is_an_api_error(
    make_client: Callable[..., XportcnClient], booking_request: BookingRequest, status: int
) -> None:
    transport = InMemoryTransport(script=[Response(status, {}, b"[" * 100_000)])
    async with make_client(transport) as client:
        with pytest.raises((APIError, OutcomeUnknownError)) as info:
            await client.logistics.book(booking_request)
    error = info.value
    cause = error.cause if isinstance(error, OutcomeUnknownError) else error
    assert isinstance(cause, APIError) and cause.http_status == status


async def test_a_read_with_an_unreadable_reply_is_a_malformed_response(
    make_client: Callable[..., XportcnClient],
) -> None:
    deep = Response(200, {}, b"[" * 100_000)
    listed_id = Response(200, {}, b'{"requestId": [1, 2], "code": 200, "data": []}')
    transport = InMemoryTransport(script=[deep] * 4 + [listed_id] * 4)
    async with make_client(transport) as client:
        with pytest.raises(MalformedResponseError):
            await client.addresses.list()  # retried: a read may be repeated
        assert len(transport.calls) == 4
        with pytest.raises(MalformedResponseError) as info:
            await client.addresses.list()
    assert info.value.request_id != "[1, 2]"


@pytest.mark.parametrize(
    "reply",
    [Response(200, {}, b" " * 2048), Response(200, {"content-length": "999999"}, b"{}")],
    ids=["body", "content-length"],
)
async def test_a_booking_reply_over_max_response_size_is_outcome_unknown(
    make_client: Callable[..., XportcnClient], booking_request: BookingRequest, reply: Response
) -> None:
    transport = InMemoryTransport(script=[reply, reply], max_response_size=1024)
    async with make_client(transport) as client:
        with pytest.raises(OutcomeUnknownError) as info:
            await client.logistics.book(booking_request, retry_ambiguous=True)
        assert isinstance(info.value.cause, ResponseTooLargeError)
        with pytest.raises(ResponseTooLargeError):
            await client.addresses.list()
    assert len(transport.calls) == 2  # neither retried


async def test_retry_ambiguous_per_call_retries_a_dropped_booking(
    make_client: Callable[..., XportcnClient], booking_request: BookingRequest, booking_ok: Response
) -> None:
    transport = InMemoryTransport(script=[ConnectionDroppedError("reset"), booking_ok])
    async with make_client(transport) as client:
        booking = await client.logistics.book(booking_request, retry_ambiguous=True)
    assert booking.order_id == "21"
    assert len(transport.calls) == 2


async def test_retry_ambiguous_per_client_retries_a_dropped_booking(
    make_client: Callable[..., XportcnClient], booking_request: BookingRequest, booking_ok: Response
) -> None:
    transport = InMemoryTransport(script=[ConnectionDroppedError("reset"), booking_ok])
    async with make_client(transport, retry_ambiguous=True) as client:
        booking = await client.logistics.book(booking_request)
    assert booking.order_id == "21"
    assert len(transport.calls) == 2


async def test_per_call_retry_ambiguous_false_overrides_the_client(
    make_client: Callable[..., XportcnClient], booking_request: BookingRequest, booking_ok: Response
) -> None:
    transport = InMemoryTransport(script=[ConnectionDroppedError("reset"), booking_ok])
    async with make_client(transport, retry_ambiguous=True) as client:
        with pytest.raises(OutcomeUnknownError):
            await client.logistics.book(booking_request, retry_ambiguous=False)
    assert len(transport.calls) == 1


async def test_with_options_retry_ambiguous_retries_a_dropped_booking(
    make_client: Callable[..., XportcnClient], booking_request: BookingRequest, booking_ok: Response
) -> None:
    transport = InMemoryTransport(
        script=[ConnectionDroppedError("reset"), booking_ok, ConnectionDroppedError("reset")]
    )
    async with make_client(transport) as client:
        patient = client.with_options(retry_ambiguous=True)
        booking = await patient.logistics.book(booking_request)
        assert booking.order_id == "21"
        assert len(transport.calls) == 2
        # The original client keeps its own default.
        with pytest.raises(OutcomeUnknownError):
            await client.logistics.book(booking_request)
    assert len(transport.calls) == 3


async def test_estimate_freight_is_retried_after_a_drop(
    make_client: Callable[..., XportcnClient], estimate_request: EstimateFreightRequest
) -> None:
    transport = InMemoryTransport(
        script=[ConnectionDroppedError("reset"), RequestTimeoutError("slow"), ok_l(ESTIMATE_DATA)]
    )
    async with make_client(transport) as client:
        estimate = await client.logistics.estimate_freight(estimate_request)
    assert estimate.item_id == "2048232789087639"
    assert len(transport.calls) == 3


async def test_a_booking_that_could_not_connect_is_retried(
    make_client: Callable[..., XportcnClient], booking_request: BookingRequest, booking_ok: Response
) -> None:
    transport = InMemoryTransport(script=[ConnectError("refused"), booking_ok])
    async with make_client(transport) as client:
        booking = await client.logistics.book(booking_request)
    assert booking.order_id == "21"
    assert len(transport.calls) == 2


async def test_a_booking_that_never_connects_raises_connect_error(
    make_client: Callable[..., XportcnClient], booking_request: BookingRequest
) -> None:
    transport = InMemoryTransport(script=[ConnectError("refused")] * 4)
    async with make_client(transport) as client:
        with pytest.raises(ConnectError):
            await client.logistics.book(booking_request)
    assert len(transport.calls) == 4


async def test_a_booking_dropped_then_rejected_is_outcome_unknown(
    make_client: Callable[..., XportcnClient], booking_request: BookingRequest
) -> None:
    # With retry_ambiguous the second attempt runs; its 409 does not prove that the first
    # attempt did nothing.
    conflict = Response.json({"errorCode": 409, "errorMsg": "重复", "success": False})
    transport = InMemoryTransport(script=[ConnectionDroppedError("reset"), conflict])
    async with make_client(transport) as client:
        with pytest.raises(OutcomeUnknownError) as info:
            await client.logistics.book(booking_request, retry_ambiguous=True)
    assert len(transport.calls) == 2
    assert info.value.attempts == 2


@pytest.mark.parametrize(
    ("response", "kind"),
    [
        (
            Response.json({"errorCode": 400, "errorMsg": "bad body", "success": False}),
            BadRequestError,
        ),
        (Response(400, {}, b"Bad Request"), BadRequestError),
        (
            Response.json({"errorCode": 404, "errorMsg": "no render", "success": False}),
            NotFoundError,
        ),
    ],
)
async def test_client_errors_are_not_retried(
    make_client: Callable[..., XportcnClient],
    booking_request: BookingRequest,
    response: Response,
    kind: type[Exception],
) -> None:
    transport = InMemoryTransport(script=[response])
    async with make_client(transport) as client:
        with pytest.raises(kind):
            await client.logistics.book(booking_request)
    assert len(transport.calls) == 1


async def test_rate_limit_error_is_raised_when_retries_run_out(
    make_client: Callable[..., XportcnClient], estimate_request: EstimateFreightRequest
) -> None:
    transport = InMemoryTransport(script=[Response(429, {"retry-after": "0"}, b"")] * 4)
    async with make_client(transport) as client:
        with pytest.raises(RateLimitError):
            await client.logistics.estimate_freight(estimate_request)
    assert len(transport.calls) == 4


# -- the escape hatch --------------------------------------------------------------------


async def test_call_returns_data_and_signs_the_query(
    make_client: Callable[..., XportcnClient], credentials: Credentials
) -> None:
    transport = InMemoryTransport(script=[ok_l({"renderId": "FF1"})])
    async with make_client(transport) as client:
        data = await client.call(
            "/open/pp/logistics/somethingNew",
            {"a": "中文", "n": 1},
            auth=Signing.HEADERS_AND_QUERY,
            envelope=EnvelopeStyle.LOGISTICS,
        )
    assert data == {"renderId": "FF1"}
    (sent,) = transport.calls
    assert sent.url.split("?")[0] == DEFAULT_BASE_URL + "/open/pp/logistics/somethingNew"
    q = query(sent)
    assert set(q) == {"timestamp", "sign"}
    assert q["timestamp"] == [sent.headers["timestamp"]]
    assert q["sign"] == [sent.headers["signature"]]
    assert json.loads(sent.body) == {"a": "中文", "n": 1}


async def test_call_still_takes_the_old_one_letter_literals_with_a_deprecation_warning(
    make_client: Callable[..., XportcnClient],
) -> None:
    transport = InMemoryTransport(script=[ok_l({"renderId": "FF1"})])
    async with make_client(transport) as client:
        with pytest.warns(DeprecationWarning, match="Signing.HEADERS_AND_QUERY"):
            data = await client.call("/open/pp/logistics/x", {}, auth="Q", envelope="L")
    assert data == {"renderId": "FF1"}
    assert set(query(transport.calls[0])) == {"timestamp", "sign"}


async def test_request_takes_a_typed_endpoint_and_a_name_only_with_a_deprecation_warning(
    make_client: Callable[..., XportcnClient],
    booking_request: BookingRequest,
    booking_ok: Response,
) -> None:
    transport = InMemoryTransport(script=[booking_ok, booking_ok])
    async with make_client(transport) as client:
        typed: Booking = await client.request(endpoints.LOGISTICS_BOOK, booking_request)
        with pytest.warns(DeprecationWarning, match="endpoints"):
            named = await client.request("logistics.book", booking_request)
    assert isinstance(named, Booking) and named == typed
    assert [c.url.split("?")[0] for c in transport.calls] == [DEFAULT_BASE_URL + BOOK_PATH] * 2


def test_every_table_entry_is_a_named_constant_with_real_auth_and_envelope_kinds() -> None:
    constants = {
        name: value
        for name, value in vars(endpoints).items()
        if isinstance(value, endpoints.Endpoint)
    }
    assert {e.name.upper().replace(".", "_") for e in endpoints.ENDPOINTS.values()} == set(
        constants
    )
    assert endpoints.LOGISTICS_BOOK.query_signed and not endpoints.ORDERS_CREATE.query_signed
    assert endpoints.LOGISTICS_BOOK.envelope is EnvelopeStyle.LOGISTICS
    assert endpoints.ORDERS_CREATE.envelope is EnvelopeStyle.KA
    assert Signing.HEADERS_AND_QUERY == "Q" and EnvelopeStyle.KA == "K"  # the old literals


async def test_call_with_header_auth_and_k_envelope(
    make_client: Callable[..., XportcnClient],
) -> None:
    transport = InMemoryTransport(script=[ok_k({"offerId": 1})])
    async with make_client(transport) as client:
        assert await client.call("/alibaba/ka/product/detail/get", {"offerId": 1}) == {"offerId": 1}
    assert "?" not in transport.calls[0].url


async def test_call_raises_typed_errors(make_client: Callable[..., XportcnClient]) -> None:
    body = {"requestId": "r-404", "code": 404, "msg": "not found"}
    transport = InMemoryTransport(script=[Response.json(body)])
    async with make_client(transport) as client:
        with pytest.raises(NotFoundError) as info:
            await client.call("/x", {})
    assert info.value.request_id == "r-404"


async def test_call_is_not_retried_after_a_drop_unless_idempotent(
    make_client: Callable[..., XportcnClient],
) -> None:
    transport = InMemoryTransport(
        script=[ConnectionDroppedError("r"), ConnectionDroppedError("r"), ok_k(1)]
    )
    async with make_client(transport) as client:
        with pytest.raises(OutcomeUnknownError):
            await client.call("/x", {})
        assert await client.call("/x", {}, idempotent=True) == 1
    assert len(transport.calls) == 3


# -- configuration -----------------------------------------------------------------------


async def test_paths_override_the_endpoint_table(
    make_client: Callable[..., XportcnClient], booking_request: BookingRequest, booking_ok: Response
) -> None:
    transport = InMemoryTransport(script=[booking_ok])
    async with make_client(transport, paths={"logistics.book": "/x"}) as client:
        await client.logistics.book(booking_request)
    sent = transport.calls[0].url
    assert sent.split("?")[0] == DEFAULT_BASE_URL + "/x"
    assert "sign=" in sent  # still query-signed


def test_unknown_path_names_are_a_configuration_error(credentials: Credentials) -> None:
    with pytest.raises(ConfigurationError, match=r"logistics\.bok"):
        XportcnClient(credentials, transport=InMemoryTransport(), paths={"logistics.bok": "/x"})


@pytest.mark.parametrize(
    "url",
    [
        "http://www.xportcn.com/api",
        "http://10.0.0.5:8080",
        "ftp://www.xportcn.com",
        "www.xportcn.com",
    ],
)
def test_insecure_or_invalid_base_urls_are_rejected(credentials: Credentials, url: str) -> None:
    with pytest.raises(ConfigurationError):
        XportcnClient(credentials, base_url=url, transport=InMemoryTransport())


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080", "http://localhost:9000/api", "http://[::1]:8000"]
)
def test_plain_http_is_allowed_on_loopback(credentials: Credentials, url: str) -> None:
    XportcnClient(credentials, base_url=url, transport=InMemoryTransport())


async def test_base_url_trailing_slash_does_not_double_the_slash(
    make_client: Callable[..., XportcnClient],
) -> None:
    transport = InMemoryTransport(script=[ok_k([])])
    async with make_client(transport, base_url="https://api.example.com/base/") as client:
        await client.addresses.list()
    assert transport.calls[0].url == "https://api.example.com/base/open/address/list"


async def test_per_call_timeout_reaches_the_transport(
    make_client: Callable[..., XportcnClient], estimate_request: EstimateFreightRequest
) -> None:
    transport = InMemoryTransport(script=[ok_l(ESTIMATE_DATA)] * 4)
    async with make_client(transport, timeout=12.0) as client:
        await client.logistics.estimate_freight(estimate_request)
        await client.logistics.estimate_freight(estimate_request, timeout=2.5)
        custom = Timeout(total=4.0, connect=1.0)
        await client.logistics.estimate_freight(estimate_request, timeout=custom)
        await client.with_options(timeout=7.0).logistics.estimate_freight(estimate_request)
    timeouts = [c.timeout for c in transport.calls]
    assert [t.total for t in timeouts] == [12.0, 2.5, 4.0, 7.0]
    assert timeouts[2] == custom


async def test_every_retry_attempt_gets_the_per_call_timeout(
    make_client: Callable[..., XportcnClient], estimate_request: EstimateFreightRequest
) -> None:
    transport = InMemoryTransport(script=[unavailable(), ok_l(ESTIMATE_DATA)])
    async with make_client(transport) as client:
        await client.logistics.estimate_freight(estimate_request, timeout=3.0)
    assert [c.timeout.total for c in transport.calls] == [3.0, 3.0]


async def test_address_save_sends_the_documented_body(
    make_client: Callable[..., XportcnClient], examples_dir: Path
) -> None:
    transport = InMemoryTransport(script=[Response.json({"code": 0, "msg": "string"})])
    wire = json.loads((examples_dir / "basics/addOrUpdate.request.json").read_text())
    async with make_client(transport) as client:
        ack = await client.addresses.save(from_wire(wire, Address))
    assert ack.message == "string"
    assert json.loads(transport.calls[0].body) == wire
    assert transport.calls[0].url == DEFAULT_BASE_URL + "/open/address/addOrUpdate"


# -- lifecycle ---------------------------------------------------------------------------


def test_client_can_be_constructed_outside_a_running_loop(credentials: Credentials) -> None:
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()
    client = XportcnClient(credentials)  # the default aiohttp transport
    transport = InMemoryTransport(script=[ok_k([])])
    in_memory = XportcnClient(credentials, transport=transport)

    async def use() -> None:
        await in_memory.addresses.list()
        await in_memory.aclose()
        await client.aclose()

    asyncio.run(use())
    assert len(transport.calls) == 1
    assert client.closed and in_memory.closed


async def test_use_after_close_raises_client_closed(
    make_client: Callable[..., XportcnClient], booking_request: BookingRequest
) -> None:
    transport = InMemoryTransport()
    client = make_client(transport)
    async with client:
        pass
    assert client.closed
    with pytest.raises(ClientClosedError):
        await client.logistics.book(booking_request)
    with pytest.raises(ClientClosedError):
        await client.call("/x", {})
    with pytest.raises(ClientClosedError):
        async with client:
            pass
    assert transport.calls == []


async def test_aclose_is_idempotent_and_closes_copies_too(
    make_client: Callable[..., XportcnClient],
) -> None:
    transport = InMemoryTransport()
    client = make_client(transport)
    copy = client.with_options(retry_ambiguous=True)
    await client.aclose()
    await client.aclose()
    assert copy.closed
    with pytest.raises(ClientClosedError):
        await copy.call("/x", {})


async def test_a_transport_passed_in_is_not_closed_by_the_client(
    make_client: Callable[..., XportcnClient],
) -> None:
    transport = InMemoryTransport()
    async with make_client(transport):
        pass
    assert not transport.closed


# -- hooks that fail, transports that misbehave ----------------------------------------------


def _raise(event: object) -> None:
    raise RuntimeError("metrics backend down")


async def test_a_raising_on_response_hook_does_not_turn_a_booking_into_an_error(
    make_client: Callable[..., XportcnClient],
    booking_request: BookingRequest,
    booking_ok: Response,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The booking happened: an exception from a metrics hook must not make the caller think
    # it failed (and book again).
    transport = InMemoryTransport(script=[booking_ok])
    async with make_client(transport, on_request=_raise, on_response=_raise) as client:
        booking = await client.logistics.book(booking_request)
    assert booking.order_id == "21"
    assert len(transport.calls) == 1
    hook_logs = [r for r in caplog.records if "hook raised RuntimeError" in r.getMessage()]
    assert [r.name for r in hook_logs] == ["xportcn_async", "xportcn_async"]
    assert all("on_request" in r.getMessage() or "on_response" in r.getMessage() for r in hook_logs)


async def test_a_raising_hook_on_the_error_path_keeps_outcome_unknown(
    make_client: Callable[..., XportcnClient], booking_request: BookingRequest
) -> None:
    transport = InMemoryTransport(script=[ConnectionDroppedError("reset")])
    async with make_client(transport, on_response=_raise) as client:
        with pytest.raises(OutcomeUnknownError) as info:
            await client.logistics.book(booking_request)
    assert isinstance(info.value.cause, ConnectionDroppedError)


async def test_a_raising_hook_does_not_stop_retries(
    make_client: Callable[..., XportcnClient], estimate_request: EstimateFreightRequest
) -> None:
    transport = InMemoryTransport(script=[unavailable(), ok_l(ESTIMATE_DATA)])
    async with make_client(transport, on_request=_raise, on_response=_raise) as client:
        estimate = await client.logistics.estimate_freight(estimate_request)
    assert estimate.item_id == "2048232789087639"
    assert len(transport.calls) == 2


async def test_an_unexpected_transport_exception_on_a_booking_is_outcome_unknown(
    make_client: Callable[..., XportcnClient], booking_request: BookingRequest, booking_ok: Response
) -> None:
    # e.g. aiohttp's RuntimeError('Session is closed'): we cannot know what was sent.
    transport = InMemoryTransport(script=[RuntimeError("Session is closed"), booking_ok])
    async with make_client(transport) as client:
        with pytest.raises(OutcomeUnknownError) as info:
            await client.logistics.book(booking_request)
    assert len(transport.calls) == 1
    cause = info.value.cause
    assert type(cause) is TransportError and cause.may_have_reached_server
    assert cause.underlying == "RuntimeError: Session is closed"
    assert "RuntimeError: Session is closed" in str(cause)
    assert cause.__cause__ is None and cause.__context__ is None


async def test_an_unexpected_transport_exception_is_retried_for_idempotent_calls(
    make_client: Callable[..., XportcnClient], estimate_request: EstimateFreightRequest
) -> None:
    transport = InMemoryTransport(script=[ValueError("odd"), ok_l(ESTIMATE_DATA)])
    async with make_client(transport) as client:
        estimate = await client.logistics.estimate_freight(estimate_request)
    assert estimate.item_id == "2048232789087639"
    assert len(transport.calls) == 2


async def test_an_unexpected_transport_exception_message_is_redacted(
    make_client: Callable[..., XportcnClient], booking_request: BookingRequest
) -> None:
    class Leaky:
        def __init__(self) -> None:
            self.seen: list[str] = []

        async def send(self, request: Request) -> Response:
            self.seen.append(request.headers["signature"])
            raise RuntimeError(f"boom {request.url} {request.headers['signature']}")

        async def aclose(self) -> None:
            pass

    leaky = Leaky()
    async with make_client(leaky, retry=RetryPolicy(max_retries=0)) as client:
        with pytest.raises(OutcomeUnknownError) as info:
            await client.logistics.book(booking_request)
    (sig,) = leaky.seen
    cause = info.value.cause
    assert isinstance(cause, TransportError) and cause.underlying is not None
    assert cause.underlying.startswith("RuntimeError: boom https://")
    for text in (str(info.value), repr(info.value), str(cause), repr(vars(cause))):
        assert sig not in text


async def test_cancellation_is_not_turned_into_a_transport_error(
    make_client: Callable[..., XportcnClient], booking_request: BookingRequest
) -> None:
    transport = InMemoryTransport(script=[asyncio.CancelledError()])
    async with make_client(transport) as client:
        with pytest.raises(asyncio.CancelledError):
            await client.logistics.book(booking_request)


# -- per-call attempt hooks (the batch and bulk layers) ------------------------------------


async def test_attempt_hooks_rate_limit_and_announce_each_attempt_before_it_is_sent(
    make_client: Callable[..., XportcnClient], estimate_request: EstimateFreightRequest
) -> None:
    events: list[str] = []

    class Limiter:
        async def acquire(self) -> None:
            events.append("acquire")

    class Recording(InMemoryTransport):
        async def send(self, request: Request) -> Response:
            events.append("send")
            return await super().send(request)

    hooks = AttemptHooks(
        limiter=Limiter(),
        before_send=lambda n: events.append(f"before_send {n}"),
        before_write=lambda n: events.append(f"before_write {n}"),
    )
    transport = Recording(script=[unavailable(), ok_l(ESTIMATE_DATA)])
    async with make_client(
        transport, on_request=lambda e: events.append(f"on_request {e.attempt}")
    ) as client:
        await client.logistics.estimate_freight(estimate_request, hooks=hooks)
    assert events == [
        *("acquire", "on_request 1", "before_send 1", "send"),
        *("acquire", "on_request 2", "before_send 2", "send"),
    ]  # a read: no before_write


async def test_before_write_runs_for_each_attempt_of_a_write_only(
    make_client: Callable[..., XportcnClient],
    booking_request: BookingRequest,
    booking_ok: Response,
) -> None:
    writes: list[int] = []
    transport = InMemoryTransport(script=[unavailable(), booking_ok])
    async with make_client(transport) as client:
        hooks = AttemptHooks(before_write=writes.append)
        await client.logistics.book(booking_request, hooks=hooks)
    assert writes == [1, 2]


async def test_an_attempt_whose_before_send_raises_is_not_sent_and_the_error_is_unchanged(
    make_client: Callable[..., XportcnClient],
    booking_request: BookingRequest,
    booking_ok: Response,
) -> None:
    class JournalFull(Exception):
        pass

    def refuse(attempt: int) -> None:
        raise JournalFull(attempt)

    transport = InMemoryTransport(script=[booking_ok])
    async with make_client(transport) as client:
        with pytest.raises(JournalFull) as info:
            await client.logistics.book(booking_request, hooks=AttemptHooks(before_send=refuse))
    assert info.value.args == (1,)
    assert transport.calls == []


def test_the_removed_call_context_names_say_what_replaces_them() -> None:
    import xportcn_async.client as client_module

    for name in ("CallContext", "call_context"):
        with pytest.raises(AttributeError, match="AttemptHooks"):
            getattr(client_module, name)


async def test_the_client_exposes_its_effective_retry_ambiguous(
    make_client: Callable[..., XportcnClient],
) -> None:
    async with make_client(InMemoryTransport()) as client:
        assert client.retry_ambiguous is False
        assert client.with_options(retry_ambiguous=True).retry_ambiguous is True
        assert client.retry_ambiguous is False


# -- the declared envelope style, attempts, writes that accept retry_ambiguous ---------------


async def test_the_endpoint_envelope_style_is_used_to_decode_errors(
    make_client: Callable[..., XportcnClient],
) -> None:
    body = {"requestId": "rid-x", "code": 404, "msg": "订单不存在", "success": False}
    transport = InMemoryTransport(script=[Response.json(body)])
    async with make_client(transport) as client:
        with pytest.raises(NotFoundError) as info:
            await client.orders.detail("1")
    assert (info.value.code, info.value.message, info.value.request_id) == (
        404,
        "订单不存在",
        "rid-x",
    )


async def test_an_unreadable_write_result_reports_the_real_attempt_count(
    make_client: Callable[..., XportcnClient], booking_request: BookingRequest
) -> None:
    transport = InMemoryTransport(script=[unavailable(), ok_l({"orderFee": {"amount": "x"}})])
    async with make_client(transport) as client:
        with pytest.raises(OutcomeUnknownError) as info:
            await client.logistics.book(booking_request)
    assert len(transport.calls) == 2
    assert info.value.attempts == 2


async def test_send_reports_the_attempts_in_the_envelope(
    make_client: Callable[..., XportcnClient],
) -> None:
    transport = InMemoryTransport(script=[ok_k(1), unavailable(), unavailable(), ok_k(2)])
    async with make_client(transport) as client:
        first = await client.send(client.endpoint("orders.detail"), {"orderId": "1"})
        second = await client.send(client.endpoint("orders.detail"), {"orderId": "1"})
    assert (first.data, first.attempts) == (1, 1)
    assert (second.data, second.attempts) == (2, 3)


def _pay_ok() -> Response:
    return ok_k({"orderId": "9", "payUrl": "https://pay.example/9"})


WRITES: list[tuple[str, Callable[[XportcnClient], Any], Callable[[], Response]]] = [
    ("orders.pay", lambda c, **kw: c.orders.pay("9", **kw), _pay_ok),
    (
        "addresses.save",
        lambda c, **kw: c.addresses.save(Address(name="仓库", address="1 号"), **kw),
        lambda: Response.json({"code": 0, "msg": "ok"}),
    ),
    (
        "wms.forecast",
        lambda c, **kw: c.wms.forecast(
            PackageForecastRequest(out_order_id="o-1", tracking_number="YT1"), **kw
        ),
        lambda: ok_k({"out_order_id": "o-1"}),
    ),
    (
        "wms.inbound",
        lambda c, **kw: c.wms.inbound(
            PackageInboundRequest(out_order_id="o-1", tracking_number="YT1"), **kw
        ),
        lambda: ok_k({"out_order_id": "o-1"}),
    ),
]


@pytest.mark.parametrize(("name", "call", "ok"), WRITES, ids=[w[0] for w in WRITES])
async def test_writes_are_not_retried_after_a_drop_unless_retry_ambiguous(
    make_client: Callable[..., XportcnClient],
    name: str,
    call: Callable[..., Any],
    ok: Callable[[], Response],
) -> None:
    assert (
        not XportcnClient(Credentials("ak", "sk"), transport=InMemoryTransport())
        .endpoint(name)
        .idempotent
    )
    transport = InMemoryTransport(script=[ConnectionDroppedError("reset")])
    async with make_client(transport) as client:
        with pytest.raises(OutcomeUnknownError):
            await call(client)
        assert len(transport.calls) == 1
        transport.push(ConnectionDroppedError("reset"), ok())
        transport.calls.clear()
        await call(client, retry_ambiguous=True)
    assert len(transport.calls) == 2


# -- what is inferred lives in inferred.py and is used -------------------------------------


def test_the_inferred_defaults_come_from_inferred_py() -> None:
    import inspect

    from xportcn_async import inferred

    params = inspect.signature(XportcnClient).parameters
    assert params["retry_ambiguous"].default is inferred.SERVER_DEDUPLICATES_BOOKINGS
    assert DefaultSigner().timestamp_unit == inferred.TIMESTAMP_UNIT


def test_every_inferred_constant_is_used_by_the_sdk() -> None:
    import xportcn_async
    from xportcn_async import inferred

    package = Path(xportcn_async.__file__).parent
    sources = "\n".join(
        p.read_text("utf-8") for p in package.rglob("*.py") if p.name != "inferred.py"
    )
    names = [n for n in vars(inferred) if n.isupper()]
    assert names
    unused = [n for n in names if f"inferred.{n}" not in sources]
    assert unused == []
