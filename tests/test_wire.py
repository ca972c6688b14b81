"""The wire package: one converter that knows every model without being told, and the
request id set from the envelope, never read from the data."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import attrs
import pytest

import xportcn_async
from xportcn_async import models, wire
from xportcn_async.models import Booking, CreatedOrder, Order, OrderPreview, OrderStatus
from xportcn_async.webhooks import messages


def _model_classes() -> list[type[Any]]:
    return [
        cls
        for module in (models, messages)
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if attrs.has(cls)
    ]


MODELS = _model_classes()


def test_a_fresh_converter_knows_every_model_and_its_marks() -> None:
    """No hook depends on a model module having been imported first: a converter built now
    reads every model exactly like the SDK's, tolerance included."""
    fresh = wire.make_converter()
    assert len(MODELS) > 60
    for cls in MODELS:
        if not wire.is_tolerant(cls):
            continue
        # every tolerant model sets a misfit aside, by the fresh converter as by the shared one
        odd = {name: {"unexpected": [object.__name__]} for name in _wire_names(cls)}
        assert fresh.structure(odd, cls) == wire.converter.structure(odd, cls), cls
        assert fresh.structure(odd, cls).extras, cls  # set aside, not a failure


def test_a_fresh_converter_reads_the_documented_replies_like_the_shared_one(
    examples_dir: Path,
) -> None:
    fresh = wire.make_converter()
    for name, cls in (
        ("logistics/orderBookingFreight.response.json", Booking),
        ("ka/order-create-preview.response.json", OrderPreview),
    ):
        data = json.loads((examples_dir / name).read_text())["data"]
        data = data if isinstance(data, dict) else {"orders": data}
        read = fresh.structure(data, cls)
        assert read == wire.converter.structure(data, cls)
        assert fresh.unstructure(read) == wire.to_wire(read)


def test_the_special_types_are_known_to_a_fresh_converter() -> None:
    fresh = wire.make_converter()
    order = fresh.structure(
        {
            "orderStatus": "SOMETHING_NEW",
            "totalAmount": 6561,
            "tbCreateTime": "2026-05-20 15:40:00",
        },
        Order,
    )
    assert type(order.total_amount) is wire.Fen and str(order.total_amount.yuan) == "65.61"
    assert order.status == "SOMETHING_NEW" and not OrderStatus(order.status).is_known
    assert order.created_at is not None and order.created_at.utcoffset() is not None
    assert fresh.unstructure(order)["tbCreateTime"] == "2026-05-20 15:40:00"


def test_declaring_a_model_registers_nothing() -> None:
    """A model declared after the converter was built is known to it at once, strict or
    tolerant: the converter recognises models, they do not register themselves."""

    @attrs.frozen(kw_only=True)
    class Later:
        amount: wire.Fen | None = wire.wire_field(default=None)
        extras: dict[str, Any] = wire.extras_field()
        request_id: str | None = wire.request_id_field()

    Tolerant = wire.tolerant(
        attrs.frozen(kw_only=True)(
            type(
                "Tolerant",
                (),
                {
                    "__annotations__": {"amount": "int | None", "extras": "dict[str, Any]"},
                    "amount": wire.wire_field(default=None),
                    "extras": wire.extras_field(),
                    "__module__": __name__,
                },
            )
        )
    )
    with pytest.raises(xportcn_async.ValidationError):
        wire.from_wire({"amount": "12.50"}, Later)
    assert wire.from_wire({"amount": "12.50"}, Tolerant).extras == {"amount": "12.50"}
    assert wire.is_tolerant(Tolerant) and not wire.is_tolerant(Later)


def test_tolerance_is_checked_when_a_model_is_declared() -> None:
    @attrs.frozen
    class NoExtras:
        name: str | None = None

    @attrs.frozen
    class Required:
        name: str
        extras: dict[str, Any] = wire.extras_field()

    with pytest.raises(TypeError, match="extras"):
        wire.tolerant(NoExtras)
    with pytest.raises(TypeError, match="defaults"):
        wire.tolerant(Required)


def test_the_request_id_comes_from_the_envelope_never_from_the_data(examples_dir: Path) -> None:
    data = json.loads((examples_dir / "logistics/orderBookingFreight.response.json").read_text())
    reply = data["data"]
    booking = wire.read_result(Booking, reply, request_id="rid-1")
    assert booking.request_id == "rid-1"
    assert wire.read_result(Booking, reply, request_id=None).request_id is None
    assert booking.request_id == "rid-1"  # each read is a new model
    assert "requestId" not in wire.to_wire(booking)
    # A key in the data, however named, does not set it (the client once passed the id
    # under a NUL-prefixed key in the data dict).
    hostile = {**reply, "\x00requestId": "from-the-server", "requestId": "also"}
    assert wire.from_wire(hostile, Booking).request_id is None
    assert wire.read_result(Booking, hostile, request_id="rid-2").request_id == "rid-2"
    assert reply == data["data"]  # the wire dict is read, not changed


def test_a_tolerant_result_gets_its_request_id_whatever_its_shape() -> None:
    for data in ({"orderId": 1}, {"orderId": ["bad"]}, "3305", None):
        created = wire.read_result(CreatedOrder, data, request_id="rid")
        assert created.request_id == "rid"


def test_the_old_homes_still_import() -> None:
    from xportcn_async.converter import converter, from_wire, to_wire, validate, wire_field
    from xportcn_async.models.ka import Fen, OrderStatus, SearchFilters, is_tolerant, tolerant

    assert converter is wire.converter and from_wire is wire.from_wire
    assert to_wire is xportcn_async.to_wire and validate is xportcn_async.validate
    assert wire_field is wire.wire_field and tolerant is wire.tolerant
    assert Fen is models.Fen and SearchFilters is wire.SearchFilters
    assert is_tolerant(Order) and OrderStatus is models.OrderStatus
    assert xportcn_async.converter.converter is wire.converter
    with pytest.raises(AttributeError, match="read_result"):
        _ = xportcn_async.converter.REQUEST_ID_KEY
    with pytest.raises(AttributeError, match="read_result"):
        _ = models.ka.decode_result


def _wire_names(cls: type[Any]) -> list[str]:
    return [
        wire.wire_name(a)
        for a in attrs.fields(cls)
        if a.name not in ("extras", "request_id") and not a.metadata.get("xportcn_wrap")
    ]
