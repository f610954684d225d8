"""Strategies shared by the fuzz tests (``tests/test_fuzz_*.py``): hostile and near-valid input.

Every parser of the package is fed two kinds of input. *Arbitrary* input: any bytes, any text,
any JSON value, deeply nested, huge numbers, ``NaN``. *Near-valid* input: a value of the right
shape, built from the attrs model the parser reads (:func:`model_payload`), with some members
replaced by any JSON value, some left out and vendor members added, so the fuzzing reaches the
checks past the first one. The property is always the same: the parser returns, or raises one of
the package's exceptions (:func:`only_ours`), never ``KeyError``, ``TypeError``, ``RecursionError``
and the like.

Bounded for the normal suite: :data:`FUZZ` runs 150 examples per test, derandomized (the same
examples on every run, so CI is reproducible) and with no example database (nothing is written
into the repository); ``conftest.py`` loads the same as the default profile.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Literal, get_args, get_origin

import attrs
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from mcp_oauth_dynamicclient.exceptions import OAuth2Error

__all__ = [
    "FUZZ",
    "HUGE_NUMBERS",
    "finite_json_values",
    "json_bytes",
    "json_values",
    "model_payload",
    "only_ours",
    "valid_payload",
]

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
"""The settings of every fuzz test: bounded, reproducible, nothing written to disk."""

HUGE_NUMBERS = st.sampled_from(
    [2**53, -(2**53), 2**63, 10**400, -(10**400), 1e308, float("inf"), float("nan"), -0.0]
)
"""Numbers past what a float or I-JSON holds (RFC 7493 §2.2), and the non-finite ones."""

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | HUGE_NUMBERS
    | st.text(max_size=30)
)

json_values: st.SearchStrategy[Any] = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
"""Any JSON value (with ``NaN`` and huge numbers, which Python's json reads and writes)."""


finite_json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
"""A JSON value every implementation reads alike (RFC 8259 §6, RFC 7493): valid vendor data."""


def _deep(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


json_bytes: st.SearchStrategy[bytes] = st.one_of(
    json_values.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=200),
    st.integers(min_value=100, max_value=200_000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(min_value=100, max_value=200_000).map(_deep),
    st.sampled_from([b"", b"null", b"[]", b'"x"', b"1e400", b"NaN", b"9" * 5000, b"\xff\xfe"]),
)
"""A response body: JSON of any shape, bytes that are not JSON, JSON nested far too deep."""


@contextmanager
def only_ours(*allowed: type[OAuth2Error]) -> Iterator[None]:
    """The block returns, or raises one of ``allowed`` (``OAuth2Error`` when none is named).

    Anything else fails the test, with the exception chained for the traceback.
    """
    kinds = allowed or (OAuth2Error,)
    try:
        yield
    except kinds:
        pass
    except Exception as exc:  # the point of the test: nothing else may come out
        names = ", ".join(kind.__name__ for kind in kinds)
        raise AssertionError(f"{type(exc).__name__} escaped, expected {names}: {exc}") from exc


# --------------------------------------------------------------------- model-shaped input


def _field_types(cls: type[Any]) -> dict[str, Any]:
    """The resolved type of each field (as the converter sees them: ``attrs.resolve_types``)."""
    return {field.name: field.type for field in attrs.fields(attrs.resolve_types(cls))}


def valid_value(kind: Any) -> st.SearchStrategy[Any]:
    """A JSON value a strict converter accepts for a field of type ``kind`` (never null)."""
    origin = get_origin(kind)
    if kind is str:
        return st.text(max_size=20)
    if kind is bool:
        return st.booleans()
    if kind is int:
        return st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    if kind is float:
        return st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2**40), 2**40)
    if kind is Any:
        return finite_json_values
    if origin is Literal:
        return st.sampled_from(get_args(kind))
    if origin in (typing.Union, types.UnionType):
        # An optional field is left out rather than null, so what comes back out is what
        # went in (a null field is not written back); null is the near-valid tests' to send.
        return st.one_of([valid_value(arg) for arg in get_args(kind) if arg is not type(None)])
    if origin in (list, Sequence):
        return st.lists(valid_value(get_args(kind)[0]), max_size=3)
    if origin in (dict, Mapping):
        return st.dictionaries(st.text(max_size=8), finite_json_values, max_size=3)
    if attrs.has(kind):
        return valid_payload(kind)
    raise NotImplementedError(f"no strategy for {kind!r}")


def valid_payload(cls: type[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object that structures into ``cls``: required fields set, optional ones maybe."""
    hints = _field_types(cls)
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for field in attrs.fields(cls):
        if field.name == "extra":
            continue
        strategy = valid_value(hints[field.name])
        if field.default is attrs.NOTHING:
            required[field.name] = strategy
        else:
            optional[field.name] = strategy
    return st.fixed_dictionaries(required, optional=optional)


def model_payload(cls: type[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A near-valid JSON object for ``cls``: a valid one with up to two members replaced by any
    JSON value (huge numbers and ``NaN`` included), maybe one left out, and vendor members added
    (``extra`` and ``__class__`` among their names)."""
    names = [field.name for field in attrs.fields(cls) if field.name != "extra"]
    changes = st.lists(st.tuples(st.sampled_from(names), json_values | HUGE_NUMBERS), max_size=2)
    vendor = st.dictionaries(
        st.sampled_from(["extra", "x-vendor", "", "__class__"]) | st.text(max_size=6),
        json_values,
        max_size=2,
    )

    def mutate(
        payload: dict[str, Any],
        replaced: list[tuple[str, Any]],
        removed: list[str],
        more: dict[str, Any],
    ) -> dict[str, Any]:
        extra = {key: value for key, value in more.items() if key not in names}
        mutated = {**extra, **payload, **dict(replaced)}
        for name in removed:
            mutated.pop(name, None)
        return mutated

    return st.builds(
        mutate,
        valid_payload(cls),
        changes,
        st.lists(st.sampled_from(names), max_size=1),
        vendor | st.fixed_dictionaries({}),
    )
