"""RFC 7009 revocation and RFC 7662 introspection."""

from __future__ import annotations

import httpx
import pytest

from mcp_oauth_dynamicclient._client_auth import ClientSecretBasic, NoClientAuth
from mcp_oauth_dynamicclient._generated import (
    AsyncEndpointClient,
    IntrospectionRequest,
    RevocationRequest,
)
from mcp_oauth_dynamicclient.exceptions import TokenError
from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.testing.mock_flows import (
    basic_header,
    call_mcp,
    confidential_client,
    introspect,
    public_client,
    refresh,
    tokens_for,
)


def _revoke(
    http: httpx.Client, server: MockAuthServer, client_id: str, token: str, **form: str
) -> httpx.Response:
    return http.post(server.url + "/revoke", data={"token": token, "client_id": client_id, **form})


def test_introspection_describes_an_active_access_token(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id = public_client(server)
    tokens = tokens_for(http, server, client_id, scope="mcp:read", resource=server.resource_url)
    info = introspect(http, server, tokens["access_token"])
    assert info["active"] is True
    assert info["scope"] == "mcp:read"
    assert info["client_id"] == client_id
    assert info["sub"] == "test-user"
    assert info["aud"] == server.resource_url
    assert info["token_type"] == "Bearer"
    assert info["iss"] == server.url
    assert info["exp"] - info["iat"] == tokens["expires_in"]
    assert abs(info["iat"] - server.clock.now()) < 5
    assert info["jti"]


def test_introspection_of_a_refresh_token(server: MockAuthServer, http: httpx.Client) -> None:
    client_id = public_client(server)
    tokens = tokens_for(http, server, client_id)
    info = introspect(http, server, tokens["refresh_token"])
    assert info["active"] is True
    assert info["client_id"] == client_id
    assert "token_type" not in info
    assert "exp" not in info  # refresh tokens do not expire by default


def test_multiple_resources_give_an_audience_array(http: httpx.Client) -> None:
    with MockAuthServer(resources=["https://api.example.com/mcp"]) as server:
        client_id, _ = confidential_client(server)
        token = server.issue_token(
            client_id, resource=[server.resource_url, "https://api.example.com/mcp"]
        )
        info = introspect(http, server, token.access_token)
        assert info["aud"] == [server.resource_url, "https://api.example.com/mcp"]


@pytest.mark.anyio
async def test_unknown_expired_and_revoked_tokens_are_inactive(ahttp: httpx.AsyncClient) -> None:
    async with MockAuthServer(access_token_lifetime=10) as server:
        client_id, secret = confidential_client(server)
        client = AsyncEndpointClient(ahttp)
        auth = ClientSecretBasic(client_id, secret)
        url = server.url + "/introspect"
        unknown = await client.introspect_token(
            url, IntrospectionRequest(token="x"), client_auth=auth
        )
        assert unknown.active is False
        expiring = server.issue_token(client_id)
        revoked = server.issue_token(client_id)
        await client.revoke_token(
            server.url + "/revoke", RevocationRequest(token=revoked.access_token), client_auth=auth
        )
        server.clock.advance(10)
        for token in (expiring.access_token, revoked.access_token):
            info = await client.introspect_token(
                url, IntrospectionRequest(token=token), client_auth=auth
            )
            assert info.active is False
            assert info.scope is None
            assert info.client_id is None


def test_introspection_requires_client_authentication(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id, _ = confidential_client(server)
    response = http.post(
        server.url + "/introspect", data={"token": "t"}, headers=basic_header(client_id, "bad")
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    missing = http.post(server.url + "/introspect", data={"client_id": public_client(server)})
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"


def test_revoking_an_access_token_leaves_the_refresh_token(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id = public_client(server)
    tokens = tokens_for(http, server, client_id)
    response = _revoke(
        http, server, client_id, tokens["access_token"], token_type_hint="access_token"
    )
    assert response.status_code == 200
    assert call_mcp(http, server, tokens["access_token"]).status_code == 401
    assert refresh(http, server, client_id, tokens["refresh_token"]).status_code == 200


def test_revoking_a_refresh_token_revokes_its_access_tokens(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id = public_client(server)
    tokens = tokens_for(http, server, client_id)
    other = tokens_for(http, server, client_id)  # another grant, untouched
    response = _revoke(
        http, server, client_id, tokens["refresh_token"], token_type_hint="access_token"
    )
    assert response.status_code == 200
    assert call_mcp(http, server, tokens["access_token"]).status_code == 401
    assert (
        refresh(http, server, client_id, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    )
    assert call_mcp(http, server, other["access_token"]).status_code == 200


def test_revoking_an_unknown_or_dead_token_is_200(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id = public_client(server)
    tokens = tokens_for(http, server, client_id)
    assert _revoke(http, server, client_id, "no-such-token").status_code == 200
    assert _revoke(http, server, client_id, tokens["access_token"]).status_code == 200
    assert _revoke(http, server, client_id, tokens["access_token"]).status_code == 200


def test_another_clients_token_is_not_revoked(server: MockAuthServer, http: httpx.Client) -> None:
    owner, other = public_client(server), public_client(server)
    tokens = tokens_for(http, server, owner)
    response = _revoke(http, server, other, tokens["access_token"])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert call_mcp(http, server, tokens["access_token"]).status_code == 200


def test_revocation_errors(server: MockAuthServer, http: httpx.Client) -> None:
    client_id = public_client(server)
    no_token = http.post(server.url + "/revoke", data={"client_id": client_id})
    bad_client = http.post(server.url + "/revoke", data={"client_id": "nobody", "token": "t"})
    assert no_token.status_code == 400
    assert no_token.json()["error"] == "invalid_request"
    assert bad_client.status_code == 401
    assert bad_client.json()["error"] == "invalid_client"


@pytest.mark.anyio
async def test_revocation_with_the_async_generated_client(ahttp: httpx.AsyncClient) -> None:
    async with MockAuthServer() as server:
        client_id = public_client(server)
        token = server.issue_token(client_id)
        client = AsyncEndpointClient(ahttp)
        await client.revoke_token(
            server.url + "/revoke",
            RevocationRequest(token=token.access_token),
            client_auth=NoClientAuth(client_id),
        )
        with pytest.raises(TokenError) as raised:
            await client.revoke_token(
                server.url + "/revoke",
                RevocationRequest(token="t"),
                client_auth=NoClientAuth("nobody"),
            )
        assert raised.value.error_code == "invalid_client"
        assert server.requests.count("/revoke", method="POST") == 2
