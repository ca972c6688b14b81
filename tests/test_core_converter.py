"""Models and the converter: the documented examples round-trip exactly, money stays exact,
unknown fields survive, and bad requests are reported field by field."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import xportcn_async
from xportcn_async import (
    Address,
    Booking,
    BookingRequest,
    Credentials,
    EstimateFreightRequest,
    FieldError,
    FreightInfo,
    InMemoryTransport,
    LineItem,
    Money,
    PreviewFreightRequest,
    ReceiverAddress,
    Request,
    Response,
    UpdateDomesticLogisticsRequest,
    ValidationError,
    XportcnClient,
    from_wire,
    to_wire,
    validate,
)
from xportcn_async.converter import camel
from xportcn_async.models import ProductDetailsRequest, QualityInspection

REQUEST_EXAMPLES = [
    ("logistics/itemLogisticsPrice.request.json", EstimateFreightRequest),
    ("logistics/orderRenderFreight.request.json", PreviewFreightRequest),
    ("logistics/orderBookingFreight.request.json", BookingRequest),
    ("logistics/updateLogisticInfo.request.json", UpdateDomesticLogisticsRequest),
    ("basics/addOrUpdate.request.json", Address),
]


def load(examples_dir: Path, name: str) -> Any:
    return json.loads((examples_dir / name).read_text(encoding="utf-8"))


def no_floats(value: Any) -> bool:
    if isinstance(value, float):
        return False
    if isinstance(value, dict):
        return all(no_floats(v) for v in value.values())
    if isinstance(value, list):
        return all(no_floats(v) for v in value)
    return True


# -- exact round trips -------------------------------------------------------------------


def test_every_logistics_request_example_has_a_model(examples_dir: Path) -> None:
    covered = {name for name, _ in REQUEST_EXAMPLES}
    on_disk = {f"logistics/{p.name}" for p in (examples_dir / "logistics").glob("*.request.json")}
    assert on_disk <= covered, f"request examples without a round-trip test: {on_disk - covered}"


@pytest.mark.parametrize(("name", "model"), REQUEST_EXAMPLES, ids=[n for n, _ in REQUEST_EXAMPLES])
def test_request_examples_round_trip_exactly(
    examples_dir: Path, name: str, model: type[Any]
) -> None:
    text = (examples_dir / name).read_text(encoding="utf-8")
    wire = json.loads(text)
    obj = from_wire(wire, model)
    assert isinstance(obj, model)
    back = to_wire(obj)
    assert back == wire
    # Key order and formatting too: the same bytes as the documented example.
    assert json.dumps(back, ensure_ascii=False, indent=4) == text.strip()


def test_booking_request_fields_have_python_names(examples_dir: Path) -> None:
    req = from_wire(
        load(examples_dir, "logistics/orderBookingFreight.request.json"), BookingRequest
    )
    assert req.render_id == "FF2024080200007"
    # tmallOrderInfo.tmallOrderId is flattened onto the request.
    assert req.tmall_order_id == "123123444"
    assert req.receiver_address.country == "US"
    assert req.receiver_address.mobile_phone == "5083326888"
    assert [li.quantity for li in req.line_items] == [1, 2]
    assert req.line_items[0].title == "这是商品1"
    assert req.line_items[1].freight_info == FreightInfo(
        service_id="2", company_name="", service_category=""
    )
    assert req.remark is None


def test_a_booking_request_built_in_python_serialises_to_the_wire_shape() -> None:
    req = BookingRequest(
        render_id="R1",
        tmall_order_id="T1",
        receiver_address=ReceiverAddress(country="US", tax_id="TX"),
        line_items=[
            LineItem(item_id="i", sku_id="s", quantity=2, price=Decimal("9.90"), image_url="u")
        ],
        remark="fragile",
    )
    assert to_wire(req) == {
        "renderId": "R1",
        "tmallOrderInfo": {"tmallOrderId": "T1"},
        "receiverAddress": {"country": "US", "taxId": "TX"},
        "lineItems": [
            {"itemId": "i", "skuId": "s", "quantity": 2, "imageUrl": "u", "price": "9.90"}
        ],
        "remark": "fragile",
    }


def test_update_domestic_logistics_uses_the_misspelled_wire_names(examples_dir: Path) -> None:
    req = from_wire(
        load(examples_dir, "logistics/updateLogisticInfo.request.json"),
        UpdateDomesticLogisticsRequest,
    )
    assert req.order_id == "21"
    assert req.tmall_order_id == "12345667"
    first = req.shipments[0]
    assert first.tracking_number == "FARJP2408000013YQ"
    assert first.line_item.image_url == "url"
    assert [s.tracking_number for s in first.domestic_shipments] == [
        "SF1234521212678",
        "YT122323345678",
    ]
    assert first.domestic_shipments[0].company_name == "顺丰"
    assert first.domestic_shipments[0].rts_time == "1754342534"


def test_address_example_round_trips_with_id_zero(examples_dir: Path) -> None:
    addr = from_wire(load(examples_dir, "basics/addOrUpdate.request.json"), Address)
    assert addr.id == 0
    assert to_wire(addr)["id"] == 0


# -- the booking response ----------------------------------------------------------------


def test_booking_response_example_becomes_a_typed_booking(examples_dir: Path) -> None:
    doc = load(examples_dir, "logistics/orderBookingFreight.response.json")
    booking = from_wire(doc["data"], Booking)
    assert booking.order_id == "21"
    assert booking.order_fee is not None
    assert booking.order_fee.amount == Decimal("322.92")
    assert isinstance(booking.order_fee.amount, Decimal)
    assert booking.order_fee.currency == "USD"
    assert len(booking.sub_orders) == 2
    first = booking.sub_orders[0]
    assert first.international_logistics is not None
    # logisticNumer (sic) on the wire, tracking_number in Python.
    assert first.international_logistics.tracking_number == "FARJP2408000013YQ"
    assert first.international_logistics.company_name == "UCS"
    assert first.international_logistics.logistics_type == "UCS"
    assert first.international_logistics.tracking_url is not None
    assert first.items[0].item_id == "2048020617114736"
    assert first.items[0].title == "这是商品1"
    assert booking.tracking_numbers == ["FARJP2408000013YQ", "FARJP2408000014YQ"]


def test_booking_response_round_trips_and_money_stays_a_string(examples_dir: Path) -> None:
    data = load(examples_dir, "logistics/orderBookingFreight.response.json")["data"]
    back = to_wire(from_wire(data, Booking))
    assert back == data
    assert back["orderFee"]["amount"] == "322.92"
    assert back["subOrders"][0]["internationalLogisticInfos"]["logisticNumer"] == (
        "FARJP2408000013YQ"
    )


@pytest.mark.parametrize("amount", ["322.92", "1.10", "0.00", "100", "12345678901234567890.01"])
def test_money_amounts_keep_their_exact_string_form(amount: str) -> None:
    money = from_wire({"amount": amount, "currency": "USD"}, Money)
    assert money.amount == Decimal(amount)
    assert to_wire(money) == {"amount": amount, "currency": "USD"}


def test_money_is_never_a_float() -> None:
    money = from_wire({"amount": 0.1, "currency": "USD"}, Money)
    assert isinstance(money.amount, Decimal)
    assert money.amount == Decimal("0.1")  # not 0.1000000000000000055511151231257827...
    wire = to_wire(LineItem(item_id="i", sku_id="s", quantity=1, price=Decimal("19.99")))
    assert wire["price"] == "19.99"
    assert no_floats(wire)
    assert json.loads(json.dumps(wire))["price"] == "19.99"


@pytest.mark.parametrize("bad", ["abc", True, None, [1]])
def test_an_unreadable_amount_is_a_validation_error(bad: Any) -> None:
    with pytest.raises(ValidationError) as info:
        from_wire({"amount": bad}, Money)
    assert [e.path for e in info.value.errors] == ["amount"]


# -- unknown fields ----------------------------------------------------------------------


def test_unknown_fields_are_kept_at_every_level_and_written_back(examples_dir: Path) -> None:
    data = load(examples_dir, "logistics/orderBookingFreight.response.json")["data"]
    data["warehouse"] = {"code": "NB-01", "open": True}
    data["orderFee"]["exchangeRate"] = "7.21"
    sub = data["subOrders"][1]
    sub["status"] = "SHIPPED"
    sub["itemInfos"][0]["weightGrams"] = 350
    sub["internationalLogisticInfos"]["eta"] = "7-12"
    original = copy.deepcopy(data)

    booking = from_wire(data, Booking)
    assert booking.extras == {"warehouse": {"code": "NB-01", "open": True}}
    assert booking.order_fee is not None
    assert booking.order_fee.extras == {"exchangeRate": "7.21"}
    second = booking.sub_orders[1]
    assert second.extras == {"status": "SHIPPED"}
    assert second.items[0].extras == {"weightGrams": 350}
    assert second.international_logistics is not None
    assert second.international_logistics.extras == {"eta": "7-12"}
    # Known fields are not duplicated into extras.
    assert booking.sub_orders[0].extras == {}
    assert "orderId" not in booking.extras

    assert to_wire(booking) == original
    assert data == original  # the input was not modified


def test_unknown_request_fields_survive_a_round_trip(examples_dir: Path) -> None:
    wire = load(examples_dir, "logistics/orderBookingFreight.request.json")
    wire["lineItems"][1]["giftWrap"] = True
    wire["receiverAddress"]["district"] = "LA"
    req = from_wire(wire, BookingRequest)
    assert req.line_items[1].extras == {"giftWrap": True}
    assert req.receiver_address.extras == {"district": "LA"}
    back = to_wire(req)
    assert back["lineItems"][1]["giftWrap"] is True
    assert back["receiverAddress"]["district"] == "LA"


# -- validation --------------------------------------------------------------------------


def booking_wire(examples_dir: Path) -> dict[str, Any]:
    result: dict[str, Any] = load(examples_dir, "logistics/orderBookingFreight.request.json")
    return result


def paths(error: ValidationError) -> list[str]:
    return [e.path for e in error.errors]


def test_validation_error_and_field_error_are_public() -> None:
    assert xportcn_async.ValidationError is ValidationError
    err = ValidationError("thing", [FieldError("a[0].b", "bad")])
    assert err.errors == (FieldError("a[0].b", "bad"),)
    assert "a[0].b" in str(err)


def test_valid_example_passes_validation(examples_dir: Path) -> None:
    validate(from_wire(booking_wire(examples_dir), BookingRequest))


def test_missing_required_field_is_reported_by_its_python_name(examples_dir: Path) -> None:
    wire = booking_wire(examples_dir)
    del wire["tmallOrderInfo"]
    del wire["lineItems"][0]["skuId"]
    with pytest.raises(ValidationError) as info:
        from_wire(wire, BookingRequest)
    assert set(paths(info.value)) == {"tmall_order_id", "line_items[0].sku_id"}
    assert all(e.message for e in info.value.errors)


def test_wrongly_typed_field_is_reported_with_its_path(examples_dir: Path) -> None:
    wire = booking_wire(examples_dir)
    wire["lineItems"][1]["quantity"] = "two"
    with pytest.raises(ValidationError) as info:
        from_wire(wire, BookingRequest)
    assert paths(info.value) == ["line_items[1].quantity"]


@pytest.mark.parametrize("quantity", [0, -1])
def test_non_positive_quantity_is_rejected(examples_dir: Path, quantity: int) -> None:
    wire = booking_wire(examples_dir)
    wire["lineItems"][1]["quantity"] = quantity
    req = from_wire(wire, BookingRequest)
    with pytest.raises(ValidationError) as info:
        validate(req)
    assert paths(info.value) == ["line_items[1].quantity"]
    assert "positive" in info.value.errors[0].message


def test_empty_line_items_are_rejected(examples_dir: Path) -> None:
    wire = booking_wire(examples_dir)
    wire["lineItems"] = []
    with pytest.raises(ValidationError) as info:
        validate(from_wire(wire, BookingRequest))
    assert paths(info.value) == ["line_items"]


@pytest.mark.parametrize("country", ["USA", "us", "U", ""])
def test_country_must_be_an_alpha_2_code(examples_dir: Path, country: str) -> None:
    wire = booking_wire(examples_dir)
    wire["receiverAddress"]["country"] = country
    with pytest.raises(ValidationError) as info:
        validate(from_wire(wire, BookingRequest))
    assert paths(info.value) == ["receiver_address.country"]


def test_every_problem_is_reported_at_once(examples_dir: Path) -> None:
    wire = booking_wire(examples_dir)
    wire["receiverAddress"]["country"] = "USA"
    wire["lineItems"][0]["itemId"] = ""
    wire["lineItems"][1]["quantity"] = 0
    with pytest.raises(ValidationError) as info:
        validate(from_wire(wire, BookingRequest))
    assert sorted(paths(info.value)) == [
        "line_items[0].item_id",
        "line_items[1].quantity",
        "receiver_address.country",
    ]


def test_models_built_in_python_are_validated_too() -> None:
    req = EstimateFreightRequest(
        item_id="i",
        sku_id="s",
        quantity=0,
        receiver_address=ReceiverAddress(country="GBR"),
        price=Decimal("-1"),
    )
    with pytest.raises(ValidationError) as info:
        validate(req)
    assert sorted(paths(info.value)) == ["price", "quantity", "receiver_address.country"]


@pytest.mark.parametrize("bad", [[1, 2], "a string", None, 42])
def test_from_wire_rejects_a_non_object_with_a_validation_error(bad: Any) -> None:
    # Wire data comes from outside: whatever its shape, the caller gets the SDK's error.
    with pytest.raises(ValidationError):
        from_wire(bad, BookingRequest)


def test_nested_non_object_is_a_validation_error_with_its_path(examples_dir: Path) -> None:
    wire = booking_wire(examples_dir)
    wire["lineItems"][0] = "not an object"
    with pytest.raises(ValidationError) as info:
        from_wire(wire, BookingRequest)
    assert paths(info.value) == ["line_items[0]"]


async def test_client_validates_before_sending(examples_dir: Path) -> None:
    wire = booking_wire(examples_dir)
    wire["lineItems"][1]["quantity"] = 0
    req = from_wire(wire, BookingRequest)
    transport = InMemoryTransport()
    async with XportcnClient(xportcn_async.Credentials("ak", "sk"), transport=transport) as client:
        with pytest.raises(ValidationError) as info:
            await client.logistics.book(req)
        with pytest.raises(ValidationError):
            await client.logistics.preview_freight(
                PreviewFreightRequest(receiver_address=ReceiverAddress(), render_items=[])
            )
    assert paths(info.value) == ["line_items[1].quantity"]
    assert transport.calls == []


async def test_booking_without_render_id_is_rejected_before_sending(examples_dir: Path) -> None:
    wire = booking_wire(examples_dir)
    del wire["renderId"]
    req = from_wire(wire, BookingRequest)
    assert req.render_id is None
    transport = InMemoryTransport()
    async with XportcnClient(xportcn_async.Credentials("ak", "sk"), transport=transport) as client:
        with pytest.raises(ValidationError) as info:
            await client.logistics.book(req)
    assert paths(info.value) == ["render_id"]
    assert transport.calls == []


# -- required fields, null and non-finite values ---------------------------------------------


def test_required_fields_set_to_none_are_reported_as_required() -> None:
    req = BookingRequest(
        render_id="R-1",
        tmall_order_id=None,  # type: ignore[arg-type]
        receiver_address=None,  # type: ignore[arg-type]
        line_items=[
            LineItem(item_id=None, sku_id="s", quantity=None),  # type: ignore[arg-type]
        ],
    )
    with pytest.raises(ValidationError) as info:
        validate(req)
    assert [str(e) for e in info.value.errors] == [
        "tmall_order_id: required",
        "receiver_address: required",
        "line_items[0].item_id: required",
        "line_items[0].quantity: required",
    ]


def test_a_null_entry_in_a_list_of_models_is_reported() -> None:
    req = BookingRequest(
        render_id="R-1",
        tmall_order_id="T-1",
        receiver_address=ReceiverAddress(),
        line_items=[LineItem(item_id="i", sku_id="s", quantity=1), None],  # type: ignore[list-item]
    )
    with pytest.raises(ValidationError) as info:
        validate(req)
    assert [str(e) for e in info.value.errors] == ["line_items[1]: must not be null"]


def test_optional_fields_may_be_none() -> None:
    validate(LineItem(item_id="i", sku_id="s", quantity=1, price=None, title=None))


def test_a_missing_model_field_is_written_as_null_instead_of_crashing() -> None:
    req = BookingRequest(
        render_id="R-1",
        tmall_order_id="T-1",
        receiver_address=None,  # type: ignore[arg-type]
        line_items=[LineItem(item_id="i", sku_id="s", quantity=1)],
    )
    assert to_wire(req)["receiverAddress"] is None


async def test_the_client_rejects_required_none_fields_before_sending() -> None:
    req = BookingRequest(
        render_id="R-1",
        tmall_order_id="T-1",
        receiver_address=None,  # type: ignore[arg-type]
        line_items=[LineItem(item_id="i", sku_id="s", quantity=1)],
    )
    transport = InMemoryTransport()
    async with XportcnClient(xportcn_async.Credentials("ak", "sk"), transport=transport) as client:
        with pytest.raises(ValidationError) as info:
            await client.logistics.book(req)
    assert paths(info.value) == ["receiver_address"]
    assert transport.calls == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "expected a string, got null"),
        ({"id": 1}, "expected a string, got an object"),
        (["1"], "expected a string, got a list"),
        (True, "expected a string, got a boolean"),
    ],
)
def test_a_string_field_refuses_null_objects_and_lists(
    examples_dir: Path, value: Any, message: str
) -> None:
    wire = booking_wire(examples_dir)
    wire["lineItems"][0]["itemId"] = value
    with pytest.raises(ValidationError) as info:
        from_wire(wire, BookingRequest)
    assert [str(e) for e in info.value.errors] == [f"line_items[0].item_id: {message}"]


def test_a_numeric_id_is_still_accepted_as_a_string(examples_dir: Path) -> None:
    wire = booking_wire(examples_dir)
    wire["lineItems"][0]["itemId"] = 2048020617114736
    req = from_wire(wire, BookingRequest)
    assert req.line_items[0].item_id == "2048020617114736"


def test_an_optional_string_field_still_accepts_null(examples_dir: Path) -> None:
    wire = booking_wire(examples_dir)
    wire["lineItems"][0]["title"] = None
    assert from_wire(wire, BookingRequest).line_items[0].title is None


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity", "sNaN", float("nan")])
def test_a_non_finite_amount_is_a_validation_error(bad: Any) -> None:
    with pytest.raises(ValidationError) as info:
        from_wire({"amount": bad, "currency": "USD"}, Money)
    assert paths(info.value) == ["amount"]
    assert "finite" in info.value.errors[0].message


@pytest.mark.parametrize(
    "price", [Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-Infinity")]
)
def test_a_non_finite_price_is_a_field_error_not_a_decimal_exception(price: Decimal) -> None:
    req = BookingRequest(
        render_id="R-1",
        tmall_order_id="T-1",
        receiver_address=ReceiverAddress(),
        line_items=[LineItem(item_id="i", sku_id="s", quantity=1, price=price)],
    )
    with pytest.raises(ValidationError) as info:
        validate(req)
    assert [e.path for e in info.value.errors] == ["line_items[0].price"]
    assert "must be a finite number" in info.value.errors[0].message


def test_a_non_finite_amount_without_a_check_is_reported_too() -> None:
    with pytest.raises(ValidationError) as info:
        validate(Money(amount=Decimal("NaN"), currency="USD"))
    assert [str(e) for e in info.value.errors] == [
        "amount: must be a finite number, got Decimal('NaN')"
    ]


# -- strict numbers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (2.7, "2.7"),
        (True, "a boolean"),
        (False, "a boolean"),
        ("1_000", "'1_000'"),
        ("²", "'²'"),
        (" 7", "' 7'"),
        ("7 ", "'7 '"),
        ("١٢", "'١٢'"),
        ("-3", "'-3'"),
        ("7.0", "'7.0'"),
        (float("inf"), "inf"),
        (float("nan"), "nan"),
        ("9" * 5000, "'" + "9" * 40 + "...'"),
        ({"n": 1}, "an object"),
    ],
)
def test_an_integer_field_refuses_what_is_not_an_integer(
    examples_dir: Path, value: Any, shown: str
) -> None:
    # Once: 2.7 booked as 2, true as 1, "1_000" as 1000, "²" raised a bare ValueError.
    wire = booking_wire(examples_dir)
    wire["lineItems"][1]["quantity"] = value
    with pytest.raises(ValidationError) as info:
        from_wire(wire, BookingRequest)
    assert [str(e) for e in info.value.errors] == [
        f"line_items[1].quantity: expected an integer, got {shown}"
    ]


@pytest.mark.parametrize(("value", "expected"), [(7, 7), (2.0, 2), ("7", 7), ("0012", 12)])
def test_an_integer_field_takes_integers_integral_numbers_and_digit_strings(
    examples_dir: Path, value: Any, expected: int
) -> None:
    wire = booking_wire(examples_dir)
    wire["lineItems"][1]["quantity"] = value
    quantity = from_wire(wire, BookingRequest).line_items[1].quantity
    assert quantity == expected and type(quantity) is int


@pytest.mark.parametrize("value", ["1_000", " 7", "7 ", "١٢", "1e3", "0x10", "²", "", "1.", True])
def test_a_decimal_amount_must_be_a_plain_decimal(value: Any) -> None:
    with pytest.raises(ValidationError) as info:
        from_wire({"amount": value, "currency": "USD"}, Money)
    assert paths(info.value) == ["amount"]


@pytest.mark.parametrize(
    ("value", "expected"), [("322.92", "322.92"), ("-1.50", "-1.50"), (7, "7")]
)
def test_plain_decimal_amounts_keep_their_exact_form(value: Any, expected: str) -> None:
    money = from_wire({"amount": value, "currency": "USD"}, Money)
    assert str(money.amount) == expected
    assert to_wire(money)["amount"] == expected


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        (2.7, "must be an integer, got 2.7"),
        (True, "must be an integer, got a boolean"),
        ("3", "must be an integer, got '3'"),
    ],
)
def test_a_request_built_in_python_with_a_non_integer_quantity_is_refused(
    quantity: Any, message: str
) -> None:
    item = LineItem(item_id="i", sku_id="s", quantity=quantity)
    with pytest.raises(ValidationError) as info:
        validate(item)
    assert [str(e) for e in info.value.errors] == [f"quantity: {message}"]


# -- lists come from JSON arrays only -----------------------------------------------------------


@pytest.mark.parametrize("value", ["123", "", {"1": 2}, 7, None])
@pytest.mark.parametrize(
    ("model", "path"),
    [
        (ProductDetailsRequest, "offer_ids"),  # list[int]
        (BookingRequest, "line_items"),  # a request's list of models
        (Booking, "sub_orders"),  # a reply's list of models
    ],
)
def test_a_list_field_takes_a_json_array_only(
    examples_dir: Path, model: type, path: str, value: Any
) -> None:
    # Once: "123" became the offer ids [1, 2, 3], and an object the list of its keys.
    wire = {
        ProductDetailsRequest: {},
        BookingRequest: booking_wire(examples_dir),
        Booking: {"orderId": "1"},
    }[model]
    with pytest.raises(ValidationError) as info:
        from_wire({**wire, camel(path): value}, model)
    assert paths(info.value) == [path]
    assert info.value.errors[0].message.startswith("expected a list, got")


def test_a_list_field_still_takes_arrays_and_an_optional_one_null() -> None:
    assert from_wire({"offerIds": [1, "2"]}, ProductDetailsRequest).offer_ids == [1, 2]
    assert from_wire({"images": None}, QualityInspection).images is None
    assert from_wire({"images": ["a.jpg"]}, QualityInspection).images == ["a.jpg"]


async def test_a_reply_with_a_string_for_a_list_keeps_it_in_extras_instead_of_splitting_it() -> (
    None
):
    # Replies are tolerant: a field that does not fit keeps its default and its raw value
    # stays in extras. Once: images "abc" became ["a", "b", "c"].
    async def handler(request: Request) -> Response:
        return Response.json({"code": 200, "data": {"offerId": 1, "images": "abc"}})

    client = XportcnClient(
        Credentials("ak", "sk", "user"), transport=InMemoryTransport(handler, record=False)
    )
    async with client:
        detail = await client.products.detail(1)
    assert detail.images == []
    assert detail.extras == {"images": "abc"}
