"""The MCP authorization extensions' grants in the client (issue 15), against MockAuthServer.

Machine-to-machine client credentials from the MCP server's URL (SEP-1046: client_secret_basic
and private_key_jwt), workload identity's JWT-bearer grant with an assertion read fresh each
time (SEP-1933, RFC 7523 §2.1) and its errors (raised, never retried, never another grant),
enterprise-managed authorization across two servers (SEP-990: RFC 8693 token exchange at the
IdP for an ID-JAG, then the JWT-bearer grant), token exchange as a call, and the settings'
errors. Sync and async.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mcp_oauth_dynamicclient import (
    ConfigurationError,
    OAuth2Client,
    SyncOAuth2Client,
    TokenError,
)
from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.flavours import Flavour
from tests.test_mcp_auth import INITIALIZE, AsyncMcp, SyncMcp

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
WORKLOAD_ISSUER = "https://workload-idp.example"


def _pem(key: ec.EllipticCurvePrivateKey, public: bool = False) -> str:
    if public:
        return (
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture(scope="module")
def workload_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _workload_jwt(server: MockAuthServer, key: ec.EllipticCurvePrivateKey, **claims: Any) -> str:
    now = int(server.clock.now())
    body = {
        "iss": WORKLOAD_ISSUER,
        "sub": "workload-7",
        "aud": server.issuer,
        "iat": now,
        "exp": now + 300,
        "jti": secrets.token_urlsafe(8),
        **claims,
    }
    return jwt.encode(body, key, algorithm="ES256")


def _tokens(server: MockAuthServer) -> list[tuple[str | None, int | None]]:
    return [(r.param("grant_type"), r.status) for r in server.requests.filter("/token")]


# ------------------------------------------------------------ client credentials (SEP-1046)


def test_client_credentials_from_the_mcp_url_and_fetched_again_when_expired() -> None:
    with MockAuthServer() as server:
        info = server.create_client(
            {
                "grant_types": ["client_credentials"],
                "token_endpoint_auth_method": "client_secret_basic",
            }
        )
        with (
            SyncOAuth2Client(
                resource=server.resource_url,
                client_id=info.client_id,
                client_secret=info.client_secret,
                grant="client_credentials",
                clock=server.clock.now,
            ) as client,
            httpx.Client(auth=client.httpx_auth()) as http,  # no authorize step needed
        ):
            mcp = SyncMcp(http, server.resource_url)
            assert mcp.call("initialize", INITIALIZE).status_code == 200
            server.clock.advance(server.settings.access_token_lifetime + 1)
            assert mcp.call("ping").status_code == 200
        assert _tokens(server) == [("client_credentials", 200)] * 2
        assert server.requests.count("/authorize") == 0
        assert server.requests.filter("/token")[0].headers["authorization"].startswith("Basic ")


def test_async_client_credentials_with_private_key_jwt(
    workload_key: ec.EllipticCurvePrivateKey,
) -> None:
    public = jwt.algorithms.ECAlgorithm.to_jwk(workload_key.public_key(), as_dict=True)

    async def run(server: MockAuthServer, client_id: str) -> None:
        async with (
            OAuth2Client(
                resource=server.resource_url,
                client_id=client_id,
                private_key=_pem(workload_key),
                client_assertion_algorithm="ES256",
                token_endpoint_auth_method="private_key_jwt",
                grant="client_credentials",
            ) as client,
            httpx.AsyncClient(auth=client.httpx_auth()) as http,
        ):
            assert (
                await AsyncMcp(http, server.resource_url).call("initialize", INITIALIZE)
            ).status_code == 200
            held = client.current_token()
            assert held is not None
            assert await client.access_token() == held.access_token

    with MockAuthServer() as server:
        info = server.create_client(
            {
                "grant_types": ["client_credentials"],
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks": {"keys": [public]},
            }
        )
        asyncio.run(run(server, info.client_id))
        (request,) = server.requests.filter("/token")
        assert request.param("client_assertion_type") == (
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        )
        assert server.errors == []


# ------------------------------------------------------- workload identity (SEP-1933, WIF)


def test_jwt_bearer_reads_the_assertion_fresh_for_every_token(
    api: Flavour, workload_key: ec.EllipticCurvePrivateKey
) -> None:
    with MockAuthServer(
        jwt_bearer_issuers={WORKLOAD_ISSUER: _pem(workload_key, public=True)}
    ) as server:
        info = server.create_client(
            {"grant_types": [JWT_BEARER], "token_endpoint_auth_method": "none"}
        )
        issued: list[str] = []

        def read_workload_token() -> str:  # as from a file the platform rotates
            issued.append(_workload_jwt(server, workload_key))
            return issued[-1]

        client = api.client(
            resource=server.resource_url,
            client_id=info.client_id,
            grant="jwt_bearer",
            assertion=read_workload_token,
            clock=server.clock.now,
        )
        first = client.access_token()  # nothing stored: the grant runs
        assert client.access_token() == first  # held while valid
        server.clock.advance(server.settings.access_token_lifetime + 1)
        assert client.access_token() != first  # expired: a new assertion, a new token
        sent = [r.param("assertion") for r in server.requests.filter("/token")]
        assert sent == issued
        assert len(issued) == 2
        assert _tokens(server) == [(JWT_BEARER, 200)] * 2


def test_jwt_bearer_through_httpx_auth(workload_key: ec.EllipticCurvePrivateKey) -> None:
    with MockAuthServer(
        jwt_bearer_issuers={WORKLOAD_ISSUER: _pem(workload_key, public=True)}
    ) as server:
        with (
            SyncOAuth2Client(  # registers itself, with the JWT-bearer grant
                resource=server.resource_url,
                grant="jwt_bearer",
                assertion=lambda: _workload_jwt(server, workload_key),
            ) as client,
            httpx.Client(auth=client.httpx_auth()) as http,
        ):
            echoed = SyncMcp(http, server.resource_url).call("initialize", INITIALIZE)
        assert echoed.status_code == 200, echoed.text
        (registration,) = server.requests.filter("/register")
        assert JWT_BEARER in registration.json["grant_types"]
        assert _tokens(server) == [(JWT_BEARER, 200)]


@pytest.mark.parametrize(
    ("problem", "error_code"),
    [("scope", "invalid_scope"), ("audience", "invalid_grant"), ("expired", "invalid_grant")],
)
def test_a_refused_assertion_is_raised_never_retried_nor_replaced(
    problem: str, error_code: str, workload_key: ec.EllipticCurvePrivateKey
) -> None:
    with MockAuthServer(
        jwt_bearer_issuers={WORKLOAD_ISSUER: _pem(workload_key, public=True)},
        # the scope the resource's challenge asks for, refused by this grant
        grant_scope_errors={"mcp:read": "invalid_scope"} if problem == "scope" else {},
    ) as server:
        info = server.create_client(
            {"grant_types": [JWT_BEARER], "token_endpoint_auth_method": "none"}
        )
        faults: dict[str, dict[str, Any]] = {
            "audience": {"aud": "https://elsewhere.example"},
            "expired": {"exp": int(server.clock.now()) - 600},
        }
        claims = faults.get(problem, {})
        with (
            SyncOAuth2Client(
                resource=server.resource_url,
                client_id=info.client_id,
                grant="jwt_bearer",
                assertion=lambda: _workload_jwt(server, workload_key, **claims),
            ) as client,
            httpx.Client(auth=client.httpx_auth()) as http,
            pytest.raises(TokenError) as caught,
        ):
            SyncMcp(http, server.resource_url).call("initialize", INITIALIZE)
        assert caught.value.error_code == error_code
        assert _tokens(server) == [(JWT_BEARER, 400)]  # one request, one grant


# ------------------------------------------------ enterprise-managed authorization (SEP-990)


def _enterprise(idp: MockAuthServer, mcp_as: MockAuthServer) -> tuple[str, Callable[[], str]]:
    """One client ID known to both servers (the IdP maps its users' clients to it)."""
    client_id = idp.create_client(
        {"grant_types": [TOKEN_EXCHANGE], "token_endpoint_auth_method": "none"}
    ).client_id
    mcp_as.create_client(
        {"grant_types": [JWT_BEARER], "token_endpoint_auth_method": "none"}, client_id=client_id
    )
    return client_id, lambda: idp.issue_id_token(audience=client_id, sub="alice")


def test_enterprise_managed_authorization_end_to_end() -> None:
    with (
        MockAuthServer(token_exchange=True) as idp,
        MockAuthServer(jwt_bearer_issuers={idp.url: idp.jwks}) as mcp_as,
    ):
        client_id, id_token = _enterprise(idp, mcp_as)
        with (
            SyncOAuth2Client(
                auth_server=idp.url, client_id=client_id, token_endpoint_auth_method="none"
            ) as idp_client,
            SyncOAuth2Client(
                resource=mcp_as.resource_url,
                client_id=client_id,
                token_endpoint_auth_method="none",
                grant="jwt_bearer",
                idp=idp_client,
                id_token=id_token,
            ) as client,
            httpx.Client(auth=client.httpx_auth()) as http,
        ):
            response = SyncMcp(http, mcp_as.resource_url).call("initialize", INITIALIZE)
            assert response.status_code == 200, response.text
            held = client.current_token()
            assert held is not None
            info = client.introspect_token(held)
        assert info["sub"] == "alice"
        (exchange,) = idp.requests.filter("/token")
        assert exchange.param("grant_type") == TOKEN_EXCHANGE
        assert exchange.param("requested_token_type") == ("urn:ietf:params:oauth:token-type:id-jag")
        assert exchange.param("audience") == mcp_as.issuer
        assert exchange.param("resource") == mcp_as.resource_url
        assert _tokens(mcp_as) == [(JWT_BEARER, 200)]
        assert idp.errors == mcp_as.errors == []


def test_async_enterprise_with_an_async_id_token_source() -> None:
    async def run(idp: MockAuthServer, mcp_as: MockAuthServer) -> str:
        client_id, id_token = _enterprise(idp, mcp_as)

        async def current_id_token() -> str:
            return id_token()

        async with (
            OAuth2Client(
                auth_server=idp.url, client_id=client_id, token_endpoint_auth_method="none"
            ) as idp_client,
            OAuth2Client(
                resource=mcp_as.resource_url,
                client_id=client_id,
                token_endpoint_auth_method="none",
                grant="jwt_bearer",
                idp=idp_client,
                id_token=current_id_token,
            ) as client,
        ):
            return await client.access_token()

    with (
        MockAuthServer(token_exchange=True) as idp,
        MockAuthServer(jwt_bearer_issuers={idp.url: idp.jwks}) as mcp_as,
    ):
        assert asyncio.run(run(idp, mcp_as))
        assert _tokens(mcp_as) == [(JWT_BEARER, 200)]


def test_token_exchange_as_a_call(api: Flavour) -> None:
    with MockAuthServer(token_exchange=True) as server:
        info = server.create_client(
            {"grant_types": [TOKEN_EXCHANGE], "token_endpoint_auth_method": "none"}
        )
        subject = server.issue_token(info.client_id, scope="mcp:read mcp:write").access_token
        client = api.client(
            auth_server=server.url, client_id=info.client_id, token_endpoint_auth_method="none"
        )
        token = client.token_exchange(
            subject, ACCESS_TOKEN_TYPE, scope="mcp:read", resource=server.resource_url
        )
        assert token.issued_token_type == ACCESS_TOKEN_TYPE
        assert token.scope == "mcp:read"
        assert token.access_token != subject
        with pytest.raises(TokenError) as caught:
            client.token_exchange("not-a-token", ACCESS_TOKEN_TYPE)
        assert caught.value.error_code == "invalid_grant"
        assert "not-a-token" not in str(caught.value)


# ----------------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"grant": "password"}, "grant: expected one of"),
        ({"grant": "jwt_bearer"}, "give either assertion"),
        ({"assertion": "x.y.z"}, "assertion: used only with grant='jwt_bearer'"),
        ({"grant": "jwt_bearer", "assertion": 42}, "assertion: expected the JWT"),
        ({"grant": "jwt_bearer", "idp": object()}, "idp and id_token: give both"),
        (
            {"grant": "jwt_bearer", "assertion": "a.b.c", "idp": object(), "id_token": "t"},
            "give either assertion",
        ),
    ],
)
def test_bad_grant_settings_fail_at_construction(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        SyncOAuth2Client("https://as.example.com", **settings)
    assert "x.y.z" not in str(caught.value)


def test_a_blocking_client_refuses_an_async_assertion_source(
    workload_key: ec.EllipticCurvePrivateKey,
) -> None:
    async def source() -> str:
        return "a.b.c"

    trusted = {WORKLOAD_ISSUER: _pem(workload_key, public=True)}
    with MockAuthServer(jwt_bearer_issuers=trusted) as server:
        info = server.create_client(
            {"grant_types": [JWT_BEARER], "token_endpoint_auth_method": "none"}
        )
        with (
            SyncOAuth2Client(
                auth_server=server.url,
                client_id=info.client_id,
                grant="jwt_bearer",
                assertion=source,
            ) as client,
            pytest.raises(ConfigurationError, match="plain functions"),
        ):
            client.jwt_bearer_grant()
        assert server.requests.count("/token") == 0
