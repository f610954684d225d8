"""The client's whole lifecycle against two third-party servers, with both API flavours.

``oidc-provider`` 9.13.3 (OIDC_PROVIDER.md): discovery and the issuer check, registration with
each token endpoint auth method, RFC 7592 management with a rotating registration access token,
authorization code + PKCE + ``resource`` + ``openid`` (the ID token checked against the
server's real JWKS), RFC 9207 ``iss``, a protected resource that introspects the bearer token,
refresh with rotation, introspection, revocation, client credentials, the device flow, JWT
access tokens, and the failures a real server produces (wrong verifier, replayed code, reused
rotated refresh token).

The MCP Python SDK 2.3.0 (MCP_SDK.md): the MCP-shaped flow, from the 401 of the MCP endpoint
and its RFC 9728 metadata to an ``initialize`` and a ``tools/call`` with the client's token,
then refresh and revocation; and what the SDK's quirks do to the client.

Every test runs once with ``SyncOAuth2Client`` and once with ``OAuth2Client`` (see
``tests/flavours.py``); each client's HTTP exchanges are logged so a test can count them.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from mcp_oauth_dynamicclient import (
    AuthorizationError,
    ClientRegistration,
    DeviceAuthorization,
    DiscoveryError,
    RegistrationError,
    TokenError,
    TokenResponse,
)
from mcp_oauth_dynamicclient._generated import JsonWebKeySet, converter
from mcp_oauth_dynamicclient._jwt import validate_jwt_access_token
from tests.flavours import ClientProxy, Flavour, flavour
from tests.interop.mcp_sdk_server import McpSdkServer, run_mcp_sdk_server
from tests.interop.oidc_provider_server import OidcProvider, run_oidc_provider
from tests.keys import private_pem, public_jwk

pytestmark = pytest.mark.interop

Json = dict[str, Any]

REDIRECT = "http://127.0.0.1:33418/callback"
"""The client's loopback redirect URI; never contacted (the redirect is read, not followed)."""

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}
PROTOCOL_VERSION = "2025-06-18"
INITIALIZE: Json = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": PROTOCOL_VERSION,
        "capabilities": {},
        "clientInfo": {"name": "mcp-oauth-dynamicclient-interop", "version": "0"},
    },
}


# ------------------------------------------------------------------------------- fixtures


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest) -> Iterator[Flavour]:
    """Each test runs once with ``SyncOAuth2Client`` and once with ``OAuth2Client``."""
    with flavour(request.param, record_requests=True) as made:
        yield made


class IntrospectingResource:
    """A protected resource in front of oidc-provider, as an MCP server would be.

    It takes ``Authorization: Bearer`` only, introspects the token (RFC 7662) with its own
    confidential client, and answers 200 with the token's ``sub``, ``client_id`` and ``scope``
    when the token is active and its audience is this resource; otherwise 401 with
    ``WWW-Authenticate: Bearer error="invalid_token"`` (RFC 6750 §3.1).
    """

    def __init__(self, provider: OidcProvider) -> None:
        registered = httpx.post(
            provider.url("/reg"),
            json={
                "client_name": "interop resource server",
                "redirect_uris": ["http://127.0.0.1:1/unused"],
                "grant_types": ["client_credentials"],
                "response_types": [],
            },
        )
        registered.raise_for_status()
        self._credentials = (registered.json()["client_id"], registered.json()["client_secret"])
        self._introspection = provider.url("/token/introspection")
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/mcp"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> IntrospectingResource:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def check(self, authorization: str) -> tuple[int, Json]:
        """The status and body for a request carrying ``authorization``."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return 401, {}
        introspected = httpx.post(
            self._introspection, data={"token": token}, auth=self._credentials
        )
        introspected.raise_for_status()
        claims: Json = introspected.json()
        if not claims.get("active") or claims.get("aud") != self.url:
            return 401, {"error": "invalid_token"}
        return 200, {key: claims.get(key) for key in ("sub", "client_id", "scope")}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        resource = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self._answer()

            def _answer(self) -> None:
                status, body = resource.check(self.headers.get("Authorization", ""))
                payload = json.dumps(body).encode()
                self.send_response(status)
                if status == 401:
                    challenge = 'Bearer error="invalid_token"' if body else "Bearer"
                    self.send_header("WWW-Authenticate", challenge)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                """Keep the test output clean."""

        return Handler


@pytest.fixture(scope="module")
def resource_server(oidc_provider: OidcProvider) -> Iterator[IntrospectingResource]:
    """A resource server that checks bearer tokens by introspection at ``oidc_provider``."""
    with IntrospectingResource(oidc_provider) as resource:
        yield resource


@pytest.fixture(scope="module")
def oidc_jwt() -> Iterator[OidcProvider]:
    """oidc-provider issuing RFC 9068 JWT access tokens, with a 1 s device poll interval."""
    with run_oidc_provider(access_token_format="jwt", device_interval=1) as server:
        yield server


@pytest.fixture(scope="module")
def mcp_sdk() -> Iterator[McpSdkServer]:
    """The MCP SDK authorization server and its protected ``/mcp`` endpoint."""
    with run_mcp_sdk_server() as server:
        yield server


@pytest.fixture(scope="module")
def mcp_sdk_odd() -> Iterator[McpSdkServer]:
    """An MCP SDK server whose issuer has a trailing slash and whose tokens live 2 s."""
    with run_mcp_sdk_server(access_token_ttl=2, issuer_trailing_slash=True) as server:
        yield server


# -------------------------------------------------------------------------------- helpers


def query_of(url: str) -> dict[str, str]:
    """The query parameters of ``url`` (each given once)."""
    query = parse_qs(urlsplit(url).query, keep_blank_values=True)
    assert all(len(values) == 1 for values in query.values()), url
    return {key: values[0] for key, values in query.items()}


def with_query(url: str, **changes: str | None) -> str:
    """``url`` with query parameters replaced (``None`` removes one)."""
    parts = urlsplit(url)
    query: dict[str, str] = query_of(url)
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    return urlunsplit(parts._replace(query=urlencode(query)))


def jwt_claims(token: str) -> Json:
    """The payload of a JWS, unverified (the client verified it already)."""
    payload = token.split(".")[1]
    claims: Json = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


def oidc_client(api: Flavour, provider: OidcProvider, **settings: Any) -> ClientProxy:
    """A client of ``provider`` with a loopback redirect URI."""
    options: Json = {"client_name": "Interop App", "redirect_uris": [REDIRECT]}
    return api.client(auth_server=provider.issuer, **{**options, **settings})


def oidc_callback(client: ClientProxy, provider: OidcProvider, **params: Any) -> str:
    """Authorize in a headless browser; the callback URL the server redirects to.

    For ``mcp:read`` unless ``params`` say otherwise: asked for no scope, oidc-provider grants
    none and denies access.
    """
    url: str = client.get_authorization_url(**{"scope": "mcp:read", **params})
    with httpx.Client(timeout=10.0) as browser:
        return provider.authorize(browser, url)


def single_pending(client: ClientProxy) -> tuple[str, Json]:
    """The storage key and contents of the client's one pending authorization."""
    storage = client.storage_proxy()
    (key,) = [key for key in storage.list_tokens() if key.startswith("pending:")]
    pending: Json = storage.retrieve_token(key)
    return key, pending


def read_registration(registration: ClientRegistration, access_token: str) -> httpx.Response:
    """RFC 7592 read with a given registration access token, bypassing the client."""
    assert registration.registration_client_uri is not None
    return httpx.get(
        registration.registration_client_uri,
        headers={"Authorization": f"Bearer {access_token}"},
    )


def server_jwks(provider: OidcProvider) -> JsonWebKeySet:
    """The server's signing keys, as the client reads them."""
    keys: JsonWebKeySet = converter.structure(
        httpx.get(provider.url("/jwks")).json(), JsonWebKeySet
    )
    return keys


def sdk_client(api: Flavour, server: McpSdkServer, **settings: Any) -> ClientProxy:
    """A client of the MCP SDK server, set up the way MCP_SDK.md says works."""
    options: Json = {
        "auth_server": server.issuer,
        "client_name": "Interop MCP Client",
        "redirect_uris": [REDIRECT],
        "resource": server.mcp_url,
        "token_endpoint_auth_method": "client_secret_post",
    }
    return api.client(**{**options, **settings})


def sdk_callback(url: str) -> str:
    """Follow the SDK server's ``/authorize`` → ``/consent`` hops to the client's callback."""
    with httpx.Client(timeout=10.0) as browser:
        for _ in range(5):
            response = browser.get(url)
            assert response.is_redirect, f"{response.status_code}: {response.text}"
            url = str(response.url.join(response.headers["location"]))
            if url.startswith(REDIRECT + "?"):
                return url
    raise AssertionError(f"no redirect to {REDIRECT}")


def sdk_authorize(client: ClientProxy, **params: Any) -> TokenResponse:
    """Authorization code + PKCE against the SDK server, end to end."""
    token: TokenResponse = client.exchange_code(
        sdk_callback(client.get_authorization_url(**params))
    )
    return token


def challenge_params(response: httpx.Response) -> dict[str, str]:
    """The ``k="v"`` parameters of a ``WWW-Authenticate: Bearer`` challenge."""
    header = response.headers["www-authenticate"]
    assert header.lower().startswith("bearer"), header
    return dict(re.findall(r'(\w+)="([^"]*)"', header))


def mcp_message(response: httpx.Response) -> Json:
    """The JSON-RPC message of a JSON or one-event SSE response of the MCP endpoint."""
    if response.headers["content-type"].startswith("text/event-stream"):
        data = [
            line.removeprefix("data:").strip()
            for line in response.text.splitlines()
            if line.startswith("data:")
        ]
        assert len(data) == 1, response.text
        message: Json = json.loads(data[0])
        return message
    body: Json = response.json()
    return body


def mcp_call(
    client: ClientProxy, server: McpSdkServer, message: Json, session_id: str | None = None
) -> httpx.Response:
    """POST one JSON-RPC message to the MCP endpoint with the client's stored token."""
    headers = dict(MCP_HEADERS)
    if session_id is not None:
        headers |= {"Mcp-Session-Id": session_id, "Mcp-Protocol-Version": PROTOCOL_VERSION}
    response: httpx.Response = client.authenticated_request(
        "POST", server.mcp_url, json=message, headers=headers
    )
    return response


def whoami(client: ClientProxy, server: McpSdkServer, session_id: str) -> Json:
    """What the MCP server's ``whoami`` tool says of the caller's token."""
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "whoami"}}
    response = mcp_call(client, server, call, session_id)
    assert response.status_code == 200, response.text
    content: Json = mcp_message(response)["result"]["structuredContent"]
    return content


# ======================================================================= oidc-provider


def test_discovery_reads_the_metadata_once_and_checks_the_issuer(
    api: Flavour, oidc_provider: OidcProvider
) -> None:
    """RFC 8414 metadata matches the OIDC document, is fetched once, and names its issuer."""
    client = oidc_client(api, oidc_provider)
    metadata = client.discover()

    openid = httpx.get(oidc_provider.url("/.well-known/openid-configuration")).json()
    assert metadata.issuer == oidc_provider.issuer == openid["issuer"]
    for name in (
        "authorization_endpoint",
        "token_endpoint",
        "registration_endpoint",
        "introspection_endpoint",
        "revocation_endpoint",
        "device_authorization_endpoint",
        "jwks_uri",
        "userinfo_endpoint",
    ):
        assert getattr(metadata, name) == openid[name], name
    assert metadata.registration_endpoint == oidc_provider.url("/reg")
    assert metadata.code_challenge_methods_supported == ["S256"]
    assert metadata.authorization_response_iss_parameter_supported is True
    assert client.discover() is metadata  # fetched once per client
    assert client.requests.exchanges == [("GET", "/.well-known/oauth-authorization-server", 200)]

    # The same server reached under a name that is not its issuer (RFC 8414 §3.3).
    port = urlsplit(oidc_provider.issuer).port
    impostor = api.client(auth_server=f"http://localhost:{port}")
    with pytest.raises(DiscoveryError, match="names issuer"):
        impostor.discover()


def test_registration_is_read_updated_twice_and_deleted(
    api: Flavour, oidc_provider: OidcProvider
) -> None:
    """RFC 7591/7592 with oidc-provider's token rotation: every rotated token is kept."""
    storage = api.storage()
    settings: Json = {"storage": storage, "client_uri": "https://app.example/"}
    client = oidc_client(api, oidc_provider, **settings)
    registration: ClientRegistration = client.register()
    assert registration.token_endpoint_auth_method == "client_secret_basic"
    assert registration.client_secret
    assert registration.registration_client_uri == oidc_provider.url(
        f"/reg/{registration.client_id}"
    )
    assert set(registration.grant_types) == {
        "authorization_code",
        "refresh_token",
        "client_credentials",
        DEVICE_GRANT,
    }
    first_rat = registration.registration_access_token
    assert first_rat

    info = client.get_client_info(registration.client_id)
    assert info["client_name"] == "Interop App"
    assert info["client_uri"] == "https://app.example/"
    assert client.register().registration_access_token == first_rat  # a read does not rotate

    updated = client.update_client(client_name="Renamed")
    assert updated["client_name"] == "Renamed"
    # oidc-provider replaces the whole record: what was not updated must have been sent again.
    assert updated["client_uri"] == "https://app.example/"
    assert updated["redirect_uris"] == [REDIRECT]
    assert set(updated["grant_types"]) == set(registration.grant_types)
    second_rat = client.register().registration_access_token
    assert second_rat not in (None, first_rat)
    assert read_registration(registration, first_rat).status_code == 401

    twice = client.update_client(logo_uri="https://app.example/logo.png")  # with the new token
    assert (twice["client_name"], twice["logo_uri"]) == ("Renamed", "https://app.example/logo.png")
    third_rat = client.register().registration_access_token
    assert third_rat not in (None, first_rat, second_rat)
    assert read_registration(registration, second_rat).status_code == 401

    # The rotated token was stored: another client on the same storage manages the registration.
    fresh = oidc_client(api, oidc_provider, **settings)
    assert fresh.get_client_info()["logo_uri"] == "https://app.example/logo.png"
    assert fresh.requests.to("/reg", "POST") == []
    assert client.requests.to("/reg", "POST") == [("POST", "/reg", 201)]

    assert fresh.delete_client() is True
    assert fresh.storage_proxy().list_tokens() == []
    assert read_registration(registration, third_rat).status_code == 401
    with pytest.raises(RegistrationError) as gone:
        client.get_client_info()  # still holds the deleted registration
    assert gone.value.status_code == 401


def client_auth_settings(method: str, key: rsa.RSAPrivateKey) -> Json:
    """What ``OAuth2Config`` needs for ``method``: a key and its registered JWK Set for
    ``private_key_jwt`` (RFC 7523 §2.2), nothing more for the others."""
    if method != "private_key_jwt":
        return {}
    return {
        "private_key": private_pem(key),
        "private_key_id": "k1",
        "jwks": {"keys": [public_jwk(key, "k1")]},
    }


@pytest.mark.parametrize(
    "method",
    ["client_secret_basic", "client_secret_post", "none", "client_secret_jwt", "private_key_jwt"],
)
def test_authorization_code_lifecycle(
    api: Flavour,
    oidc_provider: OidcProvider,
    resource_server: IntrospectingResource,
    rsa_key: rsa.RSAPrivateKey,
    method: str,
) -> None:
    """PKCE + resource + openid, a checked resource, refresh, introspection, revocation."""
    client = oidc_client(
        api,
        oidc_provider,
        token_endpoint_auth_method=method,
        resource=resource_server.url,
        **client_auth_settings(method, rsa_key),
    )
    registration: ClientRegistration = client.register()
    # oidc-provider refuses a token request made with another method than the registered one,
    # so every token call below also checks the client's authentication.
    assert registration.token_endpoint_auth_method == method
    assert (registration.client_secret is None) == (method in ("none", "private_key_jwt"))

    url = client.get_authorization_url(scope="openid mcp:read mcp:write")
    request = query_of(url)
    assert request["code_challenge_method"] == "S256"
    assert request["resource"] == resource_server.url
    with httpx.Client(timeout=10.0) as browser:
        callback = oidc_provider.authorize(browser, url)
    assert query_of(callback)["iss"] == oidc_provider.issuer  # RFC 9207, checked by the client

    token: TokenResponse = client.exchange_code(callback)
    assert token.token_type == "Bearer"
    assert token.scope == "mcp:read mcp:write"
    assert token.expires_in == 3600
    assert token.refresh_token
    assert token.id_token is not None  # validated against /jwks by exchange_code
    id_claims = jwt_claims(token.id_token)
    assert id_claims["aud"] == registration.client_id
    assert id_claims["nonce"] == request["nonce"]
    assert client.requests.to("/jwks") == [("GET", "/jwks", 200)]

    response = client.authenticated_request("GET", resource_server.url)
    assert response.status_code == 200
    assert response.json() == {
        "sub": "test-user",
        "client_id": registration.client_id,
        "scope": "mcp:read mcp:write",
    }
    introspection = client.introspect_token(token)
    assert introspection["active"] is True
    assert introspection["aud"] == resource_server.url
    assert introspection["client_id"] == registration.client_id

    refreshed: TokenResponse = client.refresh_token()
    assert refreshed.access_token != token.access_token
    assert refreshed.refresh_token not in (None, token.refresh_token)  # rotated
    assert refreshed.scope == "mcp:read mcp:write"
    response = client.authenticated_request("POST", resource_server.url, json={"ping": 1})
    assert response.status_code == 200

    assert client.revoke_token(refreshed) is True
    assert client.introspect_token(refreshed)["active"] is False
    with pytest.raises(TokenError, match="no token yet"):
        client.authenticated_request("GET", resource_server.url)  # the revoked token is gone
    # oidc-provider revokes the grant's refresh tokens with its access token.
    with pytest.raises(TokenError) as caught:
        client.refresh_token(refreshed.refresh_token)
    assert caught.value.error_code == "invalid_grant"


def test_the_id_token_is_checked_against_the_servers_keys(
    api: Flavour, oidc_provider: OidcProvider
) -> None:
    """A real ID token is refused for a disallowed algorithm and for a wrong nonce."""
    # oidc-provider signs with RS256: a client that accepts only ES256 must refuse its token.
    strict = oidc_client(api, oidc_provider, id_token_algorithms=["ES256"])
    with pytest.raises(AuthorizationError) as refused:
        strict.exchange_code(oidc_callback(strict, oidc_provider, scope="openid mcp:read"))
    assert refused.value.error_code == "invalid_id_token"

    # A nonce that is not the one the ID token carries.
    client = oidc_client(api, oidc_provider)
    callback = oidc_callback(client, oidc_provider, scope="openid mcp:read")
    key, pending = single_pending(client)
    client.storage_proxy().store_token(key, {**pending, "nonce": "n" * 43})
    with pytest.raises(AuthorizationError, match="nonce") as mismatch:
        client.exchange_code(callback)
    assert mismatch.value.error_code == "invalid_id_token"
    with pytest.raises(TokenError, match="no token yet"):
        client.authenticated_request("GET", oidc_provider.url("/me"))  # nothing was kept


@pytest.mark.parametrize("iss", ["http://127.0.0.1:1", None])
def test_the_callbacks_iss_is_checked(
    api: Flavour, oidc_provider: OidcProvider, iss: str | None
) -> None:
    """RFC 9207: another or a missing ``iss`` is refused before the code is spent."""
    client = oidc_client(api, oidc_provider)
    callback = oidc_callback(client, oidc_provider)
    with pytest.raises(AuthorizationError) as caught:
        client.exchange_code(with_query(callback, iss=iss))
    assert caught.value.error_code == "invalid_issuer"
    assert client.requests.to("/token") == []


def test_a_wrong_code_verifier_is_refused_and_the_code_survives(
    api: Flavour, oidc_provider: OidcProvider
) -> None:
    """RFC 7636 §4.6 at a real server: a wrong verifier is ``invalid_grant``."""
    client = oidc_client(api, oidc_provider)
    callback = oidc_callback(client, oidc_provider)
    storage = client.storage_proxy()
    key, pending = single_pending(client)
    storage.store_token(key, {**pending, "code_verifier": "x" * 64})

    with pytest.raises(AuthorizationError) as caught:
        client.exchange_code(callback)
    assert (caught.value.error_code, caught.value.status_code) == ("invalid_grant", 400)

    # oidc-provider does not use up the code on a wrong verifier: the right one still works.
    storage.store_token(key, pending)
    token: TokenResponse = client.exchange_code(callback)
    assert token.access_token
    assert [exchange.status for exchange in client.requests.to("/token")] == [400, 200]


def test_a_replayed_code_is_refused_and_revokes_the_grant(
    api: Flavour, oidc_provider: OidcProvider
) -> None:
    """A code used twice: refused by the client, then by the server, which revokes."""
    client = oidc_client(api, oidc_provider)
    callback = oidc_callback(client, oidc_provider)
    key, pending = single_pending(client)
    token: TokenResponse = client.exchange_code(callback)

    # The client refuses a second use of its state by itself.
    with pytest.raises(AuthorizationError) as local:
        client.exchange_code(callback)
    assert local.value.error_code == "invalid_state"
    assert len(client.requests.to("/token")) == 1

    # Put the pending authorization back: now the server sees the replay.
    client.storage_proxy().store_token(key, pending)
    with pytest.raises(AuthorizationError) as replay:
        client.exchange_code(callback)
    assert replay.value.error_code == "invalid_grant"
    assert client.introspect_token(token)["active"] is False  # RFC 6749 §4.1.2

    # The stored token was revoked with the grant: its refresh fails and it is forgotten.
    with pytest.raises(TokenError) as refresh:
        client.refresh_token()
    assert refresh.value.error_code == "invalid_grant"
    with pytest.raises(TokenError, match="no token yet"):
        client.authenticated_request("GET", oidc_provider.url("/me"))


def test_a_reused_rotated_refresh_token_ends_the_grant(
    api: Flavour, oidc_provider: OidcProvider
) -> None:
    """Refresh token reuse detection kills the grant; the client forgets its token."""
    client = oidc_client(api, oidc_provider)
    first: TokenResponse = client.exchange_code(oidc_callback(client, oidc_provider))
    second: TokenResponse = client.refresh_token()
    assert second.refresh_token not in (None, first.refresh_token)

    with pytest.raises(TokenError) as reuse:
        client.refresh_token(first.refresh_token)
    assert reuse.value.error_code == "invalid_grant"
    # oidc-provider revoked the whole grant: the newest tokens are dead too.
    assert client.introspect_token(second)["active"] is False
    with pytest.raises(TokenError) as newest:
        client.refresh_token()
    assert newest.value.error_code == "invalid_grant"
    with pytest.raises(TokenError, match="no token yet"):
        client.authenticated_request("GET", oidc_provider.url("/me"))


def test_client_credentials_for_a_resource(
    api: Flavour, oidc_provider: OidcProvider, resource_server: IntrospectingResource
) -> None:
    """RFC 6749 §4.4 with RFC 8707: the token's audience is the resource."""
    client = api.client(auth_server=oidc_provider.issuer, resource=resource_server.url)
    registration: ClientRegistration = client.register()
    assert set(registration.grant_types) == {"client_credentials", DEVICE_GRANT, "refresh_token"}

    token: TokenResponse = client.get_token(scope="mcp:read")
    assert token.refresh_token is None
    assert (token.scope, token.expires_in) == ("mcp:read", 600)
    introspection = client.introspect_token(token)
    assert introspection["aud"] == resource_server.url
    assert introspection["client_id"] == registration.client_id
    assert "sub" not in introspection

    response = client.authenticated_request("GET", resource_server.url)
    assert response.status_code == 200
    assert response.json() == {
        "sub": None,
        "client_id": registration.client_id,
        "scope": "mcp:read",
    }

    # oidc-provider drops an unknown scope silently instead of answering invalid_scope.
    admin: TokenResponse = client.get_token(scope="mcp:admin")
    assert admin.scope is None
    assert client.revoke_token(token) is True
    assert client.introspect_token(token)["active"] is False


def test_device_flow_polls_at_the_servers_interval(api: Flavour, oidc_jwt: OidcProvider) -> None:
    """RFC 8628: pending, then approved, polled at the server's 1 s interval."""
    client = oidc_client(api, oidc_jwt, resource=oidc_jwt.default_resource)
    device: DeviceAuthorization = client.start_device_authorization(scope="mcp:read mcp:write")
    assert device.interval == 1
    assert device.verification_uri == oidc_jwt.url("/device")
    assert re.fullmatch(r"[A-Z]{4}-[A-Z]{4}", device.user_code)

    timer = threading.Timer(1.5, oidc_jwt.approve_device, args=(device.user_code,))
    timer.start()
    try:
        started = time.monotonic()
        token: TokenResponse = client.poll_device_authorization(device.device_code)
        elapsed = time.monotonic() - started
    finally:
        timer.cancel()
        timer.join()
    polls = [exchange.status for exchange in client.requests.to("/token", "POST")]
    assert polls[0] == 400  # authorization_pending before the approval
    assert polls[-1] == 200
    assert elapsed >= len(polls) * 1.0 - 0.1  # one interval before each poll
    assert token.scope == "mcp:read mcp:write"
    assert token.refresh_token

    claims = validate_jwt_access_token(
        token.access_token,
        jwks=server_jwks(oidc_jwt),
        issuer=oidc_jwt.issuer,
        audience=oidc_jwt.default_resource,
        algorithms=["RS256"],
        leeway=60,
    )
    assert claims["sub"] == "test-user"
    assert claims["client_id"] == client.register().client_id


def test_device_flow_denied(api: Flavour, oidc_jwt: OidcProvider) -> None:
    """RFC 8628 §3.5: the user's refusal ends polling with ``access_denied``."""
    client = oidc_client(api, oidc_jwt)
    device: DeviceAuthorization = client.start_device_authorization()
    oidc_jwt.deny_device(device.user_code)
    with pytest.raises(AuthorizationError) as caught:
        client.poll_device_authorization(device.device_code)
    assert caught.value.error_code == "access_denied"


def test_jwt_access_tokens_validate_with_the_servers_keys(
    api: Flavour, oidc_jwt: OidcProvider
) -> None:
    """RFC 9068 tokens check out with ``_jwt``; ``validate_token`` cannot use them."""
    client = oidc_client(api, oidc_jwt, resource=oidc_jwt.default_resource)
    token: TokenResponse = client.exchange_code(
        oidc_callback(client, oidc_jwt, scope="openid mcp:read")
    )
    jwks = server_jwks(oidc_jwt)
    claims = validate_jwt_access_token(
        token.access_token,
        jwks=jwks,
        issuer=oidc_jwt.issuer,
        audience=oidc_jwt.default_resource,
        algorithms=["RS256"],
        leeway=60,
    )
    assert claims["active"] is True
    assert (claims["sub"], claims["scope"]) == ("test-user", "mcp:read")
    assert claims["client_id"] == client.register().client_id
    with pytest.raises(TokenError, match="aud") as other:
        validate_jwt_access_token(
            token.access_token,
            jwks=jwks,
            issuer=oidc_jwt.issuer,
            audience=oidc_jwt.url("/other"),
            algorithms=["RS256"],
            leeway=60,
        )
    assert other.value.error_code == "invalid_token"

    # The server advertises introspection but refuses to introspect its own JWT access tokens
    # (unsupported_token_type): validate_token falls back to checking the JWT with its keys.
    validated = client.validate_token(token)
    assert validated["active"] is True
    assert validated["sub"] == "test-user"


# ======================================================================= MCP Python SDK


def test_mcp_flow_from_the_401_to_a_tool_call(api: Flavour, mcp_sdk: McpSdkServer) -> None:
    """The MCP flow: 401, RFC 9728, discover, register, authorize, call, refresh, revoke."""
    # An MCP client starts with no token: the MCP endpoint says where to look.
    with httpx.Client(timeout=10.0) as plain:
        for refused in (
            plain.get(mcp_sdk.mcp_url, headers=MCP_HEADERS),
            plain.post(mcp_sdk.mcp_url, json=INITIALIZE, headers=MCP_HEADERS),
        ):
            assert refused.status_code == 401
            params = challenge_params(refused)
            assert params["resource_metadata"] == mcp_sdk.resource_metadata_url
        resource_metadata = plain.get(params["resource_metadata"]).json()  # RFC 9728
    assert resource_metadata["resource"] == mcp_sdk.mcp_url
    (auth_server,) = resource_metadata["authorization_servers"]

    client = api.client(
        auth_server=auth_server,
        resource=resource_metadata["resource"],
        redirect_uris=[REDIRECT],
        token_endpoint_auth_method="client_secret_post",
    )
    metadata = client.discover()
    assert metadata.issuer == auth_server
    assert metadata.introspection_endpoint is None
    registration: ClientRegistration = client.register()
    assert registration.token_endpoint_auth_method == "client_secret_post"
    assert registration.client_secret
    assert registration.registration_access_token is None  # no RFC 7592
    assert set(registration.grant_types) == {"authorization_code", "refresh_token"}

    url = client.get_authorization_url(scope="mcp:read mcp:write")
    assert query_of(url)["resource"] == mcp_sdk.mcp_url  # the SDK only honours it here
    callback = sdk_callback(url)
    assert "iss" not in query_of(callback)  # not sent, and not advertised
    token: TokenResponse = client.exchange_code(callback)
    assert (token.scope, token.expires_in) == ("mcp:read mcp:write", 3600)
    assert token.refresh_token

    initialized = mcp_call(client, mcp_sdk, INITIALIZE)
    assert initialized.status_code == 200, initialized.text
    result = mcp_message(initialized)["result"]
    assert result["protocolVersion"] == PROTOCOL_VERSION
    assert result["serverInfo"]["name"] == "mcp-sdk-interop"
    session_id = initialized.headers["mcp-session-id"]
    notified = mcp_call(
        client, mcp_sdk, {"jsonrpc": "2.0", "method": "notifications/initialized"}, session_id
    )
    assert notified.status_code == 202
    expected = {
        "authenticated": True,
        "client_id": registration.client_id,
        "subject": "test-user",
        "scopes": ["mcp:read", "mcp:write"],
        "resource": mcp_sdk.mcp_url,
    }
    assert whoami(client, mcp_sdk, session_id) == expected

    refreshed: TokenResponse = client.refresh_token()
    assert refreshed.access_token != token.access_token
    assert refreshed.refresh_token not in (None, token.refresh_token)  # rotated
    assert whoami(client, mcp_sdk, session_id) == expected  # same session, new token

    # client_secret_post puts client_secret in the form, which the SDK's /revoke insists on.
    assert client.revoke_token(refreshed) is True
    with httpx.Client(timeout=10.0) as plain:
        after = plain.post(
            mcp_sdk.mcp_url,
            json=INITIALIZE,
            headers={**MCP_HEADERS, "Authorization": f"Bearer {refreshed.access_token}"},
        )
    assert after.status_code == 401
    assert challenge_params(after)["error"] == "invalid_token"
    with pytest.raises(TokenError, match="no token yet"):
        mcp_call(client, mcp_sdk, INITIALIZE)
    with pytest.raises(TokenError) as dead:
        client.refresh_token(refreshed.refresh_token)
    assert dead.value.error_code == "invalid_grant"

    # What the SDK does not offer is refused by the client before any request.
    client.requests.clear()
    with pytest.raises(RegistrationError, match="RFC 7592"):
        client.get_client_info()
    with pytest.raises(TokenError, match="introspection_endpoint"):
        client.introspect_token(token)
    with pytest.raises(AuthorizationError, match="device_authorization_endpoint"):
        client.start_device_authorization()
    assert client.requests.exchanges == []


def test_mcp_sdk_client_secret_basic(api: Flavour, mcp_sdk: McpSdkServer) -> None:
    """The library's default auth method against an SDK server that advertises it.

    FAILS today: the SDK (1.x and 2.x, ``ClientAuthenticator``) reads ``client_id`` from the
    form even with HTTP Basic and answers 401 ``invalid_client`` "Missing client_id"; the
    library's ``ClientSecretBasic`` sends the credentials in the header only.
    """
    client = sdk_client(api, mcp_sdk, token_endpoint_auth_method="client_secret_basic")
    assert "client_secret_basic" in (client.discover().token_endpoint_auth_methods_supported or [])
    token = sdk_authorize(client)
    assert mcp_call(client, mcp_sdk, INITIALIZE).status_code == 200
    assert client.refresh_token().access_token != token.access_token


def test_mcp_sdk_public_client_cannot_revoke(api: Flavour, mcp_sdk: McpSdkServer) -> None:
    """SDK quirk: ``/revoke`` wants a ``client_secret`` field, so a public client can't."""
    client = sdk_client(api, mcp_sdk, token_endpoint_auth_method="none")
    registration: ClientRegistration = client.register()  # though `none` is not advertised
    assert registration.client_secret is None
    token = sdk_authorize(client)
    assert mcp_call(client, mcp_sdk, INITIALIZE).status_code == 200
    refreshed: TokenResponse = client.refresh_token()
    assert refreshed.refresh_token not in (None, token.refresh_token)

    # The SDK's /revoke requires a client_secret form field, even from a public client.
    with pytest.raises(TokenError, match="client_secret") as caught:
        client.revoke_token(refreshed)
    assert (caught.value.error_code, caught.value.status_code) == ("invalid_request", 400)
    assert mcp_call(client, mcp_sdk, INITIALIZE).status_code == 200  # still valid, still kept


def test_mcp_sdk_without_resource_the_token_is_refused(api: Flavour, mcp_sdk: McpSdkServer) -> None:
    """SDK quirk: a token without ``resource`` at /authorize is refused by /mcp."""
    client = sdk_client(api, mcp_sdk, resource=None)
    sdk_authorize(client)  # issued (200), but bound to no resource

    response = mcp_call(client, mcp_sdk, INITIALIZE)
    assert response.status_code == 401
    # 401 invalid_token: the client refreshed once and retried, then gave the 401 back.
    assert [
        (exchange.path, exchange.status)
        for exchange in client.requests.exchanges
        if exchange.path in ("/token", "/mcp")
    ] == [("/token", 200), ("/mcp", 401), ("/token", 200), ("/mcp", 401)]


def test_mcp_sdk_has_no_client_credentials(api: Flavour, mcp_sdk: McpSdkServer) -> None:
    """The SDK has no client credentials grant: the client says so without sending anything."""
    client = sdk_client(api, mcp_sdk)
    assert "client_credentials" not in (client.discover().grant_types_supported or [])
    with pytest.raises(TokenError, match="does not offer the client_credentials grant") as caught:
        client.get_token()
    assert (caught.value.error_code, caught.value.status_code) == ("unsupported_grant_type", None)
    assert [e.path for e in client.requests.exchanges if e.path == "/token"] == []


def test_mcp_sdk_trailing_slash_issuer_and_a_token_expired_early(
    api: Flavour, mcp_sdk_odd: McpSdkServer
) -> None:
    """A ``/``-terminated issuer works; a 401 ``invalid_token`` refreshes and retries."""
    resource_metadata = httpx.get(mcp_sdk_odd.resource_metadata_url).json()
    (auth_server,) = resource_metadata["authorization_servers"]
    assert auth_server == mcp_sdk_odd.base_url + "/"

    # The client's clock stands still, so it thinks the 2 s token is still good: the server's
    # 401 is the only sign that it expired, as with a token revoked or expired early.
    frozen = time.time()
    client = sdk_client(
        api, mcp_sdk_odd, auth_server=auth_server, clock=lambda: frozen, clock_skew=0
    )
    assert client.discover().issuer == auth_server
    token = sdk_authorize(client)
    assert token.expires_in == 2
    time.sleep(2.5)

    response = mcp_call(client, mcp_sdk_odd, INITIALIZE)
    assert response.status_code == 200, response.text
    assert [exchange.status for exchange in client.requests.to("/mcp")] == [401, 200]
    assert [exchange.status for exchange in client.requests.to("/token")] == [200, 200]
