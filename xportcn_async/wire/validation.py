"""Checking a request before anything is sent: every invalid field, by its Python path
(``line_items[1].quantity``).

The checks are the fields' own (``wire_field(check=...)``) and those their types imply
(integers are whole, amounts finite); the plan of what to check is worked out once per
class, since this runs for every request on the hot path.
"""

from __future__ import annotations

import types
from decimal import Decimal
from typing import Any, Union, get_args, get_origin

import attrs

from ..errors import FieldError, ValidationError
from .fields import CHECK, Check
from .values import not_finite, shown


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
                check = _type_check(a.type, a.metadata.get(CHECK))
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


__all__ = ["validate"]
