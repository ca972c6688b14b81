"""The one cattrs converter: attrs models <-> wire dicts.

- Python names are snake_case; wire names are camelCase unless a field says otherwise
  (``wire_field(wire="logisticNumer")``).
- ``None`` fields are left out of the wire dict; unknown wire fields land in ``extras`` and
  are written back out, so nothing the server sends is dropped.
- ``Decimal`` travels as a string and keeps its exact form (``"322.92"`` stays ``"322.92"``).
- :func:`validate` checks a request before anything is sent and names each bad field by its
  Python path, like ``line_items[1].quantity``.
"""

from __future__ import annotations

import math
import re
import types
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.cols import list_structure_factory
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.v import format_exception

from .errors import FieldError, ValidationError

T = TypeVar("T")
Check = Callable[[Any], "str | None"]

_WIRE = "xportcn_wire"
_WRAP = "xportcn_wrap"
_CHECK = "xportcn_check"
_ENVELOPE = "xportcn_envelope"
_KEEP_NONE = "xportcn_keep_none"
# The key under which the client passes the envelope's requestId into a response model.
REQUEST_ID_KEY = "\x00requestId"


def wire_field(
    *,
    wire: str | None = None,
    wrap: str | None = None,
    check: Check | None = None,
    keep_none: bool = False,
    **kwargs: Any,
) -> Any:
    """An attrs field with wire metadata.

    ``wire``: the exact wire name, when camelCase of the Python name is wrong.
    ``wrap``: the value sits one level down on the wire, as ``{wrap: value}``.
    ``check``: returns a message when a value is invalid (run by :func:`validate`).
    ``keep_none``: write ``null`` for ``None`` (by default ``None`` fields are left out).
    """
    metadata = dict(kwargs.pop("metadata", {}))
    if wire is not None:
        metadata[_WIRE] = wire
    if wrap is not None:
        metadata[_WRAP] = wrap
    if check is not None:
        metadata[_CHECK] = check
    if keep_none:
        metadata[_KEEP_NONE] = True
    return attrs.field(metadata=metadata, **kwargs)


def extras_field() -> Any:
    """Unknown wire fields, kept as they came (``{wire name: value}``)."""
    return attrs.field(factory=dict, repr=lambda v: repr(v) if v else "{}")


def request_id_field() -> Any:
    """The envelope's ``requestId`` of the response this model came from."""
    return attrs.field(default=None, metadata={_ENVELOPE: True})


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def wire_name(a: attrs.Attribute[Any]) -> str:
    return str(a.metadata.get(_WIRE) or camel(a.name))


# -- checks ------------------------------------------------------------------------------

_COUNTRY = re.compile(r"[A-Z]{2}")


def non_empty(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and not value.strip():
        return "must not be empty"
    if isinstance(value, (list, tuple)) and not value:
        return "must contain at least one entry"
    return None


def positive(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return f"must be a number, got {value!r}"
    if not_finite(value):
        return f"must be a finite number, got {value!r}"
    return None if value > 0 else f"must be positive, got {value!r}"


def not_finite(value: Any) -> bool:
    """Whether ``value`` is a NaN or infinite ``Decimal`` or ``float`` (never valid on the
    wire, and a NaN ``Decimal`` cannot even be compared)."""
    if isinstance(value, Decimal):
        return not value.is_finite()
    return isinstance(value, float) and not math.isfinite(value)


def country_code(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _COUNTRY.fullmatch(value):
        return f"must be an ISO 3166-1 alpha-2 code such as 'US', got {value!r}"
    return None


# -- the converter -----------------------------------------------------------------------


class WireValueError(ValueError):
    """A wire value that does not fit its field; the message says what was expected and is
    shown as it is in :class:`ValidationError`."""


# Plain ASCII digits only: ``int()`` and ``Decimal()`` also take " 7", "1_000", "²" and
# "١٢", none of which is a number on the wire.
_INTEGER_TEXT = re.compile(r"[0-9]+")
_DECIMAL_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def shown(value: Any) -> str:
    """``value`` for an error message, cut short (a hostile value may be huge)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # a bool is named, and a 5,000-digit integer may not even be printable
        return (
            "a number too long to show"
            if isinstance(value, int) and value > 10**40
            else repr(value)
        )
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:40] + "...")
    return _json_type(value)


def _structure_decimal(value: Any, _: type) -> Decimal:
    if isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value):
        return Decimal(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, float) and math.isfinite(value):
        return Decimal(str(value))
    raise WireValueError(f"expected a finite decimal amount, got {shown(value)}")


def integer(value: Any) -> int:
    """A wire integer: a JSON integer, an integral number (``2.0``) or a string of ASCII
    digits (``"7"``). Not a fraction (``2.7`` is not silently 2), a boolean (``true`` is not
    1), or any other string (``" 7"``, ``"1_000"``, ``"²"``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and len(value) <= 40 and _INTEGER_TEXT.fullmatch(value):
        return int(value)
    raise WireValueError(f"expected an integer, got {shown(value)}")


def _structure_bool(value: Any, _: type) -> bool:
    # cattrs' default is ``bool(value)``: the string "false" would be True.
    if isinstance(value, bool):
        return value
    raise WireValueError(f"expected true or false, got {shown(value)}")


def _structure_str(value: Any, cl: type) -> str:
    # cattrs' default is ``str(value)``, which turns ``null`` into "None" and an object into
    # its repr. Integers are accepted (ids are sometimes sent as JSON numbers); nothing else:
    # not a fraction or an overflowing number (``1e999`` would become the id "inf").
    if cl is not str:  # a str subclass such as a str enum (OrderStatus): the class decides
        converted: str = cl(value)
        return converted
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise WireValueError(f"expected a string, got {_json_type(value)}")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, float):
        return f"the number {value!r}"
    return type(value).__name__


def _int(value: Any, _: type) -> int:
    return integer(value)


def _is_list(tp: Any) -> bool:
    return tp is list or get_origin(tp) is list


def _optional(hook: Callable[[Any, type], Any], scalar: type) -> Callable[[Any, type], Any]:
    return lambda v, _: None if v is None else hook(v, scalar)


def _none_safe(inner: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda v: None if v is None else inner(v)


def _wrapped(key: str, inner: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda v: {key: inner(v)}


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter()
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(Decimal, _structure_decimal)
    conv.register_structure_hook(int, _int)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_unstructure_hook(Decimal, str)
    # Direct hooks for the optional scalars that fill most models (cattrs' generic Optional
    # handling costs a dispatch per field).
    for scalar, hook in (
        (str, _structure_str),
        (Decimal, _structure_decimal),
        (int, _int),
        (bool, _structure_bool),
    ):
        conv.register_structure_hook(scalar | None, _optional(hook, scalar))

    def structure_factory(cl: type[Any]) -> Callable[[Mapping[str, Any], type[Any]], Any]:
        fields = attrs.fields(attrs.resolve_types(cl))
        overrides: dict[str, Any] = {}
        known: set[str] = set()
        has_extras = False
        for a in fields:
            if a.name == "extras":
                has_extras = True
                overrides[a.name] = override(rename="\x00extras")
            elif a.metadata.get(_ENVELOPE):
                overrides[a.name] = override(rename=REQUEST_ID_KEY)
            else:
                name = wire_name(a)
                known.add(name)
                wrap = a.metadata.get(_WRAP)
                hook = None
                if wrap is not None:
                    inner = conv.get_structure_hook(a.type)

                    def hook(v: Any, t: Any, _w: str = wrap, _h: Any = inner) -> Any:
                        return _h(v[_w], t)

                overrides[a.name] = override(rename=name, struct_hook=hook)
        base = make_dict_structure_fn(cl, conv, **overrides)
        if not has_extras:
            return base

        expected = known | {REQUEST_ID_KEY}

        def structure(data: Mapping[str, Any], _: type[Any]) -> Any:
            if not isinstance(data, Mapping):
                raise TypeError(f"expected an object, got {type(data).__name__}")
            if not expected.issuperset(data):
                unknown = {k: v for k, v in data.items() if k not in known and k[:1] != "\x00"}
                if unknown:
                    data = {**data, "\x00extras": unknown}
            return base(data, cl)

        return structure

    def unstructure_factory(cl: type[Any]) -> Callable[[Any], dict[str, Any]]:
        overrides: dict[str, Any] = {}
        has_extras = False
        omit_none: list[str] = []  # wire names left out when None (cattrs would reorder them)
        for a in attrs.fields(attrs.resolve_types(cl)):
            if a.name == "extras":
                has_extras = True
                overrides[a.name] = override(omit=True)
            elif a.metadata.get(_ENVELOPE):
                overrides[a.name] = override(omit=True)
            else:
                wrap = a.metadata.get(_WRAP)
                hook: Callable[[Any], Any] | None = None
                if wrap is not None:
                    hook = _wrapped(wrap, conv.get_unstructure_hook(a.type))
                elif attrs.has(a.type):
                    # A model field left None (an invalid request) is written as null instead
                    # of failing with AttributeError; validate() reports it as required.
                    hook = _none_safe(conv.get_unstructure_hook(a.type))
                overrides[a.name] = override(rename=wire_name(a), unstruct_hook=hook)
                if a.default is None and not a.metadata.get(_KEEP_NONE):
                    omit_none.append(wire_name(a))
        base = make_dict_unstructure_fn(cl, conv, **overrides)

        def unstructure(obj: Any) -> dict[str, Any]:
            out = base(obj)
            for key in omit_none:
                if out[key] is None:
                    del out[key]
            if has_extras and obj.extras:
                out.update(obj.extras)
            return out

        return unstructure

    def list_factory(cl: Any) -> Callable[[Any, Any], list[Any]]:
        # cattrs' own list hook takes any iterable: the string "abc" would become
        # ["a", "b", "c"] (the offer ids "123" [1, 2, 3]) and an object its list of keys.
        items = list_structure_factory(cl, conv)

        def structure(value: Any, tp: Any) -> list[Any]:
            if not isinstance(value, list):
                raise WireValueError(f"expected a list, got {shown(value)}")
            structured: list[Any] = items(value, tp)
            return structured

        return structure

    conv.register_structure_hook_factory(_is_list, list_factory)
    conv.register_structure_hook_factory(attrs.has, structure_factory)
    conv.register_unstructure_hook_factory(attrs.has, unstructure_factory)
    return conv


converter = _make_converter()


def to_wire(model: Any) -> Any:
    """An attrs model (or a list of them) as the JSON-ready wire value."""
    return converter.unstructure(model)


def from_wire(data: Any, cls: type[T]) -> T:
    """Build ``cls`` from wire JSON. Raises :class:`ValidationError` naming each bad field."""
    try:
        return converter.structure(data, cls)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as exc:
        raise ValidationError(getattr(cls, "__name__", str(cls)), _field_errors(exc)) from None


def _field_errors(exc: Exception) -> list[FieldError]:
    if isinstance(exc, cattrs.BaseValidationError):
        errors = []
        for line in cattrs.transform_error(exc, path="$", format_exception=_describe):
            message, _, path = line.rpartition(" @ ")
            errors.append(FieldError(_clean_path(path), message or line))
        return errors
    return [FieldError("", str(exc))]


def _describe(exc: BaseException, tp: type | None) -> str:
    return str(exc) if isinstance(exc, WireValueError) else format_exception(exc, tp)


def _clean_path(path: str) -> str:
    path = path.removeprefix("$").removeprefix(".")
    return path.replace(".\x00extras", "")


# -- validation --------------------------------------------------------------------------


def validate(model: Any, *, subject: str | None = None) -> None:
    """Check a request model and everything inside it; raise :class:`ValidationError`
    listing every invalid field by its Python path."""
    errors: list[FieldError] = []
    _collect(model, "", errors)
    if errors:
        raise ValidationError(subject or type(model).__name__, errors)


def _collect(value: Any, path: str, errors: list[FieldError]) -> None:
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            if item is None:
                errors.append(FieldError(f"{path}[{i}]", "must not be null"))
            else:
                _collect(item, f"{path}[{i}]", errors)
        return
    # Paths are built only when needed: this runs for every request on the hot path.
    for name, check, nested, required in _validation_plan(type(value)):
        v = getattr(value, name)
        if v is None:
            if required:
                errors.append(FieldError(_join(path, name), "required"))
        else:
            if check is not None and (message := check(v)):
                errors.append(FieldError(_join(path, name), message))
            if nested:
                _collect(v, _join(path, name), errors)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


Plan = list[tuple[str, Check | None, bool, bool]]
_plans: dict[type, Plan] = {}


def _validation_plan(cl: type) -> Plan:
    """Per class, once: ``(name, check, nested, required)`` for the fields that have a check,
    may hold models, or are required (no default, and a type that does not admit ``None``).
    The field's type adds a check of its own (:func:`_type_check`)."""
    plan = _plans.get(cl)
    if plan is None:
        plan = []
        if attrs.has(cl):
            for a in attrs.fields(attrs.resolve_types(cl)):
                if a.name == "extras":
                    continue
                nested = _may_hold_models(a.type)
                required = a.default is attrs.NOTHING and not _admits_none(a.type)
                check = _type_check(a.type, a.metadata.get(_CHECK))
                if check is not None or nested or required:
                    plan.append((a.name, check, nested, required))
        _plans[cl] = plan
    return plan


def finite(value: Any) -> str | None:
    return f"must be a finite number, got {value!r}" if not_finite(value) else None


def whole(value: Any) -> str | None:
    """For ``int`` fields: an integer (not ``True``, not ``2.7``, not ``"7"``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return None
    return f"must be an integer, got {shown(value)}"


def integral(value: Any) -> str | None:
    """For ``int | float`` quantities: an integer or an integral float (``2.0``)."""
    if isinstance(value, float) and value.is_integer():
        return None
    return whole(value)


def _type_check(tp: Any, check: Check | None) -> Check | None:
    """The check a field's type implies, run before the field's own ``check``: ``int``
    fields take integers, ``int | float`` ones integral numbers; Decimal and float fields
    without a check of their own get :func:`finite`."""
    union = get_origin(tp) in (Union, types.UnionType)
    kinds = set(get_args(tp)) - {type(None)} if union else {tp}
    implied = whole if kinds == {int} else integral if kinds == {int, float} else None
    if implied is None:
        return finite if check is None and _may_be_inexact(tp) else check
    if check is None:
        return implied
    field_check = check
    return lambda value: implied(value) or field_check(value)


def _admits_none(tp: Any) -> bool:
    return tp is Any or tp is None or type(None) in get_args(tp)


def _may_be_inexact(tp: Any) -> bool:
    return tp in (Decimal, float) or any(arg in (Decimal, float) for arg in get_args(tp))


def _may_hold_models(tp: Any) -> bool:
    return attrs.has(tp) or any(_may_hold_models(arg) for arg in get_args(tp))
