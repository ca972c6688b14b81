"""Checking a request before anything is sent: every invalid field, by its Python path
(``line_items[1].quantity``).

The checks are the fields' own (``wire_field(check=...)``) and those their types imply
(integers are whole, amounts finite). This runs for every request on the hot path, so the
checks of each class are worked out once, into a generated function that reads each field
once, calls each check directly, and builds a field's path only when it has an error.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Union, get_args, get_origin

import attrs

from ..errors import FieldError, ValidationError
from .fields import CHECK, Check, non_empty, positive
from .generated import optional_of
from .values import not_finite, shown

Path = Any
"""Where a value sits: ``""`` at the top, else ``(parent path, name or index)``, joined into
text only for an error."""
Errors = list[FieldError]
Checker = Callable[[Any, Path, Errors], None]


def validate(model: Any, *, subject: str | None = None) -> None:
    """Check a request model and everything inside it; raise :class:`ValidationError`
    listing every invalid field by its Python path."""
    errors: Errors = []
    _collect(model, "", errors)
    if errors:
        raise ValidationError(subject or type(model).__name__, errors)


def _collect(value: Any, path: Path, errors: Errors) -> None:
    if isinstance(value, (list, tuple)):
        _each(value, path, errors, list, _collect)  # a list in a list: collected in turn
    else:
        _checker_of(type(value))(value, path, errors)


def _each(items: Any, path: Path, errors: Errors, cls: type, check: Checker) -> None:
    """The entries of a list whose entries should be ``cls`` (checked by ``check``)."""
    for i, item in enumerate(items):
        if item.__class__ is cls:
            check(item, (path, i), errors)
        elif item is None:
            errors.append(FieldError(_text((path, i)), "must not be null"))
        else:
            _collect(item, (path, i), errors)


def _text(path: Path) -> str:
    steps: list[str] = []
    while path:
        path, step = path
        steps.append(f"[{step}]" if isinstance(step, int) else f".{step}")
    return "".join(reversed(steps)).removeprefix(".")


def _error(errors: Errors, path: Path, name: str, message: str) -> None:
    errors.append(FieldError(_text((path, name)), message))


_checkers: dict[type, Checker] = {}
_trivial: set[type] = set()
"""Classes with nothing to check (no field has a check, may hold models, or is required)."""
_building: set[type] = set()


def _checker_of(cl: type) -> Checker:
    checker = _checkers.get(cl)
    if checker is None:
        _building.add(cl)
        try:
            checker = _checkers[cl] = _checker(cl)
        finally:
            _building.discard(cl)
    return checker


def _checker(cl: type) -> Checker:
    """Per class, once: a function running the checks of ``cl``'s fields. A field is looked
    at when it has a check, may hold models, or is required (no default, and a type that
    does not admit ``None``); its type adds a check of its own (:func:`_implied`)."""
    lines: list[str] = []
    globs: dict[str, Any] = {"_collect": _collect, "_each": _each, "_error": _error}
    fields = attrs.fields(attrs.resolve_types(cl)) if attrs.has(cl) else ()
    for a in fields:
        if a.name == "extras":
            continue
        name = a.name
        checks: list[str] = []
        message = _message_expr(a.type, a.metadata.get(CHECK), globs)
        if message is not None:
            checks += [f"msg = {message}", "if msg:", f"  _error(errors, path, {name!r}, msg)"]
        if _may_hold_models(a.type):
            checks += _nested_lines(a.type, f"(path, {name!r})", globs)
        required = a.default is attrs.NOTHING and not _admits_none(a.type)
        if not checks and not required:
            continue
        lines.append(f"  v = m.{name}")
        if required:
            lines += ["  if v is None:", f"    _error(errors, path, {name!r}, 'required')"]
            if checks:
                lines.append("  else:")
        else:
            lines.append("  if v is not None:")
        lines += [f"    {line}" for line in checks]
    if not lines:
        _trivial.add(cl)
    source = "\n".join(["def check(m, path, errors):", *lines, "  return None"])
    namespace: dict[str, Any] = {}
    code = compile(source, f"<xportcn check {cl.__qualname__}>", "exec")
    exec(code, globs, namespace)  # our own generated source
    checker: Checker = namespace["check"]
    return checker


def _nested_lines(tp: Any, path: str, globs: dict[str, Any]) -> list[str]:
    """Checking the models in a value ``v`` of type ``tp``: a model of the declared class
    (or a list of them) by its checker directly, anything else as it comes."""
    inner = optional_of(tp) or tp
    args = get_args(inner)
    listed = args[0] if get_origin(inner) is list and args else None
    declared = listed if listed is not None else inner
    if not attrs.has(declared) or declared in _building:
        return [f"_collect(v, {path}, errors)"]
    checker = _checker_of(declared)
    cls = f"_cls{len(globs)}"
    globs[cls] = declared
    globs[f"{cls}_check"] = checker
    if listed is not None:
        each = f"_each(v, {path}, errors, {cls}, {cls}_check)"
        return ["if v.__class__ is list:", f"  {each}", "else:", f"  _collect(v, {path}, errors)"]
    if declared in _trivial:
        return [f"if v.__class__ is not {cls}:", f"  _collect(v, {path}, errors)"]
    return [
        f"if v.__class__ is {cls}:",
        f"  {cls}_check(v, {path}, errors)",
        "else:",
        f"  _collect(v, {path}, errors)",
    ]


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


_SURELY_FINE: dict[Check, str] = {
    non_empty: "v.__class__ is str and v.strip()",
    positive: "v.__class__ is int and v > 0",
    whole: "v.__class__ is int",
    integral: "v.__class__ is int",
    finite: "v.__class__ is int",
}
"""For the SDK's own checks: an expression true only of values the check passes, so that
the common value is not passed to a function at all."""


def _message_expr(tp: Any, check: Check | None, globs: dict[str, Any]) -> str | None:
    """The expression of a field's error message (``None``/empty when it is valid): the
    check its type implies, then its own (``wire_field(check=...)``)."""
    calls = [c for c in (_implied(tp, check), check) if c is not None]
    if not calls:
        return None
    parts = []
    for c in calls:
        name = f"_c{len(globs)}"
        globs[name] = c
        fine = _SURELY_FINE.get(c)
        parts.append(f"{name}(v)" if fine is None else f"(None if {fine} else {name}(v))")
    return " or ".join(parts)


def _implied(tp: Any, check: Check | None) -> Check | None:
    """The check a field's type implies, run before the field's own ``check``: ``int``
    fields take integers, ``int | float`` ones integral numbers; Decimal and float fields
    without a check of their own get :func:`finite`."""
    union = get_origin(tp) in (Union, types.UnionType)
    kinds = set(get_args(tp)) - {type(None)} if union else {tp}
    if kinds == {int}:
        return whole
    if kinds == {int, float}:
        return integral
    return finite if check is None and _may_be_inexact(tp) else None


def _admits_none(tp: Any) -> bool:
    return tp is Any or tp is None or type(None) in get_args(tp)


def _may_be_inexact(tp: Any) -> bool:
    return tp in (Decimal, float) or any(arg in (Decimal, float) for arg in get_args(tp))


def _may_hold_models(tp: Any) -> bool:
    return attrs.has(tp) or any(_may_hold_models(arg) for arg in get_args(tp))


__all__ = ["validate"]
