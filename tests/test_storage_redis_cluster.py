"""RedisStorage on a real three-node Redis Cluster (issue 12, item 13).

The cluster is started on loopback by the tests (``redis-server --cluster-enabled yes`` three
times, then ``redis-cli --cluster create``; see ``tests.redis_server``). A lock and the entry
it guards hash to the same slot, so they live on the same node, whatever the key; and the
single-flight refresh holds across processes sharing the cluster, asyncio and blocking alike.
What every backend does (the four methods, the lock between processes) runs against the
cluster in ``test_storage_contract.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
import redis.asyncio

from mcp_oauth_dynamicclient import SyncOAuth2Client
from mcp_oauth_dynamicclient._async.redis_storage import RedisStorage
from mcp_oauth_dynamicclient._storage_format import redis_lock_name, redis_name
from mcp_oauth_dynamicclient._sync.redis_storage import SyncRedisStorage
from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.clients import REDIRECT
from tests.redis_server import RedisCluster, run_redis_cluster
from tests.storage_helpers import storage_flavour

KEYS = ["token:https://as.example:client-1", "a{b}c", "x}y", "{}", "", "é☃", "{{z}"]


@pytest.fixture(scope="module")
def redis_cluster() -> Iterator[RedisCluster]:
    """A three-node Redis Cluster of this module's own."""
    with run_redis_cluster() as cluster:
        yield cluster


@pytest.fixture
def raw(redis_cluster: RedisCluster) -> Iterator[Any]:
    """A plain blocking client of the cluster, to look behind the storage's back."""
    client = redis.RedisCluster("127.0.0.1", redis_cluster.port, decode_responses=True)
    yield client
    client.close()


@pytest.mark.parametrize("flavour", ["sync", "async"])
@pytest.mark.parametrize("tagged", [False, True])
def test_a_held_lock_lives_on_the_node_of_its_entry(
    flavour: str, tagged: bool, redis_cluster: RedisCluster, raw: Any, prefix: str
) -> None:
    if tagged:
        prefix = f"{prefix[:-1]}{{app}}:"  # every key of the storage in one slot
    with storage_flavour(flavour) as made:
        client = made.build(
            redis.asyncio.RedisCluster, redis.RedisCluster, "127.0.0.1", redis_cluster.port
        )
        storage = made.make(RedisStorage, SyncRedisStorage, client=client, prefix=prefix)
        slots = set()
        for key in KEYS:
            storage.store_token(key, {"key": key})
            entry, lock = redis_name(prefix, key), redis_lock_name(prefix, key)
            with storage.lock(key, timeout=5):
                assert raw.exists(lock) == 1, key
                assert raw.cluster_keyslot(lock) == raw.cluster_keyslot(entry), key
                # Asked directly, the node that serves the entry's slot holds both keys.
                node = raw.get_node_from_key(entry)
                with redis.Redis(node.host, node.port) as direct:
                    assert direct.exists(entry, lock) == 2, key
            assert raw.exists(lock) == 0
            slots.add(raw.cluster_keyslot(entry))
        assert storage.list_tokens() == sorted(KEYS)
        assert len(slots) == 1 if tagged else len(slots) > 1


# ------------------------------------------------------------ single-flight across processes

PROCESSES = 6  # half asyncio (tasks), half blocking (threads)
CALLS = 25

CHILD = """
import asyncio, json, sys, time
from concurrent.futures import ThreadPoolExecutor
import redis, redis.asyncio
from mcp_oauth_dynamicclient import OAuth2Client, SyncOAuth2Client
from mcp_oauth_dynamicclient.storage import RedisStorage, SyncRedisStorage

issuer, resource, port, prefix, start, redirect, flavour = sys.argv[1:8]
calls = int(sys.argv[8])


async def with_tasks():
    cluster = redis.asyncio.RedisCluster("127.0.0.1", int(port))
    storage = RedisStorage(client=cluster, prefix=prefix)
    async with OAuth2Client(issuer, redirect_uris=[redirect], resource=resource,
                            storage=storage) as client:
        await client.register()
        while time.time() < float(start):
            await asyncio.sleep(0.001)
        requests = [client.authenticated_request("GET", resource) for _ in range(calls)]
        results = await asyncio.gather(*requests, return_exceptions=True)
    await cluster.aclose()
    return results


def with_threads():
    cluster = redis.RedisCluster("127.0.0.1", int(port))
    storage = SyncRedisStorage(client=cluster, prefix=prefix)
    with SyncOAuth2Client(issuer, redirect_uris=[redirect], resource=resource,
                          storage=storage) as client:
        client.register()

        def call(_):
            while time.time() < float(start):
                time.sleep(0.001)
            try:
                return client.authenticated_request("GET", resource)
            except Exception as exc:
                return exc

        with ThreadPoolExecutor(calls) as pool:
            results = list(pool.map(call, range(calls)))
    cluster.close()
    return results


results = asyncio.run(with_tasks()) if flavour == "async" else with_threads()
print(json.dumps([getattr(r, "status_code", None) or repr(r) for r in results]))
"""


def test_processes_sharing_the_cluster_refresh_an_expired_token_once(
    server: MockAuthServer, redis_cluster: RedisCluster, prefix: str
) -> None:
    cluster = redis.RedisCluster("127.0.0.1", redis_cluster.port)
    storage = SyncRedisStorage(client=cluster, prefix=prefix)
    with SyncOAuth2Client(
        server.url, redirect_uris=[REDIRECT], resource=server.resource_url, storage=storage
    ) as client:
        callback = httpx.get(client.get_authorization_url()).headers["location"]
        first = client.exchange_code(callback)
        key = client._current_key()
        # Only the clients think the token has expired; the server still accepts it, so an
        # extra refresh would show as a second refresh at /token, and a replayed refresh
        # token (MockAuthServer rotates them) as invalid_grant.
        client.tokens.store_token(key, {**first.to_dict(), "expires_at": time.time() - 1})

    start = time.time() + 4.0
    arguments = [server.url, server.resource_url, str(redis_cluster.port), prefix, str(start)]
    arguments.append(REDIRECT)
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, *arguments, "async" if n % 2 else "sync", str(CALLS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(PROCESSES)
    ]
    results = []
    for child in children:
        out, err = child.communicate(timeout=90)
        assert child.returncode == 0, err
        results += json.loads(out)

    assert results == [200] * (PROCESSES * CALLS)
    assert server.requests.count("/token", method="POST") == 2  # the exchange, one refresh
    assert server.requests.count("/register", method="POST") == 1
    with SyncOAuth2Client(server.url, storage=storage) as reader:
        refreshed = reader.tokens.get_token(key)
    assert refreshed is not None
    assert refreshed.refresh_token != first.refresh_token
    assert not refreshed.is_expired()
    cluster.close()
