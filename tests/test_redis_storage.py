"""RedisStorage and SyncRedisStorage against a real ``redis-server`` started for this module.

Each test has its own key prefix, so tests never see each other's entries. The server-down
tests use a port nothing listens on, or a server of their own that they stop and restart.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from mcp_oauth_dynamicclient._async.redis_storage import RedisStorage
from mcp_oauth_dynamicclient._storage_format import redis_lock_name
from mcp_oauth_dynamicclient._sync.redis_storage import SyncRedisStorage
from mcp_oauth_dynamicclient.exceptions import ConfigurationError, StorageError, ValidationError
from tests.redis_server import RedisServer, free_port, run_redis_server
from tests.storage_helpers import (
    REDIS_HOLD_LOCK,
    BlockingStorage,
    Child,
    StorageFlavour,
    flavoured_script,
    storage_flavour,
)

PASSWORD = "s3cret-Pa55word"
NESTED = {
    "access_token": "at-1",
    "refresh_token": "rt-1",
    "expires_at": 1_900_000_000.5,
    "extra": {"list": [1, 2.5, None, True, "é\u2603"], "empty": {}, "deep": {"a": {"b": [[]]}}},
}


class Make:
    """Builds a ``RedisStorage`` (async) or ``SyncRedisStorage`` with blocking methods."""

    def __init__(self, flavour: StorageFlavour, server: RedisServer, prefix: str) -> None:
        self.flavour = flavour.name
        self._flavour = flavour
        self._server = server
        self._prefix = prefix

    def __call__(self, **options: Any) -> BlockingStorage:
        """A storage on the module's server with the test's prefix, unless ``options`` differ."""
        options = {"host": "127.0.0.1", "port": self._server.port, "prefix": self._prefix} | options
        return self._flavour.make(RedisStorage, SyncRedisStorage, **options)

    def from_url(self, url: str, **options: Any) -> BlockingStorage:
        """``from_url(url, **options)`` of the flavour's class."""
        return self._flavour.make(RedisStorage.from_url, SyncRedisStorage.from_url, url, **options)


@pytest.fixture(params=["sync", "async"])
def make(request: pytest.FixtureRequest, redis_server: RedisServer, prefix: str) -> Iterator[Make]:
    """Each test runs with ``SyncRedisStorage`` and with ``RedisStorage``."""
    with storage_flavour(request.param) as flavour:
        yield Make(flavour, redis_server, prefix)


# ------------------------------------------------------------------------------ the four methods


def test_an_entry_is_a_json_string_under_prefix_plus_key(
    make: Make, raw: redis.Redis, prefix: str
) -> None:
    make().store_token("registration:https://as.example", {"client_id": "c-1"})
    assert json.loads(raw.get(f"{prefix}registration:https://as.example") or "") == {
        "client_id": "c-1"
    }


def test_list_tokens_pages_through_many_keys(make: Make) -> None:
    storage = make()
    for n in range(1500):
        storage.store_token(f"k{n:04d}", {})
    assert storage.list_tokens() == [f"k{n:04d}" for n in range(1500)]


def test_storages_with_other_prefixes_do_not_see_each_other(make: Make, prefix: str) -> None:
    # Glob characters in a prefix are literal: "p*:" must not match "pa:…", nor "p?:" or
    # "p[ab]:" match "pa:…" or "pb:…". (A prefix that starts another, "p:" and "p:q:", would.)
    prefixes = [f"{prefix}{middle}:" for middle in ("*", "a", "?", "[ab]", "b", "\\")]
    storages = [make(prefix=each) for each in prefixes]
    for n, storage in enumerate(storages):
        storage.store_token(f"key{n}", {"n": n})
    for n, storage in enumerate(storages):
        assert storage.list_tokens() == [f"key{n}"], prefixes[n]
        assert storage.retrieve_token(f"key{(n + 1) % len(storages)}") is None


@pytest.mark.parametrize(
    ("key", "token", "fragment"),
    # What every backend refuses is in test_storage_contract.py.
    [("__lock__:k", {}, "reserved")],
)
def test_what_cannot_be_stored_is_refused(
    make: Make, raw: redis.Redis, prefix: str, key: Any, token: Any, fragment: str
) -> None:
    with pytest.raises(ValidationError, match=fragment):
        make().store_token(key, token)
    assert raw.keys(f"{prefix}*") == []


def test_a_value_that_is_not_ours_is_a_storage_error(
    make: Make, raw: redis.Redis, prefix: str
) -> None:
    storage = make()
    raw.set(f"{prefix}text", "not json")
    raw.set(f"{prefix}list", "[1, 2]")
    for key in ("text", "list"):
        with pytest.raises(StorageError, match=rf"{prefix}{key}.*redis://127.0.0.1:\d+/0"):
            storage.retrieve_token(key)
    assert raw.get(f"{prefix}text") == "not json"


# ---------------------------------------------------------------------------------- expiry

NOW = time.time()


@pytest.mark.parametrize(
    ("token", "ttl", "lifetime"),
    [
        # An access token that cannot be refreshed lives until it expires.
        ({"access_token": "a", "expires_at": NOW + 100}, None, 100),
        # A refresh token's lifetime is unknown: no expiry ...
        ({"access_token": "a", "expires_at": NOW + 100, "refresh_token": "r"}, None, None),
        # ... unless the entry says when it ends.
        (
            {"refresh_token": "r", "expires_at": NOW + 100, "refresh_expires_at": NOW + 900},
            None,
            900,
        ),
        # Registrations and pending authorizations have no such fields.
        ({"client_id": "c", "client_secret_expires_at": 0}, None, None),
        ({"access_token": "a", "expires_at": "tomorrow"}, None, None),
        ({"access_token": "a", "expires_at": True}, None, None),
        ({"access_token": "a", "expires_at": 1e300}, None, None),  # forever, in effect
        # ttl overrides the rule.
        ({"access_token": "a", "refresh_token": "r"}, 60, 60),
        ({"access_token": "a", "expires_at": NOW + 100}, 2.5, 2.5),
    ],
)
def test_entries_expire_with_the_refresh_lifetime(
    make: Make,
    raw: redis.Redis,
    prefix: str,
    token: dict[str, Any],
    ttl: float | None,
    lifetime: float | None,
) -> None:
    # The parameters were made at import, and the suite may run for minutes before this test:
    # move their times to now.
    shift = time.time() - NOW
    token = {k: v + shift if type(v) is float and k.endswith("expires_at") else v
             for k, v in token.items()}  # fmt: skip
    storage = make(ttl=ttl)
    before = time.time()
    storage.store_token("k", token)
    remaining = raw.pttl(f"{prefix}k")
    after = time.time()
    if lifetime is None:
        assert remaining == -1  # no expiry
    elif ttl is not None:
        assert (ttl - 1) * 1000 < remaining <= ttl * 1000
    else:
        deadline = NOW + shift + lifetime
        assert (deadline - after - 1) * 1000 < remaining <= (deadline - before) * 1000 + 1


def test_an_entry_that_has_already_expired_is_not_kept(
    make: Make, raw: redis.Redis, prefix: str
) -> None:
    storage = make()
    storage.store_token("k", {"access_token": "old"})
    storage.store_token("k", {"access_token": "dead", "expires_at": time.time() - 1})
    assert storage.retrieve_token("k") is None
    assert raw.exists(f"{prefix}k") == 0


def test_an_entry_is_gone_once_it_expires(make: Make) -> None:
    storage = make()
    storage.store_token("k", {"access_token": "a", "expires_at": time.time() + 0.2})
    assert storage.retrieve_token("k") is not None
    time.sleep(0.3)
    assert storage.retrieve_token("k") is None
    assert storage.list_tokens() == []


@pytest.mark.parametrize("ttl", [0, -5, True, float("nan"), float("inf"), "60"])
def test_a_bad_ttl_is_a_configuration_error(ttl: Any) -> None:
    with pytest.raises(ConfigurationError, match="ttl"):
        SyncRedisStorage(ttl=ttl)


# -------------------------------------------------------------------- connections and failures


def test_a_server_that_is_down_is_a_storage_error_naming_host_and_port(make: Make) -> None:
    port = free_port()
    storage = make(port=port, password=PASSWORD)
    for call in (
        lambda: storage.store_token("k", {}),
        lambda: storage.retrieve_token("k"),
        lambda: storage.delete_token("k"),
        storage.list_tokens,
    ):
        with pytest.raises(StorageError, match=f"redis://127.0.0.1:{port}/0") as raised:
            call()
        assert "the server cannot be reached (ConnectionError: " in str(raised.value)
        assert PASSWORD not in str(raised.value)
    refused = pytest.raises(StorageError, match=f"127.0.0.1:{port}.*could not lock 'k'")
    with refused, storage.lock("k", timeout=1):
        pass


def test_the_storage_works_again_when_the_server_is_back(make: Make) -> None:
    own = RedisServer(free_port())
    own.start()
    try:
        storage = make(port=own.port)
        storage.store_token("k", {"a": 1})
        own.stop()
        with pytest.raises(StorageError, match=f"127.0.0.1:{own.port}"):
            storage.retrieve_token("k")
        own.start()
        assert storage.retrieve_token("k") is None  # the server kept nothing
        storage.store_token("k", {"a": 2})
        assert storage.retrieve_token("k") == {"a": 2}
    finally:
        own.stop()


def test_a_wrong_password_is_a_storage_error_that_does_not_show_it(make: Make) -> None:
    with run_redis_server(password=PASSWORD) as guarded:
        wrong = "not-" + PASSWORD
        for storage in (
            make(port=guarded.port, password=wrong),
            make.from_url(f"redis://:{wrong}@127.0.0.1:{guarded.port}/0"),
            make(port=guarded.port),  # no password at all
        ):
            refused = f"127.0.0.1:{guarded.port}/0: could not store 'k': the server refused"
            with pytest.raises(StorageError, match=refused) as raised:
                storage.store_token("k", {})
            assert wrong not in str(raised.value)
            assert PASSWORD not in str(raised.value)
        right = make.from_url(guarded.url, prefix="p:")
        right.store_token("k", {"a": 1})
        assert make(port=guarded.port, password=PASSWORD, prefix="p:").list_tokens() == ["k"]
        assert PASSWORD not in repr(right.storage)


def test_from_url_uses_the_database_of_the_url(
    make: Make, redis_server: RedisServer, prefix: str
) -> None:
    storage = make.from_url(f"redis://127.0.0.1:{redis_server.port}/3", prefix=prefix)
    storage.store_token("k", {"db": 3})
    assert repr(storage.storage).endswith(
        f"('redis://127.0.0.1:{redis_server.port}/3', prefix={prefix!r})"
    )
    other_db = redis.Redis(port=redis_server.port, db=3, decode_responses=True)
    try:
        assert other_db.get(f"{prefix}k") == '{"db":3}'
    finally:
        other_db.close()
    assert make().retrieve_token("k") is None  # not in db 0


def test_a_client_passed_in_is_used_and_left_open(redis_server: RedisServer, prefix: str) -> None:
    client = redis.Redis(port=redis_server.port)
    try:
        with SyncRedisStorage(client=client, prefix=prefix) as storage:
            storage.store_token("k", {"a": 1})
        assert client.get(f"{prefix}k") == b'{"a":1}'  # still open
        assert SyncRedisStorage(client=client, prefix=prefix).retrieve_token("k") == {"a": 1}
    finally:
        client.close()
    with pytest.raises(ConfigurationError, match="not both"):
        SyncRedisStorage(client=client, url="redis://localhost")


@pytest.mark.anyio
async def test_the_asyncio_storage_closes_its_pool(redis_server: RedisServer, prefix: str) -> None:
    async with RedisStorage(port=redis_server.port, prefix=prefix) as storage:
        await storage.store_token("k", {})
        assert await storage.list_tokens() == ["k"]
    # Leaving the block closed the pool: a ResourceWarning would fail this test otherwise.


# ------------------------------------------------------------------------------------- locking


def test_the_lock_of_a_process_that_died_expires_after_its_timeout(
    make: Make, redis_server: RedisServer, prefix: str
) -> None:
    storage = make()
    with Child(
        flavoured_script(REDIS_HOLD_LOCK, make.flavour), str(redis_server.port), prefix, "1"
    ) as holder:
        holder.expect("locked")
        holder.kill()
    with pytest.raises(StorageError), storage.lock("k", timeout=0.1):
        pass  # the dead holder's lease of 1 s still runs
    with storage.lock("k", timeout=10):
        pass


def test_a_live_holder_keeps_its_lock_past_the_lease(
    make: Make, raw: redis.Redis, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    storage = make()
    with caplog.at_level(logging.WARNING), storage.lock("k", timeout=0.3):
        time.sleep(1.0)  # three leases long: renewed every 0.1 s meanwhile
        with (
            pytest.raises(StorageError, match="could not take the lock"),
            storage.lock("k", timeout=0.2),
        ):
            pass
        assert 0 < raw.pttl(redis_lock_name(prefix, "k")) <= 300
    assert raw.exists(redis_lock_name(prefix, "k")) == 0  # released
    assert caplog.records == []
    with storage.lock("k", timeout=0.1):
        pass


def test_a_lease_that_cannot_be_renewed_is_a_warning(
    make: Make, raw: redis.Redis, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    storage = make()
    with caplog.at_level(logging.WARNING), storage.lock("k", timeout=0.3):
        raw.delete(redis_lock_name(prefix, "k"))  # taken away behind the holder's back
        time.sleep(0.25)  # the next renewal finds it gone
        with storage.lock("k", timeout=0.1):  # so another holder can take it
            pass
    renew, release = (record.getMessage() for record in caplog.records)
    assert renew.startswith("could not renew the lease of the lock of 'k'")
    assert "another process may take it" in renew
    assert "the lock of 'k'" in release
    assert "lease of 0.3 s ran out" in release


@pytest.mark.parametrize("timeout", [0, -1, "5", float("inf")])
def test_a_bad_lock_timeout_is_refused(make: Make, timeout: Any) -> None:
    with pytest.raises(ValidationError, match="lock timeout"), make().lock("k", timeout=timeout):
        pass
