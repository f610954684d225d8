"""The refresh storm of bench_tokens.py with the MCP Python SDK's OAuth provider alongside.

    python benchmarks/bench_mcp_sdk.py [--concurrent 200] [--rounds 5]

200 concurrent requests sharing one expired token against MockAuthServer with refresh token
rotation, as wall time and the number of refresh requests the server saw, for our client,
Authlib's ``AsyncOAuth2Client`` (both via bench_tokens.py's ``_storm_once``) and the MCP SDK's
``OAuthClientProvider`` (``mcp.client.auth``). The SDK (``mcp`` 2.x) depends on ``httpx2`` and
never enters this process: ``mcp_sdk_storm.py`` runs it in the SDK's own virtual environment
(``tests/interop/mcp_sdk_server/.venv``, built on first use by
``tests/interop/mcp_sdk_server.py``), against a server this process starts and provisions, and
reports the time of the concurrent requests alone (not its start-up). Every measurement has a
fresh server; each round runs all three, in an order that reverses from round to round; the
first round warms up and is not counted.

Not quite like for like: our client and Authlib share this process (and its GIL) with the
server's thread, while the SDK's client runs in a process of its own.

Then one more SDK run as after a restart: the token only in storage, its access token expired
at the server, to show what the provider does with the 401.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench_tokens import _storm_once

from mcp_oauth_dynamicclient.testing import MockAuthServer

ROOT = Path(__file__).resolve().parent.parent
STORM = Path(__file__).resolve().with_name("mcp_sdk_storm.py")
NAMES = ("ours", "authlib", "mcp-sdk")
SDK_TIMEOUT_SECONDS = 120.0


def _sdk_python() -> Path:
    """The SDK venv's interpreter, the venv built (or rebuilt) first if need be."""
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from interop.mcp_sdk_server import ensure_venv
    finally:
        sys.path.remove(str(ROOT / "tests"))
    return ensure_venv()


def _run_sdk(python: Path, params: dict[str, Any]) -> dict[str, Any]:
    """Run mcp_sdk_storm.py with ``params`` on stdin; its JSON answer."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [str(python), str(STORM)],
        input=json.dumps(params),
        capture_output=True,
        text=True,
        timeout=SDK_TIMEOUT_SECONDS,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"mcp_sdk_storm.py exited with {done.returncode}:\n{done.stderr}")
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def _provision(server: MockAuthServer) -> dict[str, Any]:
    """A client and a refreshable token, as bench_tokens.py's ``_storm_once`` provisions them."""
    created = server.create_client(
        {"redirect_uris": ["http://127.0.0.1:8080/cb"],
         "grant_types": ["authorization_code", "refresh_token"]}
    )  # fmt: skip
    seed = server.issue_token(created.client_id, refresh=True, resource=[server.resource_url])
    assert created.client_secret is not None
    assert seed.refresh_token is not None
    return {
        "issuer": server.url,
        "client_id": created.client_id,
        "client_secret": created.client_secret,
        "auth_method": created.token_endpoint_auth_method or "client_secret_basic",
        "access_token": seed.access_token,
        "refresh_token": seed.refresh_token,
        "resource_url": server.resource_url,
    }


async def _sdk_storm_once(python: Path, concurrent: int) -> tuple[float, int, dict[str, Any]]:
    """One SDK storm on a fresh server: seconds, refresh requests seen, the script's answer."""
    with MockAuthServer(access_token_lifetime=3600) as server:
        params = {**_provision(server), "concurrent": concurrent, "mode": "storm"}
        answer = await asyncio.to_thread(_run_sdk, python, params)
        assert answer["ok"], answer
        return answer["elapsed_ms"] / 1000, server.requests.count("/token", method="POST"), answer


async def _sdk_restart(python: Path) -> tuple[int, dict[str, Any]]:
    """One SDK request as after a restart, the access token expired at the server."""
    with MockAuthServer(access_token_lifetime=3600) as server:
        params = {**_provision(server), "concurrent": 1, "mode": "restart"}
        server.clock.advance(3600 + 60)  # the access token expires; the refresh token does not
        answer = await asyncio.to_thread(_run_sdk, python, params)
        return server.requests.count("/token", method="POST"), answer


async def storm(concurrent: int, rounds: int) -> None:
    python = _sdk_python()
    print(
        f"\n{concurrent} concurrent requests sharing one expired token "
        f"(MockAuthServer, rotation on; median of {rounds} rounds, alternating order)"
    )
    times: dict[str, list[float]] = {name: [] for name in NAMES}
    refreshes: dict[str, set[int]] = {name: set() for name in NAMES}
    in_flight: set[int] = set()
    stored: set[int] = set()
    for index in range(rounds + 1):  # the first round warms all three up and is not counted
        for name in NAMES if index % 2 else NAMES[::-1]:
            if name == "mcp-sdk":
                elapsed, count, answer = await _sdk_storm_once(python, concurrent)
                in_flight.add(answer["max_in_flight"])
                stored.add(answer["stored_tokens"])
            else:
                elapsed, count = await _storm_once(name, concurrent)
            if index:
                times[name].append(elapsed)
                refreshes[name].add(count)
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

    count, answer = await _sdk_restart(python)
    print("\nMCP SDK after a restart (token from storage, access token expired at the server)")
    print(f"  requests: {', '.join(answer['requests'])}")
    print(f"  outcome:  {answer['error'] or answer['statuses']}")
    print(f"  refresh requests: {count}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrent", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(storm(args.concurrent, args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
