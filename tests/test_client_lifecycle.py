"""The whole client lifecycle against MockAuthServer, once with each API flavour.

Discover, register, read, update, authorize with PKCE, exchange, call the protected resource,
refresh, introspect, revoke, client credentials, device flow, delete; and what is counted at
the server (a stored registration is reused, not registered again).
"""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from mcp_oauth_dynamicclient import (
    AuthorizationError,
    ClientRegistration,
    RegistrationError,
    TokenError,
    ValidationError,
)
from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.clients import REDIRECT, authorize, make
from tests.flavours import ClientProxy, Flavour


def test_full_lifecycle(api: Flavour, server: MockAuthServer) -> None:
    client = make(api, server, client_uri="https://app.example/")

    metadata = client.discover()
    assert metadata.issuer == server.url
    registration = client.register()
    assert isinstance(registration, ClientRegistration)
    assert registration.client_secret
    assert registration.registration_access_token

    info = client.get_client_info(registration.client_id)
    assert info["client_name"] == "Test App"
    updated = client.update_client(client_name="Renamed")
    assert updated["client_name"] == "Renamed"
    # RFC 7592 §2.2 replaces the whole record: what was not updated must have been sent again.
    assert updated["client_uri"] == "https://app.example/"
    assert updated["redirect_uris"] == [REDIRECT]

    token = authorize(client, scope="mcp:read mcp:write")
    assert token.scope == "mcp:read mcp:write"
    assert token.expires_at == pytest.approx(server.clock.now() + 3600, abs=2)
    response = client.authenticated_request("GET", server.resource_url)
    assert response.status_code == 200
    assert response.json()["client_id"] == registration.client_id

    refreshed = client.refresh_token()
    assert refreshed.access_token != token.access_token
    assert refreshed.refresh_token != token.refresh_token  # rotated by the server
    assert client.introspect_token(refreshed)["active"] is True

    assert client.revoke_token(refreshed) is True
    assert client.introspect_token(refreshed)["active"] is False
    with pytest.raises(TokenError, match="no token yet"):
        client.authenticated_request("GET", server.resource_url)

    assert client.delete_client() is True
    assert server.get_client(registration.client_id) is None
    assert server.requests.count("/register", method="POST") == 1


def test_stored_registration_is_reused_by_the_next_client(
    api: Flavour, server: MockAuthServer
) -> None:
    storage = api.storage()
    first = make(api, server, storage=storage).register()
    second = make(api, server, storage=storage).register()

    assert second.client_id == first.client_id
    assert second.client_secret == first.client_secret
    assert server.requests.count("/register", method="POST") == 1


def test_an_expired_client_secret_makes_the_client_register_again(
    api: Flavour, server: MockAuthServer
) -> None:
    server.settings.client_secret_lifetime = 600
    storage = api.storage()
    first = make(api, server, storage=storage).register()
    server.clock.advance(601)
    second = make(api, server, storage=storage).register()

    assert second.client_id != first.client_id
    assert server.requests.count("/register", method="POST") == 2


def test_a_pre_registered_client_never_registers(api: Flavour, server: MockAuthServer) -> None:
    created = server.create_client(
        {"redirect_uris": [REDIRECT], "grant_types": ["authorization_code", "refresh_token"]},
        client_id="pre-1",
        client_secret="pre-secret-" + "x" * 32,
    )
    client = make(api, server, client_id=created.client_id, client_secret=created.client_secret)

    token = authorize(client)
    assert client.authenticated_request("GET", server.resource_url).status_code == 200
    assert token.access_token
    assert server.requests.count("/register") == 0


@pytest.mark.parametrize("method", ["client_secret_post", "none"])
def test_other_token_endpoint_auth_methods(
    api: Flavour, server: MockAuthServer, method: str
) -> None:
    client = make(api, server, token_endpoint_auth_method=method)
    registration = client.register()
    assert registration.token_endpoint_auth_method == method
    assert (registration.client_secret is None) == (method == "none")
    token = authorize(client)
    assert client.refresh_token().access_token != token.access_token


def test_client_credentials_and_the_stored_token(api: Flavour, server: MockAuthServer) -> None:
    client = api.client(auth_server=server.url, resource=server.resource_url)
    client.register()
    token = client.get_token()
    assert token.refresh_token is None
    response = client.authenticated_request("GET", server.resource_url)
    assert response.status_code == 200
    assert response.json()["sub"] == client.register().client_id


def test_expiring_token_is_refreshed_before_the_request(
    api: Flavour, server: MockAuthServer
) -> None:
    client = make(api, server)
    first = authorize(client)
    server.clock.advance(3600 - 30)  # inside the 60 s skew

    response = client.authenticated_request("GET", server.resource_url)
    assert response.status_code == 200
    assert server.requests.count("/token", method="POST") == 2
    assert client.introspect_token(first.access_token)["active"] is True  # not revoked


def test_a_401_invalid_token_refreshes_once_and_retries(
    api: Flavour, server: MockAuthServer
) -> None:
    client = make(api, server)
    token = authorize(client)
    # Revoke behind the client's back: the resource refuses, the refresh token still works.
    httpx.post(
        server.url + "/revoke",
        data={"token": token.access_token, "token_type_hint": "access_token"},
        auth=(client.register().client_id, client.register().client_secret),
    ).raise_for_status()

    response = client.authenticated_request("GET", server.resource_url)
    assert response.status_code == 200
    assert server.requests.count("/mcp") == 2


def test_a_given_token_is_used_as_is_and_never_refreshed(
    api: Flavour, server: MockAuthServer
) -> None:
    client = make(api, server)
    token = authorize(client)
    assert client.revoke_token(token.access_token)

    response = client.authenticated_request("GET", server.resource_url, token=token)
    assert response.status_code == 401
    assert server.requests.count("/token", method="POST") == 1


def test_refresh_with_a_rotated_token_removes_the_grant(
    api: Flavour, server: MockAuthServer
) -> None:
    client = make(api, server)
    token = authorize(client)
    client.refresh_token()
    assert token.refresh_token is not None

    with pytest.raises(TokenError) as caught:
        client.refresh_token(token.refresh_token)  # replay of a rotated refresh token
    assert caught.value.error_code == "invalid_grant"
    # The server revoked the whole grant, and the newest stored token is no good either.
    with pytest.raises(TokenError) as again:
        client.refresh_token()
    assert again.value.error_code == "invalid_grant"
    with pytest.raises(TokenError, match="no token yet"):
        client.authenticated_request("GET", server.resource_url)


def test_device_flow(api: Flavour, server: MockAuthServer) -> None:
    server.settings.device_interval = 1
    client = make(api, server)
    device = client.start_device_authorization(scope="mcp:read")
    assert device["user_code"] == device.user_code
    assert device.interval == 1
    timer = threading.Timer(1.5, server.approve, args=(device.user_code,))
    timer.start()
    try:
        token = client.poll_device_authorization(device.device_code)
    finally:
        timer.cancel()
    assert token.scope == "mcp:read"
    assert client.authenticated_request("GET", server.resource_url).status_code == 200
    assert server.requests.count("/token", method="POST") >= 2  # pending, then approved


@pytest.mark.parametrize(
    ("decision", "code"), [("deny", "access_denied"), ("expire", "expired_token")]
)
def test_device_flow_denied_or_expired(
    api: Flavour, server: MockAuthServer, decision: str, code: str
) -> None:
    server.settings.device_interval = 1
    client = make(api, server)
    device = client.start_device_authorization()
    if decision == "deny":
        server.deny(device.user_code)
    else:
        server.clock.advance(601)
    with pytest.raises(AuthorizationError) as caught:
        client.poll_device_authorization(device.device_code, interval=0.01)
    assert caught.value.error_code == code


def test_openid_id_token_is_validated(api: Flavour, server: MockAuthServer) -> None:
    client = make(api, server)
    token = authorize(client, scope="openid mcp:read")
    assert token.id_token is not None
    assert "id_token" not in repr(token).replace("id_token='***'", "")


def test_delete_makes_the_server_forget_the_client(api: Flavour, server: MockAuthServer) -> None:
    storage = api.storage()
    client = make(api, server, storage=storage)
    other = make(api, server, storage=storage)
    registration = client.register()
    assert other.register().client_id == registration.client_id  # the stored one, in memory

    assert client.delete_client(registration.client_id) is True
    assert storage_keys(api, storage) == []
    with pytest.raises(RegistrationError) as caught:
        other.get_client_info()  # still holds the deleted registration's token
    assert caught.value.status_code == 401


def test_wrong_client_id_for_management_is_refused(api: Flavour, server: MockAuthServer) -> None:
    client = make(api, server)
    with pytest.raises(ValidationError, match="is not this client's"):
        client.get_client_info("someone-else")
    assert server.requests.count("/register/*") == 0


def storage_keys(api: Flavour, storage: Any) -> list[str]:
    """The keys in a storage of either flavour."""
    proxy = ClientProxy(storage, api.portal)
    keys: list[str] = proxy.list_tokens()
    return keys


def test_registration_sends_the_initial_access_token_and_software_statement(
    api: Flavour, server: MockAuthServer
) -> None:
    """RFC 7591 §3 (initial access token as a Bearer token) and §2.3 (software statement)."""
    server.settings.initial_access_token = "iat-" + "x" * 20
    statement = "eyJhbGciOiJSUzI1NiJ9.eyJzb2Z0d2FyZV9pZCI6ImFwcCJ9.c2lnbmF0dXJl"
    client = make(
        api,
        server,
        initial_access_token=server.settings.initial_access_token,
        software_statement=statement,
        software_id="4NRB1-0XZABZI9E6-5SM3R",
        software_version="2.1",
    )
    client.register()
    sent = server.requests.last("/register", method="POST")
    assert sent.headers["authorization"] == f"Bearer {server.settings.initial_access_token}"
    body = sent.json
    assert body["software_statement"] == statement
    assert (body["software_id"], body["software_version"]) == ("4NRB1-0XZABZI9E6-5SM3R", "2.1")
    text = repr(client.config)
    assert statement not in text
    assert server.settings.initial_access_token not in text
