"""Fuzz what is read back from storage (issue 12, item 16).

A token storage holds dicts; a file can be edited, a Redis key overwritten, a custom
``TokenStorage`` can hand back anything. Whatever comes back, ``TokenResponse.from_dict``,
``ClientRegistration.from_dict`` and the pending authorization's loader return the model or
raise ``ValidationError`` naming the field, and what they return is what a later write and read
give back. The token file's and Redis values' own parsers raise ``StorageError`` only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcp_oauth_dynamicclient import ClientRegistration, TokenResponse
from mcp_oauth_dynamicclient._models import PendingAuthorization, load
from mcp_oauth_dynamicclient._storage_format import (
    FORMAT,
    VERSION,
    parse_document,
    parse_redis_value,
)
from mcp_oauth_dynamicclient.exceptions import StorageError, ValidationError
from tests.fuzzing import FUZZ, json_bytes, json_values, model_payload, only_ours

KINDS = [TokenResponse, ClientRegistration, PendingAuthorization]


def read(kind: type[Any], data: Any) -> Any:
    """An entry read back the way the client reads each kind."""
    if kind is TokenResponse:
        return TokenResponse.from_dict(data, now=1_700_000_000.0)
    if kind is ClientRegistration:
        return ClientRegistration.from_dict(data)
    return load(data, PendingAuthorization, "pending authorization")


def write(value: Any) -> dict[str, Any]:
    if isinstance(value, PendingAuthorization):
        from mcp_oauth_dynamicclient._models import dump

        return dump(value)
    data: dict[str, Any] = value.to_dict()
    return data


@FUZZ
@given(data=st.data(), kind=st.sampled_from(KINDS))
def test_stored_entries_load_or_name_the_bad_field(data: st.DataObject, kind: type[Any]) -> None:
    entry = data.draw(model_payload(kind) | json_values, label="entry")
    with only_ours(ValidationError):
        loaded = read(kind, entry)
        # What was accepted survives a write and a read unchanged (storage goes through JSON).
        stored = json.loads(json.dumps(write(loaded), allow_nan=False))
        assert read(kind, stored) == loaded


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.__name__)
@pytest.mark.parametrize("field", ["expires_in", "expires_at", "created_at", "registered_at"])
def test_numbers_no_float_holds_are_refused(kind: type[Any], field: str) -> None:
    bases: dict[type[Any], dict[str, Any]] = {
        TokenResponse: {"access_token": "a"},
        ClientRegistration: {"client_id": "c"},
        PendingAuthorization: {
            "state": "s",
            "code_verifier": "v",
            "redirect_uri": "http://127.0.0.1/cb",
            "issuer": "https://as.example",
            "client_id": "c",
            "created_at": 1.0,
        },
    }
    base = bases[kind]
    for number in (10**400, float("nan"), float("inf")):
        if number == 10**400 and not hasattr(kind, field):
            # Not a field of this kind: never computed with, and JSON can store it.
            assert getattr(read(kind, {**base, field: number}), field, None) is None
            continue
        with pytest.raises(ValidationError, match=rf"\$\.{field}"):
            read(kind, {**base, field: number})


# ------------------------------------------------------------------- the storages' parsers


def documents() -> st.SearchStrategy[bytes]:
    entries = st.dictionaries(st.text(max_size=8), json_values, max_size=3)
    shaped = st.fixed_dictionaries(
        {},
        optional={
            "format": st.just(FORMAT) | json_values,
            "version": st.just(VERSION) | st.just(True) | json_values,
            "entries": entries | json_values,
        },
    )
    return shaped.map(lambda document: json.dumps(document).encode()) | json_bytes


@FUZZ
@given(data=documents())
def test_token_file_contents_parse_or_raise_storage_error(data: bytes) -> None:
    with only_ours(StorageError):
        entries = parse_document(data, Path("/tmp/tokens.json"))
        assert all(isinstance(entry, dict) for entry in entries.values())


@FUZZ
@given(raw=json_bytes | st.text(max_size=100))
def test_redis_values_parse_or_raise_storage_error(raw: bytes | str) -> None:
    with only_ours(StorageError):
        assert isinstance(parse_redis_value(raw, "key", "redis://127.0.0.1"), dict)
