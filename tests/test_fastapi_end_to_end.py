"""Our own client against a FastAPI MCP server protected by ``BearerAuth``, over real HTTP.

The FastAPI app runs under uvicorn on a loopback port in a thread; ``MockAuthServer`` is its
authorization server. The client starts from the app's URL alone: the 401 challenge's
``resource_metadata`` leads it to the app's RFC 9728 metadata, that to the authorization
server; it registers, authorizes, and is let in. A route needing more scope answers 403
``insufficient_scope``, and the client steps up (MCP 2025-11-25 "Scope Challenge Handling").
The app checks tokens by introspection (``MockAuthServer``'s opaque tokens), or, with the
server's ``access_token_format="jwt"``, as RFC 9068 JWTs against the server's JWKS.
"""

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Annotated, Literal

import httpx
import pytest
import uvicorn
from fastapi import Depends, FastAPI

from mcp_oauth_dynamicclient import OAuth2Client, SyncOAuth2Client
from mcp_oauth_dynamicclient.fastapi import AccessToken, BearerAuth
from mcp_oauth_dynamicclient.testing import MockAuthServer, auto_approve
from tests.clients import REDIRECT

pytestmark = pytest.mark.anyio

Mode = Literal["jwt", "introspection"]


def mcp_app(base: str, server: MockAuthServer, mode: Mode = "introspection") -> FastAPI:
    """An MCP server at ``base``/mcp whose admin route needs ``mcp:admin`` on top; it shares
    the authorization server's clock, so the test can outwait its introspection cache."""
    auth = BearerAuth(
        issuer=server.issuer,
        resource=f"{base}/mcp",
        mode=mode,
        scopes=["mcp:read"],
        clock=server.clock.now,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await auth.aclose()

    app = FastAPI(lifespan=lifespan)
    app.include_router(auth.metadata_router())

    @app.get("/mcp")
    async def read(token: Annotated[AccessToken, Depends(auth)]) -> dict[str, str | None]:
        return {"sub": token.subject, "scope": " ".join(sorted(token.scopes))}

    @app.post("/mcp/admin")
    async def admin(
        token: Annotated[AccessToken, auth.require("mcp:admin")],
    ) -> dict[str, str | None]:
        return {"sub": token.subject, "scope": " ".join(sorted(token.scopes))}

    return app


@contextmanager
def serve(server: MockAuthServer, mode: Mode = "introspection") -> Iterator[str]:
    """The MCP app under uvicorn on a free loopback port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(
        mcp_app(base, server, mode), log_config=None, access_log=False, ws="none"
    )
    app_server = uvicorn.Server(config)
    thread = threading.Thread(target=app_server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not app_server.started:
        assert thread.is_alive(), "uvicorn stopped"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    # The authorization server must accept the app's URL as a resource indicator (RFC 8707).
    server.settings.resources = (f"{base}/mcp",)
    try:
        yield base
    finally:
        app_server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def server() -> Iterator[MockAuthServer]:
    with MockAuthServer(scopes=("mcp:read", "mcp:write", "mcp:admin")) as mock:
        yield mock
    assert mock.errors == []


def client_settings(base: str) -> dict[str, object]:
    return {
        "resource": f"{base}/mcp",
        "client_name": "MCP App",
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "none",
    }


async def test_discovery_from_the_401_and_step_up_on_403(server: MockAuthServer) -> None:
    with serve(server) as base:
        async with (
            OAuth2Client(**client_settings(base)) as client,  # type: ignore[arg-type]
            httpx.AsyncClient(auth=client.httpx_auth(authorize=auto_approve)) as http,
        ):
            first = await http.get(f"{base}/mcp")
            assert first.status_code == 200
            assert first.json() == {"sub": "test-user", "scope": "mcp:read"}
            assert client.issuer == server.issuer  # found from the app's metadata
            assert server.requests.count("/authorize") == 1

            admin = await http.post(f"{base}/mcp/admin")
            assert admin.status_code == 200
            assert admin.json() == {"sub": "test-user", "scope": "mcp:admin mcp:read"}
            assert server.requests.count("/authorize") == 2  # one step-up

            again = await http.post(f"{base}/mcp/admin")
            assert again.status_code == 200
            assert server.requests.count("/authorize") == 2  # the stepped-up token is kept
            token = client.current_token()
            assert token is not None
            assert token.scope is not None
            assert set(token.scope.split()) >= {"mcp:read", "mcp:admin"}
        # The app asked the authorization server about each new token it met.
        assert server.requests.count("/introspect", method="POST") == 2


def test_jwt_access_tokens_are_checked_against_the_servers_jwks() -> None:
    """MockAuthServer's RFC 9068 tokens (issue 14): the app verifies them itself, asking the
    authorization server only for its metadata and JWK Set, never to introspect."""
    with (
        MockAuthServer(scopes=("mcp:read", "mcp:admin"), access_token_format="jwt") as server,
        serve(server, "jwt") as base,
        SyncOAuth2Client(**client_settings(base)) as client,  # type: ignore[arg-type]
        httpx.Client(auth=client.httpx_auth(authorize=auto_approve)) as http,
    ):
        assert http.get(f"{base}/mcp").json() == {"sub": "test-user", "scope": "mcp:read"}
        assert http.post(f"{base}/mcp/admin").status_code == 200  # a step-up, a new JWT
        token = client.current_token()
        assert token is not None
        assert token.access_token.count(".") == 2
        assert server.requests.count("/introspect") == 0
        assert server.requests.count("/authorize") == 2
        assert server.errors == []


def test_the_blocking_client_steps_up_too(server: MockAuthServer) -> None:
    with (
        serve(server) as base,
        SyncOAuth2Client(**client_settings(base)) as client,  # type: ignore[arg-type]
        httpx.Client(auth=client.httpx_auth(authorize=auto_approve)) as http,
    ):
        assert http.get(f"{base}/mcp").status_code == 200
        assert http.post(f"{base}/mcp/admin").status_code == 200
        # First the 401 (no token), then the route's 403 for mcp:admin: two authorizations.
        assert server.requests.count("/authorize") == 2


async def test_the_401_asks_for_every_scope_the_route_needs(server: MockAuthServer) -> None:
    """A client whose first request is to the admin route is authorized once, for both."""
    with serve(server) as base:
        async with (
            OAuth2Client(**client_settings(base)) as client,  # type: ignore[arg-type]
            httpx.AsyncClient(auth=client.httpx_auth(authorize=auto_approve)) as http,
        ):
            response = await http.post(f"{base}/mcp/admin")
            assert response.status_code == 200
            assert response.json()["scope"] == "mcp:admin mcp:read"
            assert server.requests.count("/authorize") == 1


async def test_a_revoked_token_is_refused_once_the_cache_lapses(server: MockAuthServer) -> None:
    """The app's introspection cache (10 s by default) bounds how long revocation takes."""
    with serve(server) as base:
        async with OAuth2Client(**client_settings(base)) as client:  # type: ignore[arg-type]
            async with httpx.AsyncClient(auth=client.httpx_auth(authorize=auto_approve)) as http:
                assert (await http.get(f"{base}/mcp")).status_code == 200
            token = client.current_token()
            assert token is not None
            await client.revoke_token(token.access_token)
            async with httpx.AsyncClient() as plain:
                headers = {"Authorization": f"Bearer {token.access_token}"}
                cached = await plain.get(f"{base}/mcp", headers=headers)
                assert cached.status_code == 200  # still within the cache's 10 s
                server.clock.advance(11)
                refused = await plain.get(f"{base}/mcp", headers=headers)
                assert refused.status_code == 401
                assert 'error="invalid_token"' in refused.headers["www-authenticate"]
