"""Token storage and refresh: what ``get_valid_token`` costs per backend, and a refresh storm.

    python benchmarks/bench_tokens.py [--ops 5000]

1. ``get_valid_token`` per backend (memory, file, Redis), asyncio: a manager that holds the
   token in memory (the hot path of ``authenticated_request``) and one that reads the storage
   every time (a new process, or one whose token another process replaced). Reported as ops/s
   and median µs, and as a ratio against reading the same backend directly.
2. 200 concurrent requests sharing one expired token, against MockAuthServer with refresh
   token rotation: our client against Authlib's ``AsyncOAuth2Client`` on the same server, as
   wall time and the number of refresh requests the server saw (a second refresh with a
   rotated-out token is ``invalid_grant``).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from mcp_oauth_dynamicclient import OAuth2Client, TokenManager
from mcp_oauth_dynamicclient.storage import FileStorage, MemoryStorage, RedisStorage
from mcp_oauth_dynamicclient.testing import MockAuthServer

TOKEN = {"access_token": "at-" + "x" * 40, "refresh_token": "rt-" + "y" * 40}


async def _per_op(call: Callable[[], Awaitable[Any]], ops: int) -> list[float]:
    samples = []
    for _ in range(ops):
        start = time.perf_counter_ns()
        await call()
        samples.append((time.perf_counter_ns() - start) / 1000)
    return samples


def _report(name: str, samples: list[float], base: list[float] | None = None) -> None:
    median = statistics.median(samples)
    ratio = f"   x{median / statistics.median(base):.2f} vs a raw read" if base else ""
    print(f"  {name:34} {1e6 / median:10.0f} ops/s {median:9.1f} µs{ratio}")


async def storages(ops: int, redis_url: str | None) -> None:
    backends: list[tuple[str, Any]] = [("memory", MemoryStorage())]
    directory = tempfile.TemporaryDirectory()
    backends.append(("file", FileStorage(Path(directory.name) / "tokens.json")))
    if redis_url:
        backends.append(
            ("redis", RedisStorage.from_url(redis_url, prefix=f"bench:{uuid.uuid4().hex}:"))
        )
    print(f"\nget_valid_token, asyncio (median of {ops})")
    for name, storage in backends:
        token = {**TOKEN, "expires_at": time.time() + 3600}
        warm = TokenManager(storage)
        await warm.store_token("k", token)
        raw = await _per_op(lambda storage=storage: storage.retrieve_token("k"), ops)
        cached = await _per_op(lambda warm=warm: warm.get_valid_token("k"), ops)

        async def cold(storage: Any = storage) -> Any:
            return await TokenManager(storage).get_valid_token("k")

        uncached = await _per_op(cold, ops)
        _report(f"{name}: raw retrieve_token", raw)
        _report(f"{name}: get_valid_token, held", cached, raw)
        _report(f"{name}: get_valid_token, read", uncached, raw)
        if name == "redis":
            await storage.aclose()
    directory.cleanup()


async def storm(concurrent: int, rounds: int) -> None:
    print(
        f"\n{concurrent} concurrent requests sharing one expired token "
        f"(MockAuthServer, rotation on; median of {rounds} rounds, alternating order)"
    )
    names = ("ours", "authlib") if importlib.util.find_spec("authlib") else ("ours",)
    if len(names) == 1:
        print("  (Authlib is not installed: `nox -s bench` installs it for the comparison)")
    times: dict[str, list[float]] = {name: [] for name in names}
    refreshes: dict[str, set[int]] = {name: set() for name in names}
    for index in range(rounds + 1):  # the first round warms both up and is not counted
        for name in names if index % 2 else names[::-1]:
            elapsed, count = await _storm_once(name, concurrent)
            if index:
                times[name].append(elapsed)
                refreshes[name].add(count)
    for name, values in times.items():
        median = statistics.median(values) * 1000
        print(
            f"  {name:8} {median:8.1f} ms   refresh requests per storm: {sorted(refreshes[name])}"
        )
    if "authlib" in times:
        ratio = statistics.median(times["authlib"]) / statistics.median(times["ours"])
        print(f"  ratio    x{ratio:.2f} (Authlib's time / ours)")


async def _storm_once(name: str, concurrent: int) -> tuple[float, int]:
    with MockAuthServer(access_token_lifetime=3600) as server:
        created = server.create_client(
            {"redirect_uris": ["http://127.0.0.1:8080/cb"],
             "grant_types": ["authorization_code", "refresh_token"]}
        )  # fmt: skip
        seed = server.issue_token(created.client_id, refresh=True, resource=[server.resource_url])
        expired = {
            "access_token": seed.access_token,
            "refresh_token": seed.refresh_token,
            "token_type": "Bearer",
            "expires_at": time.time() - 10,
        }
        send, close = await _client(name, server, created, expired)
        try:
            start = time.perf_counter()
            responses = await asyncio.gather(*(send() for _ in range(concurrent)))
            elapsed = time.perf_counter() - start
        finally:
            await close()
        assert all(r.status_code == 200 for r in responses), name
        return elapsed, server.requests.count("/token", method="POST")


async def _client(
    name: str, server: MockAuthServer, created: Any, token: dict[str, Any]
) -> tuple[Callable[[], Awaitable[httpx.Response]], Callable[[], Awaitable[None]]]:
    url = server.resource_url
    if name == "ours":
        client = OAuth2Client(
            server.url, client_id=created.client_id, client_secret=created.client_secret,
            resource=url,
        )  # fmt: skip
        await client.tokens.store_token(client._token_key(created.client_id), token)
        return (lambda: client.authenticated_request("GET", url)), client.aclose
    from authlib.integrations.httpx_client import AsyncOAuth2Client as Authlib

    authlib = Authlib(
        client_id=created.client_id,
        client_secret=created.client_secret,
        token=token,
        token_endpoint=f"{server.url}/token",
        token_endpoint_auth_method="client_secret_basic",
    )
    return (lambda: authlib.get(url)), authlib.aclose


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=5000)
    parser.add_argument("--concurrent", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    asyncio.run(storages(args.ops, args.redis_url or None))
    asyncio.run(storm(args.concurrent, args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
