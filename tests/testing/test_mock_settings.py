"""Knobs and the clock: validation, runtime changes, and timestamps consistent with the clock."""

from __future__ import annotations

import typing

import attrs
import httpx
import pytest

from mcp_oauth_dynamicclient.testing import Clock, MockAuthServer, ServerSettings, SettingsKnobs
from tests.testing.mock_flows import (
    REDIRECT_URI,
    confidential_client,
    introspect,
    public_client,
    tokens_for,
)


def test_the_keyword_knobs_are_exactly_the_settings() -> None:
    knobs = set(typing.get_type_hints(SettingsKnobs))
    assert knobs == {field.name for field in attrs.fields(ServerSettings)}


@pytest.mark.parametrize(
    "knobs",
    [
        {"access_token_lifetime": -1},
        {"code_lifetime": True},
        {"device_interval": -5},
        {"scopes": ["ok", "not ok"]},
        {"required_scope": 'bad"scope'},
    ],
)
def test_invalid_knobs_are_refused(knobs: dict[str, typing.Any]) -> None:
    with pytest.raises(ValueError):
        ServerSettings(**knobs)


def test_assignments_are_validated_too() -> None:
    settings = ServerSettings()
    with pytest.raises(ValueError):
        settings.access_token_lifetime = -3
    settings.scopes = "a b"  # type: ignore[assignment]
    assert settings.scopes == ("a", "b")


def test_the_initial_access_token_is_not_in_the_repr() -> None:
    assert "hunter2" not in repr(ServerSettings(initial_access_token="hunter2"))


def test_runtime_changes_take_effect(server: MockAuthServer, http: httpx.Client) -> None:
    client_id = public_client(server)
    server.settings.access_token_lifetime = 5
    assert tokens_for(http, server, client_id)["expires_in"] == 5
    server.settings.initial_access_token = "needed"
    response = http.post(server.url + "/register", json={"redirect_uris": [REDIRECT_URI]})
    assert response.status_code == 401


def test_clock_moves_forward_only() -> None:
    clock = Clock()
    before = clock.now()
    clock.advance(100)
    assert clock.now() - before >= 100
    with pytest.raises(ValueError):
        clock.advance(-1)
    assert "offset=100s" in repr(clock)


def test_a_frozen_clock_moves_only_when_advanced() -> None:
    clock = Clock(start=1_000_000.5)
    assert clock.frozen
    assert clock.now() == 1_000_000.5
    assert clock.timestamp() == 1_000_000
    clock.advance(10)
    assert clock.now() == 1_000_010.5


def test_timestamps_follow_the_server_clock(http: httpx.Client) -> None:
    with MockAuthServer(clock=Clock(start=2_000_000_000), client_secret_lifetime=50) as server:
        response = http.post(server.url + "/register", json={"redirect_uris": [REDIRECT_URI]})
        assert response.json()["client_id_issued_at"] == 2_000_000_000
        assert response.json()["client_secret_expires_at"] == 2_000_000_050
        client_id, _ = confidential_client(server)
        server.clock.advance(7)
        token = server.issue_token(client_id)
        info = introspect(http, server, token.access_token)
        assert info["iat"] == 2_000_000_007
        assert info["exp"] == 2_000_000_007 + 3600
