"""The storage contract, written once, run against every backend and both flavours.

``backend`` is each of memory, file, Redis and a three-node Redis Cluster (through the
``RedisCluster`` client a storage is given), asyncio and blocking, behind the blocking face of
``storage_helpers``; ``persistent`` is the file, Redis and cluster backends, which validate
what they store and lock across processes. What only one backend does (file modes and format,
corrupt files, Redis expiry and connection failures, how the lock of a dead holder is freed,
which lock timeouts are valid) is tested in ``test_file_storage*.py``,
``test_redis_storage.py`` and ``test_storage_redis_*.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
import redis
import redis.asyncio

from mcp_oauth_dynamicclient._async.file_storage import FileStorage
from mcp_oauth_dynamicclient._async.redis_storage import RedisStorage
from mcp_oauth_dynamicclient._sync.file_storage import SyncFileStorage
from mcp_oauth_dynamicclient._sync.redis_storage import SyncRedisStorage
from mcp_oauth_dynamicclient.exceptions import StorageError, ValidationError
from mcp_oauth_dynamicclient.storage import MemoryStorage, SyncMemoryStorage, TokenStorage
from tests.redis_server import RedisCluster, RedisServer, run_redis_cluster
from tests.storage_helpers import (
    FILE_HOLD_LOCK,
    REDIS_CLUSTER_HOLD_LOCK,
    REDIS_HOLD_LOCK,
    BlockingStorage,
    Child,
    StorageFlavour,
    flavoured_script,
    storage_flavour,
)

NESTED = {
    "access_token": "at-1",
    "refresh_token": "rt-1",
    "expires_at": 1_900_000_000.5,
    "scope": "read write",
    "extra": {"list": [1, 2.5, None, True, "é\u2603"], "empty": {}, "deep": {"a": {"b": [[]]}}},
}


@pytest.fixture(scope="module")
def redis_cluster() -> Iterator[RedisCluster]:
    """A three-node Redis Cluster of this module's own."""
    with run_redis_cluster() as cluster:
        yield cluster


@pytest.fixture
def raw_cluster(redis_cluster: RedisCluster) -> Iterator[redis.RedisCluster]:
    """A plain blocking client of the cluster, to look behind the storage's back."""
    client = redis.RedisCluster(host="127.0.0.1", port=redis_cluster.port, decode_responses=True)
    yield client
    client.close()


class Backend:
    """Makes storages of one backend and flavour, and shows what the backend holds."""

    def __init__(self, kind: str, flavour: StorageFlavour, request: pytest.FixtureRequest) -> None:
        self.kind = kind
        self.flavour = flavour.name
        self._flavour = flavour
        self._request = request

    def __call__(self) -> BlockingStorage:
        """A new storage on the test's file, Redis prefix or (for memory) its own dict."""
        if self.kind == "memory":
            return self._flavour.make(MemoryStorage, SyncMemoryStorage)
        if self.kind == "file":
            return self._flavour.make(FileStorage, SyncFileStorage, self.path)
        if self.kind == "cluster":
            client = self._flavour.build(
                redis.asyncio.RedisCluster, redis.RedisCluster, "127.0.0.1", self.cluster.port
            )
            return self._flavour.make(
                RedisStorage, SyncRedisStorage, client=client, prefix=self.prefix
            )
        options = {"host": "127.0.0.1", "port": self.redis_server.port, "prefix": self.prefix}
        return self._flavour.make(RedisStorage, SyncRedisStorage, **options)

    @property
    def path(self) -> Path:
        """The token file of the file backend."""
        tmp_path: Path = self._request.getfixturevalue("tmp_path")
        return tmp_path / "tokens.json"

    @property
    def redis_server(self) -> RedisServer:
        """The module's redis-server (started on first use)."""
        server: RedisServer = self._request.getfixturevalue("redis_server")
        return server

    @property
    def cluster(self) -> RedisCluster:
        """The module's Redis Cluster (started on first use)."""
        cluster: RedisCluster = self._request.getfixturevalue("redis_cluster")
        return cluster

    @property
    def prefix(self) -> str:
        """The test's own Redis key prefix."""
        prefix: str = self._request.getfixturevalue("prefix")
        return prefix

    def written(self) -> object:
        """What the backend holds outside the storage object: the file's bytes, or every Redis
        key under the test's prefix with its value."""
        if self.kind == "file":
            return self.path.read_bytes()
        raw: redis.Redis | redis.RedisCluster = self._request.getfixturevalue(
            "raw_cluster" if self.kind == "cluster" else "raw"
        )
        return {key: raw.get(key) for key in raw.scan_iter(match=f"{self.prefix}*")}

    def holder(self, flavour: str) -> Child:
        """A child process of ``flavour`` that takes the lock of ``"k"`` (see the scripts)."""
        if self.kind == "file":
            return Child(flavoured_script(FILE_HOLD_LOCK, flavour), str(self.path))
        if self.kind == "cluster":
            args = (str(self.cluster.port), self.prefix, "30")
            return Child(flavoured_script(REDIS_CLUSTER_HOLD_LOCK, flavour), *args)
        args = (str(self.redis_server.port), self.prefix, "30")
        return Child(flavoured_script(REDIS_HOLD_LOCK, flavour), *args)


def backend_fixture(kinds: list[str]) -> Any:
    """A fixture running each test once per kind of backend in ``kinds`` and per flavour."""

    @pytest.fixture(params=[f"{kind}-{flavour}" for kind in kinds for flavour in ("sync", "async")])
    def fixture(request: pytest.FixtureRequest) -> Iterator[Backend]:
        kind, flavour = request.param.split("-")
        with storage_flavour(flavour) as made:
            yield Backend(kind, made, request)

    return fixture


backend = backend_fixture(["memory", "file", "redis", "cluster"])
persistent = backend_fixture(["file", "redis", "cluster"])


# ------------------------------------------------------------------------------ the four methods


def test_store_retrieve_list_and_delete(backend: Backend) -> None:
    storage = backend()
    assert storage.retrieve_token("token:a") is None
    assert storage.list_tokens() == []
    storage.store_token("token:b", NESTED)
    storage.store_token("token:a", {"access_token": "first"})
    storage.store_token("token:a", {"access_token": "second"})
    assert storage.retrieve_token("token:b") == NESTED
    assert storage.retrieve_token("token:a") == {"access_token": "second"}
    assert storage.list_tokens() == ["token:a", "token:b"]
    storage.delete_token("token:a")
    storage.delete_token("token:a")  # deleting what is gone is no error
    storage.delete_token("never-stored")
    assert storage.retrieve_token("token:a") is None
    assert storage.list_tokens() == ["token:b"]


def test_a_stored_dict_is_a_copy(backend: Backend) -> None:
    storage = backend()
    token: dict[str, Any] = {"list": [1]}
    storage.store_token("k", token)
    token["list"].append(2)
    read = storage.retrieve_token("k")
    assert read == {"list": [1]}
    assert read is not None
    read["list"].append(3)
    assert storage.retrieve_token("k") == {"list": [1]}


@pytest.mark.parametrize(
    ("key", "token", "fragment"),
    [
        ("k", {"when": {1, 2}}, "cannot be stored as JSON"),
        ("k", {"nan": float("nan")}, "cannot be stored as JSON"),
        ("k", {"inf": float("inf")}, "cannot be stored as JSON"),
        ("k", ["not", "a", "dict"], "must be a dict"),
        ("k", "token", "must be a dict"),
        (7, {}, "must be a str"),
        (b"k", {}, "must be a str"),
    ],
)
def test_what_cannot_be_stored_is_refused_and_nothing_is_written(
    persistent: Backend, key: Any, token: Any, fragment: str
) -> None:
    storage = persistent()
    storage.store_token("kept", {"a": 1})
    before = persistent.written()
    with pytest.raises(ValidationError, match=fragment):
        storage.store_token(key, token)
    assert persistent.written() == before
    assert storage.list_tokens() == ["kept"]


def test_entries_survive_a_new_storage(persistent: Backend) -> None:
    persistent().store_token("k", NESTED)
    assert persistent().retrieve_token("k") == NESTED


# ------------------------------------------------------------------------------------- locking


def test_the_lock_of_a_key_makes_another_process_wait(persistent: Backend) -> None:
    storage = persistent()
    other_flavour = "sync" if persistent.flavour == "async" else "async"
    with persistent.holder(other_flavour) as holder:
        holder.expect("locked")
        assert storage.list_tokens() == []  # the lock is not an entry
        refused = pytest.raises(
            StorageError, match=r"could not take the lock of 'k' .* within 0.2 s"
        )
        with refused, storage.lock("k", timeout=0.2):
            pass
        with storage.lock("other-key", timeout=0.2):  # other keys are free
            pass
        storage.store_token("free", {})  # and so are writes
        holder.send()
        with storage.lock("k", timeout=20):
            # Only after the holder has stored its entry and let go.
            assert storage.retrieve_token("holder") == {"done": True}
        holder.expect("released")
        holder.finish()


@asynccontextmanager
async def asyncio_storage(kind: str, request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """An asyncio storage of ``kind`` on the test's file or Redis prefix, closed at the end."""
    if kind == "file":
        tmp_path: Path = request.getfixturevalue("tmp_path")
        yield FileStorage(tmp_path / "tokens.json")
        return
    prefix: str = request.getfixturevalue("prefix")
    if kind == "cluster":
        cluster: RedisCluster = request.getfixturevalue("redis_cluster")
        async with redis.asyncio.RedisCluster("127.0.0.1", cluster.port) as client:
            yield RedisStorage(client=client, prefix=prefix)
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    async with RedisStorage(port=server.port, prefix=prefix) as storage:
        yield storage


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["file", "redis", "cluster"])
async def test_waiting_for_the_lock_leaves_the_event_loop_running(
    kind: str, request: pytest.FixtureRequest
) -> None:
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await anyio.sleep(0.01)

    order: list[str] = []

    async def hold(storage: TokenStorage, held: anyio.Event) -> None:
        async with storage.lock("k"):
            held.set()
            await anyio.sleep(0.3)
            order.append("first done")

    async with asyncio_storage(kind, request) as storage, anyio.create_task_group() as group:
        group.start_soon(tick)
        held = anyio.Event()
        group.start_soon(hold, storage, held)
        await held.wait()
        with pytest.raises(StorageError):
            async with storage.lock("k", timeout=0.1):
                pass
        async with storage.lock("k", timeout=10):
            order.append("second in")
        group.cancel_scope.cancel()
    assert order == ["first done", "second in"]
    assert ticks > 5  # the ticker ran while the second task waited


# ---------------------------------------------------------------------------------- import time


@pytest.mark.parametrize(
    ("module", "library"), [("file_storage", "filelock"), ("redis_storage", "redis")]
)
def test_importing_the_module_does_not_import_its_library(module: str, library: str) -> None:
    code = (
        f"import sys, mcp_oauth_dynamicclient._async.{module}, "
        f"mcp_oauth_dynamicclient._sync.{module}; print({library!r} in sys.modules)"
    )
    child = Child(code)
    child.expect("False")
    child.finish()
