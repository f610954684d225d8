"""One list of RFC scenarios, run with plain httpx against every authorization server we have.

Each scenario runs against :class:`MockAuthServer`, the certified ``oidc-provider`` 9.13.3 and,
where it applies, the MCP Python SDK's authorization server. Where the RFCs fix the behaviour,
all of them must pass the same assertions; that is what shows the mock behaves like a real
server. Where an RFC leaves a choice, the assertion accepts the RFC's whole allowed set, and a
comment names the section.

A scenario that a server does not implement, or implements against the RFC (MCP_SDK.md lists
the SDK's deviations), is not generated for that server: every scenario's parameter list is
built at collection time from :data:`scenario_servers.CAPABILITIES`, so nothing is skipped at
run time. ``test_capabilities_match_metadata`` keeps those flags honest against the servers'
own metadata.

No library code is used: requests are plain sync ``httpx``, PKCE is hashlib and base64.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.interop.mcp_sdk_server import McpSdkServer, run_mcp_sdk_server
from tests.interop.oidc_provider_server import OidcProvider
from tests.interop.scenario_servers import (
    CAPABILITIES,
    RFC8414_PATH,
    SERVER_NAMES,
    McpSdkTarget,
    MockTarget,
    OidcProviderTarget,
    ServerUnderTest,
    endpoint,
    resource_status,
    servers_with,
)

pytestmark = pytest.mark.interop

Json = dict[str, Any]

REDIRECT_URI: Final = "http://127.0.0.1:9/callback"  # never contacted: authorize() stops before it
SCOPE: Final = "mcp:read mcp:write"
DEVICE_GRANT: Final = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_POLL_INTERVAL: Final = 5  # RFC 8628 §3.2: "If no value is provided, clients MUST use 5"
PRIVATE_JWK_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
# RFC 7591 §3.2.2: a bad redirect URI is invalid_redirect_uri, other bad metadata
# invalid_client_metadata; which of the two a missing redirect_uris gets is the server's call.
REGISTRATION_ERRORS: Final = frozenset({"invalid_redirect_uri", "invalid_client_metadata"})


# -- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mock_server() -> Iterator[MockAuthServer]:
    """One MockAuthServer with its default settings for this module."""
    with MockAuthServer() as server:
        yield server


@pytest.fixture(scope="module")
def mcp_sdk() -> Iterator[McpSdkServer]:
    """One MCP SDK server (MCP_SDK.md) for this module."""
    with run_mcp_sdk_server() as server:
        yield server


@pytest.fixture(scope="module", params=SERVER_NAMES)
def target(request: pytest.FixtureRequest) -> ServerUnderTest:
    """The server a scenario runs against; only the servers a scenario is generated for start."""
    name = request.param
    if name == "mock":
        mock: MockAuthServer = request.getfixturevalue("mock_server")
        return MockTarget.start(mock)
    if name == "oidc-provider":
        provider: OidcProvider = request.getfixturevalue("oidc_provider")  # tests/interop/conftest
        return OidcProviderTarget.start(provider)
    if name == "mcp-sdk":
        sdk: McpSdkServer = request.getfixturevalue("mcp_sdk")
        return McpSdkTarget.start(sdk)
    raise AssertionError(f"unknown server {name!r}")


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """A fresh client (a fresh cookie jar, i.e. browser session) that never follows redirects."""
    with httpx.Client(timeout=15.0, follow_redirects=False) as client:
        yield client


def on(*flags: str) -> pytest.MarkDecorator:
    """Generate the scenario for the servers that have every capability in ``flags``."""
    return pytest.mark.parametrize("target", servers_with(*flags), indirect=True)


def on_with(values: Sequence[tuple[str, Sequence[str]]], name: str) -> pytest.MarkDecorator:
    """Generate the scenario once per ``(value, required capabilities)`` and matching server."""
    params = [
        pytest.param(server, value, id=f"{server}-{value}")
        for value, flags in values
        for server in servers_with(*flags)
    ]
    return pytest.mark.parametrize(("target", name), params, indirect=["target"])


# -- helpers ------------------------------------------------------------------------------------


def pkce_pair() -> tuple[str, str]:
    """A fresh ``(code_verifier, S256 code_challenge)`` (RFC 7636 §4.1, §4.2)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def json_object(response: httpx.Response) -> Json:
    """The response's JSON object; fails the test on anything else."""
    body = response.json()
    assert isinstance(body, dict), body
    return body


def single_valued_query(url: str) -> dict[str, str]:
    """The query parameters of ``url``, each of which must appear once."""
    query = parse_qs(urlsplit(url).query, keep_blank_values=True)
    assert all(len(values) == 1 for values in query.values()), url
    return {key: values[0] for key, values in query.items()}


def assert_error(
    response: httpx.Response, statuses: AbstractSet[int], errors: AbstractSet[str]
) -> Json:
    """Assert an RFC 6749 §5.2 style JSON error with one of ``statuses`` and ``errors``."""
    assert response.status_code in statuses, (response.status_code, response.text)
    content_type = response.headers.get("content-type", "").split(";")[0].strip()
    assert content_type == "application/json", response.headers  # RFC 6749 §5.2
    body = json_object(response)
    assert body.get("error") in errors, body
    return body


def register(target: ServerUnderTest, http: httpx.Client, **metadata: object) -> Json:
    """Register a client (RFC 7591 §3.1); by default a public code + refresh client."""
    body: Json = {
        "client_name": "rfc-scenarios",
        "redirect_uris": [REDIRECT_URI],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "scope": SCOPE,
        **metadata,
    }
    response = http.post(endpoint(target, "registration_endpoint"), json=body)
    assert response.status_code == 201, response.text
    return json_object(response)


def register_service(target: ServerUnderTest, http: httpx.Client, method: str) -> Json:
    """Register a confidential client for the client credentials grant (RFC 6749 §4.4)."""
    return register(
        target,
        http,
        redirect_uris=[],
        response_types=[],
        grant_types=["client_credentials"],
        token_endpoint_auth_method=method,
    )


def client_auth(client: Json, secret: str | None = None) -> tuple[Json, httpx.BasicAuth | None]:
    """The form fields and Basic credentials that authenticate ``client`` (RFC 6749 §2.3.1).

    ``client_id`` is in the form for every method: required for public clients (§3.2.1) and
    allowed alongside Basic (the MCP SDK needs it there). ``secret`` overrides the real one.
    """
    method = client["token_endpoint_auth_method"]
    password = client.get("client_secret", "") if secret is None else secret
    form: Json = {"client_id": client["client_id"]}
    if method == "client_secret_post":
        form["client_secret"] = password
    if method == "client_secret_basic":
        return form, httpx.BasicAuth(client["client_id"], password)
    return form, None


def post_as(
    http: httpx.Client, url: str, client: Json, form: Json, secret: str | None = None
) -> httpx.Response:
    """POST ``form`` to ``url``, authenticated as ``client``."""
    fields, auth = client_auth(client, secret)
    if auth is None:
        return http.post(url, data={**fields, **form})
    return http.post(url, data={**fields, **form}, auth=auth)


def token_request(
    target: ServerUnderTest, http: httpx.Client, client: Json, **form: str
) -> httpx.Response:
    """POST to the token endpoint (RFC 6749 §3.2) as ``client``."""
    return post_as(http, endpoint(target, "token_endpoint"), client, form)


def token_success(response: httpx.Response) -> Json:
    """Assert an RFC 6749 §5.1 successful token response and return it."""
    assert response.status_code == 200, response.text
    # RFC 6749 §5.1: "Cache-Control" header field with a value of "no-store".
    cache_control = {
        v.strip().lower() for v in response.headers.get("cache-control", "").split(",")
    }
    assert "no-store" in cache_control, response.headers
    body = json_object(response)
    assert isinstance(body.get("access_token"), str), body
    assert body["access_token"], body
    assert str(body.get("token_type", "")).lower() == "bearer", body  # §7.1: case-insensitive
    if "expires_in" in body:  # RECOMMENDED
        assert isinstance(body["expires_in"], int), body
        assert body["expires_in"] > 0, body
    return body


@dataclass
class Authorization:
    """The outcome of one headless authorization request (RFC 6749 §4.1.1-§4.1.2)."""

    params: dict[str, str]
    verifier: str
    state: str


def authorize(
    target: ServerUnderTest, http: httpx.Client, client: Json, **overrides: str | None
) -> Authorization:
    """Run ``/authorize`` with PKCE S256 and ``state``; return the redirect's parameters.

    ``overrides`` replace request parameters; ``None`` leaves one out.
    """
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(16)
    query: dict[str, str | None] = {
        "response_type": "code",
        "client_id": client["client_id"],
        "redirect_uri": REDIRECT_URI,
        "scope": SCOPE,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "resource": target.default_resource,  # RFC 8707 §2.1
        **overrides,
    }
    sent = {key: value for key, value in query.items() if value is not None}
    url = f"{endpoint(target, 'authorization_endpoint')}?{urlencode(sent)}"
    callback = target.authorize(http, url)
    assert callback.startswith(sent.get("redirect_uri", REDIRECT_URI) + "?"), callback
    return Authorization(single_valued_query(callback), verifier, state)


def exchange(
    target: ServerUnderTest,
    http: httpx.Client,
    client: Json,
    code: str,
    verifier: str,
    redirect_uri: str = REDIRECT_URI,
) -> httpx.Response:
    """Redeem an authorization code (RFC 6749 §4.1.3, RFC 7636 §4.5)."""
    return token_request(
        target,
        http,
        client,
        grant_type="authorization_code",
        code=code,
        redirect_uri=redirect_uri,
        code_verifier=verifier,
    )


def obtain_tokens(
    target: ServerUnderTest, http: httpx.Client, client: Json, scope: str = SCOPE
) -> Json:
    """The authorization code flow with PKCE, end to end; the token response."""
    result = authorize(target, http, client, scope=scope)
    assert "code" in result.params, result.params
    return token_success(exchange(target, http, client, result.params["code"], result.verifier))


def refresh(
    target: ServerUnderTest, http: httpx.Client, client: Json, refresh_token: str, **form: str
) -> httpx.Response:
    """A refresh request (RFC 6749 §6)."""
    return token_request(
        target, http, client, grant_type="refresh_token", refresh_token=refresh_token, **form
    )


def revoke(
    target: ServerUnderTest, http: httpx.Client, client: Json, token: str, **form: str
) -> httpx.Response:
    """A revocation request (RFC 7009 §2.1) as ``client``."""
    data = {"token": token, **form}
    return post_as(http, endpoint(target, "revocation_endpoint"), client, data)


def introspect(
    target: ServerUnderTest, http: httpx.Client, client: Json, token: str
) -> httpx.Response:
    """An introspection request (RFC 7662 §2.1) as ``client``."""
    return post_as(http, endpoint(target, "introspection_endpoint"), client, {"token": token})


def token_is_active(target: ServerUnderTest, http: httpx.Client, access_token: str) -> bool:
    """Whether the server still honours ``access_token``.

    Asked by introspection (RFC 7662) where the server has it, by the protected resource
    (RFC 6750) where it has one, and by both on the mock, which must then agree.
    """
    answers: list[bool] = []
    if target.caps.introspection:
        resource_server = register_service(target, http, "client_secret_basic")
        response = introspect(target, http, resource_server, access_token)
        assert response.status_code == 200, response.text
        active = json_object(response)["active"]
        assert isinstance(active, bool), response.text
        answers.append(active)
    if target.caps.protected_resource:
        status = resource_status(target, http, access_token)
        assert status in (200, 401), status  # RFC 6750 §3.1: invalid_token is a 401
        answers.append(status == 200)
    assert answers, f"{target.name} can neither introspect nor serve a protected resource"
    assert len(set(answers)) == 1, f"introspection and resource disagree: {answers}"
    return answers[0]


# -- discovery (RFC 8414, OpenID Connect Discovery 1.0, RFC 7517) --------------------------------


@on()
def test_discovery(target: ServerUnderTest, http: httpx.Client) -> None:
    """RFC 8414 §3: metadata at the well-known URI; §3.3: its ``issuer`` is the issuer the URL
    was built from; §2: the endpoints; RFC 7636 §4.3 / OAuth 2.1: S256 advertised."""
    response = http.get(target.base_url + RFC8414_PATH)
    assert response.status_code == 200, response.text
    content_type = response.headers.get("content-type", "").split(";")[0].strip()
    assert content_type == "application/json", response.headers  # §3.2
    metadata = json_object(response)
    assert metadata["issuer"] == target.base_url
    assert "S256" in metadata["code_challenge_methods_supported"]
    assert "code" in metadata["response_types_supported"]  # §2: REQUIRED
    for name in ("authorization_endpoint", "token_endpoint", "registration_endpoint"):
        url = urlsplit(metadata[name])
        assert url.scheme in ("http", "https"), metadata[name]
        assert url.netloc, metadata[name]
        assert not url.fragment, metadata[name]


@on("openid_configuration")
def test_openid_configuration_agrees(target: ServerUnderTest, http: httpx.Client) -> None:
    """OpenID Connect Discovery 1.0 §4.3: ``issuer`` equals the URL base; the endpoints equal
    the RFC 8414 document's (RFC 8414 §3 serves the same metadata)."""
    response = http.get(target.base_url + "/.well-known/openid-configuration")
    assert response.status_code == 200, response.text
    oidc = json_object(response)
    assert oidc["issuer"] == target.base_url
    for name in ("authorization_endpoint", "token_endpoint", "registration_endpoint", "jwks_uri"):
        assert oidc[name] == target.metadata[name], name


@on()
def test_capabilities_match_metadata(target: ServerUnderTest, http: httpx.Client) -> None:
    """The capability flags that decide where scenarios run agree with what the server
    advertises (RFC 8414 §2, RFC 9207 §3, RFC 8628 §4; ``grant_types_supported`` defaults to
    ``["authorization_code", "implicit"]``) and serves (OpenID Connect Discovery 1.0 §4,
    RFC 9728 §3.1 for the protected resource)."""
    metadata = target.metadata
    caps = target.caps
    oidc = http.get(target.base_url + "/.well-known/openid-configuration")
    assert caps.openid_configuration == (oidc.status_code == 200), oidc.status_code
    resource_path = urlsplit(target.default_resource).path
    prm = http.get(target.base_url + "/.well-known/oauth-protected-resource" + resource_path)
    assert caps.protected_resource == (prm.status_code == 200), prm.status_code
    if caps.protected_resource:
        assert json_object(prm)["resource"] == target.default_resource  # RFC 9728 §3.3
    grants = metadata.get("grant_types_supported", ["authorization_code", "implicit"])
    assert caps.iss_parameter == bool(
        metadata.get("authorization_response_iss_parameter_supported")
    )
    assert caps.introspection == ("introspection_endpoint" in metadata)
    assert caps.device_flow == ("device_authorization_endpoint" in metadata)
    assert caps.device_flow == (DEVICE_GRANT in grants)
    assert caps.client_credentials == ("client_credentials" in grants)
    assert caps.jwks == ("jwks_uri" in metadata)
    assert "revocation_endpoint" in metadata  # every server here implements RFC 7009
    assert CAPABILITIES[target.name] is caps


@on("jwks")
def test_jwks_is_served(target: ServerUnderTest, http: httpx.Client) -> None:
    """RFC 8414 §2 ``jwks_uri``: a JWK Set (RFC 7517 §5) of public keys only."""
    response = http.get(endpoint(target, "jwks_uri"))
    assert response.status_code == 200, response.text
    content_type = response.headers["content-type"].split(";")[0].strip()
    assert content_type in ("application/json", "application/jwk-set+json")  # RFC 7517 §8.5
    keys = json_object(response)["keys"]
    assert isinstance(keys, list), keys
    assert keys, "an empty JWK Set"
    for key in keys:
        assert isinstance(key.get("kty"), str), key  # RFC 7517 §4.1: REQUIRED
        assert not PRIVATE_JWK_MEMBERS & set(key), f"private key material served: {sorted(key)}"


# -- dynamic registration (RFC 7591) and management (RFC 7592) --------------------------------


@pytest.mark.parametrize("method", ["client_secret_basic", "none"])
@on()
def test_open_registration(target: ServerUnderTest, http: httpx.Client, method: str) -> None:
    """RFC 7591 §3.2.1: 201 with ``client_id``, a ``client_secret`` (and its REQUIRED
    ``client_secret_expires_at``) exactly for a confidential client, the registered metadata
    echoed; RFC 7592 §3: the management credentials where management is supported."""
    response = http.post(
        endpoint(target, "registration_endpoint"),
        json={
            "redirect_uris": [REDIRECT_URI],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": method,
            "client_name": "rfc-scenarios",
        },
    )
    assert response.status_code == 201, response.text
    info = json_object(response)
    assert isinstance(info.get("client_id"), str), info
    assert info["client_id"], info
    assert info["token_endpoint_auth_method"] == method
    assert info["redirect_uris"] == [REDIRECT_URI]
    if method == "none":
        assert "client_secret" not in info, info
    else:
        assert isinstance(info.get("client_secret"), str), info
        assert info["client_secret"], info
        assert isinstance(info.get("client_secret_expires_at"), int), info
    management = {"registration_access_token", "registration_client_uri"}
    if target.caps.registration_management:
        assert management <= set(info), info
    else:
        assert not management & set(info), info


@on()
def test_registration_ignores_unknown_metadata(target: ServerUnderTest, http: httpx.Client) -> None:
    """RFC 7591 §2: "The authorization server MUST ignore any client metadata sent by the
    client that it does not understand": the registration succeeds."""
    client = register(target, http, x_rfc_scenarios_unknown="ignored")
    assert client["client_id"], client


_INVALID_REGISTRATIONS: Final[Sequence[tuple[str, Sequence[str]]]] = [
    # RFC 6749 §3.1.2: "The endpoint URI MUST NOT include a fragment component."
    ("fragment", ["rejects_fragment_redirect_uri"]),
    # RFC 7591 §2: clients using redirect-based flows MUST register their redirection URIs.
    ("no-redirect-uris", []),
]


@on_with(_INVALID_REGISTRATIONS, "case")
def test_registration_validation(target: ServerUnderTest, http: httpx.Client, case: str) -> None:
    """RFC 7591 §3.2.2: invalid metadata is a 400 JSON error, ``invalid_redirect_uri`` or
    ``invalid_client_metadata``."""
    body: Json = {
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    }
    if case == "fragment":
        body["redirect_uris"] = [REDIRECT_URI + "#fragment"]
    response = http.post(endpoint(target, "registration_endpoint"), json=body)
    assert_error(response, {400}, REGISTRATION_ERRORS)


_SERVER_MANAGED: Final = frozenset(
    {
        "registration_access_token",
        "registration_client_uri",
        "client_secret_expires_at",
        "client_id_issued_at",
    }
)


@on("registration_management")
def test_registration_management(target: ServerUnderTest, http: httpx.Client) -> None:
    """RFC 7592: read (§2.1), update as a full replacement (§2.2: a field left out of the PUT
    is gone afterwards), delete (§2.3: 204) and then every use of the credentials is a 401."""
    created = register(target, http, logo_uri="https://example.com/logo.png")
    uri: str = created["registration_client_uri"]
    token: str = created["registration_access_token"]

    def bearer(value: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {value}"}

    read = http.get(uri, headers=bearer(token))
    assert read.status_code == 200, read.text
    current = json_object(read)
    assert current["client_id"] == created["client_id"]
    assert current["logo_uri"] == "https://example.com/logo.png"
    # §2.1 / RFC 6750 §3.1: a missing or unknown registration access token is a 401.
    assert http.get(uri).status_code == 401
    assert http.get(uri, headers=bearer("not-" + token)).status_code == 401

    # §2.2: the PUT carries every field as last returned, except the server-managed ones
    # (which it MUST NOT include) and the one left out to see it dropped.
    update = {k: v for k, v in current.items() if k not in _SERVER_MANAGED and k != "logo_uri"}
    update["client_name"] = "renamed"
    put = http.put(uri, json=update, headers=bearer(token))
    assert put.status_code == 200, put.text
    updated = json_object(put)
    assert updated["client_id"] == created["client_id"]
    assert updated["client_name"] == "renamed"
    assert "logo_uri" not in updated, "a field left out of the PUT survived it"
    # §2.2: the server MAY rotate the registration access token and then returns the new one.
    token = updated.get("registration_access_token", token)
    reread = http.get(uri, headers=bearer(token))
    assert reread.status_code == 200, reread.text
    assert "logo_uri" not in json_object(reread)
    assert json_object(reread)["client_name"] == "renamed"

    deleted = http.delete(uri, headers=bearer(token))
    assert deleted.status_code == 204, deleted.text
    # §2.3: the client is gone: reading it is a 401 ...
    assert http.get(uri, headers=bearer(token)).status_code == 401
    # ... and its client_id is invalidated (RFC 6749 §5.2: 400 or 401 invalid_client).
    result = exchange(target, http, created, "no-such-code", pkce_pair()[0])
    assert_error(result, {400, 401}, {"invalid_client"})


# -- authorization code grant (RFC 6749 §4.1, RFC 7636, RFC 9207) -------------------------------


@on()
def test_authorization_code_flow(target: ServerUnderTest, http: httpx.Client) -> None:
    """RFC 6749 §4.1.2: the redirect carries ``code`` and the exact ``state``; RFC 9207 §2:
    ``iss`` equals the issuer where it is advertised (and wherever it is sent); RFC 6749 §5.1
    and RFC 7636 §4.6: the code and verifier redeem for a working Bearer token."""
    client = register(target, http)
    result = authorize(target, http, client)
    params = result.params
    assert "error" not in params, params
    assert params["code"], params
    assert params["state"] == result.state
    if target.metadata.get("authorization_response_iss_parameter_supported"):
        assert params["iss"] == target.metadata["issuer"]
    if "iss" in params:  # RFC 9207 §2: its value is the issuer identifier, whoever sends it
        assert params["iss"] == target.metadata["issuer"]
    tokens = token_success(exchange(target, http, client, params["code"], result.verifier))
    assert isinstance(tokens.get("refresh_token"), str), tokens  # the client registered it
    assert token_is_active(target, http, tokens["access_token"])


@on()
def test_wrong_code_verifier(target: ServerUnderTest, http: httpx.Client) -> None:
    """RFC 7636 §4.6: a verifier that does not match the challenge is 400 ``invalid_grant``."""
    client = register(target, http)
    result = authorize(target, http, client)
    wrong_verifier, _ = pkce_pair()
    response = exchange(target, http, client, result.params["code"], wrong_verifier)
    assert_error(response, {400}, {"invalid_grant"})


@on()
def test_reused_code_revokes_first_tokens(target: ServerUnderTest, http: httpx.Client) -> None:
    """RFC 6749 §4.1.2 / §10.5: a second redemption of a code is 400 ``invalid_grant``, and the
    tokens issued for the first one are revoked (the server has them all)."""
    client = register(target, http)
    result = authorize(target, http, client)
    code = result.params["code"]
    first = token_success(exchange(target, http, client, code, result.verifier))
    assert token_is_active(target, http, first["access_token"])

    again = exchange(target, http, client, code, result.verifier)
    assert_error(again, {400}, {"invalid_grant"})
    assert not token_is_active(target, http, first["access_token"])
    assert_error(refresh(target, http, client, first["refresh_token"]), {400}, {"invalid_grant"})


@on()
def test_refresh_rotation_and_replay(target: ServerUnderTest, http: httpx.Client) -> None:
    """OAuth 2.1 §4.3.1 / RFC 9700 §4.14.2: a public client's refresh token rotates on use;
    replaying the rotated-out one is 400 ``invalid_grant`` (RFC 6749 §5.2) and revokes the
    grant: the newest refresh token and access token die with it."""
    client = register(target, http)
    first = obtain_tokens(target, http, client)
    second = token_success(refresh(target, http, client, first["refresh_token"]))
    assert isinstance(second.get("refresh_token"), str), second
    assert second["refresh_token"] != first["refresh_token"]
    assert token_is_active(target, http, second["access_token"])

    replay = refresh(target, http, client, first["refresh_token"])
    assert_error(replay, {400}, {"invalid_grant"})
    assert_error(refresh(target, http, client, second["refresh_token"]), {400}, {"invalid_grant"})
    assert not token_is_active(target, http, second["access_token"])


@on()
def test_authorization_request_without_pkce(target: ServerUnderTest, http: httpx.Client) -> None:
    """OAuth 2.1 §4.1.2.1 / RFC 7636 §4.4.1: a server that requires PKCE answers a request
    without ``code_challenge`` with an ``invalid_request`` error redirect; RFC 6749 §4.1.2.1:
    the error carries the exact ``state``; RFC 9207 §2: and ``iss`` where advertised."""
    client = register(target, http)
    result = authorize(
        target, http, client, code_challenge=None, code_challenge_method=None, resource=None
    )
    assert result.params.get("error") == "invalid_request", result.params
    assert "code" not in result.params, result.params
    assert result.params["state"] == result.state
    if target.metadata.get("authorization_response_iss_parameter_supported"):
        assert result.params["iss"] == target.metadata["issuer"]


@pytest.mark.parametrize("case", ["unregistered-redirect-uri", "unknown-client"])
@on()
def test_authorization_error_is_not_redirected(
    target: ServerUnderTest, http: httpx.Client, case: str
) -> None:
    """RFC 6749 §4.1.2.1: with a missing, invalid or mismatching redirect URI or an invalid
    client, the server MUST NOT redirect the user agent to the redirect URI."""
    client = register(target, http)
    foreign = "http://127.0.0.1:9/elsewhere"
    query = {
        "response_type": "code",
        "client_id": "no-such-client" if case == "unknown-client" else client["client_id"],
        "redirect_uri": foreign,
        "scope": SCOPE,
        "state": "s",
        "code_challenge": pkce_pair()[1],
        "code_challenge_method": "S256",
    }
    response = http.get(f"{endpoint(target, 'authorization_endpoint')}?{urlencode(query)}")
    location = response.headers.get("location", "")
    assert not location.startswith(foreign), location
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])


@on()
def test_code_is_bound_to_its_client(target: ServerUnderTest, http: httpx.Client) -> None:
    """RFC 6749 §4.1.3: the code must have been issued to the client that redeems it;
    §5.2: otherwise ``invalid_grant``."""
    owner = register(target, http)
    thief = register(target, http)
    result = authorize(target, http, owner)
    response = exchange(target, http, thief, result.params["code"], result.verifier)
    assert_error(response, {400}, {"invalid_grant"})


@on()
def test_missing_code_verifier(target: ServerUnderTest, http: httpx.Client) -> None:
    """RFC 7636 §4.6 / OAuth 2.1 §4.1.3: a code issued for a ``code_challenge`` is not redeemed
    without ``code_verifier``: 400, ``invalid_request`` (a missing parameter, RFC 6749 §5.2)
    or ``invalid_grant`` (the PKCE check failed); the RFCs allow either reading."""
    client = register(target, http)
    result = authorize(target, http, client)
    response = token_request(
        target,
        http,
        client,
        grant_type="authorization_code",
        code=result.params["code"],
        redirect_uri=REDIRECT_URI,
    )
    assert_error(response, {400}, {"invalid_request", "invalid_grant"})


@pytest.mark.parametrize("resource", ["relative/resource", "fragment"])
@on()
def test_invalid_resource_indicator(
    target: ServerUnderTest, http: httpx.Client, resource: str
) -> None:
    """RFC 8707 §2: ``resource`` MUST be an absolute URI without a fragment; §2.1: otherwise
    the authorization error ``invalid_target``."""
    value = target.default_resource + "#frag" if resource == "fragment" else resource
    client = register(target, http)
    result = authorize(target, http, client, resource=value)
    assert result.params.get("error") == "invalid_target", result.params
    assert result.params["state"] == result.state


@on("resource_at_token")
def test_resource_not_granted_at_token(target: ServerUnderTest, http: httpx.Client) -> None:
    """RFC 8707 §2.2: at the token endpoint, a ``resource`` the grant does not cover is refused
    with ``invalid_target``."""
    client = register(target, http)
    result = authorize(target, http, client)
    response = token_request(
        target,
        http,
        client,
        grant_type="authorization_code",
        code=result.params["code"],
        redirect_uri=REDIRECT_URI,
        code_verifier=result.verifier,
        resource=target.base_url + "/not-granted",
    )
    assert_error(response, {400}, {"invalid_target"})


@on("token_error_codes")
def test_redirect_uri_must_match_at_token(target: ServerUnderTest, http: httpx.Client) -> None:
    """RFC 6749 §4.1.3: ``redirect_uri`` at the token endpoint must be identical to the one of
    the authorization request; §5.2: otherwise ``invalid_grant``."""
    other = "http://127.0.0.1:9/other"
    client = register(target, http, redirect_uris=[REDIRECT_URI, other])
    result = authorize(target, http, client)
    response = exchange(target, http, client, result.params["code"], result.verifier, other)
    assert_error(response, {400}, {"invalid_grant"})


@on("token_error_codes")
def test_unsupported_grant_type(target: ServerUnderTest, http: httpx.Client) -> None:
    """RFC 6749 §5.2: a grant type the server does not support is ``unsupported_grant_type``."""
    client = register(target, http)
    response = token_request(target, http, client, grant_type="urn:example:no-such-grant")
    assert_error(response, {400}, {"unsupported_grant_type"})


@on("token_error_codes")
def test_repeated_token_parameter(target: ServerUnderTest, http: httpx.Client) -> None:
    """RFC 6749 §3.2: parameters "MUST NOT be included more than once"; §5.2: a request that
    "repeats a parameter" is ``invalid_request``."""
    client = register(target, http)
    form: Json = {"grant_type": "refresh_token", "refresh_token": ["first", "second"]}
    response = post_as(http, endpoint(target, "token_endpoint"), client, form)
    assert_error(response, {400}, {"invalid_request"})


@on("token_error_codes")
def test_two_client_authentication_methods(target: ServerUnderTest, http: httpx.Client) -> None:
    """RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in each
    request"; §5.2: one that does is ``invalid_request``."""
    client = register(target, http, token_endpoint_auth_method="client_secret_basic")
    form = {
        "grant_type": "refresh_token",
        "refresh_token": "no-such-token",
        "client_secret": client["client_secret"],
    }
    response = post_as(http, endpoint(target, "token_endpoint"), client, form)
    assert_error(response, {400}, {"invalid_request"})


@on()
def test_unknown_scope_at_authorization(target: ServerUnderTest, http: httpx.Client) -> None:
    """RFC 6749 §4.1.2.1: an unknown scope is ``invalid_scope``; but §3.3 lets the server
    "fully or partially ignore the scope requested", and then §5.1 makes ``scope`` REQUIRED in
    the token response (it differs from the request) and it must not grant the unknown one."""
    client = register(target, http)
    result = authorize(target, http, client, scope="mcp:read mcp:no-such-scope")
    if "error" in result.params:
        assert result.params["error"] == "invalid_scope", result.params
        assert result.params["state"] == result.state
        return
    response = exchange(target, http, client, result.params["code"], result.verifier)
    tokens = token_success(response)
    assert "mcp:no-such-scope" not in tokens["scope"].split(), tokens


@on()
def test_refresh_scope_may_narrow_but_not_widen(
    target: ServerUnderTest, http: httpx.Client
) -> None:
    """RFC 6749 §6: a refresh may ask for fewer scopes (§5.1: ``scope`` may then be left out
    only if it equals the request) but MUST NOT include a scope not originally granted
    (§5.2: ``invalid_scope``)."""
    client = register(target, http)
    tokens = obtain_tokens(target, http, client)
    narrowed = token_success(
        refresh(target, http, client, tokens["refresh_token"], scope="mcp:read")
    )
    assert narrowed.get("scope", "mcp:read").split() == ["mcp:read"], narrowed

    narrow_client = register(target, http)
    narrow = obtain_tokens(target, http, narrow_client, scope="mcp:read")
    widened = refresh(target, http, narrow_client, narrow["refresh_token"], scope=SCOPE)
    assert_error(widened, {400}, {"invalid_scope"})


@on()
def test_refresh_token_is_bound_to_its_client(target: ServerUnderTest, http: httpx.Client) -> None:
    """RFC 6749 §6: the server validates that the refresh token was issued to the client
    presenting it; §5.2: otherwise ``invalid_grant``."""
    owner = register(target, http)
    tokens = obtain_tokens(target, http, owner)
    thief = register(target, http)
    response = refresh(target, http, thief, tokens["refresh_token"])
    assert_error(response, {400}, {"invalid_grant"})


# -- client authentication (RFC 6749 §2.3, §5.2) -----------------------------------------------


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
@on()
def test_wrong_client_secret(target: ServerUnderTest, http: httpx.Client, method: str) -> None:
    """RFC 6749 §5.2: failed client authentication is ``invalid_client``; with HTTP Basic it
    MUST be a 401, with the secret in the body the server MAY answer 401 instead of 400."""
    client = register(target, http, token_endpoint_auth_method=method)
    form = {
        "grant_type": "authorization_code",
        "code": "no-such-code",
        "redirect_uri": REDIRECT_URI,
        "code_verifier": pkce_pair()[0],
    }
    response = post_as(http, endpoint(target, "token_endpoint"), client, form, "wrong-secret")
    statuses = {401} if method == "client_secret_basic" else {400, 401}
    assert_error(response, statuses, {"invalid_client"})


@on()
def test_unknown_client_at_token_endpoint(target: ServerUnderTest, http: httpx.Client) -> None:
    """RFC 6749 §5.2: an unknown client is ``invalid_client``, 401 or (no Authorization header
    was sent) 400."""
    stranger = {"client_id": "no-such-client", "token_endpoint_auth_method": "none"}
    response = exchange(target, http, stranger, "no-such-code", pkce_pair()[0])
    assert_error(response, {400, 401}, {"invalid_client"})


@on("basic_auth_challenge")
def test_basic_auth_failure_carries_challenge(target: ServerUnderTest, http: httpx.Client) -> None:
    """RFC 6749 §5.2: after a failed HTTP Basic client authentication the 401 MUST include a
    ``WWW-Authenticate`` header matching the scheme used."""
    client = register(target, http, token_endpoint_auth_method="client_secret_basic")
    form = {"grant_type": "refresh_token", "refresh_token": "no-such-token"}
    response = post_as(http, endpoint(target, "token_endpoint"), client, form, "wrong-secret")
    assert_error(response, {401}, {"invalid_client"})
    challenge = response.headers.get("www-authenticate", "")
    assert challenge.lower().startswith("basic"), response.headers


# -- client credentials (RFC 6749 §4.4) ---------------------------------------------------------


@on("client_credentials")
def test_client_credentials(target: ServerUnderTest, http: httpx.Client) -> None:
    """RFC 6749 §4.4.2-§4.4.3: a confidential client gets an access token for itself, and a
    refresh token SHOULD NOT be included."""
    client = register_service(target, http, "client_secret_basic")
    response = token_request(
        target,
        http,
        client,
        grant_type="client_credentials",
        scope="mcp:read",
        resource=target.default_resource,
    )
    tokens = token_success(response)
    assert "refresh_token" not in tokens, tokens
    assert token_is_active(target, http, tokens["access_token"])


@on("client_credentials", "client_credentials_confidential_only")
def test_client_credentials_needs_a_confidential_client(
    target: ServerUnderTest, http: httpx.Client
) -> None:
    """RFC 6749 §4.4: "The client credentials grant type MUST only be used by confidential
    clients": either registration refuses it (RFC 7591 §3.2.2 ``invalid_client_metadata``) or
    the token endpoint does (§5.2 ``unauthorized_client`` or ``invalid_client``)."""
    response = http.post(
        endpoint(target, "registration_endpoint"),
        json={
            "redirect_uris": [],
            "response_types": [],
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "none",
        },
    )
    if response.status_code != 201:
        assert_error(response, {400}, {"invalid_client_metadata"})
        return
    client = json_object(response)
    tokens = token_request(target, http, client, grant_type="client_credentials")
    assert_error(tokens, {400, 401}, {"unauthorized_client", "invalid_client"})


# -- introspection (RFC 7662) and revocation (RFC 7009) ---------------------------------------


@on("introspection")
def test_introspection(target: ServerUnderTest, http: httpx.Client) -> None:
    """RFC 7662 §2.2: an active token is ``active: true`` (members that are sent describe it);
    revoked (RFC 7009 §2.1) and unknown tokens are ``active: false`` with nothing else
    (SHOULD NOT disclose more); §2.1: the caller must be authorized."""
    owner = register(target, http)
    tokens = obtain_tokens(target, http, owner)
    resource_server = register_service(target, http, "client_secret_basic")

    def state_of(token: str) -> Json:
        response = introspect(target, http, resource_server, token)
        assert response.status_code == 200, response.text
        return json_object(response)

    active = state_of(tokens["access_token"])
    assert active["active"] is True, active
    if "client_id" in active:
        assert active["client_id"] == owner["client_id"]
    if "scope" in active:
        assert "mcp:read" in active["scope"].split(), active
    if "token_type" in active:
        assert active["token_type"].lower() == "bearer", active
    if "iss" in active:
        assert active["iss"] == target.metadata["issuer"], active
    assert state_of(tokens["refresh_token"])["active"] is True
    # §2.1: a wrong token_type_hint only widens the search ("MUST extend its search").
    hinted = post_as(
        http,
        endpoint(target, "introspection_endpoint"),
        resource_server,
        {"token": tokens["refresh_token"], "token_type_hint": "access_token"},
    )
    assert hinted.status_code == 200, hinted.text
    assert json_object(hinted)["active"] is True

    assert revoke(target, http, owner, tokens["access_token"]).status_code == 200
    assert state_of(tokens["access_token"]) == {"active": False}
    assert revoke(target, http, owner, tokens["refresh_token"]).status_code == 200
    assert state_of(tokens["refresh_token"]) == {"active": False}
    assert state_of("garbage-" + secrets.token_urlsafe(8)) == {"active": False}

    anonymous = http.post(endpoint(target, "introspection_endpoint"), data={"token": "x"})
    assert anonymous.status_code in (400, 401), anonymous.text


_REVOKING_CLIENTS: Final[Sequence[tuple[str, Sequence[str]]]] = [
    ("client_secret_post", []),
    ("none", ["public_client_revocation"]),
]


@on_with(_REVOKING_CLIENTS, "method")
def test_revoking_unknown_token(target: ServerUnderTest, http: httpx.Client, method: str) -> None:
    """RFC 7009 §2.2: "invalid tokens do not cause an error response": 200."""
    if method == "none":
        client = register(target, http)
    else:
        client = register(target, http, token_endpoint_auth_method=method)
    response = revoke(target, http, client, "unknown-" + secrets.token_urlsafe(8))
    assert response.status_code == 200, response.text


@on()
def test_revocation_hint_is_only_a_hint(target: ServerUnderTest, http: httpx.Client) -> None:
    """RFC 7009 §2.1: a refresh token revoked with ``token_type_hint=access_token`` is still
    found ("MUST extend its search across all of its supported token types") and revoked: 200,
    and refreshing with it is then ``invalid_grant``. (A confidential client, so that the MCP
    SDK's ``client_secret`` quirk does not matter.)"""
    client = register(target, http, token_endpoint_auth_method="client_secret_post")
    tokens = obtain_tokens(target, http, client)
    response = revoke(target, http, client, tokens["refresh_token"], token_type_hint="access_token")
    assert response.status_code == 200, response.text
    assert_error(refresh(target, http, client, tokens["refresh_token"]), {400}, {"invalid_grant"})


@on()
def test_revoking_another_clients_token_leaves_it_valid(
    target: ServerUnderTest, http: httpx.Client
) -> None:
    """RFC 7009 §2.1: the server verifies that the token was issued to the client asking; if
    not, the request is refused, so the token stays valid."""
    owner = register(target, http)
    tokens = obtain_tokens(target, http, owner)
    other = register(target, http, token_endpoint_auth_method="client_secret_post")
    revoke(target, http, other, tokens["access_token"])
    revoke(target, http, other, tokens["refresh_token"])
    assert token_is_active(target, http, tokens["access_token"])
    token_success(refresh(target, http, owner, tokens["refresh_token"]))


@on("refuses_foreign_revocation")
def test_revoking_another_clients_token_is_refused(
    target: ServerUnderTest, http: httpx.Client
) -> None:
    """RFC 7009 §2.1: "the request is refused and the client is informed of the error";
    §2.2.1: an RFC 6749 §5.2 error, whose code the RFC leaves open (the mock answers
    ``invalid_grant``, oidc-provider ``invalid_request``)."""
    owner = register(target, http)
    tokens = obtain_tokens(target, http, owner)
    other = register(target, http, token_endpoint_auth_method="client_secret_post")
    response = revoke(target, http, other, tokens["access_token"])
    assert_error(response, {400}, {"invalid_request", "invalid_grant", "unauthorized_client"})


# -- device authorization grant (RFC 8628) ------------------------------------------------------


def start_device_flow(target: ServerUnderTest, http: httpx.Client) -> tuple[Json, Json, int]:
    """Register a device client and request a device code (RFC 8628 §3.1-§3.2).

    Returns the client, the device authorization response and the polling interval.
    """
    client = register(
        target,
        http,
        redirect_uris=[],
        response_types=[],
        grant_types=[DEVICE_GRANT, "refresh_token"],
    )
    response = post_as(
        http, endpoint(target, "device_authorization_endpoint"), client, {"scope": SCOPE}
    )
    assert response.status_code == 200, response.text
    started = json_object(response)
    for name in ("device_code", "user_code", "verification_uri"):  # §3.2: REQUIRED
        assert isinstance(started.get(name), str), started
        assert started[name], started
    assert isinstance(started.get("expires_in"), int), started
    interval = started.get("interval", DEFAULT_POLL_INTERVAL)
    assert isinstance(interval, int), started
    return client, started, interval


def poll(
    target: ServerUnderTest, http: httpx.Client, client: Json, started: Json
) -> httpx.Response:
    """One device access token request (RFC 8628 §3.4)."""
    return token_request(
        target, http, client, grant_type=DEVICE_GRANT, device_code=started["device_code"]
    )


@on("device_flow")
def test_device_flow_approved(target: ServerUnderTest, http: httpx.Client) -> None:
    """RFC 8628 §3.5: ``authorization_pending`` while the user has not answered (polled after
    the interval, so never ``slow_down``), then the tokens once approved."""
    client, started, interval = start_device_flow(target, http)
    target.let_poll_interval_pass(interval)
    assert_error(poll(target, http, client, started), {400}, {"authorization_pending"})
    target.approve_device(started["user_code"])
    target.let_poll_interval_pass(interval)
    tokens = token_success(poll(target, http, client, started))
    assert token_is_active(target, http, tokens["access_token"])


@on("device_flow")
def test_device_flow_denied(target: ServerUnderTest, http: httpx.Client) -> None:
    """RFC 8628 §3.5: once the user denies, the poll is 400 ``access_denied``."""
    client, started, interval = start_device_flow(target, http)
    target.deny_device(started["user_code"])
    target.let_poll_interval_pass(interval)
    assert_error(poll(target, http, client, started), {400}, {"access_denied"})
