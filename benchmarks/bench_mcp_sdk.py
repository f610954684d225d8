"""The refresh storm of bench_tokens.py with the MCP Python SDK's OAuth provider alongside.

    python benchmarks/bench_mcp_sdk.py [--concurrent 200] [--rounds 5] [--latency-ms 10]
                                       [--in-process]

N concurrent requests sharing one expired token against MockAuthServer with refresh token
rotation, as wall time and the number of refresh requests the server saw, for our client,
Authlib's ``AsyncOAuth2Client`` (both built by bench_tokens.py's ``_client``) and the MCP SDK's
``OAuthClientProvider`` (``mcp.client.auth``). The SDK (``mcp`` 2.x) depends on ``httpx2`` and
never enters this process: ``mcp_sdk_storm.py`` runs it in the SDK's own virtual environment
(``tests/interop/mcp_sdk_server/.venv``, built on first use by
``tests/interop/mcp_sdk_server.py``). So that all three run alike, our client and Authlib run
in a child process too (this file with ``--child``); ``--in-process`` runs them in this process,
next to the server's thread, as bench_tokens.py does. Each child warms its HTTP client up on a
plain request and reports the time of the concurrent requests alone.

Every storm has a fresh server, provisioned as bench_tokens.py does it; each round runs all
three, in an order that reverses from round to round; the first round warms up and is not
counted. The storm runs twice: as in bench_tokens.py, then with ``--latency-ms`` added to every
answer (a ``Fault.latency`` on every path), where requests the client serialises cost N times
the latency. Last, one SDK request as after a restart: the token only in storage, its access
token expired at the server, to show what the provider does with the 401.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import httpx

from mcp_oauth_dynamicclient.testing import Fault, MockAuthServer

# bench_tokens.py is imported by name, not followed by mypy: it is another script, checked on
# its own. Its ``_client(name, server, created, token)`` builds our client or Authlib's.
_client: Callable[
    [str, MockAuthServer, Any, dict[str, Any]],
    Awaitable[tuple[Callable[[], Awaitable[httpx.Response]], Callable[[], Awaitable[None]]]],
] = importlib.import_module("bench_tokens")._client

ROOT = Path(__file__).resolve().parent.parent
STORM = Path(__file__).resolve().with_name("mcp_sdk_storm.py")
NAMES = ("ours", "authlib", "mcp-sdk")
CHILD_TIMEOUT_SECONDS = 120.0


def _sdk_python() -> Path:
    """The SDK venv's interpreter, the venv built (or rebuilt) first if need be."""
    interop = str(ROOT / "tests" / "interop")
    sys.path.insert(0, interop)  # how tests/interop modules import it, as a plain module
    try:
        ensure_venv: Callable[[], Path] = importlib.import_module("mcp_sdk_server").ensure_venv
    finally:
        sys.path.remove(interop)
    return ensure_venv()


def _provision(server: MockAuthServer) -> dict[str, Any]:
    """A client and a refreshable token, as bench_tokens.py's ``_storm_once`` provisions them."""
    created = server.create_client(
        {"redirect_uris": ["http://127.0.0.1:8080/cb"],
         "grant_types": ["authorization_code", "refresh_token"]}
    )  # fmt: skip
    seed = server.issue_token(created.client_id, refresh=True, resource=[server.resource_url])
    return {
        "issuer": server.url,
        "client_id": created.client_id,
        "client_secret": created.client_secret,
        "auth_method": created.token_endpoint_auth_method or "client_secret_basic",
        "access_token": seed.access_token,
        "refresh_token": seed.refresh_token,
        "resource_url": server.resource_url,
    }


def _run_child(cmd: list[str], params: dict[str, Any], *, isolated: bool) -> dict[str, Any]:
    """Run ``cmd`` with ``params`` as JSON on stdin (they hold a secret and tokens, which argv
    would show to a process listing); its JSON answer. ``isolated`` drops this venv's
    environment variables, for the SDK's interpreter."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    if isolated:
        env.pop("VIRTUAL_ENV", None)
        env.pop("PYTHONPATH", None)
    done = subprocess.run(
        cmd,
        input=json.dumps(params),
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_SECONDS,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {done.returncode}:\n{done.stderr}")
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


async def _storm(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Our client's or Authlib's storm, as bench_tokens.py's ``_storm_once`` runs it."""
    token = {
        "access_token": params["access_token"],
        "refresh_token": params["refresh_token"],
        "token_type": "Bearer",
        "expires_at": time.time() - 10,
    }
    # _client reads only these attributes of the server and of the registration.
    server = cast(
        MockAuthServer, SimpleNamespace(url=params["issuer"], resource_url=params["resource_url"])
    )
    created = SimpleNamespace(client_id=params["client_id"], client_secret=params["client_secret"])
    metadata = f"{params['issuer']}/.well-known/oauth-authorization-server"
    async with httpx.AsyncClient() as plain:  # warm httpx up, as mcp_sdk_storm.py does httpx2
        (await plain.get(metadata)).raise_for_status()
    send, close = await _client(name, server, created, token)
    try:
        start = time.perf_counter()
        responses = await asyncio.gather(*(send() for _ in range(params["concurrent"])))
        elapsed = time.perf_counter() - start
    finally:
        await close()
    return {"elapsed_ms": elapsed * 1000, "ok": all(r.status_code == 200 for r in responses)}


async def _storm_once(
    name: str, concurrent: int, latency: float, sdk_python: Path, in_process: bool
) -> tuple[float, int, dict[str, Any]]:
    """One storm on a fresh server: seconds, refresh requests the server saw, the answer."""
    with MockAuthServer(access_token_lifetime=3600) as server:
        params = {**_provision(server), "concurrent": concurrent, "mode": "storm"}
        if latency:
            server.inject(Fault.latency(latency), times=None)
        if name == "mcp-sdk":
            cmd = [str(sdk_python), str(STORM)]
            answer = await asyncio.to_thread(_run_child, cmd, params, isolated=True)
        elif in_process:
            answer = await _storm(name, params)
        else:
            cmd = [sys.executable, str(Path(__file__).resolve()), "--child", name]
            answer = await asyncio.to_thread(_run_child, cmd, params, isolated=False)
        assert answer["ok"], (name, answer)
        return answer["elapsed_ms"] / 1000, server.requests.count("/token", method="POST"), answer


async def storm(
    concurrent: int, rounds: int, latency: float, sdk_python: Path, in_process: bool
) -> None:
    where = "ours and Authlib in this process" if in_process else "each client in its own process"
    extra = f", {latency * 1000:.0f} ms latency on every answer" if latency else ""
    print(
        f"\n{concurrent} concurrent requests sharing one expired token (MockAuthServer, rotation "
        f"on{extra}; median of {rounds} rounds, alternating order; {where})"
    )
    times: dict[str, list[float]] = {name: [] for name in NAMES}
    refreshes: dict[str, set[int]] = {name: set() for name in NAMES}
    in_flight: set[int] = set()
    stored: set[int] = set()
    for index in range(rounds + 1):  # the first round warms all three up and is not counted
        for name in NAMES if index % 2 else NAMES[::-1]:
            elapsed, count, answer = await _storm_once(
                name, concurrent, latency, sdk_python, in_process
            )
            if index:
                times[name].append(elapsed)
                refreshes[name].add(count)
                if name == "mcp-sdk":
                    in_flight.add(answer["max_in_flight"])
                    stored.add(answer["stored_tokens"])
    for name, values in times.items():
        median = statistics.median(values) * 1000
        print(
            f"  {name:8} {median:8.1f} ms   refresh requests per storm: {sorted(refreshes[name])}"
        )
    ours = statistics.median(times["ours"])
    print(f"  ratio    x{statistics.median(times['authlib']) / ours:.2f} (Authlib's time / ours)")
    print(f"  ratio    x{statistics.median(times['mcp-sdk']) / ours:.2f} (MCP SDK's time / ours)")
    print(
        f"  mcp-sdk: most requests in flight at once {sorted(in_flight)}, "
        f"tokens stored per storm {sorted(stored)}"
    )


async def restart(sdk_python: Path) -> None:
    """One SDK request as after a restart, the access token expired at the server."""
    with MockAuthServer(access_token_lifetime=3600) as server:
        params = {**_provision(server), "concurrent": 1, "mode": "restart"}
        server.clock.advance(3600 + 60)  # the access token expires; the refresh token does not
        cmd = [str(sdk_python), str(STORM)]
        answer = await asyncio.to_thread(_run_child, cmd, params, isolated=True)
        count = server.requests.count("/token", method="POST")
    print("\nMCP SDK after a restart (token from storage, access token expired at the server)")
    print(f"  requests: {', '.join(answer['requests'])}")
    print(f"  outcome:  {answer['error'] or answer['statuses']}")
    print(f"  refresh requests: {count}")


async def _bench(args: argparse.Namespace) -> None:
    sdk_python = _sdk_python()
    for latency in (0.0, args.latency_ms / 1000) if args.latency_ms else (0.0,):
        rounds = args.rounds if not latency else args.latency_rounds
        await storm(args.concurrent, rounds, latency, sdk_python, args.in_process)
    await restart(sdk_python)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrent", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=10.0, help="0: skip that storm")
    parser.add_argument("--latency-rounds", type=int, default=3)
    parser.add_argument("--in-process", action="store_true", help="ours and Authlib in-process")
    parser.add_argument("--child", choices=NAMES[:2], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:  # one storm in a child process: parameters on stdin, JSON on stdout
        print(json.dumps(asyncio.run(_storm(args.child, json.load(sys.stdin)))))
        return 0
    asyncio.run(_bench(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
