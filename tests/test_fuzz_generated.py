"""Fuzz the generated parsers and the runtime under them (issue 12, item 16).

Every ``parse_*`` function of ``_generated.operations`` reads a response a server chose: any
status, any headers, any body. Whatever it is, the parser returns its model or raises the error
class of its operation (the one its docstring names), never a bare ``TypeError`` or
``RecursionError``. Under them, ``runtime.parse_model`` and the converter are fed every model of
``_generated.models`` with arbitrary and near-valid JSON, and ``error_from_response`` builds an
error from anything without raising.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import math
import re
from collections.abc import Callable
from typing import Any, Literal, get_origin

import attrs
import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcp_oauth_dynamicclient import exceptions, runtime
from mcp_oauth_dynamicclient._generated import converter, models, operations
from mcp_oauth_dynamicclient._json import MAX_DEPTH, JsonTooDeep, loads
from mcp_oauth_dynamicclient.exceptions import OAuth2Error, TokenError
from tests.fuzzing import (
    FUZZ,
    finite_json_values,
    json_bytes,
    json_values,
    model_payload,
    only_ours,
    valid_payload,
)

PARSERS: dict[str, Callable[[httpx.Response], Any]] = {
    name: function
    for name, function in inspect.getmembers(operations, inspect.isfunction)
    if name.startswith("parse_")
}
MODELS = [
    model
    for _, model in inspect.getmembers(models, inspect.isclass)
    if attrs.has(model) and model.__module__ == models.__name__
]
URL = "https://as.example/endpoint"


def _is_model(value: object) -> bool:
    return isinstance(value, type) and attrs.has(value)


def error_class_of(parser: Callable[..., Any]) -> type[OAuth2Error]:
    """The error class a generated parser's docstring promises (``or raise ``TokenError````)."""
    found = re.search(r"raise ``(\w+)``", parser.__doc__ or "")
    assert found, f"{parser.__name__} names no error class"
    kind: type[OAuth2Error] = getattr(exceptions, found.group(1))
    return kind


def test_every_operation_and_model_is_fuzzed() -> None:
    """A parser or model added to the spec is fuzzed without a change here."""
    assert len(PARSERS) == 11
    assert len(MODELS) == len([name for name in dir(models) if _is_model(getattr(models, name))])
    assert {error_class_of(parser) for parser in PARSERS.values()} >= {TokenError}


headers = st.fixed_dictionaries(
    {},
    optional={
        "content-type": st.sampled_from(["application/json", "text/html", "", "application/x"]),
        "www-authenticate": st.text(max_size=80).map(lambda t: t.encode("latin-1", "replace")),
        "retry-after": st.text(max_size=40).map(lambda t: t.encode("latin-1", "replace")),
        "date": st.text(max_size=40).map(lambda t: t.encode("latin-1", "replace")),
    },
)


def response(status: int, body: bytes, extra: dict[str, Any] | None = None) -> httpx.Response:
    return httpx.Response(
        status, headers=extra or {}, content=body, request=httpx.Request("POST", URL)
    )


@FUZZ
@given(
    name=st.sampled_from(sorted(PARSERS)),
    status=st.sampled_from([200, 201, 204, 299, 301, 400, 401, 403, 429, 500, 503]),
    body=json_bytes,
    extra=headers,
)
def test_generated_parsers_take_any_response(
    name: str, status: int, body: bytes, extra: dict[str, Any]
) -> None:
    parser = PARSERS[name]
    with only_ours(error_class_of(parser)):
        parser(response(status, body, extra))


@FUZZ
@given(data=st.data(), model=st.sampled_from(MODELS))
def test_parse_model_takes_near_valid_json(data: st.DataObject, model: type[Any]) -> None:
    payload = data.draw(model_payload(model) | json_values, label="payload")
    body = json.dumps(payload).encode()
    with only_ours(TokenError):
        parsed = runtime.parse_model(response(200, body), model, converter, TokenError, "fuzz")
        assert isinstance(parsed, model)


@FUZZ
@given(data=st.data(), model=st.sampled_from(MODELS))
def test_valid_json_parses_and_round_trips(data: st.DataObject, model: type[Any]) -> None:
    """What a spec-conforming server sends is accepted, and sent back as it came (``extra``)."""
    payload = data.draw(valid_payload(model), label="payload")
    vendor = data.draw(st.dictionaries(st.text(max_size=6), finite_json_values, max_size=2))
    payload = {**{k: v for k, v in vendor.items() if not hasattr(model, k)}, **payload}
    body = json.dumps(payload).encode()
    parsed = runtime.parse_model(response(200, body), model, converter, TokenError, "fuzz")
    # Sent back as it came, vendor members included, and a constant (grant_type) always.
    out = converter.unstructure(parsed)
    assert {k: v for k, v in out.items() if k in payload} == payload
    constants = {f.name for f in attrs.fields(model) if get_origin(f.type) is Literal}
    assert set(out) - set(payload) <= constants
    assert converter.structure(converter.unstructure(parsed), model) == parsed


@FUZZ
@given(
    status=st.integers(min_value=400, max_value=599),
    body=json_bytes,
    extra=headers,
    kind=st.sampled_from([OAuth2Error, TokenError, exceptions.RegistrationError]),
)
def test_error_from_response_always_builds_an_error(
    status: int, body: bytes, extra: dict[str, Any], kind: type[OAuth2Error]
) -> None:
    error = runtime.error_from_response(response(status, body, extra), kind, "fuzz")
    assert type(error) is kind
    assert error.status_code == status
    assert error.retry_after is None or (
        math.isfinite(error.retry_after) and error.retry_after >= 0
    )
    assert str(error).startswith(f"fuzz failed with HTTP {status}")


@FUZZ
@given(body=json_bytes, status=st.integers(min_value=100, max_value=599))
def test_parse_empty_takes_any_response(body: bytes, status: int) -> None:
    with only_ours(TokenError):
        runtime.parse_empty(response(status, body), TokenError, "fuzz")


@FUZZ
@given(data=json_bytes | st.text(max_size=200).map(str.encode))
def test_json_loads_raises_only_value_errors(data: bytes) -> None:
    with contextlib.suppress(ValueError):
        loads(data)


@pytest.mark.parametrize("depth", [MAX_DEPTH, MAX_DEPTH + 1, 50_000])
def test_json_nesting_is_bounded(depth: int) -> None:
    deep = "[" * depth + "]" * depth
    if depth <= MAX_DEPTH:
        assert loads(deep) is not None
    else:
        with pytest.raises(JsonTooDeep, match=f"deeper than {MAX_DEPTH}"):
            loads(deep)
