"""The local sandbox: state, signatures, envelopes and faults, in-process and over HTTP."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import shlex
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import attrs
import pytest

from xportcn_async import (
    Address,
    AuthenticationError,
    BadRequestError,
    BookingRequest,
    ConflictError,
    ConnectionDroppedError,
    Credentials,
    DefaultSigner,
    DomesticShipment,
    EnvelopeStyle,
    EstimateFreightRequest,
    InMemoryTransport,
    MalformedResponseError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    Request,
    RequestTimeoutError,
    RetryPolicy,
    ServerError,
    ShipmentItem,
    ShipmentUpdate,
    Signing,
    Timeout,
    UpdateDomesticLogisticsRequest,
    XportcnClient,
    from_wire,
    signature,
)
from xportcn_async.resources import LogisticsResource
from xportcn_async.sandbox import (
    DEMO_CREDENTIALS,
    HANDLERS,
    FaultKind,
    Faults,
    Latency,
    Sandbox,
    SandboxState,
    operation,
    serve,
)
from xportcn_async.sandbox.cli import (
    add_arguments,
    add_fault_arguments,
    curl_example,
    faults_from_args,
    latency_from_args,
)
from xportcn_async.signing import new_nonce

NO_RETRY = RetryPolicy(max_retries=0)
PATIENT = RetryPolicy(max_retries=30, initial_delay=0.001, max_delay=0.002)
ESTIMATE_PATH = "/open/pp/logistics/itemLogisticsPrice"


@pytest.fixture(params=["memory", "http"])
def mode(request: pytest.FixtureRequest) -> str:
    """Every test using this runs twice: through ``Sandbox.handle`` and over real HTTP."""
    return str(request.param)


@contextlib.asynccontextmanager
async def connect(
    mode: str,
    sandbox: Sandbox | None = None,
    *,
    credentials: Credentials | None = None,
    **client_options: Any,
) -> AsyncIterator[tuple[XportcnClient, Sandbox]]:
    sandbox = sandbox if sandbox is not None else Sandbox()
    creds = credentials if credentials is not None else sandbox.credentials
    client_options.setdefault("retry", NO_RETRY)
    if mode == "memory":
        transport = InMemoryTransport(sandbox.handle)
        async with XportcnClient(
            creds, base_url="http://127.0.0.1/api", transport=transport, **client_options
        ) as client:
            yield client, sandbox
        await transport.aclose()
    else:
        async with (
            serve(sandbox=sandbox) as running,
            XportcnClient(creds, base_url=running.base_url, **client_options) as client,
        ):
            assert running.credentials == sandbox.credentials
            yield client, sandbox


@pytest.fixture
def booking(examples_dir: Path) -> BookingRequest:
    """The docs' booking example, without its renderId (each test previews its own)."""
    data = json.loads((examples_dir / "logistics/orderBookingFreight.request.json").read_bytes())
    return attrs.evolve(from_wire(data, BookingRequest), render_id=None)


@pytest.fixture
def estimate(examples_dir: Path) -> EstimateFreightRequest:
    data = json.loads((examples_dir / "logistics/itemLogisticsPrice.request.json").read_bytes())
    return from_wire(data, EstimateFreightRequest)


async def preview(client: XportcnClient, request: BookingRequest) -> BookingRequest:
    quote = await client.logistics.preview_freight(LogisticsResource.preview_for(request))
    assert quote.render_id
    return attrs.evolve(request, render_id=quote.render_id)


def signed_headers(
    creds: Credentials, *, timestamp: str | None = None, nonce: str | None = None
) -> dict[str, str]:
    ts = timestamp or str(int(time.time() * 1000))
    nonce = nonce or new_nonce()
    headers = {
        "content-type": "application/json",
        "access-key": creds.access_key,
        "timestamp": ts,
        "nonce-str": nonce,
        "signature": signature(creds.access_key, ts, nonce, creds.access_secret),
    }
    if creds.user_id:
        headers["user-id"] = creds.user_id
    return headers


def query_for(headers: dict[str, str]) -> str:
    return f"?timestamp={headers['timestamp']}&sign={headers['signature']}"


# -- bookings ------------------------------------------------------------------------------


async def test_preview_then_book_and_booking_the_same_render_again_gives_the_same_order(
    mode: str, booking: BookingRequest
) -> None:
    async with connect(mode) as (client, sandbox):
        request = await preview(client, booking)
        first = await client.logistics.book(request)
        again = await client.logistics.book(request)

    assert first.order_id == again.order_id
    assert first.tracking_numbers == again.tracking_numbers
    assert len(first.sub_orders) == len(booking.line_items) == 2
    assert all(n.startswith("FARJP") for n in first.tracking_numbers)
    assert first.order_fee is not None and first.order_fee.currency == "USD"
    stats = sandbox.stats
    assert stats.bookings == 1
    assert stats.booking_attempts == 2
    assert stats.duplicate_booking_attempts == 1
    assert stats.bookings_by_render_id == {request.render_id: 2}
    assert stats.renders_attempted_more_than_once == 1
    assert sandbox.state.bookings[str(request.render_id)].order_id == first.order_id


async def test_the_booking_reply_has_the_documented_wire_shape(
    booking: BookingRequest, examples_dir: Path
) -> None:
    documented = json.loads(
        (examples_dir / "logistics/orderBookingFreight.response.json").read_bytes()
    )
    sandbox = Sandbox()
    async with connect("memory", sandbox) as (client, _):
        request = await preview(client, booking)
        await client.logistics.book(request)
    reply = sandbox.state.bookings[str(request.render_id)].booking

    def shape(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: shape(v) for k, v in value.items()}
        if isinstance(value, list):
            return [shape(v) for v in value]
        return type(value).__name__

    assert shape(reply) == shape(documented["data"])
    logistics = reply["subOrders"][0]["internationalLogisticInfos"]
    assert logistics["trackingUrl"].endswith("key=" + logistics["logisticNumer"])


async def test_money_amounts_are_decimal_strings_on_the_wire(
    estimate: EstimateFreightRequest,
) -> None:
    sandbox = Sandbox()
    headers = signed_headers(sandbox.credentials)
    body = json.dumps({"itemId": "1", "skuId": "2", "quantity": 3, "receiverAddress": {}})
    response = await sandbox.handle(
        Request("POST", f"http://x/api{ESTIMATE_PATH}{query_for(headers)}", headers, body.encode())
    )
    doc = json.loads(response.body)
    fee = doc["data"]["freightOptions"][0]["freightFee"]
    assert isinstance(fee["amount"], str) and fee["currency"] == "USD"
    assert doc["success"] is True and doc["errorCode"] == 200


async def test_booking_an_unknown_render_id_is_not_found(
    mode: str, booking: BookingRequest
) -> None:
    async with connect(mode) as (client, sandbox):
        with pytest.raises(NotFoundError) as info:
            await client.logistics.book(attrs.evolve(booking, render_id="FF2099010100001"))
    assert info.value.code == 404
    assert sandbox.stats.bookings == 0


async def test_booking_a_booked_render_for_another_upstream_order_is_a_conflict(
    booking: BookingRequest,
) -> None:
    async with connect("memory") as (client, sandbox):
        request = await preview(client, booking)
        await client.logistics.book(request)
        with pytest.raises(ConflictError):
            await client.logistics.book(attrs.evolve(request, tmall_order_id="someone-else"))
    assert sandbox.stats.bookings == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"renderId": "FF1", "receiverAddress": {}, "lineItems": []}, "tmallOrderInfo"),
        (
            {
                "renderId": "FF1",
                "tmallOrderInfo": {"tmallOrderId": "1"},
                "receiverAddress": {},
                "lineItems": [],
            },
            "lineItems",
        ),
        (
            {
                "renderId": "FF1",
                "tmallOrderInfo": {"tmallOrderId": "1"},
                "receiverAddress": {},
                "lineItems": [{"itemId": "1", "skuId": "2", "quantity": 0}],
            },
            "lineItems[0].quantity",
        ),
        (
            {
                "renderId": "FF1",
                "tmallOrderInfo": {"tmallOrderId": "1"},
                "receiverAddress": {},
                "lineItems": [{"itemId": "1", "skuId": "2", "quantity": "two"}],
            },
            "lineItems[0].quantity",
        ),
        ({"tmallOrderInfo": {"tmallOrderId": "1"}}, "renderId"),
    ],
)
async def test_garbage_bookings_are_bad_requests_naming_the_field(
    body: dict[str, Any], field: str
) -> None:
    async with connect("memory") as (client, sandbox):
        with pytest.raises(BadRequestError) as info:
            await client.call(
                "/open/pp/logistics/orderBookingFreight",
                body,
                auth=Signing.HEADERS_AND_QUERY,
                envelope=EnvelopeStyle.LOGISTICS,
            )
    assert info.value.code == 400
    assert info.value.message.startswith(field)
    assert sandbox.stats.booking_attempts == 0


async def test_a_body_that_is_not_json_is_a_bad_request() -> None:
    sandbox = Sandbox()
    headers = signed_headers(sandbox.credentials)
    response = await sandbox.handle(
        Request("POST", f"http://x/api{ESTIMATE_PATH}{query_for(headers)}", headers, b"{nope")
    )
    doc = json.loads(response.body)
    assert response.status == 200
    assert doc["success"] is False and doc["errorCode"] == 400
    assert "not valid JSON" in doc["errorMsg"]


# -- domestic logistics and addresses ------------------------------------------------------


def shipment_update(order_id: str) -> UpdateDomesticLogisticsRequest:
    return UpdateDomesticLogisticsRequest(
        order_id=order_id,
        tmall_order_id="123123444",
        shipments=[
            ShipmentUpdate(
                line_item=ShipmentItem(
                    item_id="2048020617114736", sku_id="413185732720", quantity=1
                ),
                domestic_shipments=[
                    DomesticShipment(
                        tracking_number="SF1234521212678",
                        company_name="顺丰",
                        rts_time="1754342534",
                    )
                ],
            )
        ],
    )


async def test_domestic_logistics_of_a_booked_order_are_stored_and_of_an_unknown_order_not_found(
    mode: str, booking: BookingRequest
) -> None:
    async with connect(mode) as (client, sandbox):
        booked = await client.logistics.book(await preview(client, booking))
        ack = await client.logistics.update_domestic_logistics(shipment_update(booked.order_id))
        with pytest.raises(NotFoundError):
            await client.logistics.update_domestic_logistics(shipment_update("999999"))
    assert ack.data is True
    stored = sandbox.state.orders[booked.order_id].domestic_logistics
    assert stored[0]["domesticLogisticInfo"][0]["logisticNumer"] == "SF1234521212678"
    assert sandbox.stats.logistics_updates == 1


async def test_addresses_are_created_updated_and_listed(mode: str) -> None:
    async with connect(mode) as (client, _):
        created = await client.addresses.save(Address(name="Li Lei", city="Hangzhou"))
        await client.addresses.save(Address(name="Han Meimei", province="Zhejiang"))
        address_id = created.data["id"]
        await client.addresses.save(Address(id=address_id, phone="13800000000"))
        with pytest.raises(NotFoundError):
            await client.addresses.save(Address(id=4242, name="nobody"))
        listed = await client.addresses.list()

    assert [a.id for a in listed] == [1, 2]
    assert listed[0].name == "Li Lei"
    assert listed[0].city == "Hangzhou"
    assert listed[0].phone == "13800000000"
    assert listed[1].province == "Zhejiang"
    assert listed.request_id is not None and len(listed.request_id) == 32


async def test_address_save_answers_code_zero_like_the_docs(examples_dir: Path) -> None:
    sandbox = Sandbox()
    body = (examples_dir / "basics/addOrUpdate.request.json").read_bytes()
    headers = signed_headers(sandbox.credentials)
    response = await sandbox.handle(
        Request("POST", "http://x/api/open/address/addOrUpdate", headers, body)
    )
    doc = json.loads(response.body)
    assert doc["code"] == 0
    assert set(doc) >= {"code", "msg", "requestId"}
    assert len(doc["requestId"]) == 32


# -- authentication ------------------------------------------------------------------------


async def test_a_wrong_secret_is_rejected(mode: str, estimate: EstimateFreightRequest) -> None:
    wrong = Credentials(DEMO_CREDENTIALS.access_key, "not-the-secret", DEMO_CREDENTIALS.user_id)
    async with connect(mode, credentials=wrong) as (client, sandbox):
        with pytest.raises(AuthenticationError) as info:
            await client.logistics.estimate_freight(estimate)
    assert info.value.code == 401
    assert "not-the-secret" not in str(info.value)
    assert sandbox.stats.requests_by_status == {200: 1}


async def test_an_unknown_access_key_is_rejected(estimate: EstimateFreightRequest) -> None:
    stranger = Credentials("someone-else", DEMO_CREDENTIALS.access_secret)
    async with connect("memory", credentials=stranger) as (client, _):
        with pytest.raises(AuthenticationError) as info:
            await client.logistics.estimate_freight(estimate)
    assert info.value.code == 401


async def test_a_stale_timestamp_is_rejected(mode: str, estimate: EstimateFreightRequest) -> None:
    signer = DefaultSigner(clock=lambda: time.time() - 3600)
    async with connect(mode, signer=signer) as (client, _):
        with pytest.raises(AuthenticationError) as info:
            await client.logistics.estimate_freight(estimate)
    assert info.value.code == 403


async def test_timestamps_in_seconds_are_accepted_when_configured(
    estimate: EstimateFreightRequest,
) -> None:
    sandbox = Sandbox(timestamp_unit="s")
    async with connect("memory", sandbox, signer=DefaultSigner(timestamp_unit="s")) as (client, _):
        result = await client.logistics.estimate_freight(estimate)
    assert result.freight_options
    async with connect("memory", sandbox) as (client, _):
        with pytest.raises(AuthenticationError) as info:
            await client.logistics.estimate_freight(estimate)
    assert info.value.code == 403


async def test_query_signed_endpoints_need_the_query_to_repeat_the_headers() -> None:
    sandbox = Sandbox()
    headers = signed_headers(sandbox.credentials)
    response = await sandbox.handle(Request("POST", f"http://x/api{ESTIMATE_PATH}", headers, b"{}"))
    doc = json.loads(response.body)
    assert doc["errorCode"] == 401
    assert "query" in doc["errorMsg"]


async def test_a_replayed_nonce_is_rejected(examples_dir: Path) -> None:
    sandbox = Sandbox()
    body = (examples_dir / "logistics/itemLogisticsPrice.request.json").read_bytes()
    headers = signed_headers(sandbox.credentials)
    url = f"http://x/api{ESTIMATE_PATH}{query_for(headers)}"
    first = json.loads((await sandbox.handle(Request("POST", url, headers, body))).body)
    second = json.loads((await sandbox.handle(Request("POST", url, headers, body))).body)
    assert first["success"] is True
    assert second["errorCode"] == 401
    assert "nonce" in second["errorMsg"]


# -- the HTTP server -----------------------------------------------------------------------


async def test_the_docs_example_signed_by_hand_is_accepted_over_http(examples_dir: Path) -> None:
    body = (examples_dir / "logistics/itemLogisticsPrice.request.json").read_bytes()
    async with serve(port=0) as running, aiohttp.ClientSession() as session:
        creds = running.credentials
        ts = str(int(time.time() * 1000))
        nonce = "N0nceN0nceN0nceN0nceN0nceN0nce12"
        sig = signature(creds.access_key, ts, nonce, creds.access_secret)
        headers = {
            "Content-Type": "application/json",
            "access-key": creds.access_key,
            "timestamp": ts,
            "nonce-str": nonce,
            "signature": sig,
        }
        url = f"{running.base_url}{ESTIMATE_PATH}"
        async with session.post(
            url, params={"timestamp": ts, "sign": sig}, data=body, headers=headers
        ) as resp:
            status = resp.status
            doc = await resp.json()
            request_id = resp.headers.get("x-request-id")
    assert running.base_url.startswith("http://127.0.0.1:") and running.base_url.endswith("/api")
    assert running.port > 0
    assert status == 200
    assert doc["success"] is True and doc["errorCode"] == 200 and doc["errorMsg"] is None
    assert doc["data"]["itemId"] == "2048232789087639"
    assert {o["serviceId"] for o in doc["data"]["freightOptions"]} >= {"1", "2"}
    assert request_id is not None and len(request_id) == 32


async def test_stats_are_served_over_http(booking: BookingRequest) -> None:
    async with serve(port=0) as running:
        async with XportcnClient(running.credentials, base_url=running.base_url) as client:
            request = await preview(client, booking)
            await client.logistics.book(request)
            await client.logistics.book(request)
        async with aiohttp.ClientSession() as session, session.get(running.stats_url) as resp:
            stats = await resp.json()
    assert stats["requests_total"] == 3
    assert stats["requests_by_status"] == {"200": 3}
    assert stats["requests_by_operation"] == {"logistics.book": 2, "logistics.preview_freight": 1}
    assert stats["bookings"] == 1
    assert stats["duplicate_booking_attempts"] == 1
    assert stats["bookings_by_render_id"] == {request.render_id: 2}


async def test_unknown_paths_answer_a_404_envelope(mode: str) -> None:
    async with connect(mode) as (client, sandbox):
        with pytest.raises(NotFoundError):
            await client.call("/open/nothing/here", {})
        with pytest.raises(NotFoundError):
            await client.call(
                "/open/pp/logistics/nothing",
                {},
                auth=Signing.HEADERS_AND_QUERY,
                envelope=EnvelopeStyle.LOGISTICS,
            )
    assert sandbox.stats.requests_by_operation == {"(unknown path)": 2}


async def test_a_served_path_with_get_answers_405() -> None:
    async with (
        serve(port=0) as running,
        aiohttp.ClientSession() as session,
        session.get(running.base_url + ESTIMATE_PATH) as resp,
    ):
        doc = await resp.json()
    assert doc["errorCode"] == 405


async def test_every_operation_with_a_handler_is_routed() -> None:
    sandbox = Sandbox()
    served = {route.endpoint.name for route in sandbox.routes.values()}
    assert served == set(HANDLERS)
    assert {
        "logistics.book",
        "logistics.preview_freight",
        "logistics.estimate_freight",
        "logistics.update_domestic_logistics",
        "addresses.list",
        "addresses.save",
    } <= served


async def test_in_process_base_urls_without_api_prefix_are_routed(
    estimate: EstimateFreightRequest,
) -> None:
    sandbox = Sandbox()
    transport = InMemoryTransport(sandbox.handle)
    async with XportcnClient(
        sandbox.credentials, base_url="https://sandbox.invalid", transport=transport
    ) as client:
        result = await client.logistics.estimate_freight(estimate)
    assert result.item_id == estimate.item_id


# -- faults and latency --------------------------------------------------------------------


async def test_unavailable_is_retried_and_changes_nothing(
    mode: str, booking: BookingRequest
) -> None:
    sandbox = Sandbox(faults=Faults(unavailable=0.5), seed=7)
    async with connect(mode, sandbox, retry=PATIENT) as (client, _):
        for _ in range(10):
            await preview(client, booking)
    stats = sandbox.stats
    assert stats.faults_by_kind["unavailable"] > 0
    assert stats.requests_by_status[503] == stats.faults_by_kind["unavailable"]
    assert stats.renders == 10
    assert stats.requests_total == 10 + stats.faults_by_kind["unavailable"]


async def test_rate_limits_carry_retry_after(mode: str, estimate: EstimateFreightRequest) -> None:
    sandbox = Sandbox(faults=Faults(rate_limit=1.0, retry_after=0.25))
    async with connect(mode, sandbox) as (client, _):
        with pytest.raises(RateLimitError) as info:
            await client.logistics.estimate_freight(estimate)
    assert info.value.http_status == 429
    assert info.value.retry_after == 0.25


async def test_rate_limited_bookings_are_retried_without_double_booking(
    booking: BookingRequest,
) -> None:
    faults = Faults(rate_limit=0.5, retry_after=0.001, operations={"logistics.book"})
    async with connect("memory", Sandbox(faults=faults, seed=3), retry=PATIENT) as (client, sb):
        for _ in range(5):
            await client.logistics.book(await preview(client, booking))
    assert sb.stats.faults_by_kind["rate_limit"] > 0
    assert sb.stats.bookings == 5
    assert sb.stats.duplicate_booking_attempts == 0


@pytest.mark.parametrize(
    ("kind", "cause"),
    [
        ("drop_after", ConnectionDroppedError),
        ("server_error_after", ServerError),
        ("malformed", MalformedResponseError),
    ],
)
async def test_faults_after_processing_leave_the_booking_made_and_its_outcome_unknown(
    mode: str, booking: BookingRequest, kind: str, cause: type[Exception]
) -> None:
    faults = Faults(**{kind: 1.0}, operations={"logistics.book"})
    async with connect(mode, Sandbox(faults=faults), retry=PATIENT) as (client, sandbox):
        request = await preview(client, booking)
        with pytest.raises(OutcomeUnknownError) as info:
            await client.logistics.book(request)
    assert isinstance(info.value.cause, cause)
    assert str(request.render_id) in sandbox.state.bookings
    assert sandbox.stats.booking_attempts == 1
    assert sandbox.stats.faults_by_kind == {kind: 1}


async def test_a_dropped_connection_over_http_is_quiet(
    booking: BookingRequest, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    faults = Faults(drop_after=1.0, operations={"logistics.book"})
    async with connect("http", Sandbox(faults=faults)) as (client, _):
        request = await preview(client, booking)
        for _ in range(3):
            with pytest.raises(OutcomeUnknownError):
                await client.logistics.book(request)
        await preview(client, booking)  # the pool recovers
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert loud == []


async def test_a_dropped_connection_in_process_raises_connection_dropped() -> None:
    sandbox = Sandbox(faults=Faults(drop_after=1.0))
    headers = signed_headers(sandbox.credentials)
    with pytest.raises(ConnectionDroppedError):
        await sandbox.handle(Request("POST", "http://x/api/open/address/list", headers, b"{}"))
    assert sandbox.stats.faults_by_kind == {"drop_after": 1}


async def test_a_slow_reply_times_the_client_out_after_the_booking_was_made(
    mode: str, booking: BookingRequest
) -> None:
    faults = Faults(slow=1.0, slow_seconds=30.0, operations={"logistics.book"})
    async with connect(mode, Sandbox(faults=faults), timeout=0.2) as (client, sandbox):
        request = await preview(client, booking)
        with pytest.raises(OutcomeUnknownError) as info:
            await client.logistics.book(request)
    assert isinstance(info.value.cause, RequestTimeoutError)
    assert str(request.render_id) in sandbox.state.bookings


async def test_slow_idempotent_calls_time_out(mode: str, estimate: EstimateFreightRequest) -> None:
    faults = Faults(slow=1.0, slow_seconds=30.0)
    async with connect(mode, Sandbox(faults=faults), timeout=Timeout(total=0.2)) as (client, _):
        with pytest.raises(RequestTimeoutError):
            await client.logistics.estimate_freight(estimate)


async def test_faults_are_limited_to_the_operations_named(
    mode: str, booking: BookingRequest
) -> None:
    faults = Faults(server_error_after=1.0, operations={"logistics.book"})
    async with connect(mode, Sandbox(faults=faults)) as (client, sandbox):
        request = await preview(client, booking)  # not faulted
        with pytest.raises(OutcomeUnknownError):
            await client.logistics.book(request)
    assert sandbox.stats.faults_by_kind == {"server_error_after": 1}


async def test_latency_delays_without_changing_answers(
    mode: str, estimate: EstimateFreightRequest
) -> None:
    latency = Latency(0.001, jitter=0.002, distribution="exponential")
    async with connect(mode, Sandbox(latency=latency)) as (client, _):
        result = await client.logistics.estimate_freight(estimate)
    assert len(result.freight_options) == 3


def test_fault_draws_are_reproducible_with_a_seed() -> None:
    import random

    faults = Faults(unavailable=0.2, drop_after=0.2, slow=0.1)
    draws = [
        [faults.draw(rng, "logistics.book") for _ in range(200)]
        for rng in (random.Random(5), random.Random(5))
    ]
    assert draws[0] == draws[1]
    assert {FaultKind.UNAVAILABLE, FaultKind.DROP_AFTER, FaultKind.SLOW, None} == set(draws[0])


def test_latency_distributions() -> None:
    import random

    rng = random.Random(1)
    uniform = [Latency(0.05, jitter=0.01).draw(rng) for _ in range(500)]
    exponential = [
        Latency(0.05, jitter=0.01, distribution="exponential").draw(rng) for _ in range(500)
    ]
    assert all(0.04 <= d <= 0.06 for d in uniform)
    assert all(d >= 0.05 for d in exponential)
    assert Latency(0.05).draw(rng) == 0.05
    assert Latency(0.001, jitter=0.5).draw(rng) >= 0.0


def test_invalid_faults_are_refused() -> None:
    with pytest.raises(ValueError, match="add up"):
        Faults(unavailable=0.6, drop_after=0.6)
    with pytest.raises(ValueError):
        Faults(slow=1.5)
    with pytest.raises(ValueError, match="unknown operation"):
        Faults(drop_after=0.1, operations={"logistics.bok"})
    with pytest.raises(ValueError):
        Latency(-1.0)


# -- registry and state --------------------------------------------------------------------


def test_operations_must_exist_in_the_endpoint_table_and_have_one_handler() -> None:
    with pytest.raises(ValueError, match="unknown operation"):
        operation("logistics.nothing")
    with pytest.raises(ValueError, match="already has a handler"):
        operation("logistics.book")(lambda state, body: None)


def test_namespaces_are_created_once() -> None:
    state = SandboxState()
    first = state.namespace("ka", dict)
    first["x"] = 1
    assert state.namespace("ka", dict) is first


# -- command line --------------------------------------------------------------------------


def test_fault_options_parse_with_and_without_a_prefix() -> None:
    parser = argparse.ArgumentParser()
    add_fault_arguments(parser, prefix="sandbox-")
    args = parser.parse_args(
        [
            "--sandbox-fault-drop",
            "0.1",
            "--sandbox-fault-operations",
            "logistics.book",
            "--sandbox-latency",
            "0.01",
            "--sandbox-latency-jitter",
            "0.005",
        ]
    )
    assert faults_from_args(args) == Faults(drop_after=0.1, operations={"logistics.book"})
    assert latency_from_args(args) == Latency(0.01, jitter=0.005)

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--fault-slow", "0.5", "--slow-seconds", "2", "--port", "0"])
    assert faults_from_args(args) == Faults(slow=0.5, slow_seconds=2.0)
    assert latency_from_args(args) is None
    assert faults_from_args(parser.parse_args([])) is None


async def test_the_printed_curl_command_is_accepted() -> None:
    async with serve(port=0) as running, aiohttp.ClientSession() as session:
        words = shlex.split(curl_example(running.base_url, running.credentials).replace("\\\n", ""))
        url = next(w for w in words if w.startswith("http://"))
        headers = dict(words[i + 1].split(": ", 1) for i, w in enumerate(words) if w == "-H")
        body = words[words.index("--data-binary") + 1].encode()
        async with session.post(url, headers=headers, data=body) as resp:
            doc = await resp.json()
    assert doc["success"] is True, doc


async def test_python_m_sandbox_serves_until_terminated(
    tmp_path: Path, estimate: EstimateFreightRequest
) -> None:
    ready = tmp_path / "ready"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "xportcn_async.sandbox",
        "--port",
        "0",
        "--ready-file",
        str(ready),
        "--access-key",
        "bench-key",
        "--access-secret",
        "bench-secret",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        for _ in range(200):
            if ready.exists() or proc.returncode is not None:
                break
            await asyncio.sleep(0.05)
        base_url = ready.read_text().strip()
        creds = Credentials("bench-key", "bench-secret", DEMO_CREDENTIALS.user_id)
        async with XportcnClient(creds, base_url=base_url) as client:
            result = await client.logistics.estimate_freight(estimate)
        assert result.freight_options
    finally:
        if proc.returncode is None:
            proc.terminate()
        stdout, stderr = await proc.communicate()
    assert proc.returncode == 0, stderr.decode()
    out = stdout.decode()
    assert base_url in out
    assert "bench-secret" in out  # the sandbox prints its own credentials, on purpose
    assert "curl" in out
    assert not ready.exists()
