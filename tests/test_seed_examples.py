"""The product description's examples, run as written against MockAuthServer.

Each test body is the example from the seed (``Quick Start``, ``Client Configuration``, ``Error
Handling``, ``Retry Logic``, ``Custom Storage Backend``, ``Token Introspection``, ``Device
Authorization Flow``, ``Async Context Manager``) with only its placeholder URLs replaced by the
mock server's, and what the example leaves to a person (following the authorization URL,
approving the device) done by the test. Assertions come after the example's own code. The
``Token Management`` example runs in ``test_token_manager.py``; the FastAPI and CLI examples need
what this package does not ship (FastAPI, the CLI).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import weakref
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from mcp_oauth_dynamicclient import OAuth2Client, OAuth2Config, RetryConfig
from mcp_oauth_dynamicclient.exceptions import (
    AuthorizationError,
    NetworkError,
    RegistrationError,
    TokenError,
)
from mcp_oauth_dynamicclient.storage import TokenStorage
from mcp_oauth_dynamicclient.testing import MockAuthServer

pytestmark = pytest.mark.anyio


async def browse(auth_url: str) -> str:
    """What the person does: open the URL; the mock approves at once and redirects."""
    async with httpx.AsyncClient() as browser:
        response = await browser.get(auth_url)
    assert response.status_code == 302, response.text
    location: str = response.headers["location"]
    return location


def code_of(callback_url: str) -> str:
    return parse_qs(urlsplit(callback_url).query)["code"][0]


async def test_quick_start_basic_oauth_flow(
    server: MockAuthServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # Initialize client
    client = OAuth2Client(
        auth_server=server.url,
        client_name="My MCP Application",
        redirect_uris=["http://localhost:8080/callback"],
    )

    # Dynamic client registration
    registration = await client.register()
    print(f"Client ID: {registration.client_id}")

    # Start OAuth flow
    auth_url = await client.get_authorization_url(scope="mcp:read mcp:write")
    print(f"Visit: {auth_url}")

    # Exchange authorization code for token
    # (authorization_code obtained from callback)
    # The callback URL, whole: its state and iss are checked (RFC 6749 §10.12, RFC 9207).
    authorization_code = await browse(auth_url)
    token = await client.exchange_code(authorization_code)

    # Use token for authenticated requests
    response = await client.authenticated_request("GET", server.resource_url, token=token)

    assert response.status_code == 200
    assert response.json()["client_id"] == registration.client_id
    assert token.scope == "mcp:read mcp:write"
    out = capsys.readouterr().out
    assert f"Client ID: {registration.client_id}" in out
    assert "code_challenge_method=S256" in out
    await client.aclose()


async def test_client_configuration(server: MockAuthServer) -> None:
    # Create configuration
    config = OAuth2Config(
        auth_server=server.url,
        client_name="My Application",
        client_uri="https://myapp.com",
        tos_uri="https://myapp.com/terms",
        policy_uri="https://myapp.com/privacy",
        redirect_uris=["https://myapp.com/callback"],
        scope="mcp:read mcp:write",
        # PKCE configuration
        use_pkce=True,
        code_challenge_method="S256",
        # Token configuration
        token_endpoint_auth_method="client_secret_basic",
        # Client lifetime (0 = eternal)
        client_lifetime=7776000,  # 90 days
    )

    client = OAuth2Client(config=config)

    async with client:
        registration = await client.register()
        info = await client.get_client_info(registration.client_id)
        auth_url = await client.get_authorization_url()
    assert info["client_uri"] == "https://myapp.com"
    assert info["tos_uri"] == "https://myapp.com/terms"
    assert info["policy_uri"] == "https://myapp.com/privacy"
    assert info["token_endpoint_auth_method"] == "client_secret_basic"
    query = parse_qs(urlsplit(auth_url).query)
    assert query["scope"] == ["mcp:read mcp:write"]
    assert query["redirect_uri"] == ["https://myapp.com/callback"]


async def test_error_handling_examples(
    server: MockAuthServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # The seed passes a bare code: as most servers, this one sends no iss (RFC 9207), which
    # a bare code could not carry.
    server.settings.authorization_response_iss = False
    branches: list[str] = []
    async with OAuth2Client(
        auth_server=server.url,
        client_name="My MCP Application",
        redirect_uris=["http://localhost:8080/callback"],
        scope="mcp:unknown",
    ) as client:
        try:
            registration = await client.register()
        except RegistrationError as e:
            print(f"Registration failed: {e}")
            if e.error_code == "invalid_client_name":
                # Handle specific error
                pass
            branches.append(f"register: {e.error_code}")

    async with OAuth2Client(
        auth_server=server.url,
        client_name="My MCP Application",
        redirect_uris=["http://localhost:8080/callback"],
    ) as client:
        registration = await client.register()
        first = await browse(await client.get_authorization_url())
        token = await client.exchange_code(first)
        code = code_of(first)  # used already: the server refuses it the second time
        await client.get_authorization_url()

        try:
            token = await client.exchange_code(code)
        except AuthorizationError as e:
            if e.error_code == "invalid_grant":
                # Authorization code expired or invalid
                # Restart authorization flow
                branches.append("exchange_code: invalid_grant")

        refresh_token = token.refresh_token
        assert refresh_token is not None
        await client.revoke_token(refresh_token, "refresh_token")
        try:
            new_token = await client.refresh_token(refresh_token)
        except TokenError as e:
            if e.error_code == "invalid_grant":
                # Refresh token expired, need re-authorization
                branches.append("refresh_token: invalid_grant")

    assert registration.client_id
    assert branches == [
        "register: invalid_client_metadata",
        "exchange_code: invalid_grant",
        "refresh_token: invalid_grant",
    ]
    assert "Registration failed: " in capsys.readouterr().out
    assert "new_token" not in locals()


async def test_retry_logic(server: MockAuthServer) -> None:
    from mcp_oauth_dynamicclient.testing import Fault

    # Configure retry behavior
    retry_config = RetryConfig(
        max_retries=3,
        backoff_factor=2.0,
        retry_on_status=[502, 503, 504],
        retry_on_exceptions=[NetworkError],
    )

    client = OAuth2Client(auth_server=server.url, retry_config=retry_config)

    # Two 503s, then the real answer: the example's client rides them out.
    server.inject(Fault.server_error(503, retry_after=0), path="/.well-known/*", times=2)
    async with client:
        metadata = await client.discover()
    assert metadata.issuer == server.url
    assert server.requests.count("/.well-known/oauth-authorization-server") == 3


class _Database:
    """An async facade over sqlite3, the ``db_connection`` the example expects."""

    def __init__(self) -> None:
        self._db = sqlite3.connect(":memory:")
        # Closed with this facade: Python 3.13 warns about a connection left open (and the
        # suite turns warnings into errors).
        weakref.finalize(self, self._db.close)
        # The example INSERTs on every store; the key's conflict clause makes that a replace.
        self._db.execute(
            "CREATE TABLE tokens (key TEXT PRIMARY KEY ON CONFLICT REPLACE, data TEXT)"
        )

    async def execute(self, sql: str, params: tuple[Any, ...]) -> None:
        self._db.execute(sql, params)

    async def fetch_one(self, sql: str, params: tuple[Any, ...]) -> dict[str, Any] | None:
        row = self._db.execute(sql, params).fetchone()
        return None if row is None else {"data": row[0]}


class DatabaseStorage(TokenStorage):
    def __init__(self, db_connection: _Database) -> None:
        self.db = db_connection

    async def store_token(self, key: str, token: dict[str, Any]) -> None:
        await self.db.execute(
            "INSERT INTO tokens (key, data) VALUES (?, ?)", (key, json.dumps(token))
        )

    async def retrieve_token(self, key: str) -> dict[str, Any] | None:
        result = await self.db.fetch_one("SELECT data FROM tokens WHERE key = ?", (key,))
        return json.loads(result["data"]) if result else None


async def test_custom_storage_backend(server: MockAuthServer) -> None:
    db_connection = _Database()

    # Use custom storage
    storage = DatabaseStorage(db_connection)
    client = OAuth2Client(auth_server=server.url, storage=storage)

    async with client:
        registration = await client.register()
        token = await client.get_token()
        response = await client.authenticated_request("GET", server.resource_url)
    assert response.status_code == 200

    # A second client over the same database reuses what the first stored.
    async with OAuth2Client(auth_server=server.url, storage=storage) as again:
        assert (await again.register()).client_id == registration.client_id
        response = await again.authenticated_request("GET", server.resource_url)
    assert response.status_code == 200
    assert response.request.headers["authorization"] == f"Bearer {token.access_token}"
    assert server.requests.count("/register", method="POST") == 1
    assert server.requests.count("/token", method="POST") == 1


async def test_token_introspection(
    server: MockAuthServer, capsys: pytest.CaptureFixture[str]
) -> None:
    async with OAuth2Client(auth_server=server.url) as client:
        registration = await client.register()
        access_token = (await client.get_token()).access_token

        # Validate token and get metadata
        token_info = await client.introspect_token(access_token)

        if token_info["active"]:
            print(f"Token valid until: {token_info['exp']}")
            print(f"Scopes: {token_info['scope']}")
            print(f"Client: {token_info['client_id']}")
        else:
            print("Token is invalid or expired")

    out = capsys.readouterr().out
    assert f"Client: {registration.client_id}" in out
    assert "Scopes: mcp:read" in out


async def test_device_authorization_flow(
    server: MockAuthServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.settings.device_interval = 1
    async with OAuth2Client(auth_server=server.url, client_name="My Device") as client:
        # Start device flow
        device_auth = await client.start_device_authorization(scope="mcp:read")

        print(f"Visit: {device_auth['verification_uri']}")
        print(f"Code: {device_auth['user_code']}")

        # The person approves on another device while the client polls.
        asyncio.get_running_loop().call_later(1.2, server.approve, device_auth["user_code"])

        # Poll for completion
        token = await client.poll_device_authorization(device_code=device_auth["device_code"])

    assert token.access_token
    assert token.scope == "mcp:read"
    assert f"Code: {device_auth['user_code']}" in capsys.readouterr().out


async def test_async_context_manager(server: MockAuthServer) -> None:
    async with OAuth2Client(auth_server=server.url) as client:
        # Client automatically handles cleanup
        registration = await client.register()
        token = await client.get_token()

        # Make authenticated requests
        response = await client.authenticated_request("GET", server.resource_url)
    # Client and connections automatically closed

    assert response.status_code == 200
    assert response.json()["client_id"] == registration.client_id
    assert response.request.headers["authorization"] == f"Bearer {token.access_token}"
