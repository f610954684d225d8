"""The protected ``/mcp`` endpoint: RFC 6750 challenges with RFC 9728 ``resource_metadata``."""

from __future__ import annotations

import httpx
import pytest

from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.testing.mock_flows import call_mcp, confidential_client


def _metadata_hint(server: MockAuthServer) -> str:
    return f'resource_metadata="{server.url}/.well-known/oauth-protected-resource/mcp"'


def test_no_token_is_401_with_resource_metadata_and_no_error(
    server: MockAuthServer, http: httpx.Client
) -> None:
    response = http.get(server.resource_url)
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert _metadata_hint(server) in challenge
    assert 'scope="mcp:read"' in challenge
    assert "error=" not in challenge
    metadata_url = challenge.split('resource_metadata="')[1].split('"')[0]
    assert http.get(metadata_url).json()["resource"] == server.resource_url


def test_a_bad_token_is_invalid_token(server: MockAuthServer, http: httpx.Client) -> None:
    response = call_mcp(http, server, "not-a-token")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    challenge = response.headers["www-authenticate"]
    assert 'error="invalid_token"' in challenge
    assert _metadata_hint(server) in challenge


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer a b", "Bearer ä"])
def test_a_malformed_authorization_header_is_invalid_request(
    server: MockAuthServer, http: httpx.Client, header: str
) -> None:
    response = http.get(server.resource_url, headers=[(b"Authorization", header.encode())])
    assert response.status_code == 400
    assert 'error="invalid_request"' in response.headers["www-authenticate"]


def test_a_token_without_the_required_scope_is_403(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id, _ = confidential_client(server)
    token = server.issue_token(client_id, scope="mcp:write")
    response = call_mcp(http, server, token.access_token)
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
    challenge = response.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="mcp:read"' in challenge


def test_a_good_token_gets_200_and_its_description(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id, _ = confidential_client(server)
    token = server.issue_token(client_id, scope="mcp:read mcp:write", subject="alice")
    for response in (
        call_mcp(http, server, token.access_token),
        http.post(server.resource_url, headers={"Authorization": f"Bearer {token.access_token}"}),
    ):
        assert response.status_code == 200
        assert response.json() == {
            "sub": "alice",
            "client_id": client_id,
            "scope": "mcp:read mcp:write",
            "aud": [],
        }


def test_required_scope_knob(http: httpx.Client) -> None:
    with MockAuthServer(required_scope="mcp:read mcp:write") as server:
        client_id, _ = confidential_client(server)
        read_only = server.issue_token(client_id, scope="mcp:read")
        assert call_mcp(http, server, read_only.access_token).status_code == 403
        server.settings.required_scope = None
        assert call_mcp(http, server, read_only.access_token).status_code == 200


def test_a_token_for_another_resource_is_refused(http: httpx.Client) -> None:
    with MockAuthServer(resources=["https://api.example.com/mcp"]) as server:
        client_id, _ = confidential_client(server)
        elsewhere = server.issue_token(client_id, resource=["https://api.example.com/mcp"])
        here = server.issue_token(client_id, resource=[server.url])
        assert call_mcp(http, server, elsewhere.access_token).status_code == 401
        assert call_mcp(http, server, here.access_token).status_code == 200


def test_require_audience_knob(http: httpx.Client) -> None:
    with MockAuthServer(require_audience=True) as server:
        client_id, _ = confidential_client(server)
        unbound = server.issue_token(client_id)
        bound = server.issue_token(client_id, resource=[server.resource_url])
        refused = call_mcp(http, server, unbound.access_token)
        assert refused.status_code == 401
        assert refused.json()["error"] == "invalid_token"
        assert call_mcp(http, server, bound.access_token).status_code == 200
