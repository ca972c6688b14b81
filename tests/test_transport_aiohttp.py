"""The default transport, AiohttpTransport: what goes on the wire, how aiohttp failures map
to SDK errors, and the session lifecycle (one lazy pooled session, never a leaked one).

They mock aiohttp with aioresponses (pinned with aiohttp in this venv; they must run, never
skip). What holds for every transport, over real sockets on 127.0.0.1, is in
tests/test_transport_loopback.py.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses
from yarl import URL

from tests.conftest import exception_texts, unclosed_reports
from xportcn_async import (
    AiohttpTransport,
    BookingRequest,
    ConnectError,
    ConnectionDroppedError,
    Credentials,
    EnvelopeStyle,
    EstimateFreightRequest,
    OutcomeUnknownError,
    Request,
    RequestTimeoutError,
    RetryPolicy,
    ServerError,
    Signing,
    Timeout,
    TransportError,
    XportcnClient,
    signature,
)

BASE = "https://www.xportcn.com/api"
BOOK_URL = re.compile(
    r"^https://www\.xportcn\.com/api/open/pp/logistics/orderBookingFreight(\?.*)?$"
)
ESTIMATE_URL = re.compile(
    r"^https://www\.xportcn\.com/api/open/pp/logistics/itemLogisticsPrice(\?.*)?$"
)
LIST_URL = re.compile(r"^https://www\.xportcn\.com/api/open/address/list(\?.*)?$")

ESTIMATE_BODY = {
    "errorCode": 200,
    "errorMsg": None,
    "success": True,
    "data": {"itemId": "2048232789087639", "skuId": "4970432383383", "quantity": 1},
}
LIST_BODY = {"requestId": "rid-list", "code": 200, "msg": "ok", "data": [{"id": 1}]}


@pytest.fixture
def mocked() -> Iterator[aioresponses]:
    with aioresponses() as m:
        yield m


def recorded(m: aioresponses) -> list[tuple[str, URL, dict[str, Any]]]:
    """Every request aiohttp was asked to send: (method, URL, keyword arguments)."""
    return [
        (method, url, call.kwargs) for (method, url), calls in m.requests.items() for call in calls
    ]


def connector_error(host: str = "www.xportcn.com") -> aiohttp.ClientConnectorError:
    key: Any = SimpleNamespace(host=host, port=443, ssl=True)
    return aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "Connection refused"))


@pytest.fixture
def sessions(monkeypatch: pytest.MonkeyPatch) -> list[aiohttp.ClientSession]:
    """Every aiohttp.ClientSession created during the test."""
    created: list[aiohttp.ClientSession] = []
    real = aiohttp.ClientSession

    def factory(*args: Any, **kwargs: Any) -> aiohttp.ClientSession:
        session = real(*args, **kwargs)
        created.append(session)
        return session

    monkeypatch.setattr(aiohttp, "ClientSession", factory)
    return created


# -- the wire ----------------------------------------------------------------------------


@pytest.mark.aioresponses
async def test_a_booking_goes_on_the_wire_exactly_as_documented(
    mocked: aioresponses,
    credentials: Credentials,
    booking_request: BookingRequest,
    booking_response: bytes,
    examples_dir: Path,
) -> None:
    mocked.post(BOOK_URL, body=booking_response, content_type="application/json")
    async with XportcnClient(credentials) as client:
        booking = await client.logistics.book(booking_request, timeout=9.0)
    assert booking.order_id == "21"

    ((method, url, kwargs),) = recorded(mocked)
    assert method == "POST"
    assert (url.scheme, url.host, url.path) == (
        "https",
        "www.xportcn.com",
        "/api/open/pp/logistics/orderBookingFreight",
    )
    headers = {k.lower(): v for k, v in kwargs["headers"].items()}
    assert headers["content-type"].startswith("application/json")
    assert headers["access-key"] == credentials.access_key
    assert headers["user-id"] == credentials.user_id
    assert re.fullmatch(r"\d{13}", headers["timestamp"])  # milliseconds
    assert re.fullmatch(r"[A-Za-z0-9]{32}", headers["nonce-str"])
    assert headers["signature"] == signature(
        credentials.access_key,
        headers["timestamp"],
        headers["nonce-str"],
        credentials.access_secret,
    )
    assert dict(url.query) == {"timestamp": headers["timestamp"], "sign": headers["signature"]}
    assert credentials.access_secret not in repr(kwargs)

    body = kwargs["data"]
    assert isinstance(body, bytes)
    text = (examples_dir / "logistics/orderBookingFreight.request.json").read_text("utf-8")
    # Same document, same key order, UTF-8 text (not \u escapes).
    assert json.loads(body, object_pairs_hook=list) == json.loads(text, object_pairs_hook=list)
    assert "这是商品1".encode() in body
    assert kwargs["timeout"].total == 9.0


@pytest.mark.aioresponses
async def test_header_signed_endpoints_have_no_query_and_omit_user_id_when_unset(
    mocked: aioresponses,
) -> None:
    mocked.post(LIST_URL, payload=LIST_BODY)
    async with XportcnClient(Credentials("ak-1", "sk-1")) as client:
        result = await client.addresses.list()
    assert result.request_id == "rid-list"
    ((method, url, kwargs),) = recorded(mocked)
    assert method == "POST"
    assert str(url) == BASE + "/open/address/list"
    assert not url.query
    headers = {k.lower() for k in kwargs["headers"]}
    assert {"access-key", "timestamp", "nonce-str", "signature"} <= headers
    assert "user-id" not in headers


@pytest.mark.aioresponses
async def test_503_then_200_is_retried_with_a_new_signature(
    mocked: aioresponses,
    credentials: Credentials,
    fast_retry: RetryPolicy,
    booking_request: BookingRequest,
    booking_response: bytes,
) -> None:
    mocked.post(BOOK_URL, status=503, body="<html>busy</html>", content_type="text/html")
    mocked.post(BOOK_URL, body=booking_response, content_type="application/json")
    async with XportcnClient(credentials, retry=fast_retry) as client:
        booking = await client.logistics.book(booking_request)
    assert booking.order_id == "21"
    calls = recorded(mocked)
    assert len(calls) == 2
    nonces = {kw["headers"]["nonce-str"] for _, _, kw in calls}
    signs = {url.query["sign"] for _, url, _ in calls}
    assert len(nonces) == 2 and len(signs) == 2


@pytest.mark.aioresponses
async def test_html_502_through_aiohttp_is_a_server_error(
    mocked: aioresponses, credentials: Credentials, estimate_request: EstimateFreightRequest
) -> None:
    page = "<html>" + "Bad Gateway " * 1000 + "</html>"
    mocked.post(ESTIMATE_URL, status=502, body=page, content_type="text/html", repeat=True)
    policy = RetryPolicy(max_retries=1, initial_delay=0.001)
    async with XportcnClient(credentials, retry=policy) as client:
        with pytest.raises(ServerError) as info:
            await client.logistics.estimate_freight(estimate_request)
    assert info.value.http_status == 502
    assert len(info.value.body_excerpt) <= 500
    assert len(recorded(mocked)) == 2


@pytest.mark.aioresponses
async def test_mixed_case_retry_after_header_is_honoured(
    mocked: aioresponses,
    monkeypatch: pytest.MonkeyPatch,
    credentials: Credentials,
    fast_retry: RetryPolicy,
    estimate_request: EstimateFreightRequest,
) -> None:
    delays: list[float] = []
    real_sleep: Callable[[float], Coroutine[Any, Any, None]] = asyncio.sleep

    async def fake_sleep(delay: float, *args: Any, **kwargs: Any) -> Any:
        delays.append(delay)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    mocked.post(ESTIMATE_URL, status=429, body="", headers={"Retry-After": "2"})
    mocked.post(ESTIMATE_URL, payload=ESTIMATE_BODY)
    async with XportcnClient(credentials, retry=fast_retry) as client:
        await client.logistics.estimate_freight(estimate_request)
    assert [d for d in delays if d] == [2.0]


# -- failures ----------------------------------------------------------------------------


@pytest.mark.aioresponses
async def test_connector_errors_become_connect_error_and_bookings_are_retried(
    mocked: aioresponses,
    credentials: Credentials,
    fast_retry: RetryPolicy,
    booking_request: BookingRequest,
    booking_response: bytes,
) -> None:
    mocked.post(BOOK_URL, exception=connector_error())
    mocked.post(BOOK_URL, body=booking_response, content_type="application/json")
    async with XportcnClient(credentials, retry=fast_retry) as client:
        booking = await client.logistics.book(booking_request)
    assert booking.order_id == "21"
    assert len(recorded(mocked)) == 2


@pytest.mark.aioresponses
async def test_transport_maps_connector_error_to_connect_error(mocked: aioresponses) -> None:
    mocked.post(BOOK_URL, exception=connector_error())
    transport = AiohttpTransport()
    try:
        with pytest.raises(ConnectError) as info:
            await transport.send(
                Request("POST", BASE + "/open/pp/logistics/orderBookingFreight", {}, b"{}")
            )
    finally:
        await transport.aclose()
    assert info.value.may_have_reached_server is False
    # aiohttp's exception is summarised, not chained (its kin may hold the signed URL).
    assert info.value.underlying is not None
    assert info.value.underlying.startswith("ClientConnectorError: Cannot connect to host")
    assert info.value.__cause__ is None and info.value.__context__ is None


@pytest.mark.aioresponses
async def test_server_disconnect_on_a_booking_is_outcome_unknown(
    mocked: aioresponses,
    credentials: Credentials,
    fast_retry: RetryPolicy,
    booking_request: BookingRequest,
    booking_response: bytes,
) -> None:
    mocked.post(BOOK_URL, exception=aiohttp.ServerDisconnectedError())
    mocked.post(BOOK_URL, body=booking_response, content_type="application/json")
    async with XportcnClient(credentials, retry=fast_retry) as client:
        with pytest.raises(OutcomeUnknownError) as info:
            await client.logistics.book(booking_request)
    assert isinstance(info.value.cause, ConnectionDroppedError)
    assert info.value.cause.may_have_reached_server is True
    assert len(recorded(mocked)) == 1


@pytest.mark.aioresponses
async def test_payload_error_is_a_dropped_connection(mocked: aioresponses) -> None:
    mocked.post(BOOK_URL, exception=aiohttp.ClientPayloadError("incomplete body"))
    transport = AiohttpTransport()
    try:
        with pytest.raises(ConnectionDroppedError):
            await transport.send(
                Request("POST", BASE + "/open/pp/logistics/orderBookingFreight", {}, b"{}")
            )
    finally:
        await transport.aclose()


@pytest.mark.aioresponses
async def test_timeouts_become_request_timeout_and_idempotent_calls_are_retried(
    mocked: aioresponses,
    credentials: Credentials,
    fast_retry: RetryPolicy,
    booking_request: BookingRequest,
    estimate_request: EstimateFreightRequest,
) -> None:
    mocked.post(ESTIMATE_URL, timeout=True)
    mocked.post(ESTIMATE_URL, payload=ESTIMATE_BODY)
    mocked.post(BOOK_URL, timeout=True)
    async with XportcnClient(credentials, retry=fast_retry) as client:
        estimate = await client.logistics.estimate_freight(estimate_request)
        assert estimate.item_id == "2048232789087639"
        with pytest.raises(OutcomeUnknownError) as info:
            await client.logistics.book(booking_request)
    assert isinstance(info.value.cause, RequestTimeoutError)
    assert len(recorded(mocked)) == 3


@pytest.mark.parametrize(
    "make_error",
    [
        lambda url: aiohttp.InvalidURL(url),
        lambda url: aiohttp.ClientConnectionError(f"Connection reset while talking to {url}"),
    ],
    ids=["invalid-url", "connection-error"],
)
@pytest.mark.aioresponses
async def test_transport_errors_never_carry_the_signature(
    mocked: aioresponses,
    credentials: Credentials,
    make_error: Callable[[URL], Exception],
) -> None:
    # aiohttp's own messages often contain the full URL, and a query-signed URL holds the
    # signature (which, with the unsigned body, could be replayed inside the time window).
    seen: list[str] = []

    def fail(url: URL, **kwargs: Any) -> None:
        seen.append(url.query["sign"])
        raise make_error(url)

    mocked.post(BOOK_URL, callback=fail)
    async with XportcnClient(credentials, retry=RetryPolicy(max_retries=0)) as client:
        with pytest.raises((TransportError, OutcomeUnknownError)) as info:
            await client.call(
                "/open/pp/logistics/orderBookingFreight",
                {},
                auth=Signing.HEADERS_AND_QUERY,
                envelope=EnvelopeStyle.LOGISTICS,
            )
    (sign,) = seen
    err = info.value
    for text in (
        str(err),
        repr(err),
        str(getattr(err, "cause", "")),
        repr(getattr(err, "cause", "")),
    ):
        assert sign not in text
        assert credentials.access_secret not in text


@pytest.mark.parametrize(
    ("make_error", "kind", "operation"),
    [
        # Connect timeout: nothing was sent, so even a booking is retried, then raised as is.
        (
            lambda url: aiohttp.ConnectionTimeoutError(f"Connection timeout to host {url}"),
            RequestTimeoutError,
            "book",
        ),
        # Read timeout on a booking: outcome unknown, chained to the transport's error.
        (
            lambda url: aiohttp.SocketTimeoutError(f"Timeout on reading data from {url}"),
            OutcomeUnknownError,
            "book",
        ),
        (
            lambda url: aiohttp.ClientConnectionError(f"Connection reset while talking to {url}"),
            OutcomeUnknownError,
            "book",
        ),
        (lambda url: aiohttp.InvalidURL(url), TransportError, "estimate"),
        (lambda url: asyncio.TimeoutError(f"deadline for {url}"), RequestTimeoutError, "estimate"),
        (lambda url: RuntimeError(f"Session is closed ({url})"), OutcomeUnknownError, "book"),
    ],
    ids=["connect-timeout", "read-timeout", "client-error", "invalid-url", "timeout", "runtime"],
)
@pytest.mark.aioresponses
async def test_no_exception_in_the_chain_carries_the_signature(
    mocked: aioresponses,
    credentials: Credentials,
    booking_request: BookingRequest,
    estimate_request: EstimateFreightRequest,
    make_error: Callable[[URL], Exception],
    kind: type[Exception],
    operation: str,
) -> None:
    signs: list[str] = []
    headers: list[str] = []

    def fail(url: URL, **kwargs: Any) -> None:
        signs.append(url.query["sign"])
        headers.append(kwargs["headers"]["signature"])
        raise make_error(url)

    mocked.post(BOOK_URL if operation == "book" else ESTIMATE_URL, callback=fail, repeat=True)
    async with XportcnClient(credentials, retry=RetryPolicy(max_retries=0)) as client:
        with pytest.raises(kind) as info:
            if operation == "book":
                await client.logistics.book(booking_request)
            else:
                await client.logistics.estimate_freight(estimate_request)
    assert signs and signs == headers
    texts = exception_texts(info.value)
    for text in texts:
        assert credentials.access_secret not in text
        for sign in signs:
            assert sign not in text
    # Still useful for debugging: the kind of failure and the redacted URL are kept.
    transport_error = getattr(info.value, "cause", info.value)
    assert isinstance(transport_error, TransportError)
    assert transport_error.underlying is not None
    assert "sign=***" in transport_error.underlying or "sign=" not in transport_error.underlying
    assert type(make_error(URL(BASE))).__name__ in transport_error.underlying


@pytest.mark.aioresponses
async def test_redirects_are_not_followed(
    mocked: aioresponses, credentials: Credentials, estimate_request: EstimateFreightRequest
) -> None:
    mocked.post(ESTIMATE_URL, payload=ESTIMATE_BODY)
    async with XportcnClient(credentials) as client:
        await client.logistics.estimate_freight(estimate_request)
    ((_, _, kwargs),) = recorded(mocked)
    assert kwargs["allow_redirects"] is False


# -- session lifecycle --------------------------------------------------------------------


@pytest.mark.aioresponses
async def test_one_lazy_pooled_session_per_client(
    mocked: aioresponses,
    sessions: list[aiohttp.ClientSession],
    credentials: Credentials,
    estimate_request: EstimateFreightRequest,
) -> None:
    mocked.post(ESTIMATE_URL, payload=ESTIMATE_BODY, repeat=True)
    mocked.post(LIST_URL, payload=LIST_BODY, repeat=True)
    client = XportcnClient(credentials)
    assert sessions == []  # nothing is created until the first request
    async with client:
        assert sessions == []
        await asyncio.gather(
            *(client.logistics.estimate_freight(estimate_request) for _ in range(10))
        )
        await client.addresses.list()
        await client.with_options(timeout=5.0).addresses.list()
        assert len(sessions) == 1
        assert not sessions[0].closed
    assert len(recorded(mocked)) == 12
    assert sessions[0].closed  # closed by the client that created it


@pytest.mark.aioresponses
async def test_two_clients_have_separate_sessions(
    mocked: aioresponses, sessions: list[aiohttp.ClientSession], credentials: Credentials
) -> None:
    mocked.post(LIST_URL, payload=LIST_BODY, repeat=True)
    async with XportcnClient(credentials) as a, XportcnClient(credentials) as b:
        await a.addresses.list()
        await b.addresses.list()
        await a.addresses.list()
    assert len(sessions) == 2
    assert all(s.closed for s in sessions)


@pytest.mark.aioresponses
async def test_a_user_supplied_session_is_never_closed(
    mocked: aioresponses, credentials: Credentials
) -> None:
    mocked.post(LIST_URL, payload=LIST_BODY, repeat=True)
    async with aiohttp.ClientSession() as session:
        transport = AiohttpTransport(session=session)
        async with XportcnClient(credentials, transport=transport) as client:
            await client.addresses.list()
        assert not session.closed
        await transport.aclose()
        assert not session.closed
        # Still usable by its owner.
        async with session.post(BASE + "/open/address/list", data=b"{}") as resp:
            assert resp.status == 200
    assert session.closed


@pytest.mark.aioresponses
async def test_user_session_passed_to_the_transport_is_the_one_used(
    mocked: aioresponses, sessions: list[aiohttp.ClientSession], credentials: Credentials
) -> None:
    mocked.post(LIST_URL, payload=LIST_BODY, repeat=True)
    async with aiohttp.ClientSession() as session:
        assert sessions == [session]
        async with XportcnClient(credentials, transport=AiohttpTransport(session=session)) as c:
            await c.addresses.list()
            await c.addresses.list()
        assert sessions == [session]  # no second session was made


@pytest.mark.aioresponses
def test_client_built_outside_the_loop_then_used_inside_one(
    credentials: Credentials, sessions: list[aiohttp.ClientSession]
) -> None:
    client = XportcnClient(credentials)
    assert sessions == []

    async def main() -> int:
        with aioresponses() as m:
            m.post(LIST_URL, payload=LIST_BODY)
            async with client:
                return len(await client.addresses.list())

    assert asyncio.run(main()) == 1
    assert len(sessions) == 1 and sessions[0].closed


@pytest.mark.aioresponses
def test_no_unclosed_session_warnings(
    credentials: Credentials, estimate_request: EstimateFreightRequest
) -> None:
    async def leak() -> None:
        aiohttp.ClientSession()  # dropped without closing

    # The detector works ...
    assert any("Unclosed client session" in r for r in unclosed_reports(leak))

    async def use_client() -> None:
        with aioresponses() as m:
            m.post(ESTIMATE_URL, payload=ESTIMATE_BODY, repeat=True)
            m.post(BOOK_URL, exception=aiohttp.ServerDisconnectedError())
            async with XportcnClient(credentials) as client:
                await client.logistics.estimate_freight(estimate_request)
                await client.with_options(timeout=Timeout(total=3)).logistics.estimate_freight(
                    estimate_request
                )
            plain = XportcnClient(credentials)  # never used, closed explicitly
            await plain.aclose()

    # ... and a client used and closed leaves nothing behind.
    assert unclosed_reports(use_client) == []


@pytest.mark.parametrize(
    ("url", "parsed_here"),
    [
        (
            "http://127.0.0.1:8080/api/open/pp/logistics/orderBookingFreight?timestamp=1&sign=AB12",
            True,
        ),
        ("https://www.xportcn.com/api/open/address/list", True),
        ("https://WWW.Xportcn.com/api/open/address/list?timestamp=1&sign=AB", False),
        ("https://x.test/a path/ü?timestamp=1&sign=AB", False),
        ("https://x.test/api?timestamp=1&sign=a b", False),
        ("https://x.test/api?sign=%41&timestamp=1", False),
        ("https://x.test/api?", False),
        ("https://x.test/api#part?timestamp=1&sign=AB", False),
    ],
)
def test_the_url_handed_to_aiohttp_is_the_one_it_would_read(url: str, parsed_here: bool) -> None:
    """The transport skips aiohttp's quoting pass only where it changes nothing: the URL it
    hands over is, character for character, what aiohttp makes of the string."""
    transport = AiohttpTransport()
    for _ in range(2):  # the first call checks the part before the query, the second reuses it
        handed = transport._request_url(url)
        assert str(URL(handed)) == str(URL(url))
    assert isinstance(handed, URL) == parsed_here
