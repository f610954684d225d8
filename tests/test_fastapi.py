"""``mcp_oauth_dynamicclient.fastapi``: a FastAPI MCP server's bearer check, against MockAuthServer.

Every test drives a real FastAPI app (over httpx's ASGI transport) whose ``BearerAuth`` talks
over HTTP to a real ``MockAuthServer``: its discovery, its JWK Set, its introspection endpoint.
``MockAuthServer`` issues opaque access tokens; the RFC 9068 JWT access tokens of the ``"jwt"``
mode are signed here with the server's own signing key, the one its ``jwks_uri`` publishes, as a
server issuing JWT access tokens would sign them. Each behaviour runs in both modes.
"""

import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated, Any

import httpx
import jwt
import pytest
from fastapi import Depends, FastAPI, Security

from mcp_oauth_dynamicclient import parse_bearer_challenge
from mcp_oauth_dynamicclient.exceptions import ConfigurationError, TokenError
from mcp_oauth_dynamicclient.fastapi import AccessToken, BearerAuth, Mode, TokenRefused
from mcp_oauth_dynamicclient.testing import MockAuthServer
from mcp_oauth_dynamicclient.testing._keys import signing_key

pytestmark = pytest.mark.anyio

RESOURCE = "http://127.0.0.1:8000/mcp"
OTHER = "http://127.0.0.1:8001/mcp"
PRM_URL = "http://127.0.0.1:8000/.well-known/oauth-protected-resource/mcp"
SCOPES = ("mcp:read", "mcp:write", "mcp:admin")


@pytest.fixture
def server() -> Iterator[MockAuthServer]:
    """An authorization server that serves our resource (and another) as RFC 8707 audiences."""
    with MockAuthServer(scopes=SCOPES, resources=(RESOURCE, OTHER)) as mock:
        yield mock
    assert mock.errors == []


@pytest.fixture
def client_id(server: MockAuthServer) -> str:
    """The MCP client tokens are issued to."""
    created = server.create_client({"redirect_uris": ["http://127.0.0.1/callback"]})
    return created.client_id


@pytest.fixture(params=["jwt", "introspection"])
def mode(request: pytest.FixtureRequest) -> Mode:
    value: Mode = request.param
    return value


Mint = Callable[..., str]


def jwt_access_token(server: MockAuthServer, **claims: Any) -> str:
    """An RFC 9068 access token signed with the server's key (the one at its ``jwks_uri``).

    ``claims`` override the defaults; a value of ``None`` drops the claim. ``_header`` updates
    the JOSE header.
    """
    key = signing_key()
    now = int(server.clock.now())
    header = {"kid": key.key_id, "typ": "at+jwt", **claims.pop("_header", {})}
    body: dict[str, Any] = {
        "iss": server.issuer,
        "sub": "test-user",
        "aud": RESOURCE,
        "client_id": "the-client",
        "iat": now,
        "exp": now + 3600,
        "jti": uuid.uuid4().hex,
        "scope": "mcp:read mcp:write",
        **claims,
    }
    body = {name: value for name, value in body.items() if value is not None}
    return jwt.encode(body, key._private_key, algorithm="RS256", headers=header)


@pytest.fixture
def mint(server: MockAuthServer, client_id: str, mode: Mode) -> Mint:
    """A token of the kind ``mode`` checks: ``mint(scope=..., resource=[...], lifetime=...)``."""

    def made(
        *,
        scope: str = "mcp:read mcp:write",
        resource: tuple[str, ...] = (RESOURCE,),
        lifetime: int = 3600,
    ) -> str:
        if mode == "introspection":
            issued = server.issue_token(
                client_id, scope=scope, resource=list(resource), lifetime=lifetime
            )
            return issued.access_token
        now = int(server.clock.now())
        aud: str | list[str] | None = (
            list(resource) if len(resource) > 1 else (resource[0] if resource else None)
        )
        return jwt_access_token(
            server, scope=scope, aud=aud, client_id=client_id, exp=now + lifetime
        )

    return made


def build_app(auth: BearerAuth) -> FastAPI:
    """An MCP server's routes: one needing the default scope, others a scope on top.

    (This module has no ``from __future__ import annotations``: with it, FastAPI would read
    ``Annotated[..., Depends(auth)]`` in the module's namespace, where ``auth`` is the fixture.)
    """
    app = FastAPI()
    app.include_router(auth.metadata_router())

    @app.get("/mcp")
    async def read(token: Annotated[AccessToken, Depends(auth)]) -> dict[str, Any]:
        return {"sub": token.subject, "client_id": token.client_id, "scopes": sorted(token.scopes)}

    @app.post("/mcp/admin")
    async def admin(token: Annotated[AccessToken, Security(auth, scopes=["mcp:admin"])]) -> str:
        return f"admin {token.subject}"

    @app.post("/mcp/write")
    async def write(token: Annotated[AccessToken, auth.require("mcp:write")]) -> str:
        return f"write {token.subject}"

    return app


def make_auth(server: MockAuthServer, mode: Mode, **settings: Any) -> BearerAuth:
    return BearerAuth(
        issuer=server.issuer,
        resource=RESOURCE,
        mode=mode,
        scopes=["mcp:read"],
        clock=server.clock.now,
        **settings,
    )


@pytest.fixture
async def auth(server: MockAuthServer, mode: Mode) -> AsyncIterator[BearerAuth]:
    made = make_auth(server, mode)
    yield made
    await made.aclose()


@pytest.fixture
async def http(auth: BearerAuth) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(auth))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def challenge_of(response: httpx.Response) -> Any:
    challenge = parse_bearer_challenge(response.headers.get_list("www-authenticate"))
    assert challenge is not None, response.headers
    return challenge


# ------------------------------------------------------------------------ accepted tokens


async def test_a_valid_token_reaches_the_route(
    http: httpx.AsyncClient, mint: Mint, client_id: str
) -> None:
    response = await http.get("/mcp", headers=bearer(mint()))
    assert response.status_code == 200
    assert response.json() == {
        "sub": "test-user",
        "client_id": client_id,
        "scopes": ["mcp:read", "mcp:write"],
    }


async def test_a_token_for_several_resources_including_this_one_is_accepted(
    http: httpx.AsyncClient, mint: Mint
) -> None:
    response = await http.get("/mcp", headers=bearer(mint(resource=(OTHER, RESOURCE))))
    assert response.status_code == 200


async def test_route_scopes_add_to_the_default_ones(http: httpx.AsyncClient, mint: Mint) -> None:
    token = mint(scope="mcp:read mcp:admin")
    assert (await http.post("/mcp/admin", headers=bearer(token))).json() == "admin test-user"
    response = await http.post("/mcp/write", headers=bearer(token))
    assert response.status_code == 403
    assert challenge_of(response).scope == "mcp:read mcp:write"


# ------------------------------------------------------------------------ refused requests


async def test_no_token_is_401_with_the_metadata_url_and_no_error_code(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/mcp")
    assert response.status_code == 401
    challenge = challenge_of(response)
    assert challenge.error is None  # RFC 6750 §3.1: no credentials, no error code
    assert challenge.resource_metadata == PRM_URL
    assert challenge.scope == "mcp:read"
    admin = challenge_of(await http.post("/mcp/admin"))
    assert admin.scope == "mcp:read mcp:admin"


async def test_another_authentication_scheme_is_answered_like_no_token(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/mcp", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert response.status_code == 401
    assert challenge_of(response).error is None


@pytest.mark.parametrize(
    "headers",
    [
        [("Authorization", "Bearer two words")],
        [("Authorization", "Bearer")],
        [("Authorization", 'Bearer a"b')],
        [("Authorization", "Bearer abc"), ("Authorization", "Bearer def")],
    ],
    ids=["spaces", "empty", "quote", "twice"],
)
async def test_a_malformed_authorization_header_is_400_invalid_request(
    http: httpx.AsyncClient, headers: list[tuple[str, str]]
) -> None:
    response = await http.get("/mcp", headers=headers)
    assert response.status_code == 400
    assert challenge_of(response).error == "invalid_request"


async def test_garbage_is_401_invalid_token(http: httpx.AsyncClient) -> None:
    response = await http.get("/mcp", headers=bearer("not-a-token-anyone-issued"))
    assert response.status_code == 401
    challenge = challenge_of(response)
    assert challenge.error == "invalid_token"
    assert challenge.resource_metadata == PRM_URL
    assert challenge.error_description


async def test_an_expired_token_is_401_invalid_token(
    http: httpx.AsyncClient, mint: Mint, server: MockAuthServer
) -> None:
    token = mint(lifetime=60)
    assert (await http.get("/mcp", headers=bearer(token))).status_code == 200
    server.clock.advance(60 + 31)  # past the lifetime and the 30 s leeway
    response = await http.get("/mcp", headers=bearer(token))
    assert response.status_code == 401
    assert challenge_of(response).error == "invalid_token"


@pytest.mark.parametrize("resource", [(OTHER,), ()], ids=["another", "none"])
async def test_a_token_for_another_audience_is_401_invalid_token(
    http: httpx.AsyncClient, mint: Mint, resource: tuple[str, ...]
) -> None:
    response = await http.get("/mcp", headers=bearer(mint(resource=resource)))
    assert response.status_code == 401
    challenge = challenge_of(response)
    assert challenge.error == "invalid_token"
    assert "audience" in (challenge.error_description or "") or "aud" in (
        challenge.error_description or ""
    )


async def test_a_token_short_of_scope_is_403_insufficient_scope_naming_all_needed(
    http: httpx.AsyncClient, mint: Mint
) -> None:
    response = await http.post("/mcp/admin", headers=bearer(mint(scope="mcp:read")))
    assert response.status_code == 403
    challenge = challenge_of(response)
    assert challenge.error == "insufficient_scope"
    assert challenge.scope == "mcp:read mcp:admin"
    assert challenge.resource_metadata == PRM_URL
    # The route's default scope is checked too.
    response = await http.get("/mcp", headers=bearer(mint(scope="mcp:write")))
    assert response.status_code == 403
    assert challenge_of(response).scope == "mcp:read"


# ------------------------------------------------------------------------ the metadata


async def test_the_protected_resource_metadata_names_the_authorization_server(
    http: httpx.AsyncClient, server: MockAuthServer
) -> None:
    response = await http.get("/.well-known/oauth-protected-resource/mcp")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.json() == {
        "resource": RESOURCE,
        "authorization_servers": [server.issuer],
        "bearer_methods_supported": ["header"],
        "scopes_supported": ["mcp:read"],
    }


async def test_the_metadata_lists_the_scopes_and_name_given(server: MockAuthServer) -> None:
    auth = BearerAuth(
        issuer=server.issuer,
        resource="https://mcp.example.com/",
        mode="introspection",
        scopes_supported=["mcp:read", "mcp:admin"],
        resource_name="Example MCP",
    )
    assert auth.metadata_path == "/.well-known/oauth-protected-resource"
    assert auth.metadata() == {
        "resource": "https://mcp.example.com/",
        "authorization_servers": [server.issuer],
        "bearer_methods_supported": ["header"],
        "scopes_supported": ["mcp:read", "mcp:admin"],
        "resource_name": "Example MCP",
    }
    await auth.aclose()


async def test_the_openapi_document_shows_the_bearer_scheme_and_route_scopes(
    auth: BearerAuth,
) -> None:
    document = build_app(auth).openapi()
    scheme = document["components"]["securitySchemes"]["BearerAuth"]
    assert scheme["type"] == "http"
    assert scheme["scheme"] == "bearer"
    assert document["paths"]["/mcp/admin"]["post"]["security"] == [{"BearerAuth": ["mcp:admin"]}]


# ----------------------------------------------------------------- the authorization server


async def test_an_unreachable_authorization_server_is_503_not_401(mode: Mode) -> None:
    with MockAuthServer() as gone:
        issuer = gone.issuer
    auth = BearerAuth(issuer=issuer, resource=RESOURCE, mode=mode)
    token = "eyJhbGciOiJSUzI1NiJ9.e30.c2ln" if mode == "jwt" else "opaque"
    transport = httpx.ASGITransport(app=build_app(auth))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
        response = await http.get("/mcp", headers=bearer(token))
    await auth.aclose()
    assert response.status_code == 503
    assert "www-authenticate" not in response.headers


async def test_introspection_answers_are_cached_for_the_ttl(
    server: MockAuthServer, client_id: str
) -> None:
    auth = make_auth(server, "introspection", introspection_cache_ttl=10)
    token = server.issue_token(client_id, resource=[RESOURCE]).access_token
    try:
        for _ in range(3):
            await auth.verify(token)
        with pytest.raises(TokenRefused):
            await auth.verify("garbage")
        with pytest.raises(TokenRefused):
            await auth.verify("garbage")
        assert server.requests.count("/introspect", method="POST") == 2
        server.clock.advance(11)
        await auth.verify(token)
        assert server.requests.count("/introspect", method="POST") == 3
    finally:
        await auth.aclose()


async def test_a_cached_introspection_answer_never_outlives_the_token(
    server: MockAuthServer, client_id: str
) -> None:
    auth = make_auth(server, "introspection", introspection_cache_ttl=3600, leeway=0)
    token = server.issue_token(client_id, resource=[RESOURCE], lifetime=5).access_token
    try:
        await auth.verify(token)
        server.clock.advance(6)
        with pytest.raises(TokenRefused, match=r"expired|not active"):
            await auth.verify(token)
    finally:
        await auth.aclose()


async def test_with_no_cache_every_request_is_introspected(
    server: MockAuthServer, client_id: str
) -> None:
    auth = make_auth(server, "introspection", introspection_cache_ttl=0)
    token = server.issue_token(client_id, resource=[RESOURCE]).access_token
    try:
        await auth.verify(token)
        await auth.verify(token)
        assert server.requests.count("/introspect", method="POST") == 2
    finally:
        await auth.aclose()


async def test_introspection_uses_given_client_credentials(
    server: MockAuthServer, client_id: str
) -> None:
    rs = server.create_client(
        {"grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_basic"}
    )
    auth = make_auth(
        server, "introspection", client_id=rs.client_id, client_secret=rs.client_secret
    )
    token = server.issue_token(client_id, resource=[RESOURCE]).access_token
    try:
        assert (await auth.verify(token)).client_id == client_id
        assert server.requests.count("/register") == 0
    finally:
        await auth.aclose()


async def test_the_jwk_set_is_cached_and_fetched_again_for_an_unknown_key(
    server: MockAuthServer,
) -> None:
    auth = make_auth(server, "jwt", jwks_cache_ttl=300, jwks_refresh_interval=30)
    try:
        for _ in range(3):
            await auth.verify(jwt_access_token(server))
        assert server.requests.count("/jwks") == 1
        rotated = jwt_access_token(server, _header={"kid": "rotated"})
        with pytest.raises(TokenRefused, match="no key in the JWK Set"):
            await auth.verify(rotated)
        assert server.requests.count("/jwks") == 1  # fetched moments ago: not again
        server.clock.advance(31)
        with pytest.raises(TokenRefused, match="no key in the JWK Set"):
            await auth.verify(rotated)
        assert server.requests.count("/jwks") == 2  # an unknown key, a while later: again
        await auth.verify(jwt_access_token(server))
        assert server.requests.count("/jwks") == 2
        server.clock.advance(300)
        await auth.verify(jwt_access_token(server))
        assert server.requests.count("/jwks") == 3  # stale
    finally:
        await auth.aclose()


@pytest.mark.parametrize(
    ("claims", "match"),
    [
        ({"iss": "https://elsewhere.example"}, "iss claim"),
        ({"_header": {"typ": "JWT"}}, r"at\+jwt"),
        ({"jti": None}, "jti claim is missing"),
        ({"iat": None}, "iat claim is missing"),
        ({"nbf": 10**10}, "not valid for another"),
    ],
)
async def test_jwt_mode_refuses_what_rfc_9068_refuses(
    server: MockAuthServer, claims: dict[str, Any], match: str
) -> None:
    auth = make_auth(server, "jwt")
    try:
        with pytest.raises(TokenRefused, match=match) as refused:
            await auth.verify(jwt_access_token(server, **claims))
        assert refused.value.error_code == "invalid_token"
        assert refused.value.status_code == 401
    finally:
        await auth.aclose()


async def test_jwt_mode_refuses_a_token_signed_by_another_key(
    server: MockAuthServer, rsa_key: Any
) -> None:
    now = int(time.time())
    claims = {"iss": server.issuer, "sub": "u", "aud": RESOURCE, "client_id": "c", "iat": now,
              "exp": now + 60, "jti": "j", "scope": "mcp:read"}  # fmt: skip
    forged = jwt.encode(
        claims, rsa_key, algorithm="RS256", headers={"kid": signing_key().key_id, "typ": "at+jwt"}
    )
    auth = make_auth(server, "jwt")
    try:
        with pytest.raises(TokenRefused, match="signature does not verify"):
            await auth.verify(forged)
    finally:
        await auth.aclose()


async def test_jwt_mode_refuses_an_opaque_token_without_asking_anyone(
    server: MockAuthServer, client_id: str
) -> None:
    auth = make_auth(server, "jwt")
    token = server.issue_token(client_id, resource=[RESOURCE]).access_token
    try:
        with pytest.raises(TokenRefused, match="not a JWT"):
            await auth.verify(token)
        assert server.requests.count("/introspect") == 0
    finally:
        await auth.aclose()


async def test_introspection_mode_refuses_an_answer_from_another_issuer(
    server: MockAuthServer, client_id: str
) -> None:
    auth = make_auth(server, "introspection")
    try:
        accepted = auth._judge("t", {"active": True, "aud": RESOURCE, "scope": "mcp:read"}, 0)
        assert accepted.scopes == {"mcp:read"}
        cases: list[tuple[dict[str, Any], str]] = [
            ({"active": True, "aud": RESOURCE, "iss": "https://x.example"}, "issued by"),
            ({"active": True, "aud": RESOURCE, "token_type": "DPoP"}, "not a bearer token"),
            ({"active": "true", "aud": RESOURCE}, "not active"),
            ({"active": True, "aud": RESOURCE, "nbf": 10**10}, "not valid yet"),
        ]
        for answer, match in cases:
            with pytest.raises(TokenRefused, match=match):
                auth._judge("t", answer, 0)
    finally:
        await auth.aclose()


# --------------------------------------------------------------------------- the settings


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({"mode": "magic"}, "mode"),
        ({"resource": "http://mcp.example.com/mcp"}, "https"),
        ({"resource": "https://mcp.example.com/mcp?x=1"}, "query"),
        ({"issuer": None}, "issuer: required"),
        ({"scopes": ["two words"]}, "scope token"),
        ({"introspection_cache_ttl": -1}, "introspection_cache_ttl"),
        ({"introspection_cache_size": True}, "introspection_cache_size"),
        ({"leeway": float("nan")}, "leeway"),
    ],
)
def test_bad_settings_are_configuration_errors(settings: dict[str, Any], match: str) -> None:
    values: dict[str, Any] = {"issuer": "https://auth.example.com", "resource": RESOURCE}
    with pytest.raises(ConfigurationError, match=match):
        BearerAuth(**{**values, **settings})


def test_the_refusal_is_a_token_error_and_the_repr_shows_no_secret() -> None:
    auth = BearerAuth(issuer="https://auth.example.com", resource=RESOURCE, mode="introspection")
    assert repr(auth) == (
        "BearerAuth(resource='http://127.0.0.1:8000/mcp', issuer='https://auth.example.com', "
        "mode='introspection')"
    )
    assert issubclass(TokenRefused, TokenError)
    token = AccessToken(
        token="s3cret", subject="u", client_id="c", scopes=frozenset(), audience=(),
        expires_at=None, claims={"x": "s3cret"},
    )  # fmt: skip
    assert "s3cret" not in repr(token)
