"""TokenManager: fresh tokens, one refresh however many callers, nothing lost on failures.

Counted at MockAuthServer with refresh token rotation on: a second refresh with the rotated-out
token would be ``invalid_grant`` and revoke the grant, so "exactly one refresh" is what keeps a
busy client logged in.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import httpx
import pytest

from mcp_oauth_dynamicclient import (
    AuthorizationError,
    ConfigurationError,
    NetworkError,
    OAuth2Client,
    SyncOAuth2Client,
    TokenError,
    TokenManager,
    TokenResponse,
)
from mcp_oauth_dynamicclient.storage import MemoryStorage, TokenStorage
from mcp_oauth_dynamicclient.testing import Fault, MockAuthServer
from tests.clients import REDIRECT, authorize, make
from tests.flavours import ClientProxy, Flavour


def expire(server: MockAuthServer) -> None:
    """Move the shared clock past the access token's lifetime (3600 s)."""
    server.clock.advance(3601)


def token_requests(server: MockAuthServer) -> int:
    return server.requests.count("/token", method="POST")


# ------------------------------------------------------------------------- the seed's API


@pytest.mark.anyio
async def test_the_seed_token_manager_example() -> None:
    manager = TokenManager(storage_type="memory", storage_config={})
    soon = time.time() + 30
    stored = await manager.store_token(
        "client_id", {"access_token": "at", "refresh_token": "rt", "expires_at": soon}
    )
    assert stored.expires_at == soon
    assert manager.is_expired(stored)  # within the 60 s skew
    assert not manager.is_expired(stored, skew=0)
    assert await manager.list_tokens() == ["client_id"]
    with pytest.raises(ConfigurationError, match="client="):
        await manager.get_valid_token("client_id")  # expiring, and nothing to refresh with
    with pytest.raises(TokenError, match="no token yet"):
        await manager.get_valid_token("other")


def test_bad_manager_settings() -> None:
    with pytest.raises(ConfigurationError, match="storage_type"):
        TokenManager(storage_type="sqlite")
    with pytest.raises(ConfigurationError, match="give one"):
        TokenManager(MemoryStorage(), storage_type="memory")
    with pytest.raises(ConfigurationError, match="skew"):
        TokenManager(skew=-1)


@pytest.mark.anyio
async def test_a_bad_stored_token_is_a_token_error() -> None:
    storage = MemoryStorage()
    await storage.store_token("k", {"access_token": 42})
    with pytest.raises(TokenError, match=r"unreadable.*\$\.access_token"):
        await TokenManager(storage).get_valid_token("k")
    assert await storage.retrieve_token("k") == {"access_token": 42}  # left alone


# -------------------------------------------------------------------------- single-flight


@pytest.mark.anyio
async def test_200_tasks_share_one_refresh(server: MockAuthServer) -> None:
    async with OAuth2Client(
        server.url, redirect_uris=[REDIRECT], resource=server.resource_url, clock=server.clock.now
    ) as client:
        url = await client.get_authorization_url()
        async with httpx.AsyncClient() as browser:
            callback = (await browser.get(url)).headers["location"]
        first = await client.exchange_code(callback)
        expire(server)

        responses = await asyncio.gather(
            *(client.authenticated_request("GET", server.resource_url) for _ in range(200))
        )

    assert {r.status_code for r in responses} == {200}
    assert token_requests(server) == 2  # the code exchange and one refresh
    stored = await client.tokens.get_token(await client._current_key())
    assert stored is not None
    assert stored.refresh_token != first.refresh_token


def test_50_threads_share_one_refresh(server: MockAuthServer) -> None:
    with SyncOAuth2Client(
        server.url, redirect_uris=[REDIRECT], resource=server.resource_url, clock=server.clock.now
    ) as client:
        client.exchange_code(follow_sync(client.get_authorization_url()))
        expire(server)
        statuses: list[int] = []
        barrier = threading.Barrier(50)

        def call() -> None:
            barrier.wait()
            statuses.append(client.authenticated_request("GET", server.resource_url).status_code)

        threads = [threading.Thread(target=call) for _ in range(50)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert statuses == [200] * 50
    assert token_requests(server) == 2


def follow_sync(url: str) -> str:
    location: str = httpx.get(url).headers["location"]
    return location


def test_clients_sharing_a_storage_refresh_once(api: Flavour, server: MockAuthServer) -> None:
    storage = api.storage()
    first = make(api, server, storage=storage)
    authorize(first)
    second = make(api, server, storage=storage)
    expire(server)

    assert first.authenticated_request("GET", server.resource_url).status_code == 200
    assert second.authenticated_request("GET", server.resource_url).status_code == 200
    assert token_requests(server) == 2  # the second found the first's fresh token


def test_a_restarted_client_refreshes_a_reloaded_token_on_time(
    api: Flavour, server: MockAuthServer
) -> None:
    storage = api.storage()
    authorize(make(api, server, storage=storage))
    server.clock.advance(1800)
    restarted = make(api, server, storage=storage)
    assert restarted.authenticated_request("GET", server.resource_url).status_code == 200
    assert token_requests(server) == 1  # still valid: no refresh

    server.clock.advance(1800 - 30)  # inside the skew of the absolute expires_at
    assert restarted.authenticated_request("GET", server.resource_url).status_code == 200
    assert token_requests(server) == 2


def test_no_lock_is_held_while_a_request_is_in_flight(api: Flavour, server: MockAuthServer) -> None:
    client = make(api, server)
    authorize(client)
    server.inject(Fault.latency(0.5), path="/mcp", times=None)

    async def together() -> list[int]:
        calls = [client.client.authenticated_request("GET", server.resource_url) for _ in range(8)]
        return [r.status_code for r in await asyncio.gather(*calls)]

    def threaded() -> list[int]:
        results: list[int] = []
        threads = [
            threading.Thread(
                target=lambda: results.append(
                    client.authenticated_request("GET", server.resource_url).status_code
                )
            )
            for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return results

    start = time.perf_counter()
    statuses = api.run(together) if api.is_async else threaded()
    elapsed = time.perf_counter() - start
    assert statuses == [200] * 8
    assert elapsed < 8 * 0.5 / 2  # concurrent, not one after another


# ----------------------------------------------------------------------------- failures


def test_invalid_grant_removes_the_token(api: Flavour, server: MockAuthServer) -> None:
    client = make(api, server)
    token = authorize(client)
    registration = client.register()
    # The grant is revoked behind the client's back (say, by the user in the server's UI).
    httpx.post(
        server.url + "/revoke",
        data={"token": token.refresh_token, "token_type_hint": "refresh_token"},
        auth=(registration.client_id, registration.client_secret),
    ).raise_for_status()
    expire(server)

    with pytest.raises(TokenError) as caught:
        client.authenticated_request("GET", server.resource_url)
    assert caught.value.error_code == "invalid_grant"
    assert stored_token(api, client) is None
    with pytest.raises(TokenError, match="no token yet"):
        client.authenticated_request("GET", server.resource_url)


def test_a_network_failure_during_refresh_keeps_the_token(
    api: Flavour, server: MockAuthServer
) -> None:
    storage = api.storage()
    client = make(api, server, storage=storage)
    token = authorize(client)
    expire(server)
    server.inject(Fault.drop_connection(), path="/token")

    with pytest.raises(NetworkError):
        client.authenticated_request("GET", server.resource_url)
    kept = stored_token(api, client)
    assert kept is not None
    assert kept.refresh_token == token.refresh_token
    assert client.authenticated_request("GET", server.resource_url).status_code == 200


def stored_token(api: Flavour, client: ClientProxy) -> TokenResponse | None:
    """The token the client keeps in its storage."""
    tokens = ClientProxy(client.client.tokens, api.portal)
    key = ClientProxy(client.client, api.portal)._current_key()
    found: Any = tokens.get_token(key)
    return found if isinstance(found, TokenResponse) or found is None else None


class SeedDatabaseStorage(TokenStorage):
    """The seed's "Custom Storage Backend": only store_token and retrieve_token."""

    def __init__(self) -> None:
        self.rows: dict[str, str] = {}

    async def store_token(self, key: str, token: dict[str, Any]) -> None:
        self.rows[key] = json.dumps(token)

    async def retrieve_token(self, key: str) -> dict[str, Any] | None:
        row = self.rows.get(key)
        loaded: dict[str, Any] | None = json.loads(row) if row is not None else None
        return loaded


@pytest.mark.anyio
async def test_a_custom_storage_with_two_methods_runs_the_whole_flow(
    server: MockAuthServer,
) -> None:
    storage = SeedDatabaseStorage()
    async with OAuth2Client(
        server.url, redirect_uris=[REDIRECT], resource=server.resource_url, storage=storage
    ) as client:
        url = await client.get_authorization_url()
        async with httpx.AsyncClient() as browser:
            callback = (await browser.get(url)).headers["location"]
        await client.exchange_code(callback)
        with pytest.raises(AuthorizationError) as replayed:  # used once, even without delete
            await client.exchange_code(callback)
        assert replayed.value.error_code == "invalid_state"
        response = await client.authenticated_request("GET", server.resource_url)
    assert response.status_code == 200
    pending = [key for key in storage.rows if key.startswith("pending:")]
    assert [json.loads(storage.rows[key]) for key in pending] == [{}]  # the tombstone
