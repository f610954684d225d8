"""RedisStorage on every kind of redis-py client (issue 12, item 13): one made from a
``redis://``, ``rediss://`` (TLS) or ``unix://`` URL, one a Sentinel hands out, and a
``RedisCluster``, each against a real server of the kind started here, in both flavours.

A storage given a client uses it as it is and leaves it open; its messages and ``repr`` name
where the entries are, never a password. What is not a client of the storage's flavour, and
settings out of range, are refused with ``ConfigurationError``.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import redis
import redis.asyncio
import redis.asyncio.sentinel
import redis.sentinel

from mcp_oauth_dynamicclient._async.redis_storage import RedisStorage
from mcp_oauth_dynamicclient._sync.redis_storage import SyncRedisStorage
from mcp_oauth_dynamicclient.exceptions import ConfigurationError, StorageError, ValidationError
from tests.redis_server import (
    RedisCluster,
    RedisServer,
    TlsFiles,
    free_port,
    make_tls_files,
    run_redis_cluster,
    run_redis_server,
    run_sentinel,
)
from tests.storage_helpers import StorageFlavour, storage_flavour

NESTED = {"access_token": "at-1", "refresh_token": "rt-1", "extra": {"list": [1, None, "é"]}}
SERVICE = "tokens-master"


class Tls(NamedTuple):
    """A server that also listens with TLS, and the CA that signed its certificate."""

    server: RedisServer
    port: int
    files: TlsFiles


@pytest.fixture(scope="module")
def tls() -> Iterator[Tls]:
    """A redis-server of this module's own that also speaks TLS, on a port of its own."""
    with tempfile.TemporaryDirectory(prefix="redis-tls-") as directory:
        files = make_tls_files(Path(directory))
        port = free_port()
        with run_redis_server(options=files.server_options(port)) as server:
            yield Tls(server, port, files)


@pytest.fixture(scope="module")
def unix_socket() -> Iterator[str]:
    """The Unix socket of a redis-server of this module's own."""
    with tempfile.TemporaryDirectory(prefix="redis-") as directory:
        socket = f"{directory}/redis.sock"
        with run_redis_server(options=["--unixsocket", socket, "--unixsocketperm", "700"]):
            yield socket


@pytest.fixture(scope="module")
def sentinel(redis_server: RedisServer) -> Iterator[RedisServer]:
    """A Sentinel that names the module's redis-server as the master of ``SERVICE``."""
    with (
        tempfile.TemporaryDirectory(prefix="redis-sentinel-") as directory,
        run_sentinel(redis_server, SERVICE, Path(directory)) as started,
    ):
        yield started


@pytest.fixture(scope="module")
def redis_cluster() -> Iterator[RedisCluster]:
    """A three-node Redis Cluster of this module's own."""
    with run_redis_cluster() as cluster:
        yield cluster


def closed_at_the_end(flavour: StorageFlavour, client: Any) -> Any:
    """``client``, closed (``aclose`` on the portal, or ``close``) when the test ends."""
    if flavour.portal is None:
        flavour.stack.callback(client.close)
    else:
        portal = flavour.portal
        flavour.stack.callback(lambda: portal.call(client.aclose))
    return client


class Kind(NamedTuple):
    """A kind of client: how to make one of either flavour, and a pattern of where the storage
    says its entries are."""

    connect: Callable[[StorageFlavour, pytest.FixtureRequest], Any]
    where: Callable[[pytest.FixtureRequest], str]


def fixture(request: pytest.FixtureRequest, name: str) -> Any:
    return request.getfixturevalue(name)


def sentinel_master(flavour: StorageFlavour, request: pytest.FixtureRequest) -> Any:
    """The master of ``SERVICE``, as the module's Sentinel names it."""
    address = [("127.0.0.1", fixture(request, "sentinel").port)]
    sentinel: Any = redis.asyncio.sentinel.Sentinel if flavour.is_async else redis.sentinel.Sentinel
    manager = sentinel(address, socket_timeout=5)
    for each in manager.sentinels:
        closed_at_the_end(flavour, each)
    return flavour.build(lambda: manager.master_for(SERVICE), lambda: manager.master_for(SERVICE))


def cluster_client(flavour: StorageFlavour, request: pytest.FixtureRequest) -> Any:
    port = fixture(request, "redis_cluster").port
    return flavour.build(redis.asyncio.RedisCluster, redis.RedisCluster, "127.0.0.1", port)


def cluster_where(request: pytest.FixtureRequest) -> str:
    # The nodes a client was started from; a blocking client knows them all at once.
    cluster: RedisCluster = fixture(request, "redis_cluster")
    ports = "|".join(str(node.port) for node in cluster.nodes)
    return rf"redis://127\.0\.0\.1:({ports})(,127\.0\.0\.1:({ports}))* \(cluster\)"


KINDS = {
    "redis-url": Kind(
        lambda flavour, request: flavour.build(
            redis.asyncio.Redis.from_url,
            redis.Redis.from_url,
            fixture(request, "redis_server").url,
        ),
        lambda request: re.escape(f"redis://127.0.0.1:{fixture(request, 'redis_server').port}/0"),
    ),
    "rediss-url": Kind(
        lambda flavour, request: flavour.build(
            redis.asyncio.Redis.from_url,
            redis.Redis.from_url,
            f"rediss://127.0.0.1:{fixture(request, 'tls').port}/0",
            ssl_ca_certs=str(fixture(request, "tls").files.ca),
        ),
        lambda request: re.escape(f"rediss://127.0.0.1:{fixture(request, 'tls').port}/0"),
    ),
    "unix-url": Kind(
        lambda flavour, request: flavour.build(
            redis.asyncio.Redis.from_url,
            redis.Redis.from_url,
            f"unix://{fixture(request, 'unix_socket')}?db=2",
        ),
        lambda request: re.escape(f"unix://{fixture(request, 'unix_socket')}?db=2"),
    ),
    "sentinel": Kind(
        sentinel_master,
        lambda request: re.escape(
            f"redis+sentinel://127.0.0.1:{fixture(request, 'sentinel').port}/{SERVICE}/0"
        ),
    ),
    "cluster": Kind(cluster_client, cluster_where),
}


@pytest.fixture(params=["sync", "async"])
def flavour(request: pytest.FixtureRequest) -> Iterator[StorageFlavour]:
    """Each test runs with ``SyncRedisStorage`` and with ``RedisStorage``."""
    with storage_flavour(request.param) as made:
        yield made


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_storage_works_on_a_client_of_each_kind_and_leaves_it_open(
    kind: str, flavour: StorageFlavour, request: pytest.FixtureRequest, prefix: str
) -> None:
    client = KINDS[kind].connect(flavour, request)
    where = KINDS[kind].where(request)
    storage = flavour.make(RedisStorage, SyncRedisStorage, client=client, prefix=prefix)
    storage.store_token("token:a", NESTED)
    storage.store_token("token:b", {"access_token": "b"})
    assert storage.retrieve_token("token:a") == NESTED
    taken = f"could not take the lock of 'token:a' at {where} within 0.1 s"
    with storage.lock("token:a", timeout=5):
        with pytest.raises(StorageError, match=taken), storage.lock("token:a", timeout=0.1):
            pass
        storage.store_token("token:a", {"access_token": "new"})
    assert storage.list_tokens() == ["token:a", "token:b"]
    storage.delete_token("token:a")
    storage.delete_token("token:b")
    assert storage.list_tokens() == []
    assert re.fullmatch(
        rf"{type(storage.storage).__name__}\('{where}', prefix='{prefix}'\)", repr(storage.storage)
    )
    # Closing the storage leaves the client it was given open.
    if flavour.portal is None:
        storage.storage.close()
        assert client.ping()
    else:
        flavour.portal.call(storage.storage.aclose)
        assert flavour.portal.call(client.ping)


@pytest.mark.parametrize("kind", ["redis-url", "sentinel", "cluster"])
def test_entries_stored_as_earlier_versions_did_are_found(
    kind: str, flavour: StorageFlavour, request: pytest.FixtureRequest, prefix: str
) -> None:
    # Entry names are those of earlier versions: prefix + key, nothing added.
    client = KINDS[kind].connect(flavour, request)
    storage = flavour.make(RedisStorage, SyncRedisStorage, client=client, prefix=prefix)
    if kind == "cluster":
        raw: Any = redis.RedisCluster("127.0.0.1", fixture(request, "redis_cluster").port)
    else:
        raw = redis.Redis(port=fixture(request, "redis_server").port)
    try:
        raw.set(f"{prefix}token:old", '{"access_token": "old"}')
        assert storage.retrieve_token("token:old") == {"access_token": "old"}
        assert storage.list_tokens() == ["token:old"]
        storage.delete_token("token:old")
        assert raw.exists(f"{prefix}token:old") == 0
    finally:
        raw.close()


# -------------------------------------------------------------------- a storage's own client


def test_a_storage_of_its_own_reaches_a_unix_socket(
    flavour: StorageFlavour, unix_socket: str, prefix: str
) -> None:
    url = f"unix://{unix_socket}?db=1"
    storage = flavour.make(RedisStorage.from_url, SyncRedisStorage.from_url, url, prefix=prefix)
    storage.store_token("k", {"a": 1})
    assert storage.retrieve_token("k") == {"a": 1}
    assert repr(storage.storage).startswith(f"{type(storage.storage).__name__}('unix://")


def test_tls_to_a_server_whose_certificate_is_not_trusted_is_a_storage_error(
    flavour: StorageFlavour, tls: Tls, prefix: str
) -> None:
    url = f"rediss://127.0.0.1:{tls.port}/0"  # the test CA is not in the system's trust store
    storage = flavour.make(RedisStorage.from_url, SyncRedisStorage.from_url, url, prefix=prefix)
    refused = f"Redis at rediss://127.0.0.1:{tls.port}/0: could not read 'k': the server cannot"
    with pytest.raises(StorageError, match=refused) as raised:
        storage.retrieve_token("k")
    assert "certificate verify failed" in str(raised.value)


# ---------------------------------------------------------------------------- refused settings


def test_a_client_of_the_other_flavour_or_no_client_is_refused() -> None:
    blocking, asyncio = redis.Redis(), redis.asyncio.Redis()
    wrong = r"^RedisStorage takes a redis\.asyncio\.Redis or .*, not redis\.client\.Redis "
    with pytest.raises(ConfigurationError, match=wrong):
        RedisStorage(client=blocking)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"SyncRedisStorage takes a redis\.Redis or"):
        SyncRedisStorage(client=asyncio)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"not builtins\.str"):
        SyncRedisStorage(client="redis://localhost")  # type: ignore[arg-type]
    blocking.close()


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"max_connections": 0}, "max_connections must be an int >= 1"),
        ({"max_connections": -1}, "max_connections must be an int >= 1"),
        ({"max_connections": True}, "max_connections must be an int >= 1"),
        ({"max_connections": 2.5}, "max_connections must be an int >= 1"),
        ({"pool_timeout": 0}, "pool_timeout must be a number of seconds > 0"),
        ({"pool_timeout": float("nan")}, "pool_timeout must be a number of seconds > 0"),
        ({"pool_timeout": float("inf")}, "pool_timeout must be a number of seconds > 0"),
        ({"pool_timeout": None}, "pool_timeout must be a number of seconds > 0"),
        ({"prefix": "tokens:{"}, "opens no hash tag"),
        ({"prefix": 7}, "must be a str"),
        ({"url": "http://127.0.0.1:6379"}, "cannot connect to Redis that way"),
        ({"url": "redis://127.0.0.1:port/0"}, "cannot connect to Redis that way"),
    ],
)
def test_settings_out_of_range_are_a_configuration_error(
    options: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ConfigurationError, match=fragment):
        SyncRedisStorage(**options)


def test_a_key_redis_cannot_send_is_a_validation_error(
    flavour: StorageFlavour, redis_server: RedisServer, prefix: str
) -> None:
    storage = flavour.make(RedisStorage, SyncRedisStorage, port=redis_server.port, prefix=prefix)
    calls: list[Callable[[], object]] = [
        lambda: storage.store_token("bad\udcff", {}),
        lambda: storage.retrieve_token("bad\udcff"),
        lambda: storage.delete_token("bad\udcff"),
    ]
    for call in calls:
        with pytest.raises(ValidationError, match="encodable as UTF-8"):
            call()
    with pytest.raises(ValidationError, match="encodable as UTF-8"), storage.lock("bad\udcff"):
        pass
