"""``TokenManager.refresh_token(key, stale)``: no second refresh for a token already replaced
(issue 12, item 17).

A caller whose token was refused (a 401) asks for a refresh naming the token it holds,
``stale``. If another caller (a task, a thread, another client on the same storage) has
refreshed in the meantime, the stored token is no longer ``stale``: that fresh token is
handed back and nothing is sent, since with rotation (OAuth 2.1 §4.3.1) a second refresh
would spend the new refresh token for nothing. A mutation test found that no test noticed if
this check went. Refreshes are counted at MockAuthServer (rotation on), sync and async.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from mcp_oauth_dynamicclient import ConfigurationError, TokenError, TokenManager, TokenResponse
from mcp_oauth_dynamicclient.exceptions import StorageError
from mcp_oauth_dynamicclient.storage import FileStorage, MemoryStorage, RedisStorage
from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.clients import authorize, make
from tests.flavours import ClientProxy, Flavour


def refreshes(server: MockAuthServer) -> int:
    """Refresh grants the server received."""
    return sum(
        1
        for request in server.requests.filter("/token", method="POST")
        if request.param("grant_type") == "refresh_token"
    )


def manager_of(api: Flavour, client: ClientProxy) -> ClientProxy:
    """The client's ``TokenManager`` (``SyncTokenManager``), its calls blocking."""
    return ClientProxy(client.client.tokens, api.portal)


def key_of(client: ClientProxy) -> str:
    key: str = client._current_key()
    return key


def stored(api: Flavour, client: ClientProxy) -> TokenResponse:
    token = manager_of(api, client).get_token(key_of(client))
    assert isinstance(token, TokenResponse)
    return token


# ------------------------------------------------------------------------- one client


def test_a_stale_token_gets_the_fresh_one_without_a_second_refresh(
    api: Flavour, server: MockAuthServer
) -> None:
    client = make(api, server)
    stale = authorize(client)
    fresh = client.refresh_token()  # another caller refreshed first
    assert refreshes(server) == 1
    assert fresh.access_token != stale.access_token

    handed = manager_of(api, client).refresh_token(key_of(client), stale)
    assert handed.access_token == fresh.access_token
    assert handed.refresh_token == fresh.refresh_token
    assert refreshes(server) == 1  # nothing sent
    assert client.authenticated_request("GET", server.resource_url).status_code == 200


def test_the_current_token_named_as_stale_is_refreshed_once(
    api: Flavour, server: MockAuthServer
) -> None:
    """A token that is still valid but refused (say, revoked early) is refreshed when the
    caller names it: ``force`` is what ``refresh_token`` is for."""
    client = make(api, server)
    current = authorize(client)
    manager = manager_of(api, client)
    renewed = manager.refresh_token(key_of(client), current)
    assert refreshes(server) == 1
    assert renewed.access_token != current.access_token
    assert stored(api, client).access_token == renewed.access_token
    # Asked again with the old one: the renewed token comes back, not a third.
    assert manager.refresh_token(key_of(client), current).access_token == renewed.access_token
    assert refreshes(server) == 1


def test_without_a_stale_token_the_stored_one_is_refreshed(
    api: Flavour, server: MockAuthServer
) -> None:
    client = make(api, server)
    first = authorize(client)
    renewed = manager_of(api, client).refresh_token(key_of(client))
    assert refreshes(server) == 1
    assert renewed.access_token != first.access_token
    assert stored(api, client).refresh_token == renewed.refresh_token


def test_a_replacement_that_has_expired_too_is_refreshed(
    api: Flavour, server: MockAuthServer
) -> None:
    """The stored token differs from ``stale`` but is itself expiring: it is no answer."""
    client = make(api, server)
    stale = authorize(client)
    replaced = client.refresh_token()
    server.clock.advance(3600 - 30)  # inside the 60 s skew of the replacement's expiry
    renewed = manager_of(api, client).refresh_token(key_of(client), stale)
    assert refreshes(server) == 2
    assert renewed.access_token not in {stale.access_token, replaced.access_token}


def test_nothing_stored_and_nothing_named_is_a_token_error(
    api: Flavour, server: MockAuthServer
) -> None:
    client = make(api, server)
    client.register()
    with pytest.raises(TokenError, match="no token stored under"):
        manager_of(api, client).refresh_token(key_of(client))
    assert refreshes(server) == 0


# -------------------------------------------------------- clients sharing one storage


def test_a_client_on_the_same_storage_gets_the_other_clients_refresh(
    api: Flavour, server: MockAuthServer
) -> None:
    storage = api.storage()
    first = make(api, server, storage=storage)
    stale = authorize(first)
    second = make(api, server, storage=storage)
    assert second.authenticated_request("GET", server.resource_url).status_code == 200

    fresh = first.refresh_token()
    handed = manager_of(api, second).refresh_token(key_of(second), stale)
    assert handed.access_token == fresh.access_token
    assert refreshes(server) == 1
    # The second client's own manager now holds it too: its next request sends no refresh.
    assert second.authenticated_request("GET", server.resource_url).status_code == 200
    assert refreshes(server) == 1


# --------------------------------------------------------- the manager on its own terms


class Counting:
    """A ``Refresher`` that answers every refresh grant itself, counting them."""

    def __init__(self, *, lifetime: int = 3600) -> None:
        self.calls = 0
        self.lifetime = lifetime

    async def refresh_grant(self, token: TokenResponse) -> TokenResponse:
        self.calls += 1
        return TokenResponse.from_dict(
            {
                "access_token": f"at-{self.calls}",
                "token_type": "Bearer",
                "expires_in": self.lifetime,
                "refresh_token": f"rt-{self.calls}",
            },
            now=NOW,
        )


NOW = 1_000_000.0


def _token(access: str, *, expires_at: float, refresh: str | None = "rt-0") -> dict[str, Any]:
    token: dict[str, Any] = {"access_token": access, "token_type": "Bearer"}
    token["expires_at"] = expires_at
    if refresh is not None:
        token["refresh_token"] = refresh
    return token


@pytest.mark.anyio
async def test_a_manager_hands_back_a_token_another_manager_stored() -> None:
    storage = MemoryStorage()
    refresher = Counting()
    one = TokenManager(storage, client=refresher, clock=lambda: NOW)
    other = TokenManager(storage, client=refresher, clock=lambda: NOW)
    stale = await one.store_token("k", _token("at-0", expires_at=NOW + 10))
    fresh = await other.refresh_token("k", stale)
    assert (fresh.access_token, refresher.calls) == ("at-1", 1)
    assert (await one.refresh_token("k", stale)).access_token == "at-1"
    assert refresher.calls == 1
    assert (await one.get_valid_token("k")).access_token == "at-1"  # one's cache is current


@pytest.mark.anyio
async def test_an_expired_token_without_a_refresh_token_cannot_be_refreshed() -> None:
    refresher = Counting()
    manager = TokenManager(MemoryStorage(), client=refresher, clock=lambda: NOW)
    await manager.store_token("k", _token("at-0", expires_at=NOW - 1, refresh=None))
    with pytest.raises(TokenError, match="no refresh token") as caught:
        await manager.get_valid_token("k")
    assert caught.value.error_code == "invalid_grant"
    assert refresher.calls == 0


@pytest.mark.anyio
async def test_a_manager_without_a_refresher_says_how_to_get_one() -> None:
    manager = TokenManager(MemoryStorage(), clock=lambda: NOW)
    stale = await manager.store_token("k", _token("at-0", expires_at=NOW + 3600))
    with pytest.raises(ConfigurationError, match="client=OAuth2Client"):
        await manager.refresh_token("k", stale)


@pytest.mark.anyio
async def test_get_valid_token_refreshes_only_inside_the_skew() -> None:
    refresher = Counting()
    now = [NOW]
    manager = TokenManager(MemoryStorage(), client=refresher, skew=60, clock=lambda: now[0])
    await manager.store_token("k", _token("at-0", expires_at=NOW + 61))
    assert (await manager.get_valid_token("k")).access_token == "at-0"
    assert manager.held_token("k") is not None
    now[0] += 1  # exactly at the skew: expiring
    assert manager.held_token("k") is None
    assert (await manager.get_valid_token("k")).access_token == "at-1"
    assert (await manager.get_valid_token("k")).access_token == "at-1"
    assert refresher.calls == 1


# ---------------------------------------- what mutation testing found unguarded (item 17)

KEY = "token:https://as.example:client-1"


class Gated(Counting):
    """A ``Refresher`` whose refresh waits for ``gate`` (set by the test) before answering."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = anyio.Event()
        self.entered = anyio.Event()
        self.given: list[TokenResponse] = []

    async def refresh_grant(self, token: TokenResponse) -> TokenResponse:
        self.given.append(token)
        self.entered.set()
        await self.gate.wait()
        return await super().refresh_grant(token)


class Refusing:
    """A ``Refresher`` whose every refresh grant is refused with ``error``."""

    def __init__(self, error: TokenError) -> None:
        self.error = error

    async def refresh_grant(self, token: TokenResponse) -> TokenResponse:
        raise self.error


class Watched(MemoryStorage):
    """A MemoryStorage that counts reads and storage-lock entries, and can be made to fail."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.lock_entries = 0
        self.waiting = anyio.Event()
        self.broken = False
        self.vanish_after: int | None = None

    async def retrieve_token(self, key: str) -> dict[str, Any] | None:
        self.reads += 1
        if self.broken:
            raise StorageError("the storage is down")
        if self.vanish_after is not None and self.reads > self.vanish_after:
            return None
        return await super().retrieve_token(key)

    @contextlib.asynccontextmanager
    async def lock(self, key: str, *, timeout: float = 30.0) -> AsyncIterator[None]:
        self.lock_entries += 1
        if self.lock_entries > 1:
            self.waiting.set()  # a second caller is at the storage lock
        async with super().lock(key, timeout=timeout):
            yield


@pytest.mark.anyio
async def test_callers_in_one_process_take_the_storage_lock_once() -> None:
    """Waiters queue on the in-process lock, re-read, and find the fresh token there: only
    the one that refreshes takes the storage's (cross-process) lock."""
    storage = Watched()
    refresher = Gated()
    manager = TokenManager(storage, client=refresher, clock=lambda: NOW)
    await manager.store_token(KEY, _token("at-0", expires_at=NOW - 1))
    results: list[str] = []

    async def call() -> None:
        results.append((await manager.get_valid_token(KEY)).access_token)

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            for _ in range(10):
                group.start_soon(call)
            await refresher.entered.wait()
            await anyio.sleep(0.05)  # let the nine others queue
            refresher.gate.set()
    assert results == ["at-1"] * 10
    assert refresher.calls == 1
    assert storage.lock_entries == 1


@pytest.mark.anyio
async def test_a_refresh_made_while_waiting_for_the_storage_lock_is_used() -> None:
    """Two managers on one storage, as two processes: the second finds the token expired,
    waits at the storage lock while the first refreshes, then uses the first's token."""
    storage = Watched()
    refresher = Gated()
    first = TokenManager(storage, client=refresher, clock=lambda: NOW)
    second = TokenManager(storage, client=refresher, clock=lambda: NOW)
    await first.store_token(KEY, _token("at-0", expires_at=NOW - 1))
    got: dict[str, str] = {}

    async def call(name: str, manager: TokenManager) -> None:
        got[name] = (await manager.get_valid_token(KEY)).access_token

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(call, "first", first)
            await refresher.entered.wait()
            group.start_soon(call, "second", second)
            await storage.waiting.wait()
            refresher.gate.set()
    assert got == {"first": "at-1", "second": "at-1"}
    assert refresher.calls == 1


@pytest.mark.anyio
async def test_refreshes_of_two_keys_do_not_wait_for_each_other() -> None:
    """The locks are per key: one slow refresh does not hold up another client's."""
    waits_for_b = anyio.Event()

    class Crossed(Counting):
        async def refresh_grant(self, token: TokenResponse) -> TokenResponse:
            if token.access_token == "a-0":
                await waits_for_b.wait()  # deadlocks if b's refresh waits for a's lock
            else:
                waits_for_b.set()
            return await super().refresh_grant(token)

    manager = TokenManager(MemoryStorage(), client=Crossed(), clock=lambda: NOW)
    await manager.store_token("token:https://as.example:a", _token("a-0", expires_at=NOW - 1))
    await manager.store_token("token:https://as.example:b", _token("b-0", expires_at=NOW - 1))
    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(manager.get_valid_token, "token:https://as.example:a")
            await anyio.sleep(0.05)
            group.start_soon(manager.get_valid_token, "token:https://as.example:b")


@pytest.mark.anyio
async def test_a_held_token_outlives_a_storage_failure() -> None:
    storage = Watched()
    manager = TokenManager(storage, client=Counting(), clock=lambda: NOW)
    await manager.store_token(KEY, _token("at-0", expires_at=NOW + 3600))
    assert (await manager.get_valid_token(KEY)).access_token == "at-0"
    storage.broken = True  # say, Redis went down
    assert (await manager.get_valid_token(KEY)).access_token == "at-0"
    assert storage.reads <= 1


@pytest.mark.anyio
async def test_a_token_removed_while_waiting_is_refreshed_from_the_callers_copy() -> None:
    """Read once (expired), gone at the re-read under the lock: the caller's copy is used."""
    storage = Watched()
    refresher = Gated()
    refresher.gate.set()
    manager = TokenManager(storage, client=refresher, clock=lambda: NOW)
    await storage.store_token(KEY, _token("at-0", expires_at=NOW - 1, refresh="rt-old"))
    storage.vanish_after = 1
    assert (await manager.get_valid_token(KEY)).access_token == "at-1"
    assert [token.refresh_token for token in refresher.given] == ["rt-old"]


@pytest.mark.anyio
async def test_refresh_token_with_nothing_stored_refreshes_the_given_token() -> None:
    refresher = Gated()
    refresher.gate.set()
    manager = TokenManager(MemoryStorage(), client=refresher, clock=lambda: NOW)
    stale = TokenResponse.from_dict(_token("at-0", expires_at=NOW + 5, refresh="rt-mine"))
    assert (await manager.refresh_token(KEY, stale)).access_token == "at-1"
    assert [token.refresh_token for token in refresher.given] == ["rt-mine"]
    stored = await manager.get_token(KEY)
    assert stored is not None
    assert stored.access_token == "at-1"


@pytest.mark.anyio
async def test_a_refresh_is_logged_with_the_key_client_lifetime_and_scope(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Scoped(Counting):
        async def refresh_grant(self, token: TokenResponse) -> TokenResponse:
            fresh = await super().refresh_grant(token)
            return TokenResponse.from_dict({**fresh.to_dict(), "scope": "mcp:read"})

    manager = TokenManager(MemoryStorage(), client=Scoped(), clock=lambda: NOW)
    await manager.store_token(KEY, _token("at-0", expires_at=NOW - 1))
    with caplog.at_level(logging.DEBUG, logger="mcp_oauth_dynamicclient"):
        await manager.get_valid_token(KEY)
    (record,) = [r for r in caplog.records if getattr(r, "event", None) == "token_refresh"]
    fields = vars(record)
    assert (record.name, record.levelno, record.getMessage()) == (
        "mcp_oauth_dynamicclient.tokens",
        logging.INFO,
        "refreshed the token",
    )
    assert {name: fields[name] for name in ("component", "client_id", "key", "scope")} == {
        "component": "TokenManager",
        "client_id": "client-1",
        "key": KEY,
        "scope": "mcp:read",
    }
    assert fields["expires_in"] == 3600


@pytest.mark.parametrize(
    ("error", "logged", "removed"),
    [
        (
            TokenError("refused", error_code="invalid_grant", status_code=400),
            "the refresh was refused (invalid_grant); the token was removed",
            True,
        ),
        (
            TokenError("busy", error_code="temporarily_unavailable", status_code=503),
            "the refresh was refused (temporarily_unavailable)",
            False,
        ),
        (TokenError("no code"), "the refresh was refused (TokenError)", False),
    ],
    ids=["invalid_grant", "other-code", "no-code"],
)
@pytest.mark.anyio
async def test_a_refused_refresh_is_logged_and_only_invalid_grant_removes_the_token(
    caplog: pytest.LogCaptureFixture, error: TokenError, logged: str, removed: bool
) -> None:
    manager = TokenManager(MemoryStorage(), client=Refusing(error), clock=lambda: NOW)
    await manager.store_token(KEY, _token("at-0", expires_at=NOW - 1))
    with (
        caplog.at_level(logging.DEBUG, logger="mcp_oauth_dynamicclient"),
        pytest.raises(TokenError) as caught,
    ):
        await manager.get_valid_token(KEY)
    if not removed:
        assert caught.value is error  # raised as the client raised it
    assert (caught.value.error_code, caught.value.status_code) == (
        error.error_code,
        error.status_code,
    )
    assert (await manager.get_token(KEY) is None) is removed
    (record,) = [r for r in caplog.records if getattr(r, "event", None) == "token_refresh_failed"]
    fields = vars(record)
    assert (record.name, record.levelno, record.getMessage()) == (
        "mcp_oauth_dynamicclient.tokens",
        logging.WARNING,
        logged,
    )
    assert {
        name: fields[name]
        for name in ("component", "client_id", "key", "error_code", "status_code")
    } == {
        "component": "TokenManager",
        "client_id": "client-1",
        "key": KEY,
        "error_code": error.error_code,
        "status_code": error.status_code,
    }


@pytest.mark.anyio
async def test_invalid_grant_says_to_sign_in_again_and_keeps_the_servers_words() -> None:
    response = httpx.Response(400, request=httpx.Request("POST", "https://as.example/token"))
    refused = TokenError(
        "request_token failed with HTTP 400: invalid_grant",
        error_code="invalid_grant",
        error_description="refresh token expired",
        error_uri="https://as.example/errors#expired",
        response=response,
    )
    manager = TokenManager(MemoryStorage(), client=Refusing(refused), clock=lambda: NOW)
    await manager.store_token(KEY, _token("at-0", expires_at=NOW - 1))
    with pytest.raises(TokenError) as caught:
        await manager.get_valid_token(KEY)
    error = caught.value
    assert str(error) == (
        "request_token failed with HTTP 400: invalid_grant: the refresh token is no longer "
        "valid (expired or revoked); sign in again (the stored token was removed)"
    )
    assert (error.error_code, error.error_description, error.error_uri) == (
        "invalid_grant",
        "refresh token expired",
        "https://as.example/errors#expired",
    )
    assert (error.status_code, error.response) == (400, response)
    assert error.__cause__ is refused


@pytest.mark.anyio
async def test_the_messages_say_what_to_do() -> None:
    manager = TokenManager(MemoryStorage(), clock=lambda: NOW)
    with pytest.raises(TokenError) as nothing:
        await manager.get_valid_token("k")
    assert str(nothing.value) == (
        "no token yet under 'k': authorize first (exchange_code, get_token or the device flow)"
    )
    with pytest.raises(TokenError) as nothing_to_refresh:
        await manager.refresh_token("k")
    assert str(nothing_to_refresh.value) == "no token stored under 'k' to refresh"
    stale = await manager.store_token("k", _token("at-0", expires_at=NOW - 1, refresh=None))
    with pytest.raises(ConfigurationError) as no_client:
        await manager.refresh_token("k", stale)
    assert str(no_client.value) == (
        "this TokenManager cannot refresh: build it with client=OAuth2Client(...)"
    )
    refreshing = TokenManager(manager.storage, client=Counting(), clock=lambda: NOW)
    with pytest.raises(TokenError) as no_refresh_token:
        await refreshing.get_valid_token("k")
    assert str(no_refresh_token.value) == (
        "the token under 'k' has expired and has no refresh token: authorize again"
    )


def test_is_expired_reads_a_dict_on_the_managers_clock() -> None:
    later = time.time() + 100_000  # the manager's clock, far from the real one
    manager = TokenManager(MemoryStorage(), skew=60, clock=lambda: later)
    assert not manager.is_expired({"access_token": "a", "token_type": "Bearer", "expires_in": 100})
    assert manager.is_expired({"access_token": "a", "token_type": "Bearer", "expires_in": 60})
    past = TokenManager(MemoryStorage(), skew=60, clock=lambda: NOW)
    assert not past.is_expired(_token("a", expires_at=NOW + 100))
    assert past.is_expired(_token("a", expires_at=NOW + 100), skew=100)
    assert not past.is_expired(_token("a", expires_at=NOW + 100), skew=0)


def test_the_storage_types_of_the_seed(tmp_path: Path) -> None:
    assert isinstance(TokenManager(storage_type="memory").storage, MemoryStorage)
    file_manager = TokenManager(storage_type="file", storage_config={"path": tmp_path / "t"})
    assert isinstance(file_manager.storage, FileStorage)
    assert file_manager.storage.path == tmp_path / "t"
    redis_manager = TokenManager(storage_type="redis", storage_config={"port": 1})
    assert isinstance(redis_manager.storage, RedisStorage)
    assert repr(redis_manager).startswith("TokenManager(storage=RedisStorage(")
    assert repr(TokenManager(skew=5)).endswith(", skew=5)")


def test_the_managers_settings_and_their_messages() -> None:
    assert TokenManager().skew == 60.0
    assert TokenManager(skew=0).skew == 0
    assert TokenManager(skew=0.5).skew == 0.5
    with pytest.raises(ConfigurationError) as negative:
        TokenManager(skew=-0.1)
    assert str(negative.value) == "skew: must be 0 or more seconds"
    with pytest.raises(ConfigurationError) as both:
        TokenManager(MemoryStorage(), storage_type="memory")
    assert str(both.value) == "storage and storage_type: give one, not both"


@pytest.mark.anyio
async def test_a_token_stored_with_only_expires_in_counts_from_the_managers_clock() -> None:
    """A dict from elsewhere (the seed's, or another program's storage) without an absolute
    ``expires_at`` is dated on this manager's clock, when stored and when read."""
    later = time.time() + 100_000
    manager = TokenManager(MemoryStorage(), client=Counting(), clock=lambda: later)
    relative = {"access_token": "a", "token_type": "Bearer", "expires_in": 100}
    assert (await manager.store_token("k", relative)).expires_at == later + 100
    await manager.storage.store_token("other", relative)  # written behind its back
    read = await manager.get_token("other")
    assert read is not None
    assert read.expires_at == later + 100


@pytest.mark.anyio
async def test_a_token_deleted_behind_the_managers_back_is_no_longer_held() -> None:
    storage = MemoryStorage()
    manager = TokenManager(storage, clock=lambda: NOW)
    await manager.store_token(KEY, _token("at-0", expires_at=NOW + 3600))
    assert manager.held_token(KEY) is not None
    await storage.delete_token(KEY)  # another process signed out
    assert await manager.get_token(KEY) is None
    assert manager.held_token(KEY) is None


@pytest.mark.anyio
async def test_a_refresh_that_returns_the_same_access_token_is_not_repeated() -> None:
    """Some servers renew the lifetime of the same access token: callers that waited find it
    fresh, even though its value did not change, and do not refresh it again."""

    class Renewing(Gated):
        async def refresh_grant(self, token: TokenResponse) -> TokenResponse:
            self.calls += 1
            self.entered.set()
            await self.gate.wait()
            return TokenResponse.from_dict(
                {"access_token": "at-0", "token_type": "Bearer", "expires_in": 3600}, now=NOW
            )

    refresher = Renewing()
    manager = TokenManager(MemoryStorage(), client=refresher, clock=lambda: NOW)
    await manager.store_token(KEY, _token("at-0", expires_at=NOW - 1))
    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(manager.get_valid_token, KEY)
            await refresher.entered.wait()
            group.start_soon(manager.get_valid_token, KEY)
            await anyio.sleep(0.05)
            refresher.gate.set()
    assert refresher.calls == 1
