"""Discovery: RFC 8414 and OpenID metadata, RFC 9728 resource metadata, the JWK Set, and the
JSON answers for unknown paths and methods."""

from __future__ import annotations

import httpx
import jwt
import pytest

from mcp_oauth_dynamicclient._generated import AsyncEndpointClient, EndpointClient
from mcp_oauth_dynamicclient.testing import MockAuthServer


def test_authorization_server_metadata_parses_and_advertises_the_server(
    server: MockAuthServer, http: httpx.Client
) -> None:
    metadata = EndpointClient(http).get_authorization_server_metadata(server.metadata_url)
    base = server.url
    assert metadata.issuer == base
    assert metadata.authorization_endpoint == base + "/authorize"
    assert metadata.token_endpoint == base + "/token"
    assert metadata.registration_endpoint == base + "/register"
    assert metadata.revocation_endpoint == base + "/revoke"
    assert metadata.introspection_endpoint == base + "/introspect"
    assert metadata.device_authorization_endpoint == base + "/device_authorization"
    assert metadata.jwks_uri == base + "/jwks"
    assert metadata.code_challenge_methods_supported == ["S256"]
    assert metadata.authorization_response_iss_parameter_supported is True
    assert metadata.response_types_supported == ["code"]
    assert set(metadata.scopes_supported or ()) >= {"mcp:read", "mcp:write"}
    assert set(metadata.grant_types_supported or ()) == {
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:device_code",
    }
    assert set(metadata.token_endpoint_auth_methods_supported or ()) == {
        "client_secret_basic",
        "client_secret_post",
        "none",
        "private_key_jwt",
    }


def test_openid_configuration_is_the_same_document(
    server: MockAuthServer, http: httpx.Client
) -> None:
    rfc8414 = http.get(server.metadata_url)
    openid = http.get(server.url + "/.well-known/openid-configuration")
    assert rfc8414.headers["content-type"] == "application/json"
    assert openid.json() == rfc8414.json()


def test_configured_scopes_are_advertised(http: httpx.Client) -> None:
    with MockAuthServer(scopes=["files:read"]) as server:
        metadata = http.get(server.metadata_url).json()
        resource = http.get(server.url + "/.well-known/oauth-protected-resource/mcp").json()
    assert metadata["scopes_supported"] == ["files:read", "openid"]
    assert resource["scopes_supported"] == ["files:read"]


@pytest.mark.parametrize(
    ("path", "resource"),
    [
        ("/.well-known/oauth-protected-resource/mcp", "/mcp"),
        ("/.well-known/oauth-protected-resource", ""),
    ],
)
def test_protected_resource_metadata_names_the_resource_it_was_fetched_for(
    server: MockAuthServer, http: httpx.Client, path: str, resource: str
) -> None:
    metadata = EndpointClient(http).get_protected_resource_metadata(server.url + path)
    assert metadata.resource == server.url + resource
    assert metadata.authorization_servers == [server.url]
    assert metadata.bearer_methods_supported == ["header"]


@pytest.mark.anyio
async def test_jwks_verifies_the_id_token_signature(ahttp: httpx.AsyncClient) -> None:
    async with MockAuthServer() as server:
        jwks = await AsyncEndpointClient(ahttp).get_jwks(server.url + "/jwks")
        client = server.create_client(
            {"grant_types": ["client_credentials"], "scope": "openid mcp:read"}
        )
        token = server.issue_token(client.client_id, scope="openid mcp:read")
    assert token.id_token is not None
    (key,) = jwks.keys
    assert key.kty == "RSA"
    assert key.alg == "RS256"
    assert key.use == "sig"
    assert "d" not in key.extra  # public only
    keyset = jwt.PyJWKSet.from_dict({"keys": [{**key.extra, "kty": key.kty, "kid": key.kid}]})
    claims = jwt.decode(
        token.id_token, keyset[str(key.kid)].key, algorithms=["RS256"], audience=client.client_id
    )
    assert claims["iss"] == server.url


def test_unknown_path_is_a_json_404(server: MockAuthServer, http: httpx.Client) -> None:
    response = http.get(server.url + "/.well-known/oauth-authorization-server/tenant")
    assert response.status_code == 404
    assert response.json()["error"] == "invalid_request"


def test_wrong_method_is_a_json_405_with_allow(server: MockAuthServer, http: httpx.Client) -> None:
    response = http.get(server.url + "/token")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.headers["content-type"] == "application/json"
