"""Generated per-model functions for the hot path: reading a wire dict into a model and
writing a model out, in one straight pass each.

cattrs' generated functions call a hook per field through a dict of results and a
``cls(**res)``, and dispatch ``X | None`` at run time; for a booking that is most of the
SDK's own CPU per call. The functions made here call the same hooks (asked from the one
converter, when the class is first met), but:

- read each wire key once, and take a scalar of the exact expected class as it is (``v if
  v.__class__ is str else hook(v, str)``, only where the hook is known to return such a
  value unchanged);
- call the hooks of nested models, lists and ``X | None`` directly;
- set the new instance's slots as attrs' own ``__init__`` does (where that is all it does;
  else call the class once, by keyword), leave ``None`` out while writing, and check for
  unknown keys with one set operation.

They are shortcuts, not rules: each runs cattrs' own function (its ``fallback``) whenever
it fails or meets input it leaves to cattrs, so every error (and its field path) is
cattrs' as before, and a shortcut only ever returns what that function returns (a property
test compares the two over every model). A class these functions do not cover (an attrs
converter on a field, ``init=False``, a default that takes ``self``) gets ``None`` here
and keeps cattrs' function alone.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from itertools import repeat
from typing import Any, Union, get_args, get_origin

import attrs
import cattrs
from cattrs.fns import identity

from .fields import KEEP_NONE, REQUEST_ID, WRAP, wire_name

Hook = Callable[[Any, Any], Any]
Unstructure = Callable[[Any], Any]

_EXTRAS = "extras"
_MISSING = object()


class Fallback(Exception):
    """Raised by a generated function for input it leaves to cattrs."""


def optional_of(tp: Any) -> Any:
    """``X`` for ``X | None`` (one type besides ``None``), else ``None``."""
    if get_origin(tp) not in (Union, types.UnionType):
        return None
    args = get_args(tp)
    if len(args) != 2 or type(None) not in args:
        return None
    return args[0] if args[1] is type(None) else args[1]


def _covered(cl: type[Any]) -> list[attrs.Attribute[Any]] | None:
    """The fields of ``cl`` when the generated functions can handle them all."""
    fields = list(attrs.fields(attrs.resolve_types(cl)))
    for a in fields:
        default = a.default
        if (
            a.converter is not None
            or not a.init
            or a.alias != a.name
            or (isinstance(default, attrs.Factory) and default.takes_self)  # type: ignore[arg-type]
            or (a.name == _EXTRAS and a.type != dict[str, Any])
        ):
            return None
    return fields


class _Source:
    """The lines and globals of one generated function."""

    def __init__(self) -> None:
        self.globs: dict[str, Any] = {"_M": _MISSING, "_Fallback": Fallback}

    def name(self, value: Any, prefix: str) -> str:
        key = f"_{prefix}{len(self.globs)}"
        self.globs[key] = value
        return key

    def compile(self, cl: type[Any], call: str, body: list[str], fallback: Any) -> Any:
        """``def {call}:`` running ``body``, and on any error returning what ``fallback``
        returns for the same arguments (``call`` is ``"name(args)"``)."""
        fn, _, args = call.partition("(")
        lines = [f"def {call}:", "  try:", *("  " + line for line in body)]
        lines += ["  except Exception:", f"    return {self.name(fallback, 'fallback')}({args}"]
        namespace: dict[str, Any] = {}
        code = compile("\n".join(lines), f"<xportcn {fn} {cl.__qualname__}>", "exec")
        exec(code, self.globs, namespace)  # our own generated source
        return namespace[fn]


# -- structure -------------------------------------------------------------------------------


def structure_fn(
    conv: cattrs.Converter, cl: type[Any], exact: Mapping[Hook, type], fallback: Hook
) -> Hook | None:
    """A structure hook reading a wire dict into ``cl`` (strict); for anything it does not
    read the way cattrs would, and on any error, it returns ``fallback(data, cl)``. ``exact``
    maps scalar hooks to the class whose values they return unchanged (``_structure_str``
    to ``str``)."""
    fields = _covered(cl)
    if fields is None:
        return None
    try:
        return _structure_fn(conv, cl, exact, fallback, fields)
    except cattrs.StructureHandlerNotFoundError:  # cattrs' function raises it when called
        return None


def _structure_fn(
    conv: cattrs.Converter,
    cl: type[Any],
    exact: Mapping[Hook, type],
    fallback: Hook,
    fields: list[attrs.Attribute[Any]],
) -> Hook:
    src = _Source()
    cls_name = src.name(cl, "cl")
    body: list[str] = ["  if o.__class__ is not dict:", "    raise _Fallback"]
    kwargs: list[str] = []
    known: set[str] = set()
    for i, a in enumerate(fields):
        arg = f"a{i}"
        kwargs.append(f"{a.name}={arg}")
        if a.name == _EXTRAS:
            continue  # read last, once the known keys are known
        default = _default_expr(src, a)
        if a.metadata.get(REQUEST_ID):
            body.append(f"  {arg} = {default}")  # set from the envelope, never from the dict
            continue
        key = wire_name(a)
        known.add(key)
        value, same = _structure_expr(src, conv, a, exact)
        if default is None:
            body.append(f"  v = o[{key!r}]")
        else:
            body.append(f"  v = o[{key!r}] if {key!r} in o else _M")
            value = f"{default} if v is _M else {value}"
        if same is not None:  # the common case first: a value taken as it is
            value = f"v if v.__class__ is {same} else ({value})"
        body.append(f"  {arg} = {value}")
    for i, a in enumerate(fields):
        if a.name == _EXTRAS:
            known_name = src.name(frozenset(known), "known")
            default = _default_expr(src, a)
            body.append(
                f"  a{i} = {default} if {known_name}.issuperset(o) else _unknown(o, {known_name})"
            )
    src.globs["_unknown"] = _unknown
    setters = _slot_setters(cl, fields)
    if setters is None:
        body.append(f"  return {cls_name}({', '.join(kwargs)})")
    else:  # what the attrs __init__ does, without its keyword call
        body.append(f"  obj = {src.name(object.__new__, 'new')}({cls_name})")
        body.extend(f"  {src.name(set_, 'set')}(obj, a{i})" for i, set_ in enumerate(setters))
        body.append("  return obj")
    fn: Hook = src.compile(cl, "structure(o, t)", body, fallback)
    return fn


def _slot_setters(
    cl: type[Any], fields: list[attrs.Attribute[Any]]
) -> list[Callable[[Any, Any], None]] | None:
    """The slot setters of ``cl``'s fields, when setting them is all its ``__init__`` does:
    attrs' own ``__init__`` of a slotted class whose slots are its fields, without
    validators or pre/post-init hooks. ``None`` otherwise (the instance is then built by
    calling ``cl``)."""
    init = getattr(cl.__init__, "__code__", None)
    if (
        init is None
        or not init.co_filename.startswith("<attrs generated")
        or hasattr(cl, "__attrs_pre_init__")
        or hasattr(cl, "__attrs_post_init__")
        or any(a.validator is not None for a in fields)
    ):
        return None
    slots = {s for c in cl.__mro__ for s in c.__dict__.get("__slots__", ())} - {"__weakref__"}
    if slots != {a.name for a in fields}:
        return None
    setters = []
    for a in fields:
        descriptor = getattr(cl, a.name, None)
        if not isinstance(descriptor, types.MemberDescriptorType):
            return None
        setters.append(descriptor.__set__)
    return setters


def _unknown(data: dict[str, Any], known: frozenset[str]) -> dict[str, Any]:
    """The unknown fields of ``data`` (for ``extras``); cattrs decides any key that is not a
    plain string or that starts with NUL (the converter's own marker)."""
    unknown: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            if key.__class__ is not str or key[:1] == "\x00":
                raise Fallback
            unknown[key] = value
    return unknown


def _default_expr(src: _Source, a: attrs.Attribute[Any]) -> str | None:
    """The expression of ``a``'s default (a factory is called), ``None`` when required."""
    default: Any = a.default
    if default is attrs.NOTHING:
        return None
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        literal = {dict: "{}", list: "[]"}.get(default.factory)  # a new one, without a call
        return literal or f"{src.name(default.factory, 'factory')}()"
    return src.name(default, "default")


def _structure_expr(
    src: _Source, conv: cattrs.Converter, a: attrs.Attribute[Any], exact: Mapping[Hook, type]
) -> tuple[str, str | None]:
    """The expression reading the wire value ``v`` of field ``a`` as cattrs would, and the
    class (its global's name) whose values it returns unchanged, if any."""
    tp: Any = a.type
    wrap = a.metadata.get(WRAP)
    if wrap is not None:
        hook = src.name(conv.get_structure_hook(tp), "h")
        return f"{hook}(v[{wrap!r}], {src.name(tp, 't')})", None
    inner = optional_of(tp)
    target = tp if inner is None else inner
    value = _value_expr(src, conv, target)
    if inner is not None:  # every ``X | None`` hook of the converter: None, else X's hook
        value = f"None if v is None else {value}"
    same = exact.get(conv.get_structure_hook(target)) is target
    return value, src.name(target, "t") if same else None


def _value_expr(src: _Source, conv: cattrs.Converter, tp: Any) -> str:
    args = get_args(tp)
    if get_origin(tp) is list and args and attrs.has(args[0]):
        # the converter's list hook, without its call: a JSON array, entry by entry
        element = conv.get_structure_hook(args[0])
        each = (
            f"{src.name(element, 'h')}, v, {src.name(repeat, 'repeat')}({src.name(args[0], 't')})"
        )
        return f"list(map({each})) if v.__class__ is list else {_call_hook(src, conv, tp)}"
    return _call_hook(src, conv, tp)


def _call_hook(src: _Source, conv: cattrs.Converter, tp: Any) -> str:
    return f"{src.name(conv.get_structure_hook(tp), 'h')}(v, {src.name(tp, 't')})"


# -- unstructure -----------------------------------------------------------------------------


def unstructure_fn(
    conv: cattrs.Converter, cl: type[Any], fallback: Unstructure
) -> Unstructure | None:
    """An unstructure hook writing ``cl`` as its wire dict: field order, wire names, ``None``
    fields left out (unless ``keep_none``), ``wrap``, and ``extras`` written last. On any
    error it returns ``fallback(obj)``."""
    fields = _covered(cl)
    if fields is None:
        return None
    src = _Source()
    body = ["  res = {}"]
    extras = False
    for a in fields:
        if a.name == _EXTRAS:
            extras = True
            continue
        if a.metadata.get(REQUEST_ID):
            continue
        key = wire_name(a)
        body.append(f"  v = obj.{a.name}")
        value = _unstructure_expr(src, conv, a)
        if a.default is not None or a.metadata.get(KEEP_NONE):
            body.append(f"  res[{key!r}] = {value}")
        else:  # left out when written as None, as cattrs' output without its Nones
            if value != "v":
                body.append(f"  v = {value}")
            body.append("  if v is not None:")
            body.append(f"    res[{key!r}] = v")
    if extras:
        body.append("  if obj.extras:")
        body.append("    res.update(obj.extras)")
    body.append("  return res")
    fn: Unstructure = src.compile(cl, "unstructure(obj)", body, fallback)
    return fn


def _unstructure_expr(src: _Source, conv: cattrs.Converter, a: attrs.Attribute[Any]) -> str:
    """The expression writing the value ``v`` of field ``a`` as cattrs would."""
    tp: Any = a.type
    wrap = a.metadata.get(WRAP)
    if wrap is not None:
        return f"{{{wrap!r}: {_call(src, conv.get_unstructure_hook(tp))}}}"
    inner = optional_of(tp)
    if inner is None and not attrs.has(tp):
        return _call(src, conv.get_unstructure_hook(tp))
    # cattrs' ``X | None`` hook, and a model left None (an invalid request, written as null)
    hook = conv.get_unstructure_hook(tp if inner is None else inner)
    return "v" if hook is identity else f"None if v is None else {_call(src, hook)}"


def _call(src: _Source, hook: Callable[[Any], Any]) -> str:
    return "v" if hook is identity else f"{src.name(hook, 'h')}(v)"


__all__ = ["Fallback", "optional_of", "structure_fn", "unstructure_fn"]
