"""The one cattrs converter, with every hook registered here: attrs models <-> wire dicts.

- Python names are snake_case; wire names are camelCase unless a field says otherwise
  (``wire_field(wire="logisticNumer")``).
- ``None`` fields are left out of the wire dict; unknown wire fields land in ``extras`` and
  are written back out, so nothing the server sends is dropped.
- ``Decimal`` travels as a string and keeps its exact form (``"322.92"`` stays ``"322.92"``).
- Scalars are strict (no ``bool("false")``, no ``str(None)``); the special types of
  :mod:`.types` have their wire forms.
- A model marked :func:`~.fields.tolerant` decodes whatever object arrives: a field that does
  not fit is set aside in ``extras``.

Models are never registered one by one: hook factories recognise any attrs class (and its
marks) the first time the converter meets it, so the converter knows every model, including
ones declared after it was built (the webhook messages), and declaring a model changes
nothing here. :func:`make_converter` builds a fresh, equal converter.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar, get_args, get_origin

import attrs
import cattrs
from cattrs.cols import list_structure_factory
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.v import format_exception

from ..errors import FieldError, ValidationError
from .fields import KEEP_NONE, REQUEST_ID, WRAP, is_tolerant, wire_name
from .generated import structure_fn, unstructure_fn
from .types import (
    ChinaTime,
    Fen,
    Number,
    NumberOrText,
    OpenEnum,
    OpenIntEnum,
    SearchFilters,
    SearchSort,
    format_china_time,
    parse_china_time,
)
from .values import WireValueError, integer, json_type, shown

T = TypeVar("T")
Hook = Callable[[Any, Any], Any]

_EXTRAS_KEY = "\x00extras"
"""Where the structure function puts a model's unknown fields for cattrs (no wire name
starts with NUL)."""

_DECIMAL_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_PLAIN_DECIMAL_TEXT = re.compile(r"[0-9]+(\.[0-9]+)?")


# -- scalars ---------------------------------------------------------------------------------


def _structure_decimal(value: Any, _: type) -> Decimal:
    if isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value):
        return Decimal(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, float) and math.isfinite(value):
        return Decimal(str(value))
    raise WireValueError(f"expected a finite decimal amount, got {shown(value)}")


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
    raise WireValueError(f"expected a string, got {json_type(value)}")


def _int(value: Any, _: type) -> int:
    return integer(value)


_EXACT: dict[Hook, type] = {_structure_str: str, _int: int, _structure_bool: bool}
"""Scalar hooks that return a value of exactly this class unchanged: the generated
structure functions take such a value without calling the hook."""


# -- the special types -----------------------------------------------------------------------


def _structure_fen(value: Any, _: type) -> Fen:
    # Only a JSON integer is a fen amount; anything else (a "12.50" string, 12.5) is not
    # guessed at: a tolerant model keeps it, as sent, in ``extras``.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer amount in fen, got {value!r}")
    return Fen(value)


def _structure_number(value: Any, _: Any) -> Any:
    if (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, float) and value.is_integer()
    ):
        return value  # an integral float stays a float: it round-trips as sent
    raise WireValueError(f"expected a whole number, got {shown(value)}")


def _structure_number_or_text(value: Any, _: Any) -> Any:
    if (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, float) and math.isfinite(value)
    ):
        return value
    if isinstance(value, str) and len(value) <= 40 and _PLAIN_DECIMAL_TEXT.fullmatch(value):
        return value
    raise WireValueError(f"expected a number or a plain decimal string, got {shown(value)}")


def _structure_china_time(value: Any, _: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"expected a 'yyyy-MM-dd HH:mm:ss' time, got {value!r}")
    return parse_china_time(value)


def _structure_open_int_enum(value: Any, cl: type[OpenIntEnum]) -> OpenIntEnum:
    # ``PayStatus(True)`` would be ``UNPAID`` (True == 1): read the integer strictly first.
    return cl(integer(value))


def _structure_filters(value: Any, _: type) -> SearchFilters:
    if not isinstance(value, str):
        raise ValueError(f"expected comma-separated filter tokens, got {value!r}")
    return SearchFilters.parse(value)


def _structure_sort(value: Any, _: type) -> SearchSort:
    if not isinstance(value, str):
        raise ValueError(f'expected a sort string like {{"price":"desc"}}, got {value!r}')
    return SearchSort.parse(value)


def _enum_value(value: OpenEnum | OpenIntEnum) -> Any:
    return value.value


# -- combinators -----------------------------------------------------------------------------


def _optional(hook: Hook, tp: Any) -> Hook:
    return lambda v, _: None if v is None else hook(v, tp)


def _none_safe(inner: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda v: None if v is None else inner(v)


def _wrapped(key: str, inner: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda v: {key: inner(v)}


# -- the converter ---------------------------------------------------------------------------


def make_converter(*, shortcuts: bool = True) -> cattrs.Converter:
    """A converter with every hook of the wire format: scalars, the special types, lists
    (from JSON arrays only), and factories for any attrs model (strict or tolerant).
    Nothing else registers hooks.

    ``shortcuts``: models and lists are read and written by the generated functions of
    :mod:`.generated` first, with cattrs' own functions behind them. ``False`` leaves
    cattrs' functions alone: the same results, more slowly (what the shortcuts are tested
    against)."""
    conv = cattrs.Converter()
    _register_scalars(conv)
    _register_special_types(conv)
    _register_lists(conv, shortcuts)
    _register_models(conv, shortcuts)
    return conv


def _register_scalars(conv: cattrs.Converter) -> None:
    conv.register_unstructure_hook(Decimal, str)
    # Direct hooks for the optional scalars that fill most models (cattrs' generic Optional
    # handling costs a dispatch per field).
    scalars: tuple[tuple[type, Hook], ...] = (
        (str, _structure_str),
        (Decimal, _structure_decimal),
        (int, _int),
        (bool, _structure_bool),
    )
    for scalar, hook in scalars:
        conv.register_structure_hook(scalar, hook)
        conv.register_structure_hook(scalar | None, _optional(hook, scalar))


def _register_special_types(conv: cattrs.Converter) -> None:
    conv.register_structure_hook(Fen, _structure_fen)
    conv.register_unstructure_hook(Fen, int)
    unions: tuple[tuple[Any, Hook], ...] = (
        (Number, _structure_number),
        (NumberOrText, _structure_number_or_text),
    )
    for union, hook in unions:
        conv.register_structure_hook(union, hook)
        conv.register_structure_hook(union | None, _optional(hook, union))
    conv.register_structure_hook(ChinaTime, _structure_china_time)
    conv.register_unstructure_hook(ChinaTime, format_china_time)
    # Registered on the base classes: every subclass (here or elsewhere) is read the same way.
    conv.register_structure_hook(OpenIntEnum, _structure_open_int_enum)
    conv.register_unstructure_hook(OpenEnum, _enum_value)
    conv.register_unstructure_hook(OpenIntEnum, _enum_value)
    conv.register_structure_hook(SearchFilters, _structure_filters)
    conv.register_unstructure_hook(SearchFilters, SearchFilters.to_wire)
    conv.register_structure_hook(SearchSort, _structure_sort)
    conv.register_unstructure_hook(SearchSort, SearchSort.to_wire)


def _is_list(tp: Any) -> bool:
    return tp is list or get_origin(tp) is list


def _register_lists(conv: cattrs.Converter, shortcuts: bool) -> None:
    def list_factory(cl: Any) -> Hook:
        # cattrs' own list hook takes any iterable: the string "abc" would become
        # ["a", "b", "c"] (the offer ids "123" [1, 2, 3]) and an object its list of keys.
        items = list_structure_factory(cl, conv)
        args = get_args(cl)
        element = args[0] if args else Any
        hook = conv.get_structure_hook(element)

        def structure(value: Any, tp: Any) -> list[Any]:
            if not isinstance(value, list):
                raise WireValueError(f"expected a list, got {shown(value)}")
            if shortcuts:
                try:  # the same hook per element, without cattrs' bookkeeping of indexes
                    return [hook(v, element) for v in value]
                except Exception:  # cattrs again, for its error and the failing index
                    pass
            structured: list[Any] = items(value, tp)
            return structured

        return structure

    def unstructure_factory(cl: Any) -> Callable[[Any], list[Any]]:
        args = get_args(cl)
        hook = conv.get_unstructure_hook(args[0] if args else Any)
        return lambda value: [hook(v) for v in value]

    conv.register_structure_hook_factory(_is_list, list_factory)
    if shortcuts:  # cattrs' own: list() of a generator
        conv.register_unstructure_hook_factory(_is_list, unstructure_factory)


def _register_models(conv: cattrs.Converter, shortcuts: bool) -> None:
    def structure_factory(cl: type[Any]) -> Hook:
        return _strict_structure(conv, cl, shortcuts)

    def tolerant_factory(cl: type[Any]) -> Hook:
        return _tolerant_structure(conv, cl, _strict_structure(conv, cl, shortcuts))

    def unstructure_factory(cl: type[Any]) -> Callable[[Any], dict[str, Any]]:
        return _unstructure(conv, cl, shortcuts)

    conv.register_structure_hook_factory(attrs.has, structure_factory)
    # Registered later, so it is asked first.
    conv.register_structure_hook_factory(is_tolerant, tolerant_factory)
    conv.register_unstructure_hook_factory(attrs.has, unstructure_factory)


def _strict_structure(conv: cattrs.Converter, cl: type[Any], shortcuts: bool) -> Hook:
    """Wire names, ``wrap``, ``extras``; the request id is left at its default (it is not
    in the wire dict: :func:`read_result` sets it)."""
    overrides: dict[str, Any] = {}
    known: set[str] = set()
    has_extras = False
    for a in attrs.fields(attrs.resolve_types(cl)):
        if a.name == "extras":
            has_extras = True
            overrides[a.name] = override(rename=_EXTRAS_KEY)
        elif a.metadata.get(REQUEST_ID):
            overrides[a.name] = override(omit=True)
        else:
            name = wire_name(a)
            known.add(name)
            wrap = a.metadata.get(WRAP)
            hook = None
            if wrap is not None:
                inner = conv.get_structure_hook(a.type)

                def hook(v: Any, t: Any, _w: str = wrap, _h: Any = inner) -> Any:
                    return _h(v[_w], t)

            overrides[a.name] = override(rename=name, struct_hook=hook)
    base = make_dict_structure_fn(cl, conv, **overrides)
    detailed: Hook = base
    if has_extras:

        def with_extras(data: Mapping[str, Any], _: type[Any]) -> Any:
            if not isinstance(data, Mapping):
                raise TypeError(f"expected an object, got {type(data).__name__}")
            if not known.issuperset(data):
                unknown = {k: v for k, v in data.items() if k not in known and k[:1] != "\x00"}
                if unknown:
                    data = {**data, _EXTRAS_KEY: unknown}
            return base(data, cl)

        detailed = with_extras
    fast = structure_fn(conv, cl, _EXACT, detailed) if shortcuts else None
    return detailed if fast is None else fast


def _tolerant_structure(conv: cattrs.Converter, cl: type[Any], strict: Hook) -> Hook:
    """Strict first; when that fails, field by field: what does not fit goes to ``extras``."""
    wire = [
        (wire_name(a), a.type)
        for a in attrs.fields(attrs.resolve_types(cl))
        if a.name != "extras" and not a.metadata.get(REQUEST_ID)
    ]

    def structure(data: Any, t: type) -> Any:
        if not isinstance(data, Mapping):
            raise ValueError(f"expected an object for {cl.__name__}, got {type(data).__name__}")
        try:
            return strict(data, t)
        except Exception:  # cattrs raises several kinds; fall back field by field
            pass
        clean = dict(data)
        rejected: dict[str, Any] = {}
        for name, tp in wire:
            if name in clean:
                try:
                    conv.structure(clean[name], tp)
                except Exception:
                    rejected[name] = clean.pop(name)
        obj = strict(clean, t)
        if rejected:
            obj = attrs.evolve(obj, extras={**obj.extras, **rejected})
        return obj

    return structure


def _unstructure(
    conv: cattrs.Converter, cl: type[Any], shortcuts: bool
) -> Callable[[Any], dict[str, Any]]:
    overrides: dict[str, Any] = {}
    has_extras = False
    omit_none: list[str] = []  # wire names left out when None (cattrs would reorder them)
    for a in attrs.fields(attrs.resolve_types(cl)):
        if a.name == "extras":
            has_extras = True
            overrides[a.name] = override(omit=True)
        elif a.metadata.get(REQUEST_ID):
            overrides[a.name] = override(omit=True)
        else:
            wrap = a.metadata.get(WRAP)
            hook: Callable[[Any], Any] | None = None
            if wrap is not None:
                hook = _wrapped(wrap, conv.get_unstructure_hook(a.type))
            elif attrs.has(a.type):
                # A model field left None (an invalid request) is written as null instead
                # of failing with AttributeError; validate() reports it as required.
                hook = _none_safe(conv.get_unstructure_hook(a.type))
            overrides[a.name] = override(rename=wire_name(a), unstruct_hook=hook)
            if a.default is None and not a.metadata.get(KEEP_NONE):
                omit_none.append(wire_name(a))
    base = make_dict_unstructure_fn(cl, conv, **overrides)

    def detailed(obj: Any) -> dict[str, Any]:
        out = base(obj)
        for key in omit_none:
            if out[key] is None:
                del out[key]
        if has_extras and obj.extras:
            out.update(obj.extras)
        return out

    fast = unstructure_fn(conv, cl, detailed) if shortcuts else None
    return detailed if fast is None else fast


converter = make_converter()
"""The converter the SDK uses everywhere."""


# -- reading and writing ---------------------------------------------------------------------


def to_wire(model: Any) -> Any:
    """An attrs model (or a list of them) as the JSON-ready wire value."""
    cls = model.__class__
    hook = _writers.get(cls)
    if hook is None:  # what ``converter.unstructure`` dispatches to, asked once per class
        hook = _writers[cls] = converter.get_unstructure_hook(cls)
    return hook(model)


_writers: dict[type, Callable[[Any], Any]] = {}


def from_wire(data: Any, cls: type[T]) -> T:
    """Build ``cls`` from wire JSON. Raises :class:`ValidationError` naming each bad field."""
    try:
        return converter.structure(data, cls)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as exc:
        raise ValidationError(getattr(cls, "__name__", str(cls)), _field_errors(exc)) from None


Reader = Callable[[Any, "str | None"], Any]
_readers: dict[type, Reader] = {}


def read_result(cls: type[T], data: Any, *, request_id: str | None) -> T:
    """``cls`` from a reply's ``data``, with the envelope's ``request_id`` set on it.

    A tolerant model never fails: an object is decoded field by field, and anything else
    (a string, a number, ``true``, a list) is kept whole in ``extras["data"]``. A strict
    model raises what cattrs raises when ``data`` does not fit (the client turns it into a
    :class:`~xportcn_async.errors.MalformedResponseError`).
    """
    reader = _readers.get(cls)
    if reader is None:
        reader = _readers[cls] = _reader(cls)
    result: T = reader(data, request_id)
    return result


def _reader(cls: type[Any]) -> Reader:
    """Per class, once: structure the wire dict as it came (no copy), then set the request
    id on the new model, the way attrs' own ``__init__`` sets the fields of a frozen class
    (nothing else holds the model yet)."""
    hook = converter.get_structure_hook(cls)
    with_id = attrs.has(cls) and any(a.metadata.get(REQUEST_ID) for a in attrs.fields(cls))
    tolerant = is_tolerant(cls)
    setter = object.__setattr__

    def read(data: Any, request_id: str | None) -> Any:
        if tolerant:
            if isinstance(data, Mapping):
                try:
                    obj = hook(data, cls)
                except Exception:  # a required structure that still does not fit: keep it whole
                    obj = cls(extras={"data": data})
            else:
                obj = cls(extras={} if data is None else {"data": data})
        else:
            obj = hook(data, cls)
        if with_id:
            setter(obj, "request_id", request_id)
        return obj

    return read


# -- errors ----------------------------------------------------------------------------------


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
    return path.replace("." + _EXTRAS_KEY, "")


__all__ = ["converter", "from_wire", "make_converter", "read_result", "to_wire"]
