"""The cattrs converter behind generated models: strict JSON types, ``extra`` kept, unset omitted.

Imported on first use by :class:`.runtime.LazyConverter`, so that importing the package does not
import cattrs. RFC 8414 §2, RFC 7591 §3.2.1 and RFC 6749 §5.1 all let servers add members:
unknown members of an object are kept in the model's ``extra`` mapping, and sent back on output.

Numbers are held to what every JSON implementation can exchange (RFC 7493 §2.2, I-JSON): an
integer field takes integers of magnitude up to 2**53 - 1, a number field finite values. An
``expires_in`` of ``10**400`` (Python reads any size) would otherwise pass and overflow
later, in the arithmetic that turns it into an expiry time.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, get_args, get_origin

import attrs
import cattrs
from cattrs.cols import list_structure_factory
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.v import format_exception

from ._json import json_type_name

__all__ = ["MAX_SAFE_INTEGER", "build_converter", "describe_problem"]


MAX_SAFE_INTEGER = 2**53 - 1
"""The largest integer magnitude exchanged exactly by every JSON implementation (RFC 7493 §2.2)."""


def _strict(kind: type[Any], *, name: str) -> Callable[[Any, Any], Any]:
    def structure(value: Any, _: Any) -> Any:
        # bool is a subclass of int, but a JSON true is not a number.
        if isinstance(value, bool) and kind is not bool:
            raise TypeError(f"expected {name}, got a boolean")
        if kind in (int, float) and isinstance(value, int) and abs(value) > MAX_SAFE_INTEGER:
            raise ValueError(f"expected {name}, got a number beyond ±(2**53 - 1) (RFC 7493 §2.2)")
        if kind is float and isinstance(value, int):
            return float(value)
        if not isinstance(value, kind):
            raise TypeError(f"expected {name}, got {json_type_name(value)}")
        if kind is float and not math.isfinite(value):
            raise ValueError(f"expected {name}, got {value} (not a JSON number, RFC 8259 §6)")
        return value

    return structure


def _is_union(kind: Any) -> bool:
    return get_origin(kind) in (typing.Union, types.UnionType)


def _is_sequence(kind: Any) -> bool:
    return get_origin(kind) in (list, Sequence)


def _is_object(kind: Any) -> bool:
    return get_origin(kind) in (dict, Mapping)


def _is_literal(kind: Any) -> bool:
    return get_origin(kind) is Literal


def _describe_type(kind: Any) -> str:
    """A JSON-flavoured name for a Python type, for messages."""
    names = {str: "a string", int: "an integer", float: "a number", bool: "a boolean"}
    if kind in names:
        return names[kind]
    if _is_sequence(kind):
        return "an array"
    if attrs.has(kind):
        return f"an object ({kind.__name__})"
    return "an object" if _is_object(kind) else str(kind)


def _union_factory(kind: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    members = [arg for arg in get_args(kind) if arg is not type(None)]
    optional = len(members) != len(get_args(kind))
    names = " or ".join(_describe_type(member) for member in members)

    def structure(value: Any, _: Any) -> Any:
        if value is None:
            if optional:
                return None
            raise TypeError(f"expected {names}, got null")
        if len(members) == 1:  # an optional field: the member's own error says it best
            return converter.structure(value, members[0])
        for member in members:
            try:
                return converter.structure(value, member)
            except (cattrs.BaseValidationError, TypeError, ValueError):
                continue
        raise TypeError(f"expected {names}, got {json_type_name(value)}")

    return structure


def _sequence_factory(kind: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    (item,) = get_args(kind) or (Any,)
    structure_items = list_structure_factory(list[item], converter)  # type: ignore[valid-type]

    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, list):
            raise TypeError(f"expected an array, got {json_type_name(value)}")
        return structure_items(value, list[item])  # type: ignore[valid-type]

    return structure


def _object_factory(kind: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, dict):
            raise TypeError(f"expected an object, got {json_type_name(value)}")
        return dict(value)

    return structure


def _literal_factory(kind: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    allowed = get_args(kind)

    def structure(value: Any, _: Any) -> Any:
        if isinstance(value, bool) or value not in allowed:
            raise ValueError(f"expected one of {', '.join(map(repr, allowed))}")
        return value

    return structure


def _model_structure_factory(cls: type[Any], converter: cattrs.Converter) -> Any:
    attrs.resolve_types(cls)
    has_extra = "extra" in attrs.fields_dict(cls)
    known = frozenset(f.name for f in attrs.fields(cls)) - {"extra"}
    overrides: dict[str, Any] = {"extra": override(omit=True)} if has_extra else {}
    structure_known = make_dict_structure_fn(cls, converter, **overrides)

    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, dict):
            raise TypeError(f"expected an object, got {json_type_name(value)}")
        model = structure_known(value, cls)
        if has_extra:
            extra = {key: item for key, item in value.items() if key not in known}
            if extra:
                model = attrs.evolve(model, extra=extra)
        return model

    return structure


def _model_unstructure_factory(cls: type[Any], converter: cattrs.Converter) -> Any:
    attrs.resolve_types(cls)
    fields = attrs.fields(cls)
    has_extra = "extra" in attrs.fields_dict(cls)
    # A const field (grant_type, response_type) is sent even though it equals its default.
    overrides: dict[str, Any] = {
        f.name: override(omit_if_default=False) for f in fields if _is_literal(f.type)
    }
    if has_extra:
        overrides["extra"] = override(omit=True)
    unstructure_known = make_dict_unstructure_fn(
        cls, converter, _cattrs_omit_if_default=True, **overrides
    )

    def unstructure(model: Any) -> dict[str, Any]:
        payload: dict[str, Any] = unstructure_known(model)
        if has_extra:
            for key, item in model.extra.items():
                payload.setdefault(key, item)
        return payload

    return unstructure


def build_converter() -> cattrs.Converter:
    """A new converter for generated models: strict JSON types, ``extra`` kept, unset omitted."""
    converter = cattrs.Converter(detailed_validation=True)
    converter.register_structure_hook(str, _strict(str, name="a string"))
    converter.register_structure_hook(int, _strict(int, name="an integer"))
    converter.register_structure_hook(float, _strict(float, name="a number"))
    converter.register_structure_hook(bool, _strict(bool, name="a boolean"))
    converter.register_structure_hook_factory(_is_literal, _literal_factory)
    converter.register_structure_hook_factory(_is_union, _union_factory)
    converter.register_structure_hook_factory(_is_sequence, _sequence_factory)
    converter.register_structure_hook_factory(_is_object, _object_factory)
    converter.register_structure_hook_factory(attrs.has, _model_structure_factory)
    converter.register_unstructure_hook_factory(attrs.has, _model_unstructure_factory)
    return converter


def describe_problem(exc: BaseException, kind: type[Any] | None) -> str:
    """Our hooks' own words ("expected an integer, got a string"), else cattrs' default."""
    if isinstance(exc, (TypeError, ValueError)) and str(exc).startswith("expected "):
        return str(exc)
    return format_exception(exc, kind)
