"""The converter's generated shortcuts (:mod:`xportcn_async.wire.generated`) against cattrs'
own path (``make_converter(shortcuts=False)``): for every model, on wire dicts that fit, almost
fit or do not fit at all, the same model or the same error (its paths and messages), and the
same bytes written back, key order included."""

from __future__ import annotations

import enum
import inspect
import json
import types
from datetime import datetime
from decimal import Decimal
from typing import Any, Union, get_args, get_origin

import attrs
import cattrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xportcn_async import models, wire
from xportcn_async.models import Booking, BookingRequest
from xportcn_async.webhooks import messages
from xportcn_async.wire import generated
from xportcn_async.wire.validation import _SURELY_FINE

from .test_hostile_client import hostile_scalars, json_scalars, json_values

MODELS = sorted(
    {
        cls
        for module in (models, messages)
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if attrs.has(cls)
    },
    key=lambda cls: cls.__qualname__,
)
FAST = wire.converter
PLAIN = wire.make_converter(shortcuts=False)


# -- wire dicts shaped like a model, with misfits ----------------------------------------------


def _scalar(tp: Any) -> st.SearchStrategy[Any] | None:
    if tp is bool:
        return st.booleans()
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from([m.value for m in tp]) | st.text(max_size=4) | st.integers(0, 9)
    if tp is str:
        return st.text(max_size=8) | st.integers(-5, 10**20)
    if isinstance(tp, type) and issubclass(tp, int):
        return st.integers(-(10**20), 10**20) | st.sampled_from(["7", 2.0])
    if tp is float:
        return st.floats()
    if tp is Decimal:
        return st.sampled_from(["322.92", "0", "-1.50", "1e3", "00.1", 12, 1.5, 1e300])
    if tp is datetime or tp is wire.ChinaTime:
        return st.sampled_from(["2026-05-20 15:40:00", "2026-13-01 00:00:00", ""])
    if tp is Any:
        return json_values
    return None


def _value(tp: Any, depth: int) -> st.SearchStrategy[Any]:
    valid = _valid(tp, depth)
    return st.integers(0, 7).flatmap(lambda n: hostile_scalars | json_values if n == 0 else valid)


def _valid(tp: Any, depth: int) -> st.SearchStrategy[Any]:
    scalar = _scalar(tp)
    if scalar is not None:
        return scalar
    if attrs.has(tp):
        return wire_dicts(tp, depth + 1) if depth < 3 else st.just({})
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        return st.one_of(*(_value(arg, depth) for arg in get_args(tp)))
    if origin is list or tp is list:
        args = get_args(tp)
        element = _value(args[0], depth) if args else json_scalars
        return st.lists(element, max_size=3)
    if origin is dict:
        return st.dictionaries(st.text(max_size=4), json_scalars, max_size=2)
    return json_values


def wire_dicts(cls: type[Any], depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    fields = [
        a
        for a in attrs.fields(attrs.resolve_types(cls))
        if a.name != "extras" and a.type is not None
    ]
    known = st.fixed_dictionaries(
        {}, optional={wire.wire_name(a): _value(a.type, depth) for a in fields}
    )
    unknown = st.dictionaries(
        st.sampled_from(["zzUnknown", "\x00extras", "\x00", "requestId"]) | st.text(max_size=4),
        json_scalars,
        max_size=2,
    )
    return st.builds(lambda k, u: {**u, **k}, known, unknown) | st.builds(
        lambda k, u: {**k, **u}, known, unknown
    )


# -- what each path does with them -------------------------------------------------------------


def _error(exc: Exception) -> tuple[Any, ...]:
    lines = cattrs.transform_error(exc) if isinstance(exc, cattrs.BaseValidationError) else []
    return type(exc), str(exc), lines


def _read(conv: cattrs.Converter, doc: Any, cls: type[Any]) -> tuple[Any, ...]:
    try:
        result = conv.structure(doc, cls)
    except Exception as exc:
        return ("error", *_error(exc))
    return "read", result, _written(conv, result)


def _written(conv: cattrs.Converter, model: Any) -> tuple[Any, ...]:
    try:
        return ("written", json.dumps(conv.unstructure(model), default=repr))
    except Exception as exc:
        return ("error", *_error(exc))


@pytest.mark.parametrize("cls", MODELS, ids=[cls.__qualname__ for cls in MODELS])
@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_shortcuts_read_and_write_every_model_as_cattrs_does(
    cls: type[Any], data: st.DataObject
) -> None:
    doc = data.draw(wire_dicts(cls))
    fast = _read(FAST, doc, cls)
    assert fast == _read(PLAIN, doc, cls)
    if fast[0] == "read":  # a model built in Python with a field that does not fit
        model = fast[1]
        field = data.draw(st.sampled_from(attrs.fields(cls)))
        odd = attrs.evolve(model, **{field.name: data.draw(hostile_scalars | json_values)})
        assert _written(FAST, odd) == _written(PLAIN, odd)


def test_the_booking_reply_and_request_take_the_shortcuts(examples_dir: Any) -> None:
    """The hot path is generated, not cattrs' (a shortcut that always failed would pass the
    comparison above)."""
    reply = json.loads((examples_dir / "logistics/orderBookingFreight.response.json").read_bytes())
    request = json.loads((examples_dir / "logistics/orderBookingFreight.request.json").read_bytes())
    for cls, doc in ((Booking, reply["data"]), (BookingRequest, request)):
        read = generated.structure_fn(FAST, cls, {}, _not_taken)
        write = generated.unstructure_fn(FAST, cls, _not_taken)
        assert read is not None and write is not None
        model = read(doc, cls)
        assert model == PLAIN.structure(doc, cls)
        assert json.dumps(write(model)) == json.dumps(PLAIN.unstructure(model))


def _not_taken(*_: Any) -> Any:
    raise AssertionError("cattrs' own path was taken")


@pytest.mark.parametrize("check", list(_SURELY_FINE), ids=lambda check: check.__name__)
@given(value=hostile_scalars | json_values | st.integers() | st.text(max_size=6))
def test_a_value_the_validator_waves_through_passes_its_check(check: Any, value: Any) -> None:
    """The validator skips a check for a value its expression says surely passes: the
    check, asked, agrees."""
    if eval(_SURELY_FINE[check], {}, {"v": value}):  # the generated code's own expression
        assert not check(value)
