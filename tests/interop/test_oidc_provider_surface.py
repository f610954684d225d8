"""Drive the oidc-provider test server through its whole surface with plain httpx.

No code of mcp-oauth-dynamicclient is used here: these tests pin down how the third-party
server really behaves (status codes, error codes, rotation rules), so that the library's own
interop tests can rely on it and so that an upgrade of ``oidc-provider`` that changes
behaviour fails loudly. See OIDC_PROVIDER.md for the summary.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.interop.oidc_provider_server import (
    DENY_LOGIN_HINT,
    TEST_ACCOUNT_ID,
    OidcProvider,
    OidcProviderError,
    run_oidc_provider,
)

REDIRECT_URI = "http://127.0.0.1:9/callback"  # never contacted: authorize() stops before it
MCP_SCOPE = "mcp:read mcp:write"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"

JsonObject = dict[str, Any]

pytestmark = pytest.mark.interop


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """Yield a fresh client (fresh cookie jar, i.e. a fresh browser session) per test."""
    with httpx.Client(timeout=10.0) as client:
        yield client


def pkce_pair() -> tuple[str, str]:
    """Return a random ``(code_verifier, S256 code_challenge)`` pair (RFC 7636)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def json_body(response: httpx.Response) -> JsonObject:
    """Return the response's JSON object (fails the test on anything else)."""
    body = response.json()
    assert isinstance(body, dict), body
    return body


def query_of(url: str) -> dict[str, str]:
    """Return the single-valued query parameters of *url*."""
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def fragment_of(url: str) -> dict[str, str]:
    """Return the single-valued parameters in the fragment of *url*."""
    return {key: values[0] for key, values in parse_qs(urlsplit(url).fragment).items()}


def jwt_parts(token: str) -> tuple[JsonObject, JsonObject]:
    """Decode (without verifying) the header and payload of a compact JWS."""
    header, payload, _signature = token.split(".")

    def decode(part: str) -> JsonObject:
        value = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        assert isinstance(value, dict)
        return value

    return decode(header), decode(payload)


def register(server: OidcProvider, http: httpx.Client, **metadata: object) -> JsonObject:
    """Register a client (RFC 7591) with sensible defaults and return the 201 response body."""
    body: JsonObject = {
        "client_name": "surface-test",
        "redirect_uris": [REDIRECT_URI],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        **metadata,
    }
    response = http.post(server.url("/reg"), json=body)
    assert response.status_code == 201, response.text
    return json_body(response)


@dataclass
class CodeResult:
    """Outcome of a headless authorization request."""

    callback: str
    params: dict[str, str]
    verifier: str
    state: str


def authorize_code(
    server: OidcProvider,
    http: httpx.Client,
    client_id: str,
    *,
    scope: str = MCP_SCOPE,
    resource: str | None = None,
    extra: dict[str, str] | None = None,
) -> CodeResult:
    """Run /auth headlessly with PKCE S256 and ``state``; return the callback and its query."""
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(16)
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **({"resource": resource} if resource else {}),
        **(extra or {}),
    }
    callback = server.authorize(http, server.url("/auth?" + urlencode(params)))
    return CodeResult(callback, query_of(callback), verifier, state)


def exchange_code(
    server: OidcProvider, http: httpx.Client, client_id: str, code: str, verifier: str
) -> httpx.Response:
    """POST the authorization_code grant for a public client."""
    return http.post(
        server.url("/token"),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": client_id,
            "code_verifier": verifier,
        },
    )


def refresh(
    server: OidcProvider, http: httpx.Client, client_id: str, refresh_token: str
) -> httpx.Response:
    """POST the refresh_token grant for a public client."""
    return http.post(
        server.url("/token"),
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client_id,
        },
    )


def introspect(
    server: OidcProvider, http: httpx.Client, client_id: str, secret: str, token: str
) -> JsonObject:
    """Introspect *token* (RFC 7662) as a confidential client; asserts HTTP 200."""
    response = http.post(
        server.url("/token/introspection"), data={"token": token}, auth=(client_id, secret)
    )
    assert response.status_code == 200, response.text
    return json_body(response)


def assert_token_error(response: httpx.Response, error: str) -> JsonObject:
    """Assert a token-endpoint style error: HTTP 400 with the given ``error`` code."""
    assert response.status_code == 400, response.text
    body = json_body(response)
    assert body["error"] == error, body
    return body


@pytest.fixture
def public_client(oidc_provider: OidcProvider, http: httpx.Client) -> JsonObject:
    """Register a public (auth method ``none``) code + refresh client."""
    return register(oidc_provider, http)


@pytest.fixture
def confidential_client(oidc_provider: OidcProvider, http: httpx.Client) -> JsonObject:
    """Register a client_credentials client (client_secret_basic); it also introspects."""
    return register(
        oidc_provider,
        http,
        redirect_uris=[],
        response_types=[],
        grant_types=["client_credentials"],
        token_endpoint_auth_method="client_secret_basic",
        scope=MCP_SCOPE,
    )


@pytest.fixture
def tokens(
    oidc_provider: OidcProvider, http: httpx.Client, public_client: JsonObject
) -> JsonObject:
    """Return a token response (access + refresh token) for *public_client*."""
    result = authorize_code(oidc_provider, http, public_client["client_id"])
    response = exchange_code(
        oidc_provider, http, public_client["client_id"], result.params["code"], result.verifier
    )
    assert response.status_code == 200, response.text
    return json_body(response)


# --------------------------------------------------------------------------------------------
# Discovery and keys
# --------------------------------------------------------------------------------------------


def test_openid_configuration(oidc_provider: OidcProvider, http: httpx.Client) -> None:
    response = http.get(oidc_provider.url("/.well-known/openid-configuration"))
    assert response.status_code == 200
    meta = json_body(response)
    issuer = oidc_provider.issuer
    assert meta["issuer"] == issuer
    assert not issuer.endswith("/")
    assert meta["authorization_endpoint"] == f"{issuer}/auth"
    assert meta["token_endpoint"] == f"{issuer}/token"
    assert meta["registration_endpoint"] == f"{issuer}/reg"
    assert meta["introspection_endpoint"] == f"{issuer}/token/introspection"
    assert meta["revocation_endpoint"] == f"{issuer}/token/revocation"
    assert meta["device_authorization_endpoint"] == f"{issuer}/device/auth"
    assert meta["jwks_uri"] == f"{issuer}/jwks"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert meta["response_types_supported"] == ["code"]
    assert set(meta["scopes_supported"]) == {"openid", "offline_access", "mcp:read", "mcp:write"}
    assert set(meta["grant_types_supported"]) == {
        "authorization_code",
        "refresh_token",
        "client_credentials",
        DEVICE_GRANT,
    }
    assert "none" in meta["token_endpoint_auth_methods_supported"]
    assert "client_secret_basic" in meta["token_endpoint_auth_methods_supported"]
    # Not advertised by oidc-provider although resource indicators are enabled.
    assert "resource_indicators_supported" not in meta


def test_oauth_authorization_server_metadata_is_the_same_document(
    oidc_provider: OidcProvider, http: httpx.Client
) -> None:
    """RFC 8414's well-known URL serves the very same document as OIDC discovery."""
    oidc = http.get(oidc_provider.url("/.well-known/openid-configuration"))
    oauth = http.get(oidc_provider.url("/.well-known/oauth-authorization-server"))
    assert oauth.status_code == 200
    assert oauth.json() == oidc.json()
    # Nothing is served at the RFC 8414 URL with a path suffix (the issuer has no path).
    suffixed = http.get(oidc_provider.url("/.well-known/oauth-authorization-server/mcp"))
    assert suffixed.status_code == 404


def test_jwks(oidc_provider: OidcProvider, http: httpx.Client) -> None:
    response = http.get(oidc_provider.url("/jwks"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/jwk-set+json")
    keys = json_body(response)["keys"]
    assert len(keys) == 1
    (key,) = keys
    assert key["kty"] == "RSA"
    assert key["alg"] == "RS256"
    assert key["use"] == "sig"
    assert key["kid"]
    assert not {"d", "p", "q", "dp", "dq", "qi"} & key.keys(), "private key material leaked"


# --------------------------------------------------------------------------------------------
# Dynamic client registration (RFC 7591) and management (RFC 7592)
# --------------------------------------------------------------------------------------------


def test_registration_of_a_public_client(oidc_provider: OidcProvider, http: httpx.Client) -> None:
    body = register(oidc_provider, http, scope="openid offline_access mcp:read mcp:write")
    client_id = body["client_id"]
    assert client_id
    assert "client_secret" not in body
    assert isinstance(body["client_id_issued_at"], int)
    assert body["token_endpoint_auth_method"] == "none"
    assert body["redirect_uris"] == [REDIRECT_URI]
    assert body["grant_types"] == ["authorization_code", "refresh_token"]
    assert body["scope"] == "openid offline_access mcp:read mcp:write"
    assert body["registration_client_uri"] == oidc_provider.url(f"/reg/{client_id}")
    assert body["registration_access_token"]


def test_registration_of_a_confidential_client(
    oidc_provider: OidcProvider, http: httpx.Client
) -> None:
    body = register(oidc_provider, http, token_endpoint_auth_method="client_secret_basic")
    assert body["client_secret"]
    # oidc-provider's secrets do not expire.
    assert body["client_secret_expires_at"] == 0


@pytest.mark.parametrize(
    ("metadata", "error"),
    [
        ({"redirect_uris": ["not a url"]}, "invalid_redirect_uri"),
        ({"redirect_uris": []}, "invalid_redirect_uri"),
        ({"scope": "mcp:admin"}, "invalid_client_metadata"),
        ({"grant_types": ["password"]}, "invalid_client_metadata"),
        ({"token_endpoint_auth_method": "magic"}, "invalid_client_metadata"),
    ],
)
def test_registration_rejects_bad_metadata(
    oidc_provider: OidcProvider, http: httpx.Client, metadata: JsonObject, error: str
) -> None:
    body = {
        "redirect_uris": [REDIRECT_URI],
        "token_endpoint_auth_method": "none",
        **metadata,
    }
    response = http.post(oidc_provider.url("/reg"), json=body)
    assert response.status_code == 400, response.text
    assert json_body(response)["error"] == error


def test_registration_management_read_update_delete(
    oidc_provider: OidcProvider, http: httpx.Client
) -> None:
    created = register(
        oidc_provider, http, client_name="before", logo_uri="https://example.com/l.png"
    )
    uri = created["registration_client_uri"]
    token = created["registration_access_token"]
    client_id = created["client_id"]

    # Read.
    read = http.get(uri, headers={"Authorization": f"Bearer {token}"})
    assert read.status_code == 200
    read_body = json_body(read)
    assert read_body["client_id"] == client_id
    assert read_body["client_name"] == "before"
    # Reading does not rotate the registration access token.
    assert read_body.get("registration_access_token", token) == token
    assert http.get(uri).status_code == 401
    assert http.get(uri, headers={"Authorization": "Bearer nope"}).status_code == 401

    # Update: PUT replaces the whole record; omitted fields reset to their defaults.
    update = {
        "client_id": client_id,
        "redirect_uris": [REDIRECT_URI, "http://127.0.0.1:9/other"],
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "client_name": "after",
    }
    put = http.put(uri, json=update, headers={"Authorization": f"Bearer {token}"})
    assert put.status_code == 200, put.text
    updated = json_body(put)
    assert updated["client_id"] == client_id
    assert updated["client_name"] == "after"
    assert updated["redirect_uris"] == update["redirect_uris"]
    assert updated["grant_types"] == ["authorization_code"]
    assert "logo_uri" not in updated, "omitted field survived a PUT"
    new_token = updated["registration_access_token"]
    assert new_token, "no registration access token after PUT"
    assert new_token != token, "registration access token did not rotate"
    assert updated["registration_client_uri"] == uri

    # The old registration access token is dead, the new one works.
    assert http.get(uri, headers={"Authorization": f"Bearer {token}"}).status_code == 401
    reread = http.get(uri, headers={"Authorization": f"Bearer {new_token}"})
    assert reread.status_code == 200
    assert json_body(reread)["client_name"] == "after"

    # PUT without client_id (or with another one) is refused.
    missing_id = {key: value for key, value in update.items() if key != "client_id"}
    bad = http.put(uri, json=missing_id, headers={"Authorization": f"Bearer {new_token}"})
    assert bad.status_code == 400
    assert json_body(bad)["error"] == "invalid_request"

    # Delete.
    deleted = http.delete(uri, headers={"Authorization": f"Bearer {new_token}"})
    assert deleted.status_code == 204
    assert deleted.content == b""
    gone = http.get(uri, headers={"Authorization": f"Bearer {new_token}"})
    assert gone.status_code == 401


def test_registration_update_of_a_confidential_client(
    oidc_provider: OidcProvider, http: httpx.Client
) -> None:
    created = register(oidc_provider, http, token_endpoint_auth_method="client_secret_basic")
    uri = created["registration_client_uri"]
    token = created["registration_access_token"]
    update = {
        "client_id": created["client_id"],
        "redirect_uris": [REDIRECT_URI],
        "token_endpoint_auth_method": "client_secret_basic",
        "client_secret": "not-the-secret",
    }
    # A client_secret in the body must match; a failed PUT does not rotate the token.
    wrong = http.put(uri, json=update, headers={"Authorization": f"Bearer {token}"})
    assert wrong.status_code == 400
    assert json_body(wrong)["error"] == "invalid_request"
    # Without client_secret (or with the right one) the secret is kept, not regenerated.
    del update["client_secret"]
    kept = http.put(uri, json=update, headers={"Authorization": f"Bearer {token}"})
    assert kept.status_code == 200, kept.text
    assert json_body(kept)["client_secret"] == created["client_secret"]
    assert json_body(kept)["registration_access_token"] != token


# --------------------------------------------------------------------------------------------
# Authorization code + PKCE
# --------------------------------------------------------------------------------------------


def test_authorization_code_flow_with_pkce_state_and_iss(
    oidc_provider: OidcProvider, http: httpx.Client, public_client: JsonObject
) -> None:
    client_id = public_client["client_id"]
    result = authorize_code(oidc_provider, http, client_id)

    assert result.callback.startswith(REDIRECT_URI + "?")
    assert set(result.params) == {"code", "state", "iss"}
    assert result.params["state"] == result.state
    assert result.params["iss"] == oidc_provider.issuer  # RFC 9207

    response = exchange_code(oidc_provider, http, client_id, result.params["code"], result.verifier)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = json_body(response)
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == MCP_SCOPE
    assert body["access_token"]
    assert body["refresh_token"], "client with the refresh_token grant got no refresh token"
    assert "id_token" not in body  # no openid scope


def test_access_token_is_bound_to_the_default_resource(
    oidc_provider: OidcProvider,
    http: httpx.Client,
    tokens: JsonObject,
    confidential_client: JsonObject,
    public_client: JsonObject,
) -> None:
    info = introspect(
        oidc_provider,
        http,
        confidential_client["client_id"],
        confidential_client["client_secret"],
        tokens["access_token"],
    )
    assert info["active"] is True
    assert info["aud"] == oidc_provider.default_resource == f"{oidc_provider.issuer}/mcp"
    assert info["scope"] == MCP_SCOPE
    assert info["sub"] == TEST_ACCOUNT_ID
    assert info["client_id"] == public_client["client_id"]
    assert info["iss"] == oidc_provider.issuer
    assert info["token_type"] == "Bearer"


def test_explicit_resource_and_openid(
    oidc_provider: OidcProvider,
    http: httpx.Client,
    public_client: JsonObject,
    confidential_client: JsonObject,
) -> None:
    client_id = public_client["client_id"]
    resource = "http://127.0.0.1:8765/mcp"
    result = authorize_code(
        oidc_provider, http, client_id, scope=f"openid {MCP_SCOPE}", resource=resource
    )
    response = exchange_code(oidc_provider, http, client_id, result.params["code"], result.verifier)
    assert response.status_code == 200, response.text
    body = json_body(response)
    # The access token carries only the resource's scopes, the ID token is still issued.
    assert body["scope"] == MCP_SCOPE
    header, claims = jwt_parts(body["id_token"])
    assert header["alg"] == "RS256"
    assert claims["iss"] == oidc_provider.issuer
    assert claims["aud"] == client_id
    assert claims["sub"] == TEST_ACCOUNT_ID
    info = introspect(
        oidc_provider,
        http,
        confidential_client["client_id"],
        confidential_client["client_secret"],
        body["access_token"],
    )
    assert info["aud"] == resource


def test_token_request_for_a_resource_that_was_not_granted(
    oidc_provider: OidcProvider, http: httpx.Client, public_client: JsonObject
) -> None:
    client_id = public_client["client_id"]
    result = authorize_code(oidc_provider, http, client_id)
    response = http.post(
        oidc_provider.url("/token"),
        data={
            "grant_type": "authorization_code",
            "code": result.params["code"],
            "redirect_uri": REDIRECT_URI,
            "client_id": client_id,
            "code_verifier": result.verifier,
            "resource": "http://127.0.0.1:9/not-granted",
        },
    )
    assert_token_error(response, "invalid_target")
    # Unlike a wrong verifier, invalid_target comes after the code was consumed: it is gone.
    retry = exchange_code(oidc_provider, http, client_id, result.params["code"], result.verifier)
    assert_token_error(retry, "invalid_grant")


def test_login_hint_picks_the_account(
    oidc_provider: OidcProvider, http: httpx.Client, public_client: JsonObject
) -> None:
    client_id = public_client["client_id"]
    result = authorize_code(
        oidc_provider, http, client_id, scope="openid", extra={"login_hint": "alice"}
    )
    body = json_body(
        exchange_code(oidc_provider, http, client_id, result.params["code"], result.verifier)
    )
    assert jwt_parts(body["id_token"])[1]["sub"] == "alice"


def test_deny_login_hint_returns_access_denied(
    oidc_provider: OidcProvider, http: httpx.Client, public_client: JsonObject
) -> None:
    result = authorize_code(
        oidc_provider,
        http,
        public_client["client_id"],
        extra={"login_hint": DENY_LOGIN_HINT},
    )
    assert result.params["error"] == "access_denied"
    assert result.params["state"] == result.state
    assert result.params["iss"] == oidc_provider.issuer
    assert "code" not in result.params


def test_second_authorization_reuses_the_session_and_grant(
    oidc_provider: OidcProvider, http: httpx.Client, public_client: JsonObject
) -> None:
    """With the session cookie and the grant in place, /auth redirects straight back."""
    client_id = public_client["client_id"]
    authorize_code(oidc_provider, http, client_id)
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": MCP_SCOPE,
        "state": "again",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    response = http.get(oidc_provider.url("/auth?" + urlencode(params)))
    assert response.status_code == 303
    assert query_of(response.headers["location"])["state"] == "again"
    assert "code" in query_of(response.headers["location"])
    del verifier


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"resource": "relative/path"}, "invalid_target"),
        ({"resource": "http://127.0.0.1:9/mcp#fragment"}, "invalid_target"),
        ({"prompt": "none"}, "login_required"),
        # response_type=token defaults to the fragment response mode (see the check below).
        ({"response_type": "token"}, "unsupported_response_type"),
    ],
)
def test_authorization_errors_are_redirected(
    oidc_provider: OidcProvider,
    http: httpx.Client,
    public_client: JsonObject,
    change: dict[str, str | None],
    error: str,
) -> None:
    _verifier, challenge = pkce_pair()
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": public_client["client_id"],
        "redirect_uri": REDIRECT_URI,
        "scope": MCP_SCOPE,
        "state": "s1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **change,
    }
    query = urlencode({key: value for key, value in params.items() if value is not None})
    response = http.get(oidc_provider.url("/auth?" + query))
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    if change.get("response_type") == "token":
        assert location.startswith(REDIRECT_URI + "#")
        redirected = fragment_of(location)
    else:
        assert location.startswith(REDIRECT_URI + "?")
        redirected = query_of(location)
    assert redirected["error"] == error, redirected
    assert redirected["state"] == "s1"
    assert redirected["iss"] == oidc_provider.issuer


def test_pkce_is_required_for_confidential_clients_too(
    oidc_provider: OidcProvider, http: httpx.Client
) -> None:
    client = register(oidc_provider, http, token_endpoint_auth_method="client_secret_basic")
    params = {
        "response_type": "code",
        "client_id": client["client_id"],
        "redirect_uri": REDIRECT_URI,
        "scope": MCP_SCOPE,
        "state": "s2",
    }
    response = http.get(oidc_provider.url("/auth?" + urlencode(params)))
    assert response.status_code == 303
    redirected = query_of(response.headers["location"])
    assert redirected["error"] == "invalid_request"
    assert (
        redirected["error_description"]
        == "Authorization Server policy requires PKCE to be used for this request"
    )

    # With PKCE the confidential client authenticates at the token endpoint as usual.
    result = authorize_code(oidc_provider, http, client["client_id"])
    token = http.post(
        oidc_provider.url("/token"),
        data={
            "grant_type": "authorization_code",
            "code": result.params["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": result.verifier,
        },
        auth=(client["client_id"], client["client_secret"]),
    )
    assert token.status_code == 200, token.text
    assert json_body(token)["refresh_token"]


def test_unknown_scopes_are_dropped_silently(
    oidc_provider: OidcProvider, http: httpx.Client, public_client: JsonObject
) -> None:
    """/auth does not answer invalid_scope for scopes it does not know: it ignores them."""
    client_id = public_client["client_id"]
    result = authorize_code(oidc_provider, http, client_id, scope="mcp:read mcp:admin")
    assert "code" in result.params, result.params
    response = exchange_code(oidc_provider, http, client_id, result.params["code"], result.verifier)
    assert response.status_code == 200, response.text
    assert json_body(response)["scope"] == "mcp:read"


@pytest.mark.parametrize("problem", ["unknown client", "unregistered redirect_uri"])
def test_authorization_errors_without_a_trusted_redirect_are_a_400_page(
    oidc_provider: OidcProvider, http: httpx.Client, public_client: JsonObject, problem: str
) -> None:
    _verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": public_client["client_id"],
        "redirect_uri": REDIRECT_URI,
        "scope": MCP_SCOPE,
        "state": "s1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if problem == "unknown client":
        params["client_id"] = "no-such-client"
    else:
        params["redirect_uri"] = "http://127.0.0.1:9/elsewhere"
    url = oidc_provider.url("/auth?" + urlencode(params))
    expected = "invalid_client" if problem == "unknown client" else "invalid_redirect_uri"
    # Always the HTML error page (renderError), whatever the Accept header says.
    for accept in ("text/html", "application/json"):
        response = http.get(url, headers={"Accept": accept})
        assert response.status_code == 400
        assert "location" not in response.headers
        assert response.headers["content-type"].startswith("text/html")
        assert f'data-error="{expected}"' in response.text
    with pytest.raises(OidcProviderError, match="400"):
        oidc_provider.authorize(http, url)


def test_wrong_pkce_verifier_does_not_use_up_the_code(
    oidc_provider: OidcProvider, http: httpx.Client, public_client: JsonObject
) -> None:
    client_id = public_client["client_id"]
    result = authorize_code(oidc_provider, http, client_id)
    wrong, _ = pkce_pair()
    failed = exchange_code(oidc_provider, http, client_id, result.params["code"], wrong)
    body = assert_token_error(failed, "invalid_grant")
    assert body["error_description"] == "grant request is invalid"  # generic, no detail
    ok = exchange_code(oidc_provider, http, client_id, result.params["code"], result.verifier)
    assert ok.status_code == 200, ok.text


def test_missing_verifier_and_wrong_redirect_uri_are_invalid_grant(
    oidc_provider: OidcProvider, http: httpx.Client, public_client: JsonObject
) -> None:
    client_id = public_client["client_id"]
    result = authorize_code(oidc_provider, http, client_id)
    no_verifier = http.post(
        oidc_provider.url("/token"),
        data={
            "grant_type": "authorization_code",
            "code": result.params["code"],
            "redirect_uri": REDIRECT_URI,
            "client_id": client_id,
        },
    )
    assert_token_error(no_verifier, "invalid_grant")
    other_redirect = http.post(
        oidc_provider.url("/token"),
        data={
            "grant_type": "authorization_code",
            "code": result.params["code"],
            "redirect_uri": "http://127.0.0.1:9/elsewhere",
            "client_id": client_id,
            "code_verifier": result.verifier,
        },
    )
    assert_token_error(other_redirect, "invalid_grant")
    garbage = exchange_code(oidc_provider, http, client_id, "not-a-code", result.verifier)
    assert_token_error(garbage, "invalid_grant")


def test_reused_code_is_rejected_and_revokes_the_grant(
    oidc_provider: OidcProvider,
    http: httpx.Client,
    public_client: JsonObject,
    confidential_client: JsonObject,
) -> None:
    client_id = public_client["client_id"]
    result = authorize_code(oidc_provider, http, client_id)
    first = exchange_code(oidc_provider, http, client_id, result.params["code"], result.verifier)
    assert first.status_code == 200
    tokens = json_body(first)

    again = exchange_code(oidc_provider, http, client_id, result.params["code"], result.verifier)
    assert_token_error(again, "invalid_grant")

    # Everything issued from that code is gone.
    info = introspect(
        oidc_provider,
        http,
        confidential_client["client_id"],
        confidential_client["client_secret"],
        tokens["access_token"],
    )
    assert info == {"active": False}
    assert_token_error(
        refresh(oidc_provider, http, client_id, tokens["refresh_token"]), "invalid_grant"
    )


# --------------------------------------------------------------------------------------------
# Refresh tokens
# --------------------------------------------------------------------------------------------


def test_refresh_rotates_and_reuse_revokes_the_grant(
    oidc_provider: OidcProvider,
    http: httpx.Client,
    public_client: JsonObject,
    tokens: JsonObject,
    confidential_client: JsonObject,
) -> None:
    client_id = public_client["client_id"]
    first_refresh = tokens["refresh_token"]

    rotated = refresh(oidc_provider, http, client_id, first_refresh)
    assert rotated.status_code == 200, rotated.text
    body = json_body(rotated)
    second_refresh = body["refresh_token"]
    assert second_refresh != first_refresh
    assert body["access_token"] != tokens["access_token"]
    assert body["scope"] == MCP_SCOPE

    # A refresh may narrow the scope.
    narrowed = json_body(refresh(oidc_provider, http, client_id, second_refresh))
    assert narrowed["scope"] == MCP_SCOPE
    third_refresh = narrowed["refresh_token"]
    narrow = http.post(
        oidc_provider.url("/token"),
        data={
            "grant_type": "refresh_token",
            "refresh_token": third_refresh,
            "client_id": client_id,
            "scope": "mcp:read",
        },
    )
    assert narrow.status_code == 200, narrow.text
    narrow_body = json_body(narrow)
    assert narrow_body["scope"] == "mcp:read"
    latest_refresh = narrow_body["refresh_token"]
    latest_access = narrow_body["access_token"]

    # Presenting an already rotated refresh token fails and revokes the whole grant ...
    reuse = refresh(oidc_provider, http, client_id, first_refresh)
    assert_token_error(reuse, "invalid_grant")
    # ... so the newest refresh token and access token are dead too.
    assert_token_error(refresh(oidc_provider, http, client_id, latest_refresh), "invalid_grant")
    info = introspect(
        oidc_provider,
        http,
        confidential_client["client_id"],
        confidential_client["client_secret"],
        latest_access,
    )
    assert info["active"] is False


def test_refresh_token_of_another_client_is_rejected(
    oidc_provider: OidcProvider, http: httpx.Client, tokens: JsonObject
) -> None:
    other = register(oidc_provider, http)
    response = refresh(oidc_provider, http, other["client_id"], tokens["refresh_token"])
    assert_token_error(response, "invalid_grant")


def test_no_refresh_token_without_the_refresh_grant(
    oidc_provider: OidcProvider, http: httpx.Client
) -> None:
    client = register(oidc_provider, http, grant_types=["authorization_code"])
    result = authorize_code(
        oidc_provider, http, client["client_id"], scope=f"offline_access {MCP_SCOPE}"
    )
    response = exchange_code(
        oidc_provider, http, client["client_id"], result.params["code"], result.verifier
    )
    assert response.status_code == 200, response.text
    assert "refresh_token" not in json_body(response)


# --------------------------------------------------------------------------------------------
# Client credentials, introspection, revocation
# --------------------------------------------------------------------------------------------


def test_client_credentials_with_resource(
    oidc_provider: OidcProvider, http: httpx.Client, confidential_client: JsonObject
) -> None:
    client_id = confidential_client["client_id"]
    secret = confidential_client["client_secret"]
    resource = "http://127.0.0.1:8765/mcp"
    response = http.post(
        oidc_provider.url("/token"),
        data={"grant_type": "client_credentials", "scope": "mcp:read", "resource": resource},
        auth=(client_id, secret),
    )
    assert response.status_code == 200, response.text
    body = json_body(response)
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "mcp:read"
    assert body["expires_in"] == 600
    assert "refresh_token" not in body
    info = introspect(oidc_provider, http, client_id, secret, body["access_token"])
    assert info["active"] is True
    assert info["aud"] == resource
    assert info["client_id"] == client_id
    assert "sub" not in info

    # Without `resource` the default resource is used.
    default = http.post(
        oidc_provider.url("/token"),
        data={"grant_type": "client_credentials", "scope": MCP_SCOPE},
        auth=(client_id, secret),
    )
    assert default.status_code == 200, default.text
    default_info = introspect(
        oidc_provider, http, client_id, secret, default.json()["access_token"]
    )
    assert default_info["aud"] == oidc_provider.default_resource
    assert default_info["scope"] == MCP_SCOPE


def test_client_credentials_errors(
    oidc_provider: OidcProvider,
    http: httpx.Client,
    confidential_client: JsonObject,
    public_client: JsonObject,
) -> None:
    client_id = confidential_client["client_id"]
    wrong_secret = http.post(
        oidc_provider.url("/token"),
        data={"grant_type": "client_credentials", "scope": "mcp:read"},
        auth=(client_id, "wrong"),
    )
    assert wrong_secret.status_code == 401
    assert json_body(wrong_secret)["error"] == "invalid_client"
    assert "www-authenticate" in wrong_secret.headers

    # Unknown scopes are dropped silently here too: the token simply has no scope.
    unknown_scope = http.post(
        oidc_provider.url("/token"),
        data={"grant_type": "client_credentials", "scope": "mcp:admin"},
        auth=(client_id, confidential_client["client_secret"]),
    )
    assert unknown_scope.status_code == 200, unknown_scope.text
    assert "scope" not in json_body(unknown_scope)

    bad_resource = http.post(
        oidc_provider.url("/token"),
        data={"grant_type": "client_credentials", "resource": "urn:x#frag"},
        auth=(client_id, confidential_client["client_secret"]),
    )
    assert_token_error(bad_resource, "invalid_target")

    not_allowed = http.post(
        oidc_provider.url("/token"),
        data={"grant_type": "client_credentials", "client_id": public_client["client_id"]},
    )
    # RFC 6749 would say unauthorized_client; oidc-provider answers invalid_request.
    body = assert_token_error(not_allowed, "invalid_request")
    assert body["error_description"] == "requested grant type is not allowed for this client"


def test_introspection(
    oidc_provider: OidcProvider,
    http: httpx.Client,
    tokens: JsonObject,
    public_client: JsonObject,
    confidential_client: JsonObject,
) -> None:
    client_id = confidential_client["client_id"]
    secret = confidential_client["client_secret"]

    refresh_info = introspect(oidc_provider, http, client_id, secret, tokens["refresh_token"])
    assert refresh_info["active"] is True
    assert refresh_info["client_id"] == public_client["client_id"]
    assert refresh_info["sub"] == TEST_ACCOUNT_ID
    assert refresh_info["scope"] == MCP_SCOPE
    # Refresh tokens are introspected without token_type and without aud.
    assert "token_type" not in refresh_info
    assert "aud" not in refresh_info

    assert introspect(oidc_provider, http, client_id, secret, "garbage") == {"active": False}

    # A public client may introspect its own tokens (client_id in the body) ...
    own = http.post(
        oidc_provider.url("/token/introspection"),
        data={"token": tokens["access_token"], "client_id": public_client["client_id"]},
    )
    assert own.status_code == 200
    assert json_body(own)["active"] is True
    # ... but gets `active: false` for anyone else's.
    other = register(oidc_provider, http)
    foreign = http.post(
        oidc_provider.url("/token/introspection"),
        data={"token": tokens["access_token"], "client_id": other["client_id"]},
    )
    assert foreign.status_code == 200
    assert json_body(foreign) == {"active": False}

    # No client authentication at all.
    anonymous = http.post(oidc_provider.url("/token/introspection"), data={"token": "x"})
    assert anonymous.status_code == 400
    assert json_body(anonymous)["error"] == "invalid_request"


def test_revocation(
    oidc_provider: OidcProvider,
    http: httpx.Client,
    tokens: JsonObject,
    public_client: JsonObject,
    confidential_client: JsonObject,
) -> None:
    client_id = public_client["client_id"]
    revoke_url = oidc_provider.url("/token/revocation")

    def introspect_as_confidential(token: str) -> JsonObject:
        return introspect(
            oidc_provider,
            http,
            confidential_client["client_id"],
            confidential_client["client_secret"],
            token,
        )

    # Revoking a refresh token revokes every token of its grant, access tokens included.
    response = http.post(
        revoke_url, data={"token": tokens["refresh_token"], "client_id": client_id}
    )
    assert response.status_code == 200
    assert response.content == b""
    assert_token_error(
        refresh(oidc_provider, http, client_id, tokens["refresh_token"]), "invalid_grant"
    )
    assert introspect_as_confidential(tokens["access_token"]) == {"active": False}

    # Revoking an access token ALSO revokes the refresh tokens of the same grant (RFC 7009
    # allows it; oidc-provider always does it).
    fresh = authorize_code(oidc_provider, http, client_id)
    second = json_body(
        exchange_code(oidc_provider, http, client_id, fresh.params["code"], fresh.verifier)
    )
    response = http.post(
        revoke_url,
        data={
            "token": second["access_token"],
            "token_type_hint": "access_token",
            "client_id": client_id,
        },
    )
    assert response.status_code == 200
    assert introspect_as_confidential(second["access_token"]) == {"active": False}
    assert_token_error(
        refresh(oidc_provider, http, client_id, second["refresh_token"]), "invalid_grant"
    )

    # Unknown tokens are "revoked" successfully too (RFC 7009).
    assert (
        http.post(revoke_url, data={"token": "garbage", "client_id": client_id}).status_code == 200
    )

    # A public client cannot revoke someone else's token, but still gets a 200.
    third_code = authorize_code(oidc_provider, http, client_id)
    third = json_body(
        exchange_code(
            oidc_provider, http, client_id, third_code.params["code"], third_code.verifier
        )
    )
    other = register(oidc_provider, http)
    foreign = http.post(
        revoke_url, data={"token": third["access_token"], "client_id": other["client_id"]}
    )
    assert foreign.status_code == 200
    assert introspect_as_confidential(third["access_token"])["active"] is True


# --------------------------------------------------------------------------------------------
# Device authorization grant (RFC 8628)
# --------------------------------------------------------------------------------------------


@pytest.fixture
def device_client(oidc_provider: OidcProvider, http: httpx.Client) -> JsonObject:
    """Register a public client that may use the device grant (and refresh tokens)."""
    return register(
        oidc_provider,
        http,
        redirect_uris=[],
        response_types=[],
        grant_types=[DEVICE_GRANT, "refresh_token"],
    )


def start_device_flow(
    server: OidcProvider, http: httpx.Client, client_id: str, scope: str = MCP_SCOPE
) -> JsonObject:
    """POST /device/auth and return its (checked) response."""
    response = http.post(server.url("/device/auth"), data={"client_id": client_id, "scope": scope})
    assert response.status_code == 200, response.text
    return json_body(response)


def poll(
    server: OidcProvider, http: httpx.Client, client_id: str, device_code: str
) -> httpx.Response:
    """One device token request."""
    return http.post(
        server.url("/token"),
        data={"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": client_id},
    )


def test_device_flow_approved(
    oidc_provider: OidcProvider,
    http: httpx.Client,
    device_client: JsonObject,
    confidential_client: JsonObject,
) -> None:
    client_id = device_client["client_id"]
    started = start_device_flow(oidc_provider, http, client_id)
    assert set(started) == {
        "device_code",
        "user_code",
        "verification_uri",
        "verification_uri_complete",
        "expires_in",
    }
    assert "interval" not in started  # clients fall back to RFC 8628's 5 seconds
    assert started["verification_uri"] == oidc_provider.url("/device")
    assert started["verification_uri_complete"].startswith(oidc_provider.url("/device?user_code="))
    assert started["expires_in"] == 600
    user_code = started["user_code"]
    assert len(user_code) == 9, user_code  # base-20 charset, mask ****-****
    assert user_code[4] == "-", user_code

    # Polling right away (and again, faster than any interval) is only ever "pending".
    for _ in range(2):
        assert_token_error(
            poll(oidc_provider, http, client_id, started["device_code"]), "authorization_pending"
        )

    oidc_provider.approve_device(user_code)
    # A user code can be approved once only.
    with pytest.raises(OidcProviderError, match="AlreadyUsedError"):
        oidc_provider.approve_device(user_code)

    done = poll(oidc_provider, http, client_id, started["device_code"])
    assert done.status_code == 200, done.text
    body = json_body(done)
    assert body["scope"] == MCP_SCOPE
    assert body["refresh_token"]
    info = introspect(
        oidc_provider,
        http,
        confidential_client["client_id"],
        confidential_client["client_secret"],
        body["access_token"],
    )
    assert info["sub"] == TEST_ACCOUNT_ID
    assert info["aud"] == oidc_provider.default_resource

    # The device code is single use; once redeemed, its user code is unknown.
    assert_token_error(
        poll(oidc_provider, http, client_id, started["device_code"]), "invalid_grant"
    )
    with pytest.raises(OidcProviderError, match="NotFoundError"):
        oidc_provider.approve_device(user_code)


def test_device_flow_denied(
    oidc_provider: OidcProvider, http: httpx.Client, device_client: JsonObject
) -> None:
    client_id = device_client["client_id"]
    started = start_device_flow(oidc_provider, http, client_id)
    oidc_provider.deny_device(started["user_code"])
    denied = poll(oidc_provider, http, client_id, started["device_code"])
    body = assert_token_error(denied, "access_denied")
    assert body["error_description"] == "End-User aborted interaction"
    # The denial is final.
    assert_token_error(
        poll(oidc_provider, http, client_id, started["device_code"]), "invalid_grant"
    )


def test_device_flow_errors(
    oidc_provider: OidcProvider,
    http: httpx.Client,
    device_client: JsonObject,
    public_client: JsonObject,
) -> None:
    with pytest.raises(OidcProviderError, match="NotFoundError"):
        oidc_provider.approve_device("BCDF-GHJK")
    not_allowed = http.post(
        oidc_provider.url("/device/auth"), data={"client_id": public_client["client_id"]}
    )
    assert not_allowed.status_code == 400
    # Again invalid_request where RFC 6749/8628 would say unauthorized_client.
    assert json_body(not_allowed) == {
        "error": "invalid_request",
        "error_description": f"{DEVICE_GRANT} is not allowed for this client",
    }
    unknown = poll(oidc_provider, http, device_client["client_id"], "no-such-device-code")
    assert_token_error(unknown, "invalid_grant")


# --------------------------------------------------------------------------------------------
# Server options and lifecycle (a second, short-lived server)
# --------------------------------------------------------------------------------------------


def test_options_and_process_lifecycle() -> None:
    """device_interval and JWT access tokens; the process is gone after the context exits."""
    resource = "http://127.0.0.1:8765/custom"
    with (
        run_oidc_provider(
            device_interval=1, access_token_format="jwt", default_resource=resource
        ) as server,
        httpx.Client(timeout=10.0) as http,
    ):
        process = server.process
        assert process.poll() is None
        device_client = register(
            server, http, redirect_uris=[], response_types=[], grant_types=[DEVICE_GRANT]
        )
        started = start_device_flow(server, http, device_client["client_id"])
        assert started["interval"] == 1

        client = register(server, http)
        result = authorize_code(server, http, client["client_id"])
        body = json_body(
            exchange_code(server, http, client["client_id"], result.params["code"], result.verifier)
        )
        header, claims = jwt_parts(body["access_token"])
        assert header["typ"] == "at+jwt"
        assert header["alg"] == "RS256"
        jwks = json_body(http.get(server.url("/jwks")))
        assert header["kid"] in {key["kid"] for key in jwks["keys"]}
        assert claims["aud"] == resource
        assert claims["iss"] == server.issuer
        assert claims["sub"] == TEST_ACCOUNT_ID
        assert claims["scope"] == MCP_SCOPE
        assert claims["client_id"] == client["client_id"]

        # oidc-provider does not introspect its own JWT access tokens.
        introspection = http.post(
            server.url("/token/introspection"),
            data={"token": body["access_token"], "client_id": client["client_id"]},
        )
        assert introspection.status_code == 400
        assert json_body(introspection)["error"] == "unsupported_token_type"
    assert process.returncode == 0, server.stderr()
