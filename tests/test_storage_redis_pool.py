"""Hundreds of callers on one RedisStorage wait for a connection instead of failing (issue 12,
item 13).

Measured from outside: 200 concurrent ``authenticated_request`` calls on one expired token did
one refresh, but the calls past the 100th failed with ``StorageError`` ("Too many
connections"), since redis-py's pool holds 100 connections and raises past them. Here 500
calls at once, asyncio tasks and threads, on the storage's own pool and on clients passed in
whose pools do not wait (a small ``Redis`` pool, a ``RedisCluster``): every call succeeds and
the server sees one refresh. The wait is bounded: a pool that stays busy ends in a
``StorageError`` that says so.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import httpx
import pytest
import redis
import redis.asyncio

from mcp_oauth_dynamicclient import OAuth2Client, SyncOAuth2Client
from mcp_oauth_dynamicclient._async.redis_storage import RedisStorage
from mcp_oauth_dynamicclient._sync.redis_storage import SyncRedisStorage
from mcp_oauth_dynamicclient.exceptions import StorageError
from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.clients import REDIRECT
from tests.redis_server import RedisCluster, RedisServer, run_redis_cluster
from tests.storage_helpers import storage_flavour

CALLS = 500


@pytest.fixture(scope="module")
def redis_cluster() -> Iterator[RedisCluster]:
    """A three-node Redis Cluster of this module's own."""
    with run_redis_cluster() as cluster:
        yield cluster


def expired_copy(token: dict[str, Any]) -> dict[str, Any]:
    """``token`` as the clients see it once it has expired. The server still accepts it, so
    an extra refresh shows as a second refresh at /token, not as a failed request."""
    return {**token, "expires_at": time.time() - 1}


# -------------------------------------------------------------------------------------- asyncio


async def asyncio_storage(kind: str, request: pytest.FixtureRequest) -> tuple[Any, Any]:
    """A ``RedisStorage`` of ``kind`` with the test's prefix, and a client to close after it."""
    prefix: str = request.getfixturevalue("prefix")
    if kind == "cluster":
        cluster: RedisCluster = request.getfixturevalue("redis_cluster")
        client: Any = redis.asyncio.RedisCluster("127.0.0.1", cluster.port)  # 100 per node
        return RedisStorage(client=client, prefix=prefix), client
    server: RedisServer = request.getfixturevalue("redis_server")
    if kind == "small-pool":  # a pool of 10 that raises when full
        client = redis.asyncio.Redis(port=server.port, max_connections=10)
        return RedisStorage(client=client, prefix=prefix), client
    return RedisStorage(port=server.port, prefix=prefix), None


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["own-pool", "small-pool", "cluster"])
async def test_500_tasks_on_one_expired_token_all_succeed_with_one_refresh(
    kind: str, server: MockAuthServer, request: pytest.FixtureRequest
) -> None:
    storage, client = await asyncio_storage(kind, request)
    async with (
        storage,
        OAuth2Client(
            server.url, redirect_uris=[REDIRECT], resource=server.resource_url, storage=storage
        ) as oauth,
    ):
        async with httpx.AsyncClient() as browser:
            callback = (await browser.get(await oauth.get_authorization_url())).headers["location"]
        first = await oauth.exchange_code(callback)
        key = await oauth._current_key()
        await oauth.tokens.store_token(key, expired_copy(first.to_dict()))

        calls = [oauth.authenticated_request("GET", server.resource_url) for _ in range(CALLS)]
        results = await asyncio.gather(*calls, return_exceptions=True)

        failures = [repr(result) for result in results if isinstance(result, BaseException)]
        assert failures == []
        assert {result.status_code for result in results} == {200}  # type: ignore[union-attr]
        assert server.requests.count("/token", method="POST") == 2  # the exchange, one refresh
        refreshed = await oauth.tokens.get_token(key)
        assert refreshed is not None
        assert refreshed.refresh_token != first.refresh_token
    if client is not None:
        await client.aclose()


# -------------------------------------------------------------------------------------- threads


@pytest.mark.parametrize("kind", ["own-pool", "small-pool"])
def test_500_threads_on_one_expired_token_all_succeed_with_one_refresh(
    kind: str, server: MockAuthServer, redis_server: RedisServer, prefix: str
) -> None:
    client = (
        redis.Redis(port=redis_server.port, max_connections=10) if kind == "small-pool" else None
    )
    storage = (
        SyncRedisStorage(client=client, prefix=prefix)
        if client is not None
        else SyncRedisStorage(port=redis_server.port, prefix=prefix)
    )
    # As many connections as threads, all kept: httpcore's blocking pool, made to close idle
    # connections over its keep-alive limit while other threads read, now and then closes one
    # under a reader (EBADF). What is tested is the storage's lock. MockAuthServer's accept
    # queue (1024) takes the 500 connections at once.
    limits = httpx.Limits(max_connections=CALLS, max_keepalive_connections=CALLS)
    with (
        storage,
        httpx.Client(limits=limits, timeout=30.0) as http,
        SyncOAuth2Client(
            server.url,
            redirect_uris=[REDIRECT],
            resource=server.resource_url,
            storage=storage,
            http_client=http,
        ) as oauth,
    ):
        callback = httpx.get(oauth.get_authorization_url()).headers["location"]
        first = oauth.exchange_code(callback)
        key = oauth._current_key()
        oauth.tokens.store_token(key, expired_copy(first.to_dict()))

        start = threading.Barrier(CALLS)

        def call() -> int:
            start.wait()  # all at once
            status: int = oauth.authenticated_request("GET", server.resource_url).status_code
            return status

        with ThreadPoolExecutor(max_workers=CALLS) as pool:
            futures = [pool.submit(call) for _ in range(CALLS)]
            statuses = [future.result() for future in futures]

        assert statuses == [200] * CALLS
        assert server.requests.count("/token", method="POST") == 2
    if client is not None:
        client.close()


# -------------------------------------------------------------------------------- a bounded wait


@pytest.mark.parametrize("flavour", ["sync", "async"])
@pytest.mark.parametrize("kind", ["own-pool", "small-pool"])
def test_a_pool_that_stays_busy_ends_in_a_storage_error_after_pool_timeout(
    flavour: str, kind: str, redis_server: RedisServer, raw: redis.Redis, prefix: str
) -> None:
    with storage_flavour(flavour) as made:
        if kind == "own-pool":
            options: dict[str, Any] = {"port": redis_server.port, "max_connections": 1}
        else:
            client = made.build(
                redis.asyncio.Redis, redis.Redis, port=redis_server.port, max_connections=1
            )
            options = {"client": client}
        storage = made.make(
            RedisStorage, SyncRedisStorage, prefix=prefix, pool_timeout=0.3, **options
        )
        storage.store_token("k", {"a": 1})  # the one connection is open now
        outcomes: list[object] = []

        def read() -> None:
            try:
                outcomes.append(storage.retrieve_token("k"))
            except StorageError as exc:
                outcomes.append(exc)

        # The server holds every command for a second: the one connection waits for its
        # answer, and a second caller waits for the connection, then gives up.
        raw.client_pause(1000)
        first = threading.Thread(target=read)
        first.start()
        time.sleep(0.1)
        started = time.monotonic()
        read()
        waited = time.monotonic() - started
        first.join()

        second = outcomes[0]
        assert isinstance(second, StorageError), outcomes
        assert "could not read 'k': every connection of the pool stayed busy" in str(second)
        assert "max_connections or pool_timeout" in str(second)
        assert 0.25 < waited < 0.6  # pool_timeout, not twice that
        assert outcomes[1] == {"a": 1}  # the caller that had the connection was answered
        assert storage.retrieve_token("k") == {"a": 1}  # and the pool is free again


@pytest.mark.anyio
async def test_waiting_for_a_connection_leaves_the_event_loop_running(
    redis_server: RedisServer, raw: redis.Redis, prefix: str
) -> None:
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await anyio.sleep(0.01)

    client = redis.asyncio.Redis(port=redis_server.port, max_connections=1)
    async with RedisStorage(client=client, prefix=prefix, pool_timeout=5) as storage:
        await storage.store_token("k", {"a": 1})
        raw.client_pause(500)  # every command waits half a second, holding its connection
        async with anyio.create_task_group() as group:
            group.start_soon(tick)
            reads = await asyncio.gather(*(storage.retrieve_token("k") for _ in range(20)))
            group.cancel_scope.cancel()
    await client.aclose()
    assert reads == [{"a": 1}] * 20
    assert ticks > 10
