"""The upstream gateway's authorization server (PyPI ``mcp-oauth-dynamicclient`` 0.2.0) as a peer.

The server runs in its own venv (``gateway_server.py``, ``gateway_server/app.py``) with TLS on
loopback under a throwaway CA, Redis in database 7 of a redis-server of this module's own, and
its GitHub login replaced by the test user ``test-user``. It advertises only
``https://auth.gateway.test`` URLs; every client here reaches that name through a transport
that sends it to the server's loopback port with certificate verification on
(``loopback_tls.py``).

Two kinds of tests, as ``GATEWAY.md`` lists them:

* the surface: what the server does on the wire, probed with plain httpx and no library code,
  one test per row group of the table, so the table stays true to the pinned version;
* the client: the whole lifecycle with ``SyncOAuth2Client`` and ``OAuth2Client`` for each
  token endpoint authentication method (``client_secret_basic``, ``client_secret_post``,
  ``none``), one registration per client object counted at the server, and how the client
  copes with each deviation (issue 13).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import redis

from mcp_oauth_dynamicclient import (
    ClientRegistration,
    NetworkError,
    OAuth2Client,
    RegistrationError,
    SyncOAuth2Client,
    TokenError,
    TokenResponse,
)
from tests.flavours import ClientProxy, Flavour, RequestLog
from tests.interop.gateway_server import GatewayServer, run_gateway_server
from tests.interop.loopback_tls import AsyncPinnedTransport, PinnedTransport, ThrowawayCA
from tests.redis_server import RedisServer

pytestmark = pytest.mark.interop

Json = dict[str, Any]

DOMAIN = "gateway.test"
AUTH = f"https://auth.{DOMAIN}"
REDIS_DB = 7
REDIRECT = "http://127.0.0.1:33418/callback"
"""The client's loopback redirect URI; never contacted (the redirect is read, not followed)."""

METHODS = ["client_secret_basic", "client_secret_post", "none"]
"""Every token endpoint authentication method the gateway lets a client use (GATEWAY.md)."""


# ------------------------------------------------------------------------------- fixtures


@dataclass(frozen=True)
class Gateway:
    """The running server, the CA its certificate comes from, and its Redis database."""

    server: GatewayServer
    ca: ThrowawayCA
    redis: redis.Redis

    @property
    def routes(self) -> dict[str, int]:
        return {self.server.host: self.server.port}

    def transport(self, ca: ThrowawayCA | None = None) -> PinnedTransport:
        """A transport to ``auth.gateway.test`` verifying against ``ca`` (the server's)."""
        return PinnedTransport(self.routes, (ca or self.ca).ssl_context())

    @contextmanager
    def http(self) -> Iterator[httpx.Client]:
        """A plain httpx client of the server that never follows redirects by itself."""
        with httpx.Client(transport=self.transport(), timeout=15.0) as client:
            yield client

    def requests(self) -> list[Json]:
        """Every request the server answered so far: method, path, status, auth scheme."""
        with self.http() as http:
            entries: list[Json] = http.get(f"{AUTH}/_interop/requests").json()
        return [entry for entry in entries if entry["path"] != "/_interop/requests"]


@pytest.fixture(scope="module")
def gateway(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    """One gateway server for the module, its data in database 7 of the module's redis."""
    ca = ThrowawayCA()
    issued = ca.issue([f"auth.{DOMAIN}", f"mcp.{DOMAIN}"])
    folder: Path = tmp_path_factory.mktemp("gateway-tls")
    (folder / "chain.pem").write_bytes(issued.chain_pem)
    (folder / "key.pem").write_bytes(issued.key_pem)
    with (
        redis.Redis(
            host="127.0.0.1", port=redis_server.port, db=REDIS_DB, decode_responses=True
        ) as database,
        run_gateway_server(
            domain=DOMAIN,
            redis_url=f"redis://127.0.0.1:{redis_server.port}/{REDIS_DB}",
            certfile=folder / "chain.pem",
            keyfile=folder / "key.pem",
        ) as server,
    ):
        yield Gateway(server=server, ca=ca, redis=database)


@pytest.fixture
def http(gateway: Gateway) -> Iterator[httpx.Client]:
    """A plain httpx client of the gateway (no library code)."""
    with gateway.http() as client:
        yield client


# -------------------------------------------------------------------------------- helpers


def gateway_client(
    api: Flavour, gateway: Gateway, *, ca: ThrowawayCA | None = None, **settings: Any
) -> ClientProxy:
    """A client of ``https://auth.gateway.test`` of ``api``'s flavour, its exchanges logged.

    Its ``httpx`` client has the pinned transport, verifying TLS against ``ca`` (by default
    the one that issued the server's certificate); the flavour closes both at the end of the
    test.
    """
    context = (ca or gateway.ca).ssl_context()
    options: Json = {
        "auth_server": AUTH,
        "client_name": "Gateway Interop",
        "redirect_uris": [REDIRECT],
        **settings,
    }
    log = RequestLog()
    if not api.is_async:
        http = httpx.Client(
            transport=PinnedTransport(gateway.routes, context),
            timeout=30.0,
            event_hooks={"response": [log.record]},
        )
        api.stack.callback(http.close)
        sync = SyncOAuth2Client(http_client=http, **options)
        api.stack.callback(sync.close)
        return ClientProxy(sync, None, log)

    async def record(response: httpx.Response) -> None:
        log.record(response)

    async def construct() -> tuple[OAuth2Client, httpx.AsyncClient]:
        transport = AsyncPinnedTransport(gateway.routes, context)
        http = httpx.AsyncClient(
            transport=transport, timeout=30.0, event_hooks={"response": [record]}
        )
        return OAuth2Client(http_client=http, **options), http

    portal = api.portal
    assert portal is not None
    client, http_async = portal.call(construct)
    api.stack.callback(lambda: portal.call(http_async.aclose))
    api.stack.callback(lambda: portal.call(client.aclose))
    return ClientProxy(client, portal, log)


def approve(gateway: Gateway, url: str) -> str:
    """The test user approves in a headless browser: the callback URL the server sends back.

    The hops are upstream's: ``/authorize`` → ``/callback`` (where GitHub would have sent
    the user back) → the client's redirect URI.
    """
    hops: list[str] = []
    with gateway.http() as browser:
        for _ in range(3):
            response = browser.get(url)
            assert response.is_redirect, f"{response.status_code}: {response.text[:300]}"
            hops.append(response.url.path)
            url = str(response.url.join(response.headers["location"]))
            if url.startswith(REDIRECT + "?"):
                assert hops == ["/authorize", "/callback"]
                return url
    raise AssertionError(f"no redirect to {REDIRECT} after {hops}")


def query_of(url: str) -> dict[str, str]:
    """The query parameters of ``url`` (each given once)."""
    query = parse_qs(urlsplit(url).query, keep_blank_values=True)
    assert all(len(values) == 1 for values in query.values()), url
    return {key: values[0] for key, values in query.items()}


def jwt_claims(token: str) -> Json:
    """The payload of a JWS, unverified."""
    payload = token.split(".")[1]
    claims: Json = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


def pkce_pair() -> tuple[str, str]:
    """A fresh PKCE ``(code_verifier, S256 code_challenge)``."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def register(http: httpx.Client, **metadata: Any) -> Json:
    """A registration made by hand (RFC 7591), with the client's redirect URI by default."""
    response = http.post(f"{AUTH}/register", json={"redirect_uris": [REDIRECT], **metadata})
    assert response.status_code == 201, response.text
    registered: Json = response.json()
    return registered


def code_for(gateway: Gateway, http: httpx.Client, client_id: str, **params: str) -> str:
    """An authorization code for ``client_id``, approved by the test user."""
    query = {
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "state": "st",
        **params,
    }
    url = str(httpx.URL(f"{AUTH}/authorize", params=query))
    callback = query_of(approve(gateway, url))
    assert callback["state"] == "st"
    return callback["code"]


def manage(
    http: httpx.Client, method: str, registered: Json, token: str | None = "", **kwargs: Any
) -> httpx.Response:
    """An RFC 7592 request to the registration's URI, with its registration access token
    (``token=""``), another one, or none (``token=None``)."""
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token or registered['registration_access_token']}"
    return http.request(method, registered["registration_client_uri"], headers=headers, **kwargs)


def registrations(entries: list[Json]) -> list[Json]:
    """The RFC 7591 registration requests among the server's log ``entries``."""
    return [entry for entry in entries if (entry["method"], entry["path"]) == ("POST", "/register")]


# ======================================================================== TLS on loopback


def test_the_name_is_verified_against_the_throwaway_ca(api: Flavour, gateway: Gateway) -> None:
    """The pinned transport keeps verification on: right CA and name pass, anything else fails."""
    client = gateway_client(api, gateway)
    metadata = client.discover()
    assert metadata.issuer == AUTH
    assert metadata.token_endpoint == f"{AUTH}/token"

    # Another CA: the server's certificate is not trusted.
    with (
        httpx.Client(transport=gateway.transport(ThrowawayCA("another CA"))) as stranger,
        pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        stranger.get(f"{AUTH}/.well-known/oauth-authorization-server")
    # The right CA, the port under a name the certificate does not hold.
    routes = {"auth.other.test": gateway.server.port}
    with (
        httpx.Client(transport=PinnedTransport(routes, gateway.ca.ssl_context())) as other,
        pytest.raises(httpx.ConnectError, match="Hostname mismatch"),
    ):
        other.get("https://auth.other.test/.well-known/oauth-authorization-server")
    # A name with no route goes nowhere.
    with gateway.http() as http, pytest.raises(httpx.ConnectError, match="no loopback route"):
        http.get("https://example.com/")

    # Our client, given a transport that trusts another CA, stops at discovery.
    refused = gateway_client(api, gateway, ca=ThrowawayCA("x"))
    with pytest.raises(NetworkError, match="CERTIFICATE_VERIFY_FAILED"):
        refused.discover()
    assert refused.requests.exchanges == []  # no response reached it


# ============================================================= the server's surface (no client)


def test_metadata_advertises_secret_methods_only(http: httpx.Client) -> None:
    """RFC 8414: issuer and endpoints on ``auth.DOMAIN``; ``none`` not listed; no RFC 9207."""
    response = http.get(f"{AUTH}/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    metadata = response.json()
    assert metadata["issuer"] == AUTH
    endpoints = {
        "authorization_endpoint": "/authorize",
        "token_endpoint": "/token",
        "registration_endpoint": "/register",
        "revocation_endpoint": "/revoke",
        "introspection_endpoint": "/introspect",
        "jwks_uri": "/jwks",
    }
    assert {name: metadata[name] for name in endpoints} == {
        name: AUTH + path for name, path in endpoints.items()
    }
    assert metadata["token_endpoint_auth_methods_supported"] == [
        "client_secret_post",
        "client_secret_basic",
    ]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert metadata["scopes_supported"] == ["openid", "profile", "email"]
    assert "authorization_response_iss_parameter_supported" not in metadata
    assert "revocation_endpoint_auth_methods_supported" not in metadata
    assert http.get(f"{AUTH}/.well-known/openid-configuration").status_code == 404


def test_registration_reply_omits_what_the_server_decided(
    http: httpx.Client, gateway: Gateway
) -> None:
    """RFC 7591 §3.2.1: no ``token_endpoint_auth_method``, ``grant_types`` or
    ``response_types`` in the reply; unsent names come back ``null``; every client gets a
    secret, ``none`` included; the data lands in Redis database 7."""
    asked: Json = {
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "application_type": "native",
    }
    registered = register(http, **asked)
    assert set(registered) == {
        "client_id",
        "client_secret",
        "client_secret_expires_at",
        "client_id_issued_at",
        "redirect_uris",
        "client_name",
        "scope",
        "registration_access_token",
        "registration_client_uri",
    }
    assert registered["client_name"] is None
    assert registered["scope"] is None
    assert registered["client_secret"]
    assert registered["client_id"].startswith("client_")
    assert registered["registration_access_token"].startswith("reg-")
    assert registered["registration_client_uri"] == f"{AUTH}/register/{registered['client_id']}"
    lifetime = registered["client_secret_expires_at"] - registered["client_id_issued_at"]
    assert lifetime == 7776000  # CLIENT_LIFETIME, 90 days: the registration expires with it

    stored = json.loads(gateway.redis.get(f"oauth:client:{registered['client_id']}") or "{}")
    assert json.loads(stored["grant_types"]) == ["authorization_code", "refresh_token"]
    assert "token_endpoint_auth_method" not in stored

    # Refusals: RFC 7591 codes, but a malformed body is FastAPI's 422.
    missing = http.post(f"{AUTH}/register", json={"client_name": "x"})
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_client_metadata")
    plain_http = http.post(f"{AUTH}/register", json={"redirect_uris": ["http://app.example/cb"]})
    assert (plain_http.status_code, plain_http.json()["error"]) == (400, "invalid_redirect_uri")
    malformed = http.post(f"{AUTH}/register", json={"redirect_uris": "http://127.0.0.1/cb"})
    assert malformed.status_code == 422
    assert "error" not in malformed.json()


def test_management_replies_and_errors(http: httpx.Client) -> None:
    """RFC 7592: replies without the registration access token and URI, defaults filled in
    after the fact, a partial PUT, and 401/403/404 where the RFC says 401 ``invalid_token``."""
    registered = register(http, client_uri="https://app.example/")
    assert registered["client_uri"] == "https://app.example/"  # echoed, but not stored
    read = manage(http, "GET", registered)
    assert read.status_code == 200
    info = read.json()
    assert "client_uri" not in info
    assert "registration_access_token" not in info
    assert "registration_client_uri" not in info
    assert "token_endpoint_auth_method" not in info
    assert info["client_name"] == "Unnamed Client"  # null in the registration reply
    assert info["scope"] == "openid profile email"  # null in the registration reply
    assert info["grant_types"] == ["authorization_code", "refresh_token"]
    assert info["client_secret"] == registered["client_secret"]

    # A PUT stores client_uri; one that leaves it out keeps it (RFC 7592 §2.2: omitted
    # means removed).
    body = {"client_id": registered["client_id"], "redirect_uris": [REDIRECT], "client_name": "B"}
    put = manage(http, "PUT", registered, json={**body, "client_uri": "https://app.example/"})
    assert (put.status_code, put.json()["client_uri"]) == (200, "https://app.example/")
    put = manage(http, "PUT", registered, json=body)
    assert put.status_code == 200
    assert put.json()["client_name"] == "B"
    assert put.json()["client_uri"] == "https://app.example/"
    assert "registration_access_token" not in put.json()
    # null removes it from the reply, not the record's key: the read agrees.
    put = manage(http, "PUT", registered, json={**body, "client_uri": None})
    assert "client_uri" not in put.json()
    assert "client_uri" not in manage(http, "GET", registered).json()
    # client_secret and client_id in the body are not checked against the registration.
    put = manage(http, "PUT", registered, json={**body, "client_secret": "x", "client_id": "y"})
    assert (put.status_code, put.json()["client_id"]) == (200, registered["client_id"])

    # No token: 401 with a challenge; a wrong token: 403; both with a JSON string body.
    anonymous = manage(http, "GET", registered, token=None)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="auth"'
    assert anonymous.json() == "Missing authentication"
    wrong = manage(http, "GET", registered, token="reg-wrong")
    assert wrong.status_code == 403
    assert wrong.json() == "Invalid or expired registration access token"
    assert "www-authenticate" not in wrong.headers

    deleted = manage(http, "DELETE", registered)
    assert (deleted.status_code, deleted.content) == (204, b"")
    # Gone: 404 whatever the token, so a client ID's existence is visible to anyone.
    for token in ("", "reg-wrong"):
        gone = manage(http, "GET", registered, token=token)
        assert (gone.status_code, gone.json()) == (404, "Client not found")
    assert manage(http, "GET", registered, token=None).status_code == 401


def test_authorization_and_token_endpoints(http: httpx.Client, gateway: Gateway) -> None:
    """PKCE optional, codes that live a year and are not bound to their client, the Basic
    header ignored, ``client_id`` required in the form, no ``Cache-Control: no-store``."""
    first = register(http)
    other = register(http)

    # PKCE is not required (OAuth 2.1 §4.1.1 requires it); plain is refused with a 400.
    code = code_for(gateway, http, first["client_id"])
    assert 300 < gateway.redis.ttl(f"oauth:code:{code}") <= 31536000  # a year, not minutes
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    # Another client redeems it (RFC 6749 §4.1.3: the code must be bound to its client).
    stolen = http.post(f"{AUTH}/token", data={**form, "client_id": other["client_id"]})
    assert stolen.status_code == 200, stolen.text
    assert jwt_claims(stolen.json()["access_token"])["client_id"] == other["client_id"]
    assert "cache-control" not in stolen.headers  # RFC 6749 §5.1: MUST be no-store
    plain = http.get(
        f"{AUTH}/authorize",
        params={
            "client_id": first["client_id"],
            "redirect_uri": REDIRECT,
            "response_type": "code",
            "state": "st",
            "code_challenge": "x" * 43,
            "code_challenge_method": "plain",
        },
    )
    assert (plain.status_code, plain.json()["error"]) == (400, "invalid_request")
    # state and redirect_uri are required (RFC 6749 §4.1.1: RECOMMENDED, and OPTIONAL with
    # one registered redirect URI): FastAPI's 422, not a redirect with an error.
    asked = {"client_id": first["client_id"], "redirect_uri": REDIRECT, "response_type": "code"}
    assert http.get(f"{AUTH}/authorize", params=asked).status_code == 422
    asked = {"client_id": first["client_id"], "state": "st", "response_type": "code"}
    assert http.get(f"{AUTH}/authorize", params=asked).status_code == 422

    verifier, challenge = pkce_pair()
    code = code_for(
        gateway, http, first["client_id"], code_challenge=challenge, code_challenge_method="S256"
    )
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    # Basic alone: client_id is a required form field.
    basic = (first["client_id"], first["client_secret"])
    assert http.post(f"{AUTH}/token", data=form, auth=basic).status_code == 422
    # A wrong secret in the form is refused; in the Basic header it is not even read.
    wrong_post = {**form, "client_id": first["client_id"], "client_secret": "wrong"}
    refused = http.post(f"{AUTH}/token", data={**wrong_post, "code_verifier": verifier})
    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_client")
    assert refused.headers["www-authenticate"] == "Basic"
    form = {**form, "client_id": first["client_id"], "code_verifier": verifier}
    tokens = http.post(f"{AUTH}/token", data=form, auth=(first["client_id"], "wrong"))
    assert tokens.status_code == 200, tokens.text
    issued = tokens.json()
    assert set(issued) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert (issued["token_type"], issued["expires_in"]) == ("Bearer", 3600)
    assert issued["scope"] == "openid profile email"  # the default when none is asked for
    claims = jwt_claims(issued["access_token"])
    assert (claims["iss"], claims["aud"]) == (AUTH, AUTH)  # no resource (RFC 8707) audience
    assert (claims["username"], claims["sub"]) == ("test-user", "4242")
    replay = http.post(f"{AUTH}/token", data=form)
    assert (replay.status_code, replay.json()["error"]) == (400, "invalid_grant")

    # Refresh: "refresh_token": null, the old one still works (not rotated) for any client.
    refresh = {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]}
    refreshed = http.post(f"{AUTH}/token", data={**refresh, "client_id": first["client_id"]})
    assert refreshed.status_code == 200
    assert refreshed.json()["refresh_token"] is None
    assert "refresh_token" in refreshed.json()
    again = http.post(f"{AUTH}/token", data={**refresh, "client_id": other["client_id"]})
    assert again.status_code == 200
    assert jwt_claims(again.json()["access_token"])["client_id"] == other["client_id"]


def test_revocation_and_introspection(http: httpx.Client, gateway: Gateway) -> None:
    """RFC 7009 answers 200 to a bad client without revoking; RFC 7662 answers
    ``active: false`` to one; ``/verify`` takes the bearer token."""
    client = register(http)
    code = code_for(gateway, http, client["client_id"])
    tokens = http.post(
        f"{AUTH}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": client["client_id"],
        },
    ).json()
    access = tokens["access_token"]
    credentials = {"client_id": client["client_id"], "client_secret": client["client_secret"]}

    introspected = http.post(f"{AUTH}/introspect", data={"token": access, **credentials})
    assert introspected.json()["active"] is True
    assert introspected.json()["username"] == "test-user"
    # Only client_id is needed; a wrong secret is "inactive" rather than 401.
    assert http.post(
        f"{AUTH}/introspect", data={"token": access, "client_id": client["client_id"]}
    ).json()["active"]
    bad = {**credentials, "client_secret": "wrong"}
    assert http.post(f"{AUTH}/introspect", data={"token": access, **bad}).json() == {
        "active": False
    }
    verify = http.get(f"{AUTH}/verify", headers={"Authorization": f"Bearer {access}"})
    assert (verify.status_code, verify.headers["x-user-name"]) == (200, "test-user")

    # A wrong secret: 200, and the token is not revoked (RFC 7009 §2.2.1 says 401).
    ignored = http.post(f"{AUTH}/revoke", data={"token": access, **bad})
    assert (ignored.status_code, ignored.content) == (200, b"")
    assert http.post(f"{AUTH}/introspect", data={"token": access, **credentials}).json()["active"]
    # Basic alone: client_id is a required form field here too.
    basic = (client["client_id"], client["client_secret"])
    assert http.post(f"{AUTH}/revoke", data={"token": access}, auth=basic).status_code == 422
    assert http.post(f"{AUTH}/revoke", data={"token": access, **credentials}).status_code == 200
    assert http.post(f"{AUTH}/introspect", data={"token": access, **credentials}).json() == {
        "active": False
    }
    verify = http.get(f"{AUTH}/verify", headers={"Authorization": f"Bearer {access}"})
    assert verify.status_code == 401
    assert verify.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    # Revoking the access token leaves the refresh token alive; revoking that ends it.
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    assert http.post(f"{AUTH}/token", data={**refresh, **credentials}).status_code == 200
    revoke = {"token": tokens["refresh_token"], "token_type_hint": "refresh_token"}
    assert http.post(f"{AUTH}/revoke", data={**revoke, **credentials}).status_code == 200
    after = http.post(f"{AUTH}/token", data={**refresh, **credentials})
    assert (after.status_code, after.json()["error"]) == (400, "invalid_grant")


# ============================================================================ our client


@pytest.mark.parametrize("method", METHODS)
def test_lifecycle(api: Flavour, gateway: Gateway, method: str) -> None:
    """Register, read, update, authorize (PKCE, headless), exchange, use, introspect,
    refresh, revoke, delete: one registration, every call as the client it registered."""
    before = len(gateway.requests())
    client = gateway_client(api, gateway, token_endpoint_auth_method=method)
    registration: ClientRegistration = client.register()
    # The reply has no token_endpoint_auth_method: the client keeps the one it asked for.
    assert registration.token_endpoint_auth_method == method
    assert registration.client_secret  # the gateway gives one to every client
    assert registration.registration_client_uri == f"{AUTH}/register/{registration.client_id}"
    rat = registration.registration_access_token
    assert rat is not None

    info: Json = client.get_client_info()
    assert info["client_id"] == registration.client_id
    assert info["client_name"] == "Gateway Interop"
    assert info["redirect_uris"] == [REDIRECT]
    kept: ClientRegistration = client.register()  # the read left out the token and URI: kept
    assert (kept.client_id, kept.registration_access_token) == (registration.client_id, rat)
    assert kept.token_endpoint_auth_method == method

    updated: Json = client.update_client(client_uri="https://app.example/")
    assert updated["client_uri"] == "https://app.example/"
    updated = client.update_client(client_name="Renamed")
    assert (updated["client_name"], updated["client_uri"]) == ("Renamed", "https://app.example/")
    assert updated["redirect_uris"] == [REDIRECT]
    assert client.get_client_info()["client_name"] == "Renamed"
    assert client.register().token_endpoint_auth_method == method

    url: str = client.get_authorization_url()
    request = query_of(url)
    assert (request["client_id"], request["redirect_uri"]) == (registration.client_id, REDIRECT)
    assert request["code_challenge_method"] == "S256"
    token: TokenResponse = client.exchange_code(approve(gateway, url))
    assert (token.token_type, token.expires_in) == ("Bearer", 3600)
    assert token.scope == "openid profile email"
    assert token.refresh_token
    claims = jwt_claims(token.access_token)
    assert (claims["client_id"], claims["username"]) == (registration.client_id, "test-user")

    used: httpx.Response = client.authenticated_request("GET", f"{AUTH}/verify")
    assert (used.status_code, used.headers["x-user-name"]) == (200, "test-user")
    introspection: Json = client.introspect_token(token)
    assert introspection["active"] is True
    assert introspection["client_id"] == registration.client_id

    refreshed: TokenResponse = client.refresh_token()
    assert refreshed.access_token != token.access_token
    assert refreshed.refresh_token == token.refresh_token  # "refresh_token": null: kept
    again: TokenResponse = client.refresh_token()  # with the kept refresh token
    assert again.refresh_token == token.refresh_token
    assert client.authenticated_request("GET", f"{AUTH}/verify").status_code == 200

    assert client.revoke_token(again) is True
    assert client.introspect_token(again)["active"] is False
    with pytest.raises(TokenError, match="no token yet"):
        client.authenticated_request("GET", f"{AUTH}/verify")  # the revoked token is gone
    # The gateway keeps the refresh token alive after its access token is revoked.
    assert client.revoke_token(again, "refresh_token") is True
    with pytest.raises(TokenError) as ended:
        client.refresh_token(again.refresh_token)
    assert ended.value.error_code == "invalid_grant"

    assert client.delete_client() is True
    assert client.storage_proxy().list_tokens() == []
    assert gateway.redis.get(f"oauth:client:{registration.client_id}") is None

    # One registration for the whole lifecycle, seen by the client and by the server.
    assert client.requests.to("/register", "POST") == [("POST", "/register", 201)]
    seen = gateway.requests()[before:]
    assert len(registrations(seen)) == 1
    managed = {entry["path"] for entry in seen if entry["path"].startswith("/register/")}
    assert managed == {f"/register/{registration.client_id}"}
    refused = [(entry["path"], entry["status"]) for entry in seen if entry["status"] >= 400]
    assert refused == [("/token", 400)], seen  # only the refresh after its revocation
    # Each request authenticated the registered way: Basic for client_secret_basic, the
    # secret in the form for client_secret_post, none at all for none; always client_id.
    endpoints = ("/token", "/revoke", "/introspect")
    calls = [entry for entry in seen if entry["path"] in endpoints]
    assert {entry["path"] for entry in calls} == set(endpoints)
    schemes = {entry["authorization"] for entry in calls}
    assert schemes == ({"Basic"} if method == "client_secret_basic" else {None})
    assert all("client_id" in entry["form"] for entry in calls)
    posted = {"client_secret" in entry["form"] for entry in calls}
    assert posted == {method == "client_secret_post"}


@pytest.mark.parametrize("method", METHODS)
def test_a_second_client_on_the_same_storage_registers_nothing(
    api: Flavour, gateway: Gateway, method: str
) -> None:
    """The stored registration (auth method not in the reply) fits the configuration, so a
    restarted client reuses it and its tokens."""
    storage = api.storage()
    settings: Json = {"storage": storage, "token_endpoint_auth_method": method}
    first = gateway_client(api, gateway, **settings)
    url: str = first.get_authorization_url()
    token: TokenResponse = first.exchange_code(approve(gateway, url))

    before = len(gateway.requests())
    second = gateway_client(api, gateway, **settings)
    registration: ClientRegistration = second.register()
    assert registration.client_id == first.register().client_id
    assert registration.token_endpoint_auth_method == method
    response: httpx.Response = second.authenticated_request("GET", f"{AUTH}/verify")
    assert response.status_code == 200
    refreshed: TokenResponse = second.refresh_token()
    assert refreshed.refresh_token == token.refresh_token
    assert registrations(gateway.requests()[before:]) == []
    assert second.requests.to("/register", "POST") == []


def test_auto_chooses_client_secret_basic(api: Flavour, gateway: Gateway) -> None:
    """``auto`` picks from the metadata, which lists no ``none``: the first secret method."""
    client = gateway_client(api, gateway, token_endpoint_auth_method="auto")
    registration: ClientRegistration = client.register()
    assert registration.token_endpoint_auth_method == "client_secret_basic"
    assert gateway_client(api, gateway).config.token_endpoint_auth_method == "client_secret_basic"


def test_the_resource_is_sent_and_ignored(api: Flavour, gateway: Gateway) -> None:
    """RFC 8707 ``resource`` goes to ``/authorize`` and ``/token``; the gateway ignores it and
    issues tokens for itself, which the client takes (it introspects them)."""
    resource = f"https://mcp.{DOMAIN}/mcp"
    client = gateway_client(
        api, gateway, resource=resource, token_endpoint_auth_method="client_secret_post"
    )
    url: str = client.get_authorization_url()
    assert query_of(url)["resource"] == resource
    token: TokenResponse = client.exchange_code(approve(gateway, url))
    assert jwt_claims(token.access_token)["aud"] == AUTH
    assert client.validate_token(token)["active"] is True
    refreshed: TokenResponse = client.refresh_token()
    assert jwt_claims(refreshed.access_token)["aud"] == AUTH
    assert [exchange.path for exchange in client.requests.exchanges] == [
        "/.well-known/oauth-authorization-server",
        "/register",
        "/token",
        "/introspect",
        "/token",
    ]


def test_removing_a_field_the_gateway_keeps_is_reported(api: Flavour, gateway: Gateway) -> None:
    """``update_client(field=None)``: the client sends the registration without the field, the
    gateway merges and keeps it (against RFC 7592 §2.2), and the client says so."""
    client = gateway_client(
        api, gateway, token_endpoint_auth_method="client_secret_post", client_uri="https://a.b/"
    )
    registration: ClientRegistration = client.register()
    assert registration.metadata["client_uri"] == "https://a.b/"  # echoed at registration,
    assert "client_uri" not in client.get_client_info()  # but not stored: the client agrees
    assert client.update_client(client_uri="https://a.b/")["client_uri"] == "https://a.b/"
    with pytest.raises(RegistrationError, match="client_uri") as kept:
        client.update_client(client_uri=None)
    assert "RFC 7592" in str(kept.value)
    info: Json = client.get_client_info()  # stored as the server holds it
    assert info["client_uri"] == "https://a.b/"
    assert client.register().client_id == registration.client_id
    assert client.requests.to("/register", "POST") == [("POST", "/register", 201)]


@pytest.mark.parametrize("how", ["deleted", "token refused"])
def test_a_registration_the_gateway_no_longer_accepts_is_replaced(
    api: Flavour, gateway: Gateway, how: str
) -> None:
    """RFC 7592 404 (deleted behind the client's back) and 403 (a registration access token
    refused), the gateway's "registration gone": reported once, then the registration and its
    tokens are forgotten and the next call registers afresh."""
    storage = api.storage()
    settings: Json = {"storage": storage, "token_endpoint_auth_method": "client_secret_post"}
    before_restart = gateway_client(api, gateway, **settings)
    first: ClientRegistration = before_restart.register()
    before_restart.exchange_code(approve(gateway, before_restart.get_authorization_url()))
    if how == "deleted":
        assert gateway.redis.delete(f"oauth:client:{first.client_id}") == 1  # the operator
        status = 404
    else:
        stored = before_restart.storage_proxy()
        key = f"registration:{AUTH}"
        kept: Json = stored.retrieve_token(key)
        kept["registration_access_token"] = "reg-stale"
        kept["metadata"]["registration_access_token"] = "reg-stale"
        stored.store_token(key, kept)
        status = 403

    client = gateway_client(api, gateway, **settings)  # the program restarted
    with pytest.raises(RegistrationError, match="registers anew") as gone:
        client.get_client_info()
    assert gone.value.status_code == status
    assert storage_keys(client) == []  # the registration and its token

    second: ClientRegistration = client.register()
    assert second.client_id != first.client_id
    assert client.get_client_info()["client_id"] == second.client_id
    assert client.requests.to("/register", "POST") == [("POST", "/register", 201)]


def storage_keys(client: ClientProxy) -> list[str]:
    """The keys in the client's storage."""
    keys: list[str] = client.storage_proxy().list_tokens()
    return keys
