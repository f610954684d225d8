"""JSON as the package reads it, and JSON values as messages speak of them: a leaf module.

Imported by the runtime, the converter and the JWT parser. Two rules:

- Every JSON text from outside (a server's body, a JWT's header and claims) is read by
  :func:`loads`, which bounds the nesting depth (RFC 8259 §9 lets a parser set that limit):
  a document nested deeper than :data:`MAX_DEPTH` is refused with a ``ValueError``, like any
  other text that is not JSON, where ``json.loads`` would raise ``RecursionError`` or return
  a value no other part of the program could serialise again.
- Numbers are finite: RFC 8259 §6 has no ``NaN`` or ``Infinity``, which Python's ``json``
  reads (and writes) unless told not to. :func:`loads` refuses them, and :func:`json_problem`
  finds them (and nesting past the bound) in a value from elsewhere, such as a storage, so
  that what the package accepts it can always write back.
- Messages name the kind of a JSON value ("got a string"), never the value: a value a server
  sent may be a secret, and one from storage may be a token.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

__all__ = ["MAX_DEPTH", "JsonTooDeep", "json_problem", "json_type_name", "loads"]

MAX_DEPTH = 128
"""Arrays and objects nested deeper than this are refused (OAuth documents nest 3 or 4 deep)."""


class JsonTooDeep(ValueError):
    """A JSON text nests arrays and objects deeper than :data:`MAX_DEPTH`."""

    def __init__(self) -> None:
        super().__init__(f"JSON nested deeper than {MAX_DEPTH} levels")


def loads(
    data: str | bytes,
    *,
    object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None,
    parse_constant: Callable[[str], Any] | None = None,
) -> Any:
    """``json.loads`` with the nesting bound; raises ``ValueError`` for any text not accepted.

    ``UnicodeDecodeError`` (bytes in no UTF encoding) and :class:`JsonTooDeep` are both
    ``ValueError``s, as ``json.JSONDecodeError`` is. ``NaN``, ``Infinity`` and numbers past
    the range of a float (``1e400``) are refused, unless ``parse_constant`` says otherwise.
    """
    try:
        value = json.loads(
            data,
            object_pairs_hook=object_pairs_hook,
            parse_constant=parse_constant or _no_constant,
            parse_float=_finite_float,
        )
    except RecursionError:
        raise JsonTooDeep from None
    if _may_nest_deeper(data) and _depth_exceeds(value, MAX_DEPTH):
        raise JsonTooDeep
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number (RFC 8259 §6)")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"the number {text[:20]} is out of range (RFC 8259 §6)")
    return number


def json_problem(value: Any) -> str | None:
    """Why ``value`` (parsed JSON, from a storage say) is not JSON this package writes, or None.

    The path of the first number that is not finite (``$.extra.x is not a finite number``),
    or of the first array or object nested past :data:`MAX_DEPTH`. A walk without recursion.
    """
    stack: list[tuple[Any, str, int]] = [(value, "$", 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return f"{where} is not a finite number (RFC 8259 §6)"
        if isinstance(item, dict):
            children: Any = ((f"{where}.{key}", child) for key, child in item.items())
        elif isinstance(item, (list, tuple)):
            children = ((f"{where}[{index}]", child) for index, child in enumerate(item))
        else:
            continue
        if depth >= MAX_DEPTH:
            return f"{where} is nested deeper than {MAX_DEPTH} levels"
        stack.extend((child, path, depth + 1) for path, child in children)
    return None


def _may_nest_deeper(data: str | bytes) -> bool:
    """Whether ``data`` has more opening brackets than the bound (a count in C: most bodies
    have a handful, and are then known to be shallow without walking the parsed value)."""
    if isinstance(data, str):
        return data.count("[") + data.count("{") > MAX_DEPTH
    return data.count(b"[") + data.count(b"{") > MAX_DEPTH


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` deep in ``value`` (no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def json_type_name(value: Any) -> str:
    """What kind of JSON value ``value`` is, for messages (never the value itself)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
