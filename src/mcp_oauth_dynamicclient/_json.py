"""JSON values as messages speak of them: a leaf module, imported by the runtime and converter.

Messages name the kind of a JSON value ("got a string"), never the value: a value a server
sent may be a secret, and one from storage may be a token.
"""

from __future__ import annotations

from typing import Any

__all__ = ["json_type_name"]


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
