"""MockAuthServer's RFC 9068 JWT access tokens (issue 14): shape, signature, and that the server
treats them exactly as opaque ones at introspection, revocation and ``/mcp``."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import jwt
import pytest

from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.mock_server_extensions import unverified
from tests.testing.mock_flows import (
    basic_header,
    call_mcp,
    confidential_client,
    introspect,
    public_client,
    refresh,
    tokens_for,
)


@pytest.fixture
def server() -> Iterator[MockAuthServer]:
    """A server issuing JWT access tokens; it must end the test without internal errors."""
    with MockAuthServer(access_token_format="jwt") as mock:
        yield mock
    assert mock.errors == []


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as client:
        yield client


def verify(server: MockAuthServer, token: str, audience: str) -> dict[str, object]:
    """The claims of a JWT access token, checked with the key the server's JWK Set publishes."""
    jwks = httpx.get(server.url + "/jwks").json()
    assert jwks == server.jwks
    key = jwt.PyJWKSet.from_dict(jwks).keys[0]
    claims: dict[str, object] = jwt.decode(token, key.key, algorithms=["RS256"], audience=audience)
    return claims


def test_a_code_flow_token_is_an_rfc9068_jwt(server: MockAuthServer, http: httpx.Client) -> None:
    client_id = public_client(server)
    body = tokens_for(http, server, client_id, scope="mcp:read")
    token = body["access_token"]
    header, _ = unverified(token)
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "RS256"
    assert header["kid"] == server.jwks["keys"][0]["kid"]
    claims = verify(server, token, audience=client_id)
    assert claims["iss"] == server.issuer
    assert claims["sub"] == "test-user"
    assert claims["client_id"] == client_id
    assert claims["aud"] == client_id  # no resource asked: the client is the audience
    assert claims["scope"] == "mcp:read"
    assert claims["exp"] == claims["iat"] + 3600  # type: ignore[operator]
    assert isinstance(claims["jti"], str)
    assert claims["jti"]
    assert isinstance(claims["auth_time"], int)
    assert "cnf" not in claims
    assert body["token_type"] == "Bearer"


def test_the_resource_is_the_audience(server: MockAuthServer, http: httpx.Client) -> None:
    client_id = public_client(server)
    token = tokens_for(http, server, client_id, resource=server.resource_url)["access_token"]
    claims = verify(server, token, audience=server.resource_url)
    assert claims["aud"] == server.resource_url
    assert call_mcp(http, server, token).json()["aud"] == [server.resource_url]


def test_jwt_tokens_introspect_like_opaque_ones(server: MockAuthServer, http: httpx.Client) -> None:
    client_id = public_client(server)
    token = tokens_for(http, server, client_id)["access_token"]
    _, claims = unverified(token)
    info = introspect(http, server, token)
    assert info["active"] is True
    assert info["jti"] == claims["jti"]
    assert info["exp"] == claims["exp"]
    assert info["sub"] == claims["sub"]
    assert info["token_type"] == "Bearer"
    assert "cnf" not in info
    assert call_mcp(http, server, token).status_code == 200


def test_revoking_a_jwt_access_token_ends_it(server: MockAuthServer, http: httpx.Client) -> None:
    client_id, secret = confidential_client(server)
    response = http.post(
        server.url + "/token",
        data={"grant_type": "client_credentials"},
        headers=basic_header(client_id, secret),
    )
    token = response.json()["access_token"]
    assert unverified(token)[0]["typ"] == "at+jwt"
    assert unverified(token)[1]["sub"] == client_id
    assert call_mcp(http, server, token).status_code == 200
    revoked = http.post(
        server.url + "/revoke", data={"token": token}, headers=basic_header(client_id, secret)
    )
    assert revoked.status_code == 200
    assert call_mcp(http, server, token).status_code == 401
    assert introspect(http, server, token) == {"active": False}


def test_a_jwt_the_server_did_not_issue_as_an_access_token_is_refused(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id = public_client(server)
    token = tokens_for(http, server, client_id)["access_token"]
    _, claims = unverified(token)
    # Its payload widened, its signature kept: the server knows no such token.
    payload = jwt.utils.base64url_encode(json.dumps({**claims, "scope": "x"}).encode()).decode()
    tampered = ".".join([token.split(".")[0], payload, token.split(".")[2]])
    # Signed by the server's own key, but an ID token, not an access token.
    id_token = server.issue_id_token(audience=client_id)
    for forged in (tampered, id_token):
        assert call_mcp(http, server, forged).status_code == 401
        assert introspect(http, server, forged) == {"active": False}


def test_refreshed_and_issued_tokens_are_jwts_too(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id = public_client(server)
    body = tokens_for(http, server, client_id)
    renewed = refresh(http, server, client_id, body["refresh_token"], scope="mcp:read")
    assert renewed.status_code == 200
    claims = verify(server, renewed.json()["access_token"], audience=client_id)
    assert claims["scope"] == "mcp:read"
    minted = server.issue_token(client_id, resource=[server.resource_url])
    assert verify(server, minted.access_token, audience=server.resource_url)["sub"] == "test-user"


def test_the_default_stays_opaque(http: httpx.Client) -> None:
    with MockAuthServer() as server:
        client_id = public_client(server)
        token = tokens_for(http, server, client_id)["access_token"]
        assert token.count(".") == 0
        with pytest.raises(ValueError, match="access_token_format"):
            server.settings.access_token_format = "paseto"  # type: ignore[assignment]
