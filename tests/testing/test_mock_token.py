"""The token endpoint: the four grants, single-use codes, refresh rotation and replay
detection, ID tokens, audiences, lifetimes on the server clock, and the §5.2 errors."""

from __future__ import annotations

import base64
import hashlib

import httpx
import jwt
import pytest

from mcp_oauth_dynamicclient._client_auth import ClientSecretBasic, NoClientAuth
from mcp_oauth_dynamicclient._generated import (
    AuthorizationCodeTokenRequest,
    ClientCredentialsTokenRequest,
    EndpointClient,
    RefreshTokenRequest,
)
from mcp_oauth_dynamicclient.exceptions import TokenError
from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.testing.mock_flows import (
    DEVICE_GRANT,
    REDIRECT_URI,
    call_mcp,
    confidential_client,
    exchange,
    get_code,
    introspect,
    pkce,
    public_client,
    refresh,
    tokens_for,
)


def _error(response: httpx.Response) -> str:
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    error: str = response.json()["error"]
    return error


# ------------------------------------------------------------------ authorization code


def test_code_exchange_with_the_generated_client(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id = public_client(server)
    verifier, challenge = pkce()
    code = get_code(http, server, client_id, challenge, scope="mcp:read mcp:write")
    token = EndpointClient(http).request_token(
        server.url + "/token",
        AuthorizationCodeTokenRequest(code=code, code_verifier=verifier, redirect_uri=REDIRECT_URI),
        client_auth=NoClientAuth(client_id),
    )
    assert token.token_type == "Bearer"
    assert token.expires_in == 3600
    assert token.scope == "mcp:read mcp:write"
    assert token.refresh_token is not None
    assert token.id_token is None  # no openid
    assert token.access_token != token.refresh_token
    record = server.requests.last("/token")
    assert record.status == 200


def test_token_responses_are_not_cached(server: MockAuthServer, http: httpx.Client) -> None:
    client_id = public_client(server)
    verifier, challenge = pkce()
    response = exchange(
        http, server, client_id, get_code(http, server, client_id, challenge), verifier
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    assert response.headers["content-type"] == "application/json"


def test_no_refresh_token_without_the_refresh_grant(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id = public_client(server, grant_types=["authorization_code"])
    assert "refresh_token" not in tokens_for(http, server, client_id)


def test_a_replayed_code_is_refused_and_revokes_its_tokens(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id = public_client(server)
    verifier, challenge = pkce()
    code = get_code(http, server, client_id, challenge)
    first = exchange(http, server, client_id, code, verifier).json()
    assert call_mcp(http, server, first["access_token"]).status_code == 200
    replay = exchange(http, server, client_id, code, verifier)
    assert replay.status_code == 400
    assert _error(replay) == "invalid_grant"
    assert call_mcp(http, server, first["access_token"]).status_code == 401
    assert introspect(http, server, first["refresh_token"]) == {"active": False}


@pytest.mark.parametrize(
    "change",
    [
        {"code_verifier": "x" * 43},
        {"code_verifier": "short"},
        {"code_verifier": "é" * 43},
        {"redirect_uri": "http://127.0.0.1:8765/other"},
        {"code": "not-a-code"},
    ],
)
def test_wrong_verifier_redirect_or_code_is_invalid_grant(
    server: MockAuthServer, http: httpx.Client, change: dict[str, str]
) -> None:
    client_id = public_client(server)
    verifier, challenge = pkce()
    code = get_code(http, server, client_id, challenge)
    form = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
    form.update({"client_id": client_id, "redirect_uri": REDIRECT_URI})
    form.update(change)
    response = http.post(server.url + "/token", data=form)
    assert response.status_code == 400
    assert _error(response) == "invalid_grant"


def test_a_failed_redemption_uses_the_code_up(server: MockAuthServer, http: httpx.Client) -> None:
    client_id = public_client(server)
    verifier, challenge = pkce()
    code = get_code(http, server, client_id, challenge)
    assert _error(exchange(http, server, client_id, code, "y" * 43)) == "invalid_grant"
    assert _error(exchange(http, server, client_id, code, verifier)) == "invalid_grant"


def test_redirect_uri_must_be_repeated_when_it_was_sent(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id = public_client(server)
    verifier, challenge = pkce()
    code = get_code(http, server, client_id, challenge)
    form = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
    response = http.post(server.url + "/token", data={**form, "client_id": client_id})
    assert _error(response) == "invalid_grant"


def test_a_code_of_another_client_is_invalid_grant(
    server: MockAuthServer, http: httpx.Client
) -> None:
    owner, thief = public_client(server), public_client(server)
    verifier, challenge = pkce()
    code = get_code(http, server, owner, challenge)
    assert _error(exchange(http, server, thief, code, verifier)) == "invalid_grant"
    assert exchange(http, server, owner, code, verifier).status_code == 200  # not burnt


def test_an_expired_code_is_invalid_grant(http: httpx.Client) -> None:
    with MockAuthServer(code_lifetime=30) as server:
        client_id = public_client(server)
        verifier, challenge = pkce()
        code = get_code(http, server, client_id, challenge)
        server.clock.advance(30)
        assert _error(exchange(http, server, client_id, code, verifier)) == "invalid_grant"


def test_missing_or_repeated_parameters_are_invalid_request(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id = public_client(server)
    url = server.url + "/token"
    missing_verifier = http.post(
        url, data={"grant_type": "authorization_code", "code": "c", "client_id": client_id}
    )
    missing_grant = http.post(url, data={"client_id": client_id})
    repeated = http.post(
        url,
        content=f"grant_type=refresh_token&refresh_token=a&refresh_token=b&client_id={client_id}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    as_json = http.post(url, json={"grant_type": "client_credentials", "client_id": client_id})
    for response in (missing_verifier, missing_grant, repeated, as_json):
        assert response.status_code == 400
        assert _error(response) == "invalid_request"
    assert "code_verifier" in missing_verifier.json()["error_description"]


def test_unknown_or_unregistered_grant_types(server: MockAuthServer, http: httpx.Client) -> None:
    client_id = public_client(server, grant_types=["authorization_code"])
    url = server.url + "/token"
    password = http.post(url, data={"grant_type": "password", "client_id": client_id})
    unregistered = http.post(
        url, data={"grant_type": "refresh_token", "refresh_token": "r", "client_id": client_id}
    )
    assert _error(password) == "unsupported_grant_type"
    assert _error(unregistered) == "unauthorized_client"


# ------------------------------------------------------------------------ ID token


def test_openid_scope_adds_a_signed_id_token_with_the_nonce(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id = public_client(server)
    tokens = tokens_for(http, server, client_id, scope="openid mcp:read", nonce="n-0S6")
    jwks = http.get(server.url + "/jwks").json()
    header = jwt.get_unverified_header(tokens["id_token"])
    key = jwt.PyJWKSet.from_dict(jwks)[header["kid"]]
    claims = jwt.decode(tokens["id_token"], key.key, algorithms=["RS256"], audience=client_id)
    assert claims["iss"] == server.url
    assert claims["sub"] == "test-user"
    assert claims["nonce"] == "n-0S6"
    assert claims["exp"] - claims["iat"] == 3600
    digest = hashlib.sha256(tokens["access_token"].encode()).digest()
    assert claims["at_hash"] == base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
    refreshed = refresh(http, server, client_id, tokens["refresh_token"]).json()
    again = jwt.decode(refreshed["id_token"], key.key, algorithms=["RS256"], audience=client_id)
    assert again["sub"] == "test-user"
    assert again["auth_time"] == claims["auth_time"]
    assert "nonce" not in again  # OpenID Connect Core §12.2


def test_the_subject_knob_names_the_user(http: httpx.Client) -> None:
    with MockAuthServer(subject="alice") as server:
        client_id = public_client(server)
        tokens = tokens_for(http, server, client_id)
        assert call_mcp(http, server, tokens["access_token"]).json()["sub"] == "alice"


# --------------------------------------------------------------------------- refresh


def test_refresh_rotates_and_the_old_refresh_token_dies(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id = public_client(server)
    first = tokens_for(http, server, client_id)
    token = EndpointClient(http).request_token(
        server.url + "/token",
        RefreshTokenRequest(refresh_token=first["refresh_token"]),
        client_auth=NoClientAuth(client_id),
    )
    assert token.refresh_token not in (None, first["refresh_token"])
    assert token.access_token != first["access_token"]
    assert introspect(http, server, first["refresh_token"]) == {"active": False}
    assert call_mcp(http, server, first["access_token"]).status_code == 200  # still valid
    assert call_mcp(http, server, token.access_token).status_code == 200


def test_replaying_a_rotated_refresh_token_revokes_the_grant(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id = public_client(server)
    first = tokens_for(http, server, client_id)
    second = refresh(http, server, client_id, first["refresh_token"]).json()
    replay = refresh(http, server, client_id, first["refresh_token"])
    assert replay.status_code == 400
    assert _error(replay) == "invalid_grant"
    assert "replayed" in replay.json()["error_description"]
    assert call_mcp(http, server, second["access_token"]).status_code == 401
    assert _error(refresh(http, server, client_id, second["refresh_token"])) == "invalid_grant"


def test_without_rotation_the_refresh_token_is_kept(http: httpx.Client) -> None:
    with MockAuthServer(rotate_refresh_tokens=False) as server:
        client_id = public_client(server)
        first = tokens_for(http, server, client_id)
        for _ in range(2):
            response = refresh(http, server, client_id, first["refresh_token"])
            assert response.status_code == 200
            assert "refresh_token" not in response.json()


def test_refresh_can_narrow_but_not_widen_the_scope(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id = public_client(server)
    first = tokens_for(http, server, client_id, scope="mcp:read")
    wider = refresh(http, server, client_id, first["refresh_token"], scope="mcp:read mcp:write")
    assert _error(wider) == "invalid_scope"
    both = tokens_for(http, server, client_id, scope="mcp:read mcp:write")
    narrower = refresh(http, server, client_id, both["refresh_token"], scope="mcp:write").json()
    assert narrower["scope"] == "mcp:write"
    again = refresh(http, server, client_id, narrower["refresh_token"]).json()
    assert again["scope"] == "mcp:read mcp:write"  # the grant keeps its scope (RFC 6749 §6)


def test_refresh_tokens_expire_on_the_server_clock(http: httpx.Client) -> None:
    with MockAuthServer(refresh_token_lifetime=100) as server:
        client_id = public_client(server)
        first = tokens_for(http, server, client_id)
        server.clock.advance(100)
        assert _error(refresh(http, server, client_id, first["refresh_token"])) == "invalid_grant"


def test_refresh_token_of_another_client_is_invalid_grant(
    server: MockAuthServer, http: httpx.Client
) -> None:
    owner, other = public_client(server), public_client(server)
    first = tokens_for(http, server, owner)
    assert _error(refresh(http, server, other, first["refresh_token"])) == "invalid_grant"
    assert refresh(http, server, owner, first["refresh_token"]).status_code == 200


# ----------------------------------------------------------------- access token expiry


def test_access_token_lifetime_is_enforced_on_the_server_clock(http: httpx.Client) -> None:
    with MockAuthServer(access_token_lifetime=60) as server:
        client_id = public_client(server)
        tokens = tokens_for(http, server, client_id)
        assert tokens["expires_in"] == 60
        info = introspect(http, server, tokens["access_token"])
        assert info["exp"] - info["iat"] == 60
        server.clock.advance(59)
        assert call_mcp(http, server, tokens["access_token"]).status_code == 200
        server.clock.advance(1)
        assert call_mcp(http, server, tokens["access_token"]).status_code == 401
        assert introspect(http, server, tokens["access_token"]) == {"active": False}


# ------------------------------------------------------------------ resource indicators


def test_resource_becomes_the_audience(server: MockAuthServer, http: httpx.Client) -> None:
    client_id = public_client(server)
    tokens = tokens_for(http, server, client_id, resource=server.resource_url)
    assert introspect(http, server, tokens["access_token"])["aud"] == server.resource_url
    assert call_mcp(http, server, tokens["access_token"]).json()["aud"] == [server.resource_url]


def test_token_request_may_narrow_but_not_change_the_resource(http: httpx.Client) -> None:
    other = "https://api.example.com/mcp"
    with MockAuthServer(resources=[other]) as server:
        client_id = public_client(server)
        verifier, challenge = pkce()
        code = get_code(http, server, client_id, challenge, resource=server.resource_url)
        wrong = exchange(http, server, client_id, code, verifier, resource=other)
        assert _error(wrong) == "invalid_target"
        code = get_code(http, server, client_id, challenge, resource=server.resource_url)
        right = exchange(http, server, client_id, code, verifier, resource=server.resource_url)
        assert right.status_code == 200


# ---------------------------------------------------------------- client credentials


def test_client_credentials_with_the_generated_client(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id, secret = confidential_client(server, scope="mcp:read")
    token = EndpointClient(http).request_token(
        server.url + "/token",
        ClientCredentialsTokenRequest(),
        client_auth=ClientSecretBasic(client_id, secret),
    )
    assert token.scope == "mcp:read"
    assert token.refresh_token is None
    assert call_mcp(http, server, token.access_token).json()["sub"] == client_id


@pytest.mark.parametrize("scope", ["openid", "mcp:write", "unknown"])
def test_client_credentials_refuses_scopes_it_cannot_have(
    server: MockAuthServer, http: httpx.Client, scope: str
) -> None:
    client_id, secret = confidential_client(server, scope="mcp:read openid")
    with pytest.raises(TokenError) as raised:
        EndpointClient(http).request_token(
            server.url + "/token",
            ClientCredentialsTokenRequest(scope=scope),
            client_auth=ClientSecretBasic(client_id, secret),
        )
    assert raised.value.error_code == "invalid_scope"
    assert raised.value.status_code == 400


def test_device_code_grant_needs_a_known_device_code(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id = public_client(server, grant_types=[DEVICE_GRANT])
    response = http.post(
        server.url + "/token",
        data={"grant_type": DEVICE_GRANT, "device_code": "nope", "client_id": client_id},
    )
    assert _error(response) == "invalid_grant"


def test_issue_token_mints_usable_tokens(server: MockAuthServer, http: httpx.Client) -> None:
    client_id, _ = confidential_client(server)
    token = server.issue_token(client_id, scope="mcp:read", resource=[server.resource_url])
    assert call_mcp(http, server, token.access_token).json()["scope"] == "mcp:read"
    with_refresh = server.issue_token(client_id, refresh=True, lifetime=10)
    assert with_refresh.expires_in == 10
    assert with_refresh.refresh_token is not None
    with pytest.raises(LookupError):
        server.issue_token("nobody")
    with pytest.raises(ValueError, match="invalid_scope"):
        server.issue_token(client_id, scope="admin")
    with pytest.raises(ValueError, match="invalid_target"):
        server.issue_token(client_id, resource=["https://elsewhere.example/"])
