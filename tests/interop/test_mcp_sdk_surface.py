"""The MCP Python SDK's authorization server and protected MCP endpoint, probed with plain httpx.

These tests pin down what a third-party server built on the SDK (``mcp`` 2.3.0, run from
``mcp_sdk_server/app.py`` in its own virtual environment) actually does on the wire, so that
the library's interop tests can rely on it. No library code is used here. Facts marked
"provider policy" come from our in-memory provider in ``app.py``, not from the SDK itself;
``MCP_SDK.md`` lists them all.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.interop.mcp_sdk_server import McpSdkServer, run_mcp_sdk_server

pytestmark = pytest.mark.interop

Json = dict[str, Any]

REDIRECT_URI = "http://127.0.0.1:33418/callback"
"""The client's loopback redirect URI; never contacted, since redirects are not followed there."""

MCP_ACCEPT = "application/json, text/event-stream"
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


# -- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mcp_sdk_server() -> Iterator[McpSdkServer]:
    """Run one MCP SDK server (authorization server + MCP endpoint) for this module."""
    with run_mcp_sdk_server() as server:
        yield server


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    """Yield a plain HTTP client that never follows redirects on its own."""
    with httpx.Client(timeout=15.0, follow_redirects=False) as client:
        yield client


@pytest.fixture
def public_client(http: httpx.Client, mcp_sdk_server: McpSdkServer) -> Json:
    """Register a fresh public client (``token_endpoint_auth_method=none``)."""
    return register(http, mcp_sdk_server, token_endpoint_auth_method="none")


# -- helpers ------------------------------------------------------------------------------------


def pkce_pair() -> tuple[str, str]:
    """Return a fresh PKCE ``(code_verifier, S256 code_challenge)``."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def register(http: httpx.Client, server: McpSdkServer, **metadata: object) -> Json:
    """Register a client via RFC 7591 and return the registration response."""
    body: Json = {"redirect_uris": [REDIRECT_URI], "client_name": "interop test", **metadata}
    response = http.post(server.url("/register"), json=body)
    assert response.status_code == 201, response.text
    info: Json = response.json()
    return info


def authorize(
    http: httpx.Client, server: McpSdkServer, client: Json, **params: str | None
) -> httpx.Response:
    """GET /authorize and follow the server's own redirects.

    Returns the first response that leaves the server (or is not a redirect). ``None`` values
    drop a default parameter.
    """
    query: dict[str, str | None] = {
        "response_type": "code",
        "client_id": client["client_id"],
        "redirect_uri": REDIRECT_URI,
        "code_challenge_method": "S256",
        "state": "state-" + secrets.token_hex(4),
        "resource": server.mcp_url,
        **params,
    }
    response = http.get(
        server.url("/authorize"), params={k: v for k, v in query.items() if v is not None}
    )
    for _ in range(5):
        location = response.headers.get("location", "")
        if not (response.is_redirect and location.startswith(server.base_url + "/")):
            break
        response = http.get(location)
    return response


def callback_params(response: httpx.Response) -> dict[str, str]:
    """Assert that ``response`` redirects to the client's redirect URI; return its query."""
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    query = parse_qs(urlsplit(location).query, keep_blank_values=True)
    assert all(len(values) == 1 for values in query.values()), query
    return {key: values[0] for key, values in query.items()}


def token_request(
    http: httpx.Client, server: McpSdkServer, client: Json, **form: str | None
) -> httpx.Response:
    """POST /token, authenticating ``client`` the way it registered; ``None`` drops a field."""
    data = {"client_id": client["client_id"], **form}
    method = client["token_endpoint_auth_method"]
    if method == "client_secret_post":
        data.setdefault("client_secret", client["client_secret"])
    clean = {key: value for key, value in data.items() if value is not None}
    if method == "client_secret_basic":
        credentials = httpx.BasicAuth(client["client_id"], client["client_secret"])
        return http.post(server.url("/token"), data=clean, auth=credentials)
    return http.post(server.url("/token"), data=clean)


def obtain_code(
    http: httpx.Client, server: McpSdkServer, client: Json, **params: str | None
) -> tuple[str, str]:
    """Run the authorization step; return ``(code, code_verifier)``."""
    verifier, challenge = pkce_pair()
    query = callback_params(authorize(http, server, client, code_challenge=challenge, **params))
    assert "error" not in query, query
    return query["code"], verifier


def obtain_tokens(
    http: httpx.Client, server: McpSdkServer, client: Json, **params: str | None
) -> Json:
    """Run the whole authorization code flow with PKCE; return the token response."""
    code, verifier = obtain_code(http, server, client, **params)
    response = token_request(
        http,
        server,
        client,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT_URI,
        code_verifier=verifier,
    )
    assert response.status_code == 200, response.text
    tokens: Json = response.json()
    return tokens


def refresh(
    http: httpx.Client, server: McpSdkServer, client: Json, refresh_token: str, **form: str | None
) -> httpx.Response:
    """POST a refresh_token grant."""
    return token_request(
        http, server, client, grant_type="refresh_token", refresh_token=refresh_token, **form
    )


def revoke(
    http: httpx.Client, server: McpSdkServer, client: Json, token: str, **form: str
) -> httpx.Response:
    """POST /revoke with client_secret_post credentials.

    A public client sends an empty ``client_secret``, which this SDK requires (see
    ``test_revoke_requires_client_secret_field``).
    """
    data = {
        "token": token,
        "client_id": client["client_id"],
        "client_secret": client.get("client_secret", ""),
        **form,
    }
    return http.post(server.url("/revoke"), data=data)


def mcp_post(
    http: httpx.Client,
    server: McpSdkServer,
    access_token: str | None,
    message: Json,
    session_id: str | None = None,
) -> httpx.Response:
    """POST one JSON-RPC message to the MCP endpoint, with the bearer token if given."""
    headers = {"Accept": MCP_ACCEPT}
    if access_token is not None:
        headers["Authorization"] = f"Bearer {access_token}"
    if session_id is not None:
        headers["Mcp-Session-Id"] = session_id
        headers["Mcp-Protocol-Version"] = PROTOCOL_VERSION
    return http.post(server.mcp_url, json=message, headers=headers)


def jsonrpc_message(response: httpx.Response) -> Json:
    """Return the JSON-RPC message of a JSON or one-event SSE response."""
    if response.headers["content-type"].startswith("text/event-stream"):
        data = [
            line.removeprefix("data:").strip()
            for line in response.text.splitlines()
            if line.startswith("data:")
        ]
        assert len(data) == 1, response.text
        message: Json = json.loads(data[0])
    else:
        message = response.json()
    return message


def www_authenticate_params(response: httpx.Response) -> dict[str, str]:
    """Parse a ``Bearer k="v", ...`` challenge (the SDK's values contain no commas)."""
    challenge = response.headers["www-authenticate"]
    scheme, _, rest = challenge.partition(" ")
    assert scheme == "Bearer", challenge
    params: dict[str, str] = {}
    for part in rest.split(", "):
        key, _, value = part.partition("=")
        params[key.strip()] = value.strip().strip('"')
    return params


def assert_oauth_error(
    response: httpx.Response, status: int, error: str, description: str | None = None
) -> None:
    """Assert an OAuth JSON error response (and, optionally, a fragment of its description)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error, body
    if description is not None:
        assert description in body.get("error_description", ""), body


def assert_token_accepted(http: httpx.Client, server: McpSdkServer, access_token: str) -> None:
    """Assert that the MCP endpoint runs ``initialize`` with this token."""
    response = mcp_post(http, server, access_token, INITIALIZE)
    assert response.status_code == 200, response.text
    assert jsonrpc_message(response)["result"]["protocolVersion"] == PROTOCOL_VERSION


def assert_token_refused(http: httpx.Client, server: McpSdkServer, access_token: str) -> None:
    """Assert that the MCP endpoint refuses this token with 401 invalid_token."""
    response = mcp_post(http, server, access_token, INITIALIZE)
    assert response.status_code == 401, response.text
    assert www_authenticate_params(response)["error"] == "invalid_token"


# -- discovery ----------------------------------------------------------------------------------


def test_mcp_endpoint_without_token_is_401_with_resource_metadata(
    http: httpx.Client, mcp_sdk_server: McpSdkServer
) -> None:
    """No token: 401 whose Bearer challenge points at the RFC 9728 metadata.

    Against RFC 6750 section 3.1, the challenge already carries ``error="invalid_token"``.
    """
    for response in (
        mcp_post(http, mcp_sdk_server, None, INITIALIZE),
        http.get(mcp_sdk_server.mcp_url, headers={"Accept": "text/event-stream"}),
    ):
        assert response.status_code == 401
        params = www_authenticate_params(response)
        assert params["resource_metadata"] == mcp_sdk_server.resource_metadata_url
        assert params["error"] == "invalid_token"
        assert "scope" not in params
        assert response.json()["error"] == "invalid_token"


def test_mcp_endpoint_refuses_unknown_and_non_header_tokens(
    http: httpx.Client, mcp_sdk_server: McpSdkServer, public_client: Json
) -> None:
    """Unknown bearer tokens get 401; a valid token is honoured only in the header."""
    assert_token_refused(http, mcp_sdk_server, "not-a-token")
    tokens = obtain_tokens(http, mcp_sdk_server, public_client)
    in_query = http.post(
        mcp_sdk_server.mcp_url,
        params={"access_token": tokens["access_token"]},
        json=INITIALIZE,
        headers={"Accept": MCP_ACCEPT},
    )
    assert in_query.status_code == 401
    lower_case_scheme = http.post(
        mcp_sdk_server.mcp_url,
        json=INITIALIZE,
        headers={"Accept": MCP_ACCEPT, "Authorization": f"bearer {tokens['access_token']}"},
    )
    assert lower_case_scheme.status_code == 200


def test_protected_resource_metadata(http: httpx.Client, mcp_sdk_server: McpSdkServer) -> None:
    """RFC 9728 metadata lives at the path-suffixed well-known URL only."""
    response = http.get(mcp_sdk_server.resource_metadata_url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "resource": mcp_sdk_server.mcp_url,
        "authorization_servers": [mcp_sdk_server.issuer],
        "scopes_supported": ["mcp:read"],
        "bearer_methods_supported": ["header"],
    }
    assert http.get(mcp_sdk_server.url("/.well-known/oauth-protected-resource")).status_code == 404


def test_authorization_server_metadata(http: httpx.Client, mcp_sdk_server: McpSdkServer) -> None:
    """RFC 8414 metadata: exact issuer, S256 only, no ``none`` auth method advertised.

    There is no RFC 9207 flag and no OpenID Connect discovery document.
    """
    response = http.get(mcp_sdk_server.url("/.well-known/oauth-authorization-server"))
    assert response.status_code == 200
    base = mcp_sdk_server.base_url
    assert response.json() == {
        "issuer": mcp_sdk_server.issuer,
        "authorization_endpoint": f"{base}/authorize",
        "token_endpoint": f"{base}/token",
        "registration_endpoint": f"{base}/register",
        "scopes_supported": ["mcp:read", "mcp:write"],
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "revocation_endpoint": f"{base}/revoke",
        "revocation_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "code_challenge_methods_supported": ["S256"],
    }
    assert http.get(mcp_sdk_server.url("/.well-known/openid-configuration")).status_code == 404


# -- dynamic client registration ----------------------------------------------------------------


def test_register_public_client(http: httpx.Client, mcp_sdk_server: McpSdkServer) -> None:
    """``none`` is accepted (though not advertised): no secret, and no RFC 7592 management."""
    info = register(http, mcp_sdk_server, token_endpoint_auth_method="none")
    assert info["token_endpoint_auth_method"] == "none"
    assert "client_secret" not in info
    assert "client_secret_expires_at" not in info
    assert info["redirect_uris"] == [REDIRECT_URI]
    assert info["grant_types"] == ["authorization_code", "refresh_token"]
    assert info["scope"] == "mcp:read mcp:write"
    assert isinstance(info["client_id_issued_at"], int)
    assert "registration_access_token" not in info
    assert "registration_client_uri" not in info


def test_register_defaults_to_client_secret_post(
    http: httpx.Client, mcp_sdk_server: McpSdkServer
) -> None:
    """Without a method the client becomes confidential, with a non-expiring secret."""
    info = register(http, mcp_sdk_server, scope="mcp:read")
    assert info["token_endpoint_auth_method"] == "client_secret_post"
    assert len(info["client_secret"]) == 64
    assert info["client_secret_expires_at"] == 0
    assert info["scope"] == "mcp:read"


@pytest.mark.parametrize(
    ("body", "description"),
    [
        ({"client_name": "no redirect uris"}, "redirect_uris"),
        ({"redirect_uris": [REDIRECT_URI], "scope": "mcp:read admin"}, "admin"),
        ({"redirect_uris": [REDIRECT_URI], "grant_types": ["client_credentials"]}, "grant_types"),
        (
            {"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "private_key_jwt"},
            "private_key_jwt",
        ),
        ("not json", "Invalid JSON"),
    ],
    ids=["no-redirect-uris", "unknown-scope", "no-authorization-code", "private-key-jwt", "junk"],
)
def test_register_rejects_bad_metadata(
    http: httpx.Client, mcp_sdk_server: McpSdkServer, body: Json | str, description: str
) -> None:
    """Every refusal is 400 ``invalid_client_metadata`` (never ``invalid_redirect_uri``)."""
    if isinstance(body, str):
        response = http.post(mcp_sdk_server.url("/register"), content=body.encode())
    else:
        response = http.post(mcp_sdk_server.url("/register"), json=body)
    assert_oauth_error(response, 400, "invalid_client_metadata", description)


# -- authorization endpoint ---------------------------------------------------------------------


def test_authorize_redirects_via_consent_hop(
    http: httpx.Client, mcp_sdk_server: McpSdkServer, public_client: Json
) -> None:
    """/authorize -> 302 /consent -> 302 redirect_uri?code&state: no ``iss`` (RFC 9207)."""
    _, challenge = pkce_pair()
    first = http.get(
        mcp_sdk_server.url("/authorize"),
        params={
            "response_type": "code",
            "client_id": public_client["client_id"],
            "redirect_uri": REDIRECT_URI,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "xyz",
            "scope": "mcp:read",
            "resource": mcp_sdk_server.mcp_url,
        },
    )
    assert first.status_code == 302
    assert first.headers["cache-control"] == "no-store"
    assert first.headers["location"].startswith(mcp_sdk_server.url("/consent?"))
    second = http.get(first.headers["location"])
    query = callback_params(second)
    assert set(query) == {"code", "state"}
    assert query["state"] == "xyz"
    # The consent step is single-use.
    assert http.get(first.headers["location"]).status_code == 400


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"scope": "mcp:read admin"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"resource": "http://127.0.0.1:1/elsewhere"}, "invalid_target"),
    ],
    ids=["no-challenge", "plain", "unknown-scope", "implicit", "foreign-resource"],
)
def test_authorize_errors_are_redirected(
    http: httpx.Client,
    mcp_sdk_server: McpSdkServer,
    public_client: Json,
    params: dict[str, str | None],
    error: str,
) -> None:
    """With a valid client and redirect URI, errors go back to the client with ``state``.

    ``invalid_target`` for a foreign resource is provider policy.
    """
    _, challenge = pkce_pair()
    merged: dict[str, str | None] = {"code_challenge": challenge, "state": "s-1", **params}
    query = callback_params(authorize(http, mcp_sdk_server, public_client, **merged))
    assert query["error"] == error
    assert query["state"] == "s-1"
    assert "code" not in query


def test_authorize_errors_shown_to_user_agent(
    http: httpx.Client, mcp_sdk_server: McpSdkServer, public_client: Json
) -> None:
    """Unknown client or unregistered redirect URI: 400 JSON, no redirect.

    Loopback redirect URIs are compared exactly, port included (no RFC 8252 section 7.3 port
    flexibility).
    """
    _, challenge = pkce_pair()
    unknown = authorize(
        http, mcp_sdk_server, {"client_id": "no-such-client"}, code_challenge=challenge
    )
    assert_oauth_error(unknown, 400, "invalid_request", "not found")
    other_port = authorize(
        http,
        mcp_sdk_server,
        public_client,
        code_challenge=challenge,
        redirect_uri="http://127.0.0.1:33419/callback",
    )
    assert_oauth_error(other_port, 400, "invalid_request", "not registered")


def test_authorize_defaults_challenge_method_to_s256(
    http: httpx.Client, mcp_sdk_server: McpSdkServer, public_client: Json
) -> None:
    """Omitting ``code_challenge_method`` means S256 here (RFC 7636 says ``plain``)."""
    tokens = obtain_tokens(http, mcp_sdk_server, public_client, code_challenge_method=None)
    assert_token_accepted(http, mcp_sdk_server, tokens["access_token"])


# -- the whole MCP-shaped flow -------------------------------------------------------------------


def test_full_flow_then_mcp_session_and_tool_call(
    http: httpx.Client, mcp_sdk_server: McpSdkServer
) -> None:
    """401 -> RFC 9728 -> RFC 8414 -> DCR -> authorize (PKCE, resource) -> token -> MCP."""
    challenge_response = mcp_post(http, mcp_sdk_server, None, INITIALIZE)
    prm_url = www_authenticate_params(challenge_response)["resource_metadata"]
    prm = http.get(prm_url).json()
    assert prm["resource"] == mcp_sdk_server.mcp_url
    issuer = prm["authorization_servers"][0]
    metadata = http.get(f"{issuer}/.well-known/oauth-authorization-server").json()
    assert metadata["issuer"] == issuer

    registered = http.post(
        metadata["registration_endpoint"],
        json={
            "redirect_uris": [REDIRECT_URI],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "client_name": "full flow",
            "scope": "mcp:read mcp:write",
        },
    )
    assert registered.status_code == 201
    client: Json = registered.json()

    verifier, challenge = pkce_pair()
    response = http.get(
        metadata["authorization_endpoint"],
        params={
            "response_type": "code",
            "client_id": client["client_id"],
            "redirect_uri": REDIRECT_URI,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "full-flow",
            "scope": "mcp:read mcp:write",
            "resource": prm["resource"],
        },
    )
    while response.is_redirect and response.headers["location"].startswith(issuer + "/"):
        response = http.get(response.headers["location"])
    query = callback_params(response)
    assert query["state"] == "full-flow"

    token_response = http.post(
        metadata["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": query["code"],
            "redirect_uri": REDIRECT_URI,
            "client_id": client["client_id"],
            "code_verifier": verifier,
            "resource": prm["resource"],
        },
    )
    assert token_response.status_code == 200, token_response.text
    assert token_response.headers["cache-control"] == "no-store"
    assert token_response.headers["pragma"] == "no-cache"
    tokens = token_response.json()
    assert set(tokens) == {"access_token", "token_type", "expires_in", "scope", "refresh_token"}
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 3600
    assert tokens["scope"] == "mcp:read mcp:write"

    initialized = mcp_post(http, mcp_sdk_server, tokens["access_token"], INITIALIZE)
    assert initialized.status_code == 200, initialized.text
    assert initialized.headers["content-type"].startswith("text/event-stream")
    result = jsonrpc_message(initialized)["result"]
    assert result["protocolVersion"] == PROTOCOL_VERSION
    assert result["serverInfo"]["name"] == "mcp-sdk-interop"
    session_id = initialized.headers["mcp-session-id"]

    notified = mcp_post(
        http,
        mcp_sdk_server,
        tokens["access_token"],
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        session_id,
    )
    assert notified.status_code == 202
    called = mcp_post(
        http,
        mcp_sdk_server,
        tokens["access_token"],
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "whoami"}},
        session_id,
    )
    assert called.status_code == 200, called.text
    assert jsonrpc_message(called)["result"]["structuredContent"] == {
        "authenticated": True,
        "client_id": client["client_id"],
        "subject": "test-user",
        "scopes": ["mcp:read", "mcp:write"],
        "resource": mcp_sdk_server.mcp_url,
    }


def test_mcp_session_is_bound_to_its_client(
    http: httpx.Client, mcp_sdk_server: McpSdkServer, public_client: Json
) -> None:
    """Another client's valid token cannot use a session: 404 "Session not found"."""
    mine = obtain_tokens(http, mcp_sdk_server, public_client)
    other_client = register(http, mcp_sdk_server, token_endpoint_auth_method="none")
    theirs = obtain_tokens(http, mcp_sdk_server, other_client)
    session_id = mcp_post(http, mcp_sdk_server, mine["access_token"], INITIALIZE).headers[
        "mcp-session-id"
    ]
    hijack = mcp_post(
        http,
        mcp_sdk_server,
        theirs["access_token"],
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        session_id,
    )
    assert hijack.status_code == 404
    assert jsonrpc_message(hijack)["error"]["message"] == "Session not found"


@pytest.mark.parametrize("method", ["client_secret_post", "client_secret_basic"])
def test_confidential_client_authenticates_only_its_registered_way(
    http: httpx.Client, mcp_sdk_server: McpSdkServer, method: str
) -> None:
    """Both secret methods work, each only as registered; failures are 401 invalid_client."""
    client = register(http, mcp_sdk_server, token_endpoint_auth_method=method)
    tokens = obtain_tokens(http, mcp_sdk_server, client)
    assert_token_accepted(http, mcp_sdk_server, tokens["access_token"])

    code, verifier = obtain_code(http, mcp_sdk_server, client)
    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }
    wrong_secret = {**client, "client_secret": "wrong"}
    assert_oauth_error(
        token_request(http, mcp_sdk_server, wrong_secret, **exchange),
        401,
        "invalid_client",
        "Invalid client_secret",
    )
    other_way = {
        **client,
        "token_endpoint_auth_method": (
            "client_secret_basic" if method == "client_secret_post" else "client_secret_post"
        ),
    }
    response = token_request(http, mcp_sdk_server, other_way, **exchange)
    assert_oauth_error(response, 401, "invalid_client")
    assert "www-authenticate" not in response.headers
    # The failed attempts did not burn the code.
    assert token_request(http, mcp_sdk_server, client, **exchange).status_code == 200


# -- token endpoint errors ----------------------------------------------------------------------


def test_wrong_code_verifier_is_invalid_grant_and_keeps_code(
    http: httpx.Client, mcp_sdk_server: McpSdkServer, public_client: Json
) -> None:
    """A wrong verifier is 400 invalid_grant; the code stays redeemable with the right one."""
    code, verifier = obtain_code(http, mcp_sdk_server, public_client)
    exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    wrong = token_request(
        http, mcp_sdk_server, public_client, code_verifier=pkce_pair()[0], **exchange
    )
    assert_oauth_error(wrong, 400, "invalid_grant", "incorrect code_verifier")
    missing = token_request(http, mcp_sdk_server, public_client, **exchange)
    assert_oauth_error(missing, 400, "invalid_request", "code_verifier")
    right = token_request(http, mcp_sdk_server, public_client, code_verifier=verifier, **exchange)
    assert right.status_code == 200


def test_reused_code_is_invalid_grant_and_revokes_first_tokens(
    http: httpx.Client, mcp_sdk_server: McpSdkServer, public_client: Json
) -> None:
    """A second exchange of one code: 400 invalid_grant.

    Provider policy (RFC 6749 section 4.1.2): the tokens of the first exchange stop working.
    """
    code, verifier = obtain_code(http, mcp_sdk_server, public_client)
    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }
    first = token_request(http, mcp_sdk_server, public_client, **exchange)
    assert first.status_code == 200
    assert_token_accepted(http, mcp_sdk_server, first.json()["access_token"])
    again = token_request(http, mcp_sdk_server, public_client, **exchange)
    assert_oauth_error(again, 400, "invalid_grant", "does not exist")
    assert_token_refused(http, mcp_sdk_server, first.json()["access_token"])
    stale = refresh(http, mcp_sdk_server, public_client, first.json()["refresh_token"])
    assert_oauth_error(stale, 400, "invalid_grant")


def test_bad_client_at_token_endpoint(
    http: httpx.Client, mcp_sdk_server: McpSdkServer, public_client: Json
) -> None:
    """Unknown or missing client_id: 401 invalid_client; another client's code: invalid_grant."""
    code, verifier = obtain_code(http, mcp_sdk_server, public_client)
    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }
    unknown = {"client_id": "no-such-client", "token_endpoint_auth_method": "none"}
    assert_oauth_error(
        token_request(http, mcp_sdk_server, unknown, **exchange), 401, "invalid_client"
    )
    no_client_id = http.post(mcp_sdk_server.url("/token"), data=exchange)
    assert_oauth_error(no_client_id, 401, "invalid_client", "Missing client_id")
    as_json = http.post(
        mcp_sdk_server.url("/token"), json={**exchange, "client_id": public_client["client_id"]}
    )
    assert_oauth_error(as_json, 401, "invalid_client")
    other_client = register(http, mcp_sdk_server, token_endpoint_auth_method="none")
    stolen = token_request(http, mcp_sdk_server, other_client, **exchange)
    assert_oauth_error(stolen, 400, "invalid_grant")
    assert token_request(http, mcp_sdk_server, public_client, **exchange).status_code == 200


def test_redirect_uri_must_repeat_authorize_exactly(
    http: httpx.Client, mcp_sdk_server: McpSdkServer, public_client: Json
) -> None:
    """redirect_uri at /token must repeat /authorize exactly (absent if absent there).

    A mismatch is 400 ``invalid_request`` (RFC 6749 says ``invalid_grant``).
    """
    code, verifier = obtain_code(http, mcp_sdk_server, public_client)
    base = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
    for redirect_uri in ("http://127.0.0.1:33418/other", None):
        response = token_request(
            http, mcp_sdk_server, public_client, redirect_uri=redirect_uri, **base
        )
        assert_oauth_error(response, 400, "invalid_request", "redirect_uri did not match")

    code, verifier = obtain_code(http, mcp_sdk_server, public_client, redirect_uri=None)
    base = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
    repeated = token_request(http, mcp_sdk_server, public_client, redirect_uri=REDIRECT_URI, **base)
    assert_oauth_error(repeated, 400, "invalid_request", "redirect_uri did not match")
    assert token_request(http, mcp_sdk_server, public_client, **base).status_code == 200


@pytest.mark.parametrize("grant_type", ["client_credentials", "password", None])
def test_unknown_grant_type_is_invalid_request(
    http: httpx.Client, mcp_sdk_server: McpSdkServer, public_client: Json, grant_type: str | None
) -> None:
    """Grant types the SDK does not know: 400 ``invalid_request``, not unsupported_grant_type."""
    response = token_request(http, mcp_sdk_server, public_client, grant_type=grant_type)
    assert_oauth_error(response, 400, "invalid_request", "grant_type")


def test_grant_type_not_registered_is_unsupported_grant_type(
    http: httpx.Client, mcp_sdk_server: McpSdkServer
) -> None:
    """A client registered without refresh_token gets 400 unsupported_grant_type for it."""
    client = register(
        http, mcp_sdk_server, token_endpoint_auth_method="none", grant_types=["authorization_code"]
    )
    tokens = obtain_tokens(http, mcp_sdk_server, client)
    assert "refresh_token" in tokens
    response = refresh(http, mcp_sdk_server, client, tokens["refresh_token"])
    assert_oauth_error(response, 400, "unsupported_grant_type")


# -- resource indicators and scopes -------------------------------------------------------------


def test_token_without_resource_is_refused_by_mcp_endpoint(
    http: httpx.Client, mcp_sdk_server: McpSdkServer, public_client: Json
) -> None:
    """Without ``resource`` at /authorize the token is issued but refused at the MCP endpoint.

    The app sets ``validate_token_resource=True``, so the endpoint answers 401.
    """
    tokens = obtain_tokens(http, mcp_sdk_server, public_client, resource=None)
    assert_token_refused(http, mcp_sdk_server, tokens["access_token"])


def test_resource_at_token_endpoint_is_ignored(
    http: httpx.Client, mcp_sdk_server: McpSdkServer, public_client: Json
) -> None:
    """The SDK ignores ``resource`` at /token: the token keeps the /authorize resource."""
    code, verifier = obtain_code(http, mcp_sdk_server, public_client)
    response = token_request(
        http,
        mcp_sdk_server,
        public_client,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT_URI,
        code_verifier=verifier,
        resource="http://127.0.0.1:1/elsewhere",
    )
    assert response.status_code == 200
    assert_token_accepted(http, mcp_sdk_server, response.json()["access_token"])


def test_missing_required_scope_is_403_insufficient_scope(
    http: httpx.Client, mcp_sdk_server: McpSdkServer, public_client: Json
) -> None:
    """The endpoint needs ``mcp:read``; a write-only token gets 403 with no ``scope`` hint."""
    write_only = obtain_tokens(http, mcp_sdk_server, public_client, scope="mcp:write")
    assert write_only["scope"] == "mcp:write"
    response = mcp_post(http, mcp_sdk_server, write_only["access_token"], INITIALIZE)
    assert response.status_code == 403
    params = www_authenticate_params(response)
    assert params["error"] == "insufficient_scope"
    assert params["resource_metadata"] == mcp_sdk_server.resource_metadata_url
    assert "scope" not in params
    read_only = obtain_tokens(http, mcp_sdk_server, public_client, scope="mcp:read")
    assert_token_accepted(http, mcp_sdk_server, read_only["access_token"])


def test_authorize_without_scope_grants_registered_scopes(
    http: httpx.Client, mcp_sdk_server: McpSdkServer
) -> None:
    """No ``scope`` at /authorize: the client's registered scopes (provider policy)."""
    client = register(http, mcp_sdk_server, token_endpoint_auth_method="none", scope="mcp:read")
    tokens = obtain_tokens(http, mcp_sdk_server, client, scope=None)
    assert tokens["scope"] == "mcp:read"


# -- refresh ------------------------------------------------------------------------------------


def test_refresh_rotates_and_detects_replay(
    http: httpx.Client, mcp_sdk_server: McpSdkServer, public_client: Json
) -> None:
    """Refresh returns a new pair (provider policy: rotation).

    The previous access token keeps working; replaying the old refresh token fails and revokes
    the whole grant.
    """
    first = obtain_tokens(http, mcp_sdk_server, public_client)
    response = refresh(http, mcp_sdk_server, public_client, first["refresh_token"])
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["scope"] == "mcp:read mcp:write"
    assert second["expires_in"] == 3600
    assert_token_accepted(http, mcp_sdk_server, second["access_token"])
    assert_token_accepted(http, mcp_sdk_server, first["access_token"])

    replay = refresh(http, mcp_sdk_server, public_client, first["refresh_token"])
    assert_oauth_error(replay, 400, "invalid_grant", "refresh token does not exist")
    assert_token_refused(http, mcp_sdk_server, second["access_token"])
    assert_token_refused(http, mcp_sdk_server, first["access_token"])
    dead = refresh(http, mcp_sdk_server, public_client, second["refresh_token"])
    assert_oauth_error(dead, 400, "invalid_grant")


def test_refresh_can_narrow_but_not_widen_scope(
    http: httpx.Client, mcp_sdk_server: McpSdkServer, public_client: Json
) -> None:
    """A narrower scope is granted on refresh; a wider one is 400 invalid_scope.

    The new refresh token keeps the original scope, and the ``resource`` parameter is ignored.
    """
    tokens = obtain_tokens(http, mcp_sdk_server, public_client, scope="mcp:read mcp:write")
    widened = refresh(
        http, mcp_sdk_server, public_client, tokens["refresh_token"], scope="mcp:read admin"
    )
    assert_oauth_error(widened, 400, "invalid_scope")
    narrowed = refresh(
        http,
        mcp_sdk_server,
        public_client,
        tokens["refresh_token"],
        scope="mcp:read",
        resource="http://127.0.0.1:1/elsewhere",
    )
    assert narrowed.status_code == 200, narrowed.text
    assert narrowed.json()["scope"] == "mcp:read"
    assert_token_accepted(http, mcp_sdk_server, narrowed.json()["access_token"])
    full_again = refresh(http, mcp_sdk_server, public_client, narrowed.json()["refresh_token"])
    assert full_again.json()["scope"] == "mcp:read mcp:write"


def test_refresh_token_of_another_client_is_invalid_grant(
    http: httpx.Client, mcp_sdk_server: McpSdkServer, public_client: Json
) -> None:
    """A refresh token presented by another client is treated as unknown."""
    tokens = obtain_tokens(http, mcp_sdk_server, public_client)
    other_client = register(http, mcp_sdk_server)
    response = refresh(http, mcp_sdk_server, other_client, tokens["refresh_token"])
    assert_oauth_error(response, 400, "invalid_grant")
    assert refresh(http, mcp_sdk_server, public_client, tokens["refresh_token"]).status_code == 200


# -- revocation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["access_token", "refresh_token"])
def test_revoking_either_token_kills_the_grant(
    http: httpx.Client, mcp_sdk_server: McpSdkServer, which: str
) -> None:
    """Revocation answers 200 with an empty body, and the token is then refused.

    Provider policy: so is the rest of its grant.
    """
    client = register(http, mcp_sdk_server)
    tokens = obtain_tokens(http, mcp_sdk_server, client)
    response = revoke(http, mcp_sdk_server, client, tokens[which], token_type_hint=which)
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["cache-control"] == "no-store"
    assert_token_refused(http, mcp_sdk_server, tokens["access_token"])
    assert_oauth_error(
        refresh(http, mcp_sdk_server, client, tokens["refresh_token"]), 400, "invalid_grant"
    )


def test_revoke_requires_client_secret_field(
    http: httpx.Client, mcp_sdk_server: McpSdkServer, public_client: Json
) -> None:
    """The SDK's /revoke demands a ``client_secret`` form field.

    Even public clients and clients using HTTP Basic must send one: without it the answer is
    400 invalid_request, while an empty one passes.
    """
    tokens = obtain_tokens(http, mcp_sdk_server, public_client)
    without = http.post(
        mcp_sdk_server.url("/revoke"),
        data={"token": tokens["access_token"], "client_id": public_client["client_id"]},
    )
    assert_oauth_error(without, 400, "invalid_request", "client_secret")
    assert_token_accepted(http, mcp_sdk_server, tokens["access_token"])

    basic = register(http, mcp_sdk_server, token_endpoint_auth_method="client_secret_basic")
    basic_tokens = obtain_tokens(http, mcp_sdk_server, basic)
    credentials = httpx.BasicAuth(basic["client_id"], basic["client_secret"])
    form = {"token": basic_tokens["access_token"], "client_id": basic["client_id"]}
    url = mcp_sdk_server.url("/revoke")
    assert_oauth_error(http.post(url, data=form, auth=credentials), 400, "invalid_request")
    accepted = http.post(url, data={**form, "client_secret": ""}, auth=credentials)
    assert accepted.status_code == 200
    assert_token_refused(http, mcp_sdk_server, basic_tokens["access_token"])


def test_revoke_with_bad_client_or_unknown_token(
    http: httpx.Client, mcp_sdk_server: McpSdkServer, public_client: Json
) -> None:
    """Bad client: 401 ``unauthorized_client`` (RFC 7009 expects ``invalid_client``).

    Unknown token, or another client's token: 200 and nothing happens. Unknown hint: 400.
    """
    tokens = obtain_tokens(http, mcp_sdk_server, public_client)
    bad_client = {"client_id": "no-such-client", "client_secret": ""}
    assert_oauth_error(
        revoke(http, mcp_sdk_server, bad_client, tokens["access_token"]),
        401,
        "unauthorized_client",
    )
    assert revoke(http, mcp_sdk_server, public_client, "not-a-token").status_code == 200
    other_client = register(http, mcp_sdk_server)
    assert revoke(http, mcp_sdk_server, other_client, tokens["access_token"]).status_code == 200
    odd_hint = revoke(
        http, mcp_sdk_server, public_client, tokens["access_token"], token_type_hint="id_token"
    )
    assert_oauth_error(odd_hint, 400, "invalid_request", "token_type_hint")
    assert_token_accepted(http, mcp_sdk_server, tokens["access_token"])


# -- expiry (own short-lived server) ----------------------------------------------------------


def test_expired_access_token_is_refused_and_refresh_recovers(http: httpx.Client) -> None:
    """With a 2 s access token lifetime the token dies within seconds; refresh still works.

    Also checks that the helper stops its server process on exit.
    """
    with run_mcp_sdk_server(access_token_ttl=2) as server:
        client = register(http, server, token_endpoint_auth_method="none")
        tokens = obtain_tokens(http, server, client)
        assert tokens["expires_in"] == 2
        assert_token_accepted(http, server, tokens["access_token"])
        deadline = time.monotonic() + 8.0
        while mcp_post(http, server, tokens["access_token"], INITIALIZE).status_code == 200:
            assert time.monotonic() < deadline, "access token never expired"
            time.sleep(0.25)
        assert_token_refused(http, server, tokens["access_token"])
        renewed = refresh(http, server, client, tokens["refresh_token"])
        assert renewed.status_code == 200, renewed.text
        assert_token_accepted(http, server, renewed.json()["access_token"])
    assert server.process.poll() is not None
    with pytest.raises(httpx.TransportError):
        http.get(server.url("/.well-known/oauth-authorization-server"), timeout=2.0)


def test_issuer_with_trailing_slash(http: httpx.Client) -> None:
    """Configured with a URL object, the SDK advertises the issuer as ``http://host:port/``.

    PRM and RFC 8414 metadata then agree on that spelling, the endpoints have no double slash,
    and naively appending ``/.well-known/...`` to the issuer finds nothing.
    """
    with run_mcp_sdk_server(issuer_trailing_slash=True) as server:
        issuer = server.base_url + "/"
        assert server.issuer == issuer
        prm = http.get(server.resource_metadata_url).json()
        assert prm["authorization_servers"] == [issuer]
        metadata_url = server.url("/.well-known/oauth-authorization-server")
        metadata = http.get(metadata_url).json()
        assert metadata["issuer"] == issuer
        assert metadata["authorization_endpoint"] == server.url("/authorize")
        assert metadata["token_endpoint"] == server.url("/token")
        naive = http.get(issuer + "/.well-known/oauth-authorization-server")
        assert naive.status_code == 404
        client = register(http, server, token_endpoint_auth_method="none")
        tokens = obtain_tokens(http, server, client)
        assert_token_accepted(http, server, tokens["access_token"])
