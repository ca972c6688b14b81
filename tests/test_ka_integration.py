"""Products, orders, IM and wms through the real aiohttp transport against the sandbox on
127.0.0.1 (and a few in-process checks of what goes on the wire)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from xportcn_async import (
    ConflictError,
    Credentials,
    InMemoryTransport,
    NotFoundError,
    OutcomeUnknownError,
    RequestEvent,
    Response,
    SearchQuery,
    ValidationError,
    XportcnClient,
    from_wire,
    to_wire,
)
from xportcn_async.models import (
    CreateOrderRequest,
    OrderAddress,
    OrderItem,
    OrderPreviewRequest,
    OrderStatus,
    PackageForecastRequest,
    PackageInboundRequest,
    PackageUpdateRequest,
    PayStatus,
    QualityInspection,
    SearchFilter,
    SearchFilters,
    SearchSort,
)
from xportcn_async.resources import PreviewRejectedError
from xportcn_async.sandbox import Faults, RunningSandbox, Sandbox, serve
from xportcn_async.sandbox import ka as sandbox_ka  # registers the KA handlers

DOCS_OFFER = 889512351602
DOCS_SPEC = "530ad00177264564503ec3b848650652"
ADDRESS = OrderAddress(
    full_name="Forwarder Warehouse",
    mobile="13567102355",
    province="浙江省",
    city="金华市",
    area="义乌市",
    address="福田街道 1 号",
    district_code="330782",
)


@pytest.fixture
async def running() -> AsyncIterator[RunningSandbox]:
    async with serve(port=0) as running:
        yield running


@pytest.fixture
async def client(running: RunningSandbox) -> AsyncIterator[XportcnClient]:
    async with XportcnClient(running.credentials, base_url=running.base_url) as client:
        yield client


def _out_of_stock() -> tuple[int, str]:
    for product in sandbox_ka.catalogue().values():
        for sku in product.skus:
            if sku.stock == 0 and product.min_order_quantity == 1:
                return product.offer_id, sku.spec_id
    raise AssertionError("the catalogue has no out-of-stock SKU")


def _order(*items: OrderItem, out_order_id: str | None = None) -> CreateOrderRequest:
    return CreateOrderRequest(address=ADDRESS, items=list(items), out_order_id=out_order_id)


# -- products ------------------------------------------------------------------------------


async def test_keyword_search_with_filters_and_sort(client: XportcnClient) -> None:
    page = await client.products.search("t-shirt", page_size=10, sort=("price", "asc"))
    assert page.request_id and page.current_page == 1 and page.page_size == 10
    assert page.total_records == 24 and page.total_pages == 3 and len(page) == 10
    prices = [p.price_info.price for p in page if p.price_info and p.price_info.price]
    assert len(prices) == 10 and prices == sorted(prices)
    assert all("T-shirt" in (p.subject_translated or "") for p in page)
    assert prices[0].yuan == Decimal(int(prices[0])) / 100  # fen as the integer, yuan exact

    filtered = await client.products.search(
        "t-shirt", page_size=50, filters={SearchFilter.SHIP_IN_TODAY, "someFutureToken"}
    )
    assert 0 < len(filtered) < 24
    cheap = await client.products.search("t-shirt", page_size=50, max_price="20.00")
    assert all(p.price_info and p.price_info.price and p.price_info.price <= 2000 for p in cheap)


async def test_a_search_query_is_one_value_for_every_search_method(client: XportcnClient) -> None:
    query = SearchQuery(sort=("price", "asc"), max_price="20.00", filters="shipInToday")
    assert query.sort == SearchSort("price", "asc") and query.max_price == Decimal("20.00")
    assert query.filters == SearchFilters.of(SearchFilter.SHIP_IN_TODAY)
    by_query = await client.products.search("t-shirt", query, page_size=50)
    by_keywords = await client.products.search(
        "t-shirt", page_size=50, sort=("price", "asc"), max_price="20.00", filters="shipInToday"
    )
    offers = [p.offer_id for p in by_query]
    assert offers and offers == [p.offer_id for p in by_keywords]
    walked = [p.offer_id async for p in client.products.iter_search("t-shirt", query, page_size=3)]
    assert walked == offers
    # keywords win over the query's fields
    dearer = await client.products.search("t-shirt", query, page_size=50, max_price=None)
    assert len(dearer) > len(by_query)
    by_image = await client.products.image_search("https://example.com/a.jpg", query)
    assert [
        p.offer_id
        async for p in client.products.iter_image_search(
            "https://example.com/a.jpg", query, page_size=2
        )
    ] == [p.offer_id for p in by_image]
    with pytest.raises(ValidationError, match="sort"):
        SearchQuery(sort=("price", "sideways"))
    with pytest.raises(ValidationError, match="price"):
        SearchQuery(min_price="cheap")


async def test_iter_search_walks_every_page_then_stops(client: XportcnClient) -> None:
    requests: list[RequestEvent] = []
    counting = XportcnClient(
        client.credentials, base_url=client.base_url, on_request=requests.append
    )
    async with counting:
        offers = [p.offer_id async for p in counting.products.iter_search("t-shirt", page_size=7)]
    assert len(offers) == 24 and len(set(offers)) == 24
    assert len(requests) == 4  # 7 + 7 + 7 + 3: the short page is the last one


async def test_iter_search_limits(client: XportcnClient, running: RunningSandbox) -> None:
    before = running.sandbox.stats.requests_by_operation.get("products.search", 0)
    first = [p async for p in client.products.iter_search("t-shirt", page_size=5, max_items=7)]
    used = running.sandbox.stats.requests_by_operation["products.search"] - before
    assert len(first) == 7 and used == 2  # no page is fetched beyond the limit
    pages = [p async for p in client.products.iter_search("t-shirt", page_size=5, max_pages=2)]
    assert len(pages) == 10
    before = running.sandbox.stats.requests_by_operation["products.search"]
    exact = [p async for p in client.products.iter_search("t-shirt", page_size=8)]
    used = running.sandbox.stats.requests_by_operation["products.search"] - before
    assert len(exact) == 24 and used == 3  # 3 full pages: totalPage says the third is last
    nothing = [p async for p in client.products.iter_search("no-such-thing", page_size=5)]
    assert nothing == []
    assert [p async for p in client.products.iter_search("t-shirt", max_items=0)] == []
    with pytest.raises(ValidationError, match="start_page"):
        client.products.iter_search("t-shirt", start_page=0)


async def test_detail_multi_detail_category_freight(client: XportcnClient) -> None:
    detail = await client.products.detail(DOCS_OFFER)
    assert detail.offer_id == DOCS_OFFER and detail.subject and detail.request_id
    sku = detail.sku(DOCS_SPEC)
    assert sku is not None and sku.price == 2900 and sku.attributes
    assert detail.price_ranges[0].price == 2900

    many = await client.products.detail_multi([DOCS_OFFER, 706627393257])
    assert [p.offer_id for p in many] == [DOCS_OFFER, 706627393257]

    root = await client.products.category()
    assert root.category_id == 0 and len(root.children) == 6
    leaf = await client.products.category(root.children[0].category_id or 0)
    assert leaf.parent_id == 0 and leaf.children and leaf.children[0].is_leaf

    freight = await client.products.freight_estimate(DOCS_OFFER, 2, to_province_code="330000")
    assert freight.offer_id == DOCS_OFFER and freight.freight == 600
    remote = await client.products.freight_estimate(DOCS_OFFER, 2, to_province_code="650000")
    assert remote.freight is not None and freight.freight is not None
    assert remote.freight > freight.freight

    with pytest.raises(NotFoundError):
        await client.products.detail(123)


async def test_pool_pages(client: XportcnClient) -> None:
    page = await client.products.pool(page_size=50)
    assert page.total_records == 90
    everything = [p.offer_id async for p in client.products.iter_pool(page_size=50)]
    assert len(everything) == 90 and len(set(everything)) == 90


async def test_image_search_from_url_bytes_and_file(client: XportcnClient, tmp_path: Path) -> None:
    by_url = await client.products.image_search("https://example.com/shoe.jpg", page_size=5)
    assert len(by_url) == 5 and by_url.total_records
    image = b"\x89PNG\r\n\x1a\n sandbox image"
    path = tmp_path / "shoe.png"
    path.write_bytes(image)
    by_bytes = await client.products.image_search(image, page_size=5)
    by_path = await client.products.image_search(path, page_size=5)
    by_str_path = await client.products.image_search(str(path), page_size=5)
    assert [p.offer_id for p in by_bytes] == [p.offer_id for p in by_path]
    assert [p.offer_id for p in by_path] == [p.offer_id for p in by_str_path]
    items = [p async for p in client.products.iter_image_search(path, page_size=20)]
    assert len(items) == by_path.total_records
    with pytest.raises(ValidationError, match="cannot read"):
        await client.products.image_search(tmp_path / "missing.png")
    with pytest.raises(ValidationError, match="empty"):
        await client.products.image_search(b"")


async def test_image_bytes_go_on_the_wire_base64_encoded() -> None:
    sandbox = Sandbox()
    transport = InMemoryTransport(sandbox.handle)
    async with XportcnClient(
        sandbox.credentials, base_url="http://127.0.0.1/api", transport=transport
    ) as client:
        await client.products.image_search(b"\x00\x01binary\xff", page_size=3, region="1,2,3,4")
    body = json.loads(transport.calls[0].body)
    assert base64.b64decode(body["imageBase64"]) == b"\x00\x01binary\xff"
    assert "imageAddress" not in body and body["region"] == "1,2,3,4"


# -- orders --------------------------------------------------------------------------------


async def test_the_docs_preview_example_answers_the_docs_preview(
    client: XportcnClient, examples_dir: Path
) -> None:
    request = from_wire(
        json.loads((examples_dir / "ka/order-create-preview.request.json").read_text("utf-8")),
        OrderPreviewRequest,
    )
    preview = await client.orders.preview(request)
    expected = json.loads(
        (examples_dir / "ka/order-create-preview.response.json").read_text("utf-8")
    )["data"]
    assert to_wire(preview.orders) == expected
    assert preview.request_id


async def test_preview_and_create_then_pay_moves_the_order_along(
    client: XportcnClient, running: RunningSandbox
) -> None:
    placed = await client.orders.preview_and_create(
        _order(OrderItem(offer_id=DOCS_OFFER, spec_id=DOCS_SPEC, quantity=2), out_order_id="A-1")
    )
    assert placed.preview.total_amount == 6561
    assert placed.order.total_amount == placed.preview.total_amount
    assert placed.order_id is not None
    order = await client.orders.detail(placed.order_id)
    assert order.status is OrderStatus.WAITING_FOR_PAYMENT and order.pay_status is PayStatus.UNPAID
    assert order.out_order_id == "A-1" and order.lines[0].quantity == 2
    assert order.created_at is not None and order.paid_at is None

    payment = await client.orders.pay(placed.order_id)
    assert payment.order_id == placed.order_id and payment.pay_url
    paid = await client.orders.detail(placed.order_id)
    assert paid.status is OrderStatus.WAITING_FOR_SENT and paid.pay_status is PayStatus.PAID
    assert paid.paid_at is not None
    assert len(await client.orders.logistics(placed.order_id)) == 0  # not shipped yet

    sandbox_ka.ka_state(running.sandbox).ship_order(placed.order_id)
    shipped = await client.orders.detail(placed.order_id)
    assert shipped.status == "WAITING_FOR_RECEIVE" and shipped.status is not None
    assert not shipped.status.is_known  # a status the docs do not list is kept, not refused
    parcels = await client.orders.logistics(placed.order_id)
    assert len(parcels) == 1 and parcels.parcels[0].tracking_number
    assert parcels.parcels[0].items[0].quantity == 2


async def test_create_replays_an_out_order_id_and_refuses_a_different_cart(
    client: XportcnClient,
) -> None:
    line = OrderItem(offer_id=DOCS_OFFER, spec_id=DOCS_SPEC, quantity=1)
    first = await client.orders.create(_order(line, out_order_id="B-1"))
    again = await client.orders.create(_order(line, out_order_id="B-1"))
    assert first.order_id == again.order_id
    with pytest.raises(ConflictError):
        await client.orders.create(
            _order(
                OrderItem(offer_id=DOCS_OFFER, spec_id=DOCS_SPEC, quantity=3), out_order_id="B-1"
            )
        )


async def test_preview_and_create_refuses_a_line_with_a_message(
    client: XportcnClient, running: RunningSandbox
) -> None:
    offer_id, spec_id = _out_of_stock()
    request = _order(
        OrderItem(offer_id=DOCS_OFFER, spec_id=DOCS_SPEC, quantity=1),
        OrderItem(offer_id=offer_id, spec_id=spec_id, quantity=1),
    )
    with pytest.raises(PreviewRejectedError) as info:
        await client.orders.preview_and_create(request)
    error = info.value
    assert [where for where, _ in error.problems] == [
        f"items[1] (offer {offer_id}, spec {spec_id})"
    ]
    assert "out of stock" in str(error) and f"items[1] (offer {offer_id}" in str(error)
    assert error.request_id == error.preview.request_id and error.request_id
    assert sandbox_ka.ka_state(running.sandbox).orders == {}  # nothing was created


async def test_order_list_pages_and_filters(client: XportcnClient) -> None:
    line = OrderItem(offer_id=DOCS_OFFER, spec_id=DOCS_SPEC, quantity=1)
    ids = [(await client.orders.create(_order(line))).order_id for _ in range(5)]
    assert ids[0] is not None
    await client.orders.pay(ids[0])
    listed = [o.order_id async for o in client.orders.iter_list(page_size=2)]
    assert listed == list(reversed(ids))  # newest first, across three pages
    unpaid = await client.orders.list(status=OrderStatus.WAITING_FOR_PAYMENT)
    assert unpaid.total_records == 4 and ids[0] not in [o.order_id for o in unpaid]
    limited = [o async for o in client.orders.iter_list(page_size=2, max_items=3)]
    assert len(limited) == 3


async def test_a_create_that_may_have_happened_is_not_retried() -> None:
    sandbox = Sandbox(faults=Faults(drop_after=1.0, operations={"orders.create"}))
    async with (
        serve(sandbox=sandbox) as running,
        XportcnClient(running.credentials, base_url=running.base_url) as client,
    ):
        with pytest.raises(OutcomeUnknownError):
            await client.orders.create(
                _order(OrderItem(offer_id=DOCS_OFFER, spec_id=DOCS_SPEC, quantity=1))
            )
    assert running.sandbox.stats.requests_by_operation["orders.create"] == 1
    assert len(sandbox_ka.ka_state(sandbox).orders) == 1


# -- IM and wms ------------------------------------------------------------------------------


async def test_decrypt_open_uid(client: XportcnClient) -> None:
    product = sandbox_ka.catalogue()[DOCS_OFFER]
    contact = await client.im.decrypt_open_uid(product.seller.open_uid, DOCS_OFFER)
    assert contact.nickname == product.seller.nickname and contact.im_url
    detail = await client.products.detail(DOCS_OFFER)
    assert detail.seller_open_id == product.seller.open_uid
    other = await client.im.decrypt_open_uid("BBBJ82cNui3EUaxxMi_7Go73g", "951807530375")
    assert other.nickname and other.request_id


async def test_wms_forecast_inbound_update(client: XportcnClient, examples_dir: Path) -> None:
    forecast = await client.wms.forecast(
        PackageForecastRequest(
            out_order_id="205569999****",
            tracking_number="YT7565691026776",
            carrier="圆通速递",
        )
    )
    assert forecast.status == "FORECAST" and forecast.package_id
    with pytest.raises(ConflictError):
        await client.wms.forecast(
            PackageForecastRequest(out_order_id="205569999****", tracking_number="X")
        )
    inbound_request = from_wire(
        json.loads((examples_dir / "wms/package-inbound.request.json").read_text("utf-8")),
        PackageInboundRequest,
    )
    inbound = await client.wms.inbound(inbound_request)
    assert inbound.package_id == forecast.package_id and inbound.status == "INBOUND"
    assert inbound.inspection == inbound_request.inspection  # "34" came back as "34"
    assert inbound.carrier == "圆通速递"
    updated = await client.wms.update(
        PackageUpdateRequest(
            out_order_id="205569999****",
            remark="re-weighed",
            inspection=QualityInspection(status="质检通过", weight=0.45),
        )
    )
    assert updated.remark == "re-weighed" and updated.inspection is not None
    assert updated.inspection.weight == 0.45 and updated.tracking_number == "YT7565691026776"
    with pytest.raises(NotFoundError):
        await client.wms.update(PackageUpdateRequest(out_order_id="unknown"))


# -- a server that answers another shape -----------------------------------------------------


def _envelope(data: Any) -> Response:
    return Response.json(
        {
            "requestId": "r-1",
            "code": 200,
            "developId": 1023561483696472887,
            "msg": "ok",
            "data": data,
        }
    )


async def test_results_of_another_shape_still_decode_through_the_client() -> None:
    transport = InMemoryTransport(
        script=[
            _envelope("3305000000000000009"),
            _envelope({"orderId": 9, "payUrl": None, "alipayTradeNo": "T-1"}),
            _envelope({"records": [{"id": 1}], "total": 1}),
            _envelope(True),
        ]
    )
    async with XportcnClient(
        Credentials("ak-test", "sk-test"), base_url="https://xportcn.test/api", transport=transport
    ) as client:
        created = await client.orders.create(
            _order(OrderItem(offer_id=DOCS_OFFER, spec_id=DOCS_SPEC, quantity=1))
        )
        assert created.extras == {"data": "3305000000000000009"} and created.request_id == "r-1"
        payment = await client.orders.pay("9")
        assert payment.order_id == "9" and payment.extras == {"alipayTradeNo": "T-1"}
        page = await client.orders.list()
        assert page.orders == [] and page.extras == {"records": [{"id": 1}], "total": 1}
        contact = await client.im.decrypt_open_uid("u", 1)
        assert contact.nickname is None and contact.extras == {"data": True}


@pytest.mark.parametrize(
    ("preview_data", "problem"),
    [
        ([{"sumPayment": 100, "orderItemTOList": "not a list"}], "could not be read"),
        ([], "could not be read"),
        (
            [{"orderItemTOList": [{"offerId": 1, "specId": "other", "message": None}]}],
            "not in the preview",
        ),
        (
            [{"orderItemTOList": [{"offerId": DOCS_OFFER, "message": {"code": "SKU_OFF"}}]}],
            "SKU_OFF",
        ),
    ],
)
async def test_preview_and_create_refuses_a_preview_it_cannot_trust(
    preview_data: Any, problem: str
) -> None:
    transport = InMemoryTransport(script=[_envelope(preview_data)])
    async with XportcnClient(
        Credentials("ak-test", "sk-test"), base_url="https://xportcn.test/api", transport=transport
    ) as client:
        with pytest.raises(PreviewRejectedError, match=problem):
            await client.orders.preview_and_create(
                _order(OrderItem(offer_id=DOCS_OFFER, spec_id=DOCS_SPEC, quantity=1))
            )
    assert len(transport.calls) == 1  # the preview only: create was never sent
