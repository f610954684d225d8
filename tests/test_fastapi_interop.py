"""``BearerAuth`` in ``"jwt"`` mode against real RFC 9068 tokens of a third-party server.

oidc-provider (see ``tests/interop/OIDC_PROVIDER.md``) issues JWT access tokens signed with the
keys at its ``jwks_uri``; our client gets one through its real login and consent pages, and a
FastAPI app checks it with nothing but the issuer's URL: discovery, the JWK Set, the
signature, ``aud`` (RFC 8707) and the scopes.
"""

from collections.abc import Iterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI

from mcp_oauth_dynamicclient import OAuth2Client
from mcp_oauth_dynamicclient.fastapi import AccessToken, BearerAuth
from tests.clients import REDIRECT
from tests.interop.oidc_provider_server import OidcProvider, run_oidc_provider

pytestmark = [pytest.mark.anyio, pytest.mark.interop]


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with run_oidc_provider(access_token_format="jwt") as server:
        yield server


async def jwt_token(provider: OidcProvider, scope: str) -> str:
    """An access token from the authorization code flow, through the server's own pages."""
    async with OAuth2Client(
        auth_server=provider.issuer,
        resource=provider.default_resource,
        client_name="Interop App",
        redirect_uris=[REDIRECT],
    ) as client:
        url = await client.get_authorization_url(scope=scope)
        with httpx.Client(timeout=10.0) as browser:
            callback = provider.authorize(browser, url)
        return (await client.exchange_code(callback)).access_token


def app_of(auth: BearerAuth) -> FastAPI:
    app = FastAPI()
    app.include_router(auth.metadata_router())

    @app.get("/mcp")
    async def read(token: Annotated[AccessToken, Depends(auth)]) -> dict[str, Any]:
        return {"sub": token.subject, "scopes": sorted(token.scopes)}

    @app.post("/mcp/admin")
    async def admin(token: Annotated[AccessToken, auth.require("mcp:admin")]) -> str:
        return "admin"

    return app


async def call(auth: BearerAuth, method: str, path: str, token: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app_of(auth))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        return await http.request(method, path, headers={"Authorization": f"Bearer {token}"})


async def test_oidc_provider_jwt_access_tokens(provider: OidcProvider) -> None:
    token = await jwt_token(provider, "mcp:read")
    auth = BearerAuth(
        issuer=provider.issuer, resource=provider.default_resource, scopes=["mcp:read"]
    )
    elsewhere = BearerAuth(issuer=provider.issuer, resource=provider.url("/other"))
    try:
        accepted = await call(auth, "GET", "/mcp", token)
        assert accepted.status_code == 200
        assert accepted.json() == {"sub": "test-user", "scopes": ["mcp:read"]}

        short = await call(auth, "POST", "/mcp/admin", token)
        assert short.status_code == 403
        assert 'error="insufficient_scope"' in short.headers["www-authenticate"]
        assert 'scope="mcp:read mcp:admin"' in short.headers["www-authenticate"]

        other = await call(elsewhere, "GET", "/mcp", token)
        assert other.status_code == 401
        assert 'error="invalid_token"' in other.headers["www-authenticate"]
    finally:
        await auth.aclose()
        await elsewhere.aclose()
