"""KA and wms models: the docs' examples round-trip byte for byte; fen, open enums, filters
and sort behave; results of an unexpected shape still decode, keeping everything."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from xportcn_async import ValidationError, from_wire, to_wire, validate
from xportcn_async._core.codec import read_result as read_reply
from xportcn_async.endpoints import ENDPOINTS
from xportcn_async.envelope import Envelope
from xportcn_async.models import (
    CreatedOrder,
    DecryptOpenUidRequest,
    Fen,
    ImageSearchRequest,
    Order,
    OrderAddress,
    OrderDetailRequest,
    OrderItem,
    OrderPreview,
    OrderPreviewRequest,
    OrderStatus,
    PackageInboundRequest,
    PayStatus,
    ProductDetail,
    ProductDetailRequest,
    ProductPage,
    ProductSearchRequest,
    SearchFilter,
    SearchFilters,
    SearchSort,
    WmsPackage,
)
from xportcn_async.wire import read_result

REQUEST_EXAMPLES = [
    ("ka/keywords-query.request.json", ProductSearchRequest),
    ("ka/image-query.request.json", ImageSearchRequest),
    ("ka/product-detail.request.json", ProductDetailRequest),
    ("ka/order-create-preview.request.json", OrderPreviewRequest),
    ("ka/order-detail.request.json", OrderDetailRequest),
    ("ka/im-openuid-decrypt.request.json", DecryptOpenUidRequest),
    ("wms/package-inbound.request.json", PackageInboundRequest),
]


def _dump_like(raw: str, value: Any) -> str:
    """``value`` serialised in the example's own layout (indented or compact)."""
    if raw.lstrip().startswith("{\n"):
        return json.dumps(value, ensure_ascii=False, indent=4)
    if '", "' in raw or '": ' in raw:
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@pytest.mark.parametrize(("name", "cls"), REQUEST_EXAMPLES, ids=[n for n, _ in REQUEST_EXAMPLES])
def test_request_examples_round_trip_byte_for_byte(
    examples_dir: Path, name: str, cls: type[Any]
) -> None:
    raw = (examples_dir / name).read_text(encoding="utf-8")
    wire = json.loads(raw)
    model = from_wire(wire, cls)
    assert to_wire(model) == wire
    assert _dump_like(raw, to_wire(model)) == raw.strip()


def test_preview_response_example_round_trips_with_its_null_message(examples_dir: Path) -> None:
    raw = (examples_dir / "ka/order-create-preview.response.json").read_text(encoding="utf-8")
    data = json.loads(raw)["data"]
    preview = from_wire({"orders": data}, OrderPreview)
    assert to_wire(preview.orders) == data
    assert json.dumps(to_wire(preview.orders)) == json.dumps(data)  # key order, null kept
    seller = preview.orders[0]
    assert (seller.goods_amount, seller.shipping_fee, seller.payment_amount) == (5800, 600, 6400)
    assert seller.total_amount == 6561 and seller.total_amount.yuan == Decimal("65.61")
    line = seller.lines[0]
    assert line.unit_price == 2900 and line.amount == 5800 and line.message is None
    assert line.sku_id == 5736673805656 and line.offer_id == 889512351602
    assert preview.total_amount == Fen(6561) and preview.problems == []


def test_example_quirks_keep_their_wire_form(examples_dir: Path) -> None:
    preview = from_wire(
        json.loads((examples_dir / "ka/order-create-preview.request.json").read_text("utf-8")),
        OrderPreviewRequest,
    )
    quantity = preview.items[0].quantity
    assert quantity == 2.0 and isinstance(quantity, float)
    inbound = from_wire(
        json.loads((examples_dir / "wms/package-inbound.request.json").read_text("utf-8")),
        PackageInboundRequest,
    )
    assert inbound.inspection is not None
    assert inbound.inspection.width == "34"
    assert inbound.inspection.length == 23 and isinstance(inbound.inspection.length, int)
    assert inbound.inspection.weight == 0.4
    wire = to_wire(inbound)
    assert wire["out_order_id"] == "205569999****"
    assert wire["quality_inspection_info"]["failed_remark"] == "白色领口有污点"
    im = from_wire(
        json.loads((examples_dir / "ka/im-openuid-decrypt.request.json").read_text("utf-8")),
        DecryptOpenUidRequest,
    )
    detail = from_wire(
        json.loads((examples_dir / "ka/product-detail.request.json").read_text("utf-8")),
        ProductDetailRequest,
    )
    assert im.offer_id == "951807530375" and detail.offer_id == 706627393257


def test_an_integer_quantity_stays_an_integer() -> None:
    assert to_wire(OrderItem(offer_id=1, spec_id="s", quantity=3))["quantity"] == 3
    assert json.dumps(to_wire(OrderItem(offer_id=1, quantity=2.0))) == (
        '{"offerId": 1, "quantity": 2.0}'
    )


# -- fen ---------------------------------------------------------------------------------


def test_fen_is_the_wire_integer_with_exact_yuan() -> None:
    amount = Fen(6561)
    assert amount == 6561 and isinstance(amount, int)
    assert amount.yuan == Decimal("65.61") and str(amount.yuan) == "65.61"
    assert Fen(6400).yuan == Decimal("64.00")
    assert Fen(5).yuan == Decimal("0.05")
    assert Fen.from_yuan("65.61") == 6561 and Fen.from_yuan(Decimal("0.1")) == 10
    assert json.dumps({"a": Fen(6561)}) == '{"a": 6561}'
    assert repr(amount) == "Fen(6561)" and str(amount) == "6561"
    with pytest.raises(ValueError, match="whole number of fen"):
        Fen.from_yuan("0.001")


def test_a_fen_field_does_not_guess_at_a_yuan_string() -> None:
    page = from_wire(
        {"data": [{"offerId": 1, "priceInfo": {"price": "12.50", "consignPrice": 1300}}]},
        ProductPage,
    )
    info = page.items[0].price_info
    assert info is not None
    assert info.price is None and info.extras == {"price": "12.50"}
    assert info.consign_price == 1300
    assert to_wire(page)["data"][0]["priceInfo"] == {"price": "12.50", "consignPrice": 1300}


# -- open enums, filters, sort -------------------------------------------------------------


def test_order_status_keeps_unknown_values() -> None:
    assert OrderStatus("WAITING_FOR_SENT") is OrderStatus.WAITING_FOR_SENT
    assert OrderStatus.CANCEL.is_known
    shipped = OrderStatus("WAITING_FOR_RECEIVE")
    assert shipped == "WAITING_FOR_RECEIVE" and not shipped.is_known
    assert str(shipped) == "WAITING_FOR_RECEIVE"
    order = from_wire({"orderId": "1", "orderStatus": "SOMETHING_NEW", "payStatus": 7}, Order)
    assert order.status == "SOMETHING_NEW" and order.status is not None
    assert not order.status.is_known
    assert order.pay_status == 7 and order.pay_status is not None
    assert not order.pay_status.is_known
    assert PayStatus(2) is PayStatus.PAID
    wire = to_wire(order)
    assert (wire["orderStatus"], wire["payStatus"]) == ("SOMETHING_NEW", 7)
    assert type(wire["orderStatus"]) is str and type(wire["payStatus"]) is int


def test_search_filters_are_typed_tokens_that_accept_unknown_strings() -> None:
    filters = SearchFilters.of(SearchFilter.SHIP_IN_TODAY, "ksCiphertext", "shipInToday")
    assert filters.to_wire() == "shipInToday,ksCiphertext"
    assert filters[0] is SearchFilter.SHIP_IN_TODAY and not filters[1].is_known
    assert SearchFilters.coerce({"new7", "certifiedFactory"}).to_wire() == "certifiedFactory,new7"
    assert SearchFilters.coerce("new30, totalEpScoreLv4") == (
        SearchFilter.NEW_30,
        SearchFilter.TOTAL_EP_SCORE_LV4,
    )


def test_sort_is_a_field_and_a_direction_sent_as_a_json_string() -> None:
    request = ProductSearchRequest(keyword="t-shirt", sort=SearchSort.ascending("price"))
    assert to_wire(request)["sort"] == '{"price":"asc"}'
    assert SearchSort.coerce(("monthSold", "desc")).to_wire() == '{"monthSold":"desc"}'
    assert SearchSort.parse('{"price":"desc"}') == SearchSort("price", "desc")
    with pytest.raises(ValueError, match="asc"):
        SearchSort("price", "down")
    with pytest.raises(ValueError):
        SearchSort.parse("price desc")


# -- validation ----------------------------------------------------------------------------


def test_requests_are_validated_before_sending() -> None:
    with pytest.raises(ValidationError) as info:
        validate(ProductSearchRequest(keyword=" ", page=0))
    assert {e.path for e in info.value.errors} == {"keyword", "page"}
    preview = OrderPreviewRequest(
        address=OrderAddress(full_name="Warehouse", address="1 Road"),
        items=[OrderItem(offer_id=1, quantity=0)],
    )
    with pytest.raises(ValidationError) as info:
        validate(preview)
    assert [e.path for e in info.value.errors] == ["items[0].quantity"]


# -- results of an unexpected shape --------------------------------------------------------


def test_an_unexpected_result_shape_never_fails_and_loses_nothing() -> None:
    weird = {
        "orderId": 3305,  # a number where a string was inferred: converted
        "orderStatus": ["not", "a", "string"],
        "totalAmount": "100.00",
        "tbCreateTime": "yesterday",
        "productItems": {"unexpected": "object"},
        "brandNewField": {"nested": True},
    }
    order = read_result(Order, weird, request_id="rid")
    assert order.order_id == "3305"
    assert order.status is None and order.total_amount is None and order.created_at is None
    assert order.lines == []
    assert order.extras == {
        "orderStatus": ["not", "a", "string"],
        "totalAmount": "100.00",
        "tbCreateTime": "yesterday",
        "productItems": {"unexpected": "object"},
        "brandNewField": {"nested": True},
    }
    assert order.request_id == "rid"
    assert to_wire(order) == {**weird, "orderId": "3305"}


@pytest.mark.parametrize("data", ["3305000000000000001", 42, True, ["a", 1]])
def test_a_result_that_is_not_an_object_is_kept_whole(data: Any) -> None:
    created = read_result(CreatedOrder, data, request_id="rid")
    assert created.order_id is None and created.extras == {"data": data}
    assert created.request_id == "rid"


def test_a_list_result_decodes_into_its_wrapper_and_an_object_one_too() -> None:
    preview = ENDPOINTS["orders.preview"]
    assert preview.data_key == "orders"
    from_list = read_reply(preview, Envelope([{"sumPayment": 1}]))
    assert from_list.orders[0].payment_amount == 1
    from_object = read_reply(preview, Envelope({"list": [{"sumPayment": 1}]}))
    assert from_object.orders == [] and from_object.extras == {"list": [{"sumPayment": 1}]}
    assert read_reply(preview, Envelope(None)).orders == []


def test_a_bad_nested_item_keeps_the_whole_list_reachable() -> None:
    detail = from_wire(
        {"offerId": 1, "productSkuInfos": [{"skuId": 2, "price": 100}, "garbage"]}, ProductDetail
    )
    assert detail.offer_id == 1 and detail.skus == []
    assert detail.extras["productSkuInfos"][0] == {"skuId": 2, "price": 100}


def test_wms_results_use_snake_case_names() -> None:
    package = from_wire(
        {"package_id": "WP1", "out_order_id": "o", "logistics_tracking_number": "T", "x": 1},
        WmsPackage,
    )
    assert package.package_id == "WP1" and package.tracking_number == "T"
    assert package.extras == {"x": 1}


# -- strict numbers --------------------------------------------------------------------------


def _preview_wire(examples_dir: Path) -> Any:
    return json.loads((examples_dir / "ka/order-create-preview.request.json").read_text("utf-8"))


@pytest.mark.parametrize("quantity", [2.7, True, "2", "2.0", float("inf"), None])
def test_an_order_quantity_must_be_a_whole_number(examples_dir: Path, quantity: Any) -> None:
    wire = _preview_wire(examples_dir)
    wire["cargoParamList"][0]["quantity"] = quantity
    with pytest.raises(ValidationError) as info:
        from_wire(wire, OrderPreviewRequest)
    assert [e.path for e in info.value.errors] == ["items[0].quantity"]


@pytest.mark.parametrize("quantity", [2, 2.0, 3.0])
def test_an_integral_order_quantity_keeps_its_form(examples_dir: Path, quantity: Any) -> None:
    wire = _preview_wire(examples_dir)
    wire["cargoParamList"][0]["quantity"] = quantity
    back = to_wire(from_wire(wire, OrderPreviewRequest))["cargoParamList"][0]["quantity"]
    assert back == quantity and type(back) is type(quantity)


@pytest.mark.parametrize("quantity", [2.5, True])
def test_an_order_quantity_built_in_python_must_be_whole(quantity: Any) -> None:
    with pytest.raises(ValidationError, match=r"items\[0\]\.quantity: must be an integer"):
        validate(
            OrderPreviewRequest(
                address=OrderAddress(full_name="n", mobile="1", address="a"),
                items=[OrderItem(offer_id=1, quantity=quantity)],
            )
        )
    validate(OrderItem(offer_id=1, quantity=2.0))


@pytest.mark.parametrize("offer_id", [True, 1.5, "1_000", "²", " 7"])
def test_a_numeric_id_refuses_booleans_fractions_and_odd_strings(
    examples_dir: Path, offer_id: Any
) -> None:
    wire = _preview_wire(examples_dir)
    wire["cargoParamList"][0]["offerId"] = offer_id
    with pytest.raises(ValidationError) as info:
        from_wire(wire, OrderPreviewRequest)
    assert [e.path for e in info.value.errors] == ["items[0].offer_id"]


@pytest.mark.parametrize("value", [True, "1_000", " 34", "34cm", float("nan"), [34]])
def test_a_wms_size_is_a_number_or_a_plain_decimal_string(examples_dir: Path, value: Any) -> None:
    wire = json.loads((examples_dir / "wms/package-inbound.request.json").read_text("utf-8"))
    wire["quality_inspection_info"]["width"] = value
    inspection = from_wire(wire, PackageInboundRequest).inspection
    assert inspection is not None
    # A tolerant model: the value is not read as a size, and is kept, as sent, in extras.
    assert inspection.width is None
    assert inspection.extras == {"width": value}
    wire["quality_inspection_info"]["width"] = 1.5
    assert from_wire(wire, PackageInboundRequest).inspection.width == 1.5  # type: ignore[union-attr]


@pytest.mark.parametrize("value", [True, "2", 2.0])
def test_a_pay_status_is_never_read_from_a_boolean(value: Any) -> None:
    from xportcn_async.webhooks.messages import OrderEvent

    event = from_wire({"orderId": "1", "payStatus": value}, OrderEvent)
    if value is True:  # once PayStatus.UNPAID (True == 1); a tolerant model keeps it aside
        assert event.pay_status is None and event.extras == {"payStatus": True}
    else:
        assert event.pay_status is PayStatus.PAID


@pytest.mark.parametrize("value", ["false", 0, 1, "true"])
def test_a_boolean_field_takes_only_json_booleans(value: Any) -> None:
    detail = from_wire({"offerId": 1, "freePostage": value}, ProductDetail)
    assert detail.free_shipping is None  # once True for "false"
    assert detail.extras == {"freePostage": value}
    assert from_wire({"freePostage": False}, ProductDetail).free_shipping is False
