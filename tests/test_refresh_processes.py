"""Eight processes, 200 concurrent tasks, one expired token: exactly one refresh at the server.

Each child process builds its own ``OAuth2Client`` on the shared storage (a ``FileStorage`` file
or a ``RedisStorage`` prefix), waits for a common start time and sends 25 authenticated
requests at once. MockAuthServer rotates refresh tokens, so a second refresh with the
rotated-out token would be ``invalid_grant`` and revoke the grant for everyone.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mcp_oauth_dynamicclient import StorageError, SyncOAuth2Client
from mcp_oauth_dynamicclient.storage import SyncFileStorage, SyncRedisStorage
from mcp_oauth_dynamicclient.testing import Fault, MockAuthServer
from tests.clients import REDIRECT
from tests.redis_server import RedisServer, run_redis_server

PROCESSES = 8
TASKS = 25

CHILD = """
import asyncio, json, sys, time
from mcp_oauth_dynamicclient import OAuth2Client
from mcp_oauth_dynamicclient.storage import FileStorage, RedisStorage

issuer, resource, kind, where, prefix, start = sys.argv[1:7]
tasks = int(sys.argv[7])


async def main():
    if kind == "file":
        storage = FileStorage(where)
    else:
        storage = RedisStorage.from_url(where, prefix=prefix)
    async with OAuth2Client(issuer, redirect_uris=[sys.argv[8]], resource=resource,
                            storage=storage) as client:
        await client.register()
        while time.time() < float(start):
            await asyncio.sleep(0.001)
        calls = [client.authenticated_request("GET", resource) for _ in range(tasks)]
        results = await asyncio.gather(*calls, return_exceptions=True)
    if kind == "redis":
        await storage.aclose()
    print(json.dumps([r.status_code if hasattr(r, "status_code") else repr(r) for r in results]))


asyncio.run(main())
"""


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    """A redis-server of this module's own, on a free port."""
    with run_redis_server() as started:
        yield started


@pytest.fixture(params=["file", "redis"])
def shared(
    request: pytest.FixtureRequest, tmp_path: Path, redis_server: RedisServer
) -> Iterator[tuple[str, str, str, Any]]:
    """(kind, where, prefix, a blocking storage on the same place)."""
    if request.param == "file":
        path = tmp_path / "tokens.json"
        yield "file", str(path), "", SyncFileStorage(path)
        return
    prefix = f"test:{uuid.uuid4().hex}:"
    storage = SyncRedisStorage.from_url(redis_server.url, prefix=prefix)
    yield "redis", redis_server.url, prefix, storage
    storage.close()


def test_eight_processes_share_one_refresh(
    server: MockAuthServer, shared: tuple[str, str, str, Any]
) -> None:
    kind, where, prefix, storage = shared
    with SyncOAuth2Client(
        server.url, redirect_uris=[REDIRECT], resource=server.resource_url, storage=storage
    ) as client:
        callback = httpx.get(client.get_authorization_url()).headers["location"]
        first = client.exchange_code(callback)
        key = client._current_key()
        # Only the clients think the token has expired; the server still accepts it, so any
        # extra refresh would show as a second /token request, and a replayed refresh token
        # as invalid_grant.
        client.tokens.store_token(key, {**first.to_dict(), "expires_at": time.time() - 1})

    start = time.time() + 3.0
    arguments = [server.url, server.resource_url, kind, where, prefix, str(start), str(TASKS)]
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, *arguments, REDIRECT],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    results = []
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        results += json.loads(out)

    assert results == [200] * (PROCESSES * TASKS)
    assert server.requests.count("/token", method="POST") == 2  # the exchange, one refresh
    assert server.requests.count("/register", method="POST") == 1
    with SyncOAuth2Client(server.url, storage=storage) as reader:
        refreshed = reader.tokens.get_token(key)
    assert refreshed is not None
    assert refreshed.refresh_token != first.refresh_token
    assert not refreshed.is_expired()


def test_redis_down_during_a_refresh_loses_nothing_in_memory(server: MockAuthServer) -> None:
    """A refreshed token that cannot be stored is kept in memory and used.

    The server has rotated the refresh token by then: losing the new one would log the
    client out for good.
    """
    with run_redis_server() as redis_server:
        storage = SyncRedisStorage.from_url(redis_server.url, prefix="down:")
        with SyncOAuth2Client(
            server.url,
            redirect_uris=[REDIRECT],
            resource=server.resource_url,
            storage=storage,
            clock=server.clock.now,
        ) as client:
            callback = httpx.get(client.get_authorization_url()).headers["location"]
            client.exchange_code(callback)
            server.clock.advance(3601)
            # Redis goes down while the refresh is in flight, after the lock was taken.
            server.inject(Fault.latency(1.0), path="/token")
            stopper = threading.Timer(0.4, redis_server.stop)
            stopper.start()
            with pytest.raises(StorageError):
                client.authenticated_request("GET", server.resource_url)
            stopper.join()
            # The refresh happened and its token is held: the next requests go through.
            assert server.requests.count("/token", method="POST") == 2
            for _ in range(3):
                response = client.authenticated_request("GET", server.resource_url)
                assert response.status_code == 200
            assert server.requests.count("/token", method="POST") == 2
        storage.close()
