"""Soak: processes sharing one token storage through refreshes the server answers 503.

    python benchmarks/soak_retry_after.py [--processes 2] [--tasks 10] [--seconds 10]

The load of issue 12, item 14, bounded (the issue's run was 4 processes x 25 tasks x 30 s):
``--processes`` child processes, each an ``OAuth2Client`` with ``--tasks`` asyncio tasks that
send ``authenticated_request`` to MockAuthServer's resource back to back for ``--seconds``,
all sharing one ``FileStorage`` file. Access tokens live ``--lifetime`` seconds (3) and are
refreshed ``--skew`` seconds (1) before they expire, with refresh token rotation on (a rotated
refresh token presented again is ``invalid_grant`` and revokes the grant for everyone). Every
``--every`` seconds (2.5) the next token request is answered ``503`` with ``Retry-After: 1``.

Reported, and checked (exit status 1 when a check fails):

- no request fails: every ``authenticated_request`` got 200;
- one refresh per token lifetime: refreshes the server processed, against the
  ``seconds / (lifetime - skew)`` a single client would make, and the shortest time between
  two of them;
- no refresh token spent twice: each refresh token reached the endpoint at most once (a 503
  retried with the same token does not count: the server did not process it), and no
  ``invalid_grant``;
- every 503 answered to a refresh was retried after its ``Retry-After``;
- memory flat: each child's resident set size after warm-up and at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from mcp_oauth_dynamicclient import OAuth2Client, RetryConfig, SyncOAuth2Client
from mcp_oauth_dynamicclient.storage import FileStorage, SyncFileStorage
from mcp_oauth_dynamicclient.testing import Fault, MockAuthServer

REDIRECT = "http://127.0.0.1:8080/callback"
RETRY_AFTER = 1  # seconds, in each injected 503


# ----------------------------------------------------------------------------------- child


def _rss_kib() -> int:
    """This process's resident set size in KiB (Linux ``/proc``), 0 elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


async def _child(args: argparse.Namespace) -> dict[str, Any]:
    storage = FileStorage(args.storage)
    outcomes: Counter[str] = Counter()
    rss: list[tuple[float, int]] = []
    async with OAuth2Client(
        args.issuer,
        redirect_uris=[REDIRECT],
        resource=args.resource,
        storage=storage,
        retry_config=RetryConfig(),
        clock_skew=args.skew,
    ) as client:
        await client.register()
        while time.time() < args.start:
            await asyncio.sleep(0.005)
        end = args.start + args.seconds

        async def task() -> None:
            while time.time() < end:
                try:
                    response = await client.authenticated_request("GET", args.resource)
                    outcomes[
                        "200" if response.status_code == 200 else str(response.status_code)
                    ] += 1
                except Exception as exc:  # every failure is counted and reported by kind
                    outcomes[f"{type(exc).__name__}: {str(exc)[:120]}"] += 1

        async def sample() -> None:
            while time.time() < end:
                rss.append((time.time() - args.start, _rss_kib()))
                await asyncio.sleep(0.5)

        await asyncio.gather(sample(), *(task() for _ in range(args.tasks)))
    return {"outcomes": dict(outcomes), "rss": rss}


# ---------------------------------------------------------------------------------- parent


def _seed(server: MockAuthServer, path: Path) -> str:
    """Register and authorize once; the token every child starts from; its refresh token."""
    with SyncOAuth2Client(
        server.url,
        redirect_uris=[REDIRECT],
        resource=server.resource_url,
        storage=SyncFileStorage(path),
    ) as client:
        callback = httpx.get(client.get_authorization_url()).headers["location"]
        token = client.exchange_code(callback)
    assert token.refresh_token is not None
    return token.refresh_token


def _inject_faults(server: MockAuthServer, every: float, stop: threading.Event) -> None:
    """Every ``every`` seconds, arm one 503 + Retry-After for the next token request (unless
    the last one is still waiting for one: at most one token request per period fails)."""
    armed = None
    while not stop.wait(every):
        if armed is None or armed.remaining == 0:
            fault = Fault.server_error(503, retry_after=RETRY_AFTER)
            armed = server.inject(fault, path="/token", method="POST", times=1)


def _run_children(args: argparse.Namespace, server: MockAuthServer, path: Path) -> list[Any]:
    start = time.time() + 3.0  # every child built and registered before the load starts
    command = [
        sys.executable, __file__, "--child",
        "--issuer", server.url, "--resource", server.resource_url, "--storage", str(path),
        "--start", str(start), "--seconds", str(args.seconds), "--tasks", str(args.tasks),
        "--skew", str(args.skew),
    ]  # fmt: skip
    children = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(args.processes)
    ]
    stop = threading.Event()
    injector = threading.Thread(target=_inject_faults, args=(server, args.every, stop))
    time.sleep(max(0.0, start - time.time()))
    injector.start()
    results = []
    try:
        for child in children:
            out, err = child.communicate(timeout=args.seconds + 120)
            if child.returncode != 0:
                raise SystemExit(f"a child failed:\n{err}")
            results.append(json.loads(out))
    finally:
        stop.set()
        injector.join()
    return results


def _memory(rss: list[list[float]], warm_up: float) -> tuple[int, int]:
    """(after warm-up, at the end) in KiB: medians of the samples of each end's third."""
    samples = [kib for at, kib in rss if at >= warm_up] or [kib for _, kib in rss]
    third = max(1, len(samples) // 3)
    return int(statistics.median(samples[:third])), int(statistics.median(samples[-third:]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--lifetime", type=int, default=3, help="access token lifetime, s")
    parser.add_argument("--skew", type=float, default=1.0, help="refresh this early, s")
    parser.add_argument("--every", type=float, default=2.5, help="one 503 per this many s")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--issuer", help=argparse.SUPPRESS)
    parser.add_argument("--resource", help=argparse.SUPPRESS)
    parser.add_argument("--storage", help=argparse.SUPPRESS)
    parser.add_argument("--start", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(_child(args))))
        return 0

    print(
        f"{args.processes} processes x {args.tasks} tasks for {args.seconds:g} s, one "
        f"FileStorage; tokens live {args.lifetime} s, refreshed {args.skew:g} s early; "
        f"a 503 + Retry-After: 1 every {args.every:g} s"
    )
    with (
        tempfile.TemporaryDirectory() as directory,
        MockAuthServer(access_token_lifetime=args.lifetime) as server,
    ):
        path = Path(directory) / "tokens.json"
        first_refresh_token = _seed(server, path)
        results = _run_children(args, server, path)
        refreshes = [
            r for r in server.requests.filter("/token", method="POST")
            if r.param("grant_type") == "refresh_token"
        ]  # fmt: skip
        server_errors = list(server.errors)
    return _report(args, results, refreshes, first_refresh_token, server_errors)


def _report(
    args: argparse.Namespace,
    results: list[Any],
    refreshes: list[Any],
    first_refresh_token: str,
    server_errors: list[Any],
) -> int:
    outcomes: Counter[str] = Counter()
    for result in results:
        outcomes.update(result["outcomes"])
    total = sum(outcomes.values())
    failed = {kind: n for kind, n in outcomes.items() if kind != "200"}

    processed = [r for r in refreshes if r.fault is None]
    faulted = [r for r in refreshes if r.fault is not None]
    spent = Counter(r.param("refresh_token") for r in processed)
    spent_twice = [n for n in spent.values() if n > 1]
    invalid_grant = [r for r in processed if r.status != 200]
    # Retried by the sender that got the 503: the same refresh token again, Retry-After later
    # (meanwhile the refresh lock keeps every other task and process from using it).
    retried = sum(
        1
        for f in faulted
        if any(
            r.param("refresh_token") == f.param("refresh_token")
            and r.time - f.time >= RETRY_AFTER - 0.05
            for r in processed
        )
    )
    ok_times = sorted(r.time for r in processed if r.status == 200)
    gaps = [b - a for a, b in itertools.pairwise(ok_times)]
    period = args.lifetime - args.skew  # a token is refreshed this long after it is issued
    expected = args.seconds / period

    rate = total / args.seconds
    print(f"\nrequests             {total} ({rate:.0f}/s), failed: {sum(failed.values())}")
    for kind, n in sorted(failed.items(), key=lambda item: -item[1])[:10]:
        print(f"  {n:6}  {kind}")
    shortest = min(gaps) if gaps else float("nan")
    print(
        f"refreshes processed  {len(processed)} (one per {period:g} s: about {expected:.1f}); "
        f"shortest gap {shortest:.2f} s"
    )
    print(f"refresh tokens spent twice: {len(spent_twice)}; refused: {len(invalid_grant)}")
    print(f"503 + Retry-After on a refresh: {len(faulted)}, retried after it: {retried}")
    print(f"first refresh token used: {first_refresh_token in spent}")
    print("memory (RSS after warm-up -> end, KiB):")
    growth = []
    for index, result in enumerate(results):
        before, after = _memory(result["rss"], warm_up=min(3.0, args.seconds / 3))
        growth.append(after - before)
        print(f"  child {index}: {before} -> {after} ({after - before:+d})")

    checks = {
        "no request failed": not failed and total > 0,
        "one refresh per token lifetime": (
            0 < len(processed) <= expected + 1 and all(g >= period * 0.9 for g in gaps)
        ),
        "no refresh token spent twice": not spent_twice and not invalid_grant,
        "every 503 on a refresh retried": retried == len(faulted) and len(faulted) > 0,
        "memory flat (< 8 MiB growth per child)": all(g < 8 * 1024 for g in growth),
        "the server hit no internal error": not server_errors,
    }
    print()
    for name, ok in checks.items():
        print(f"  [{'ok' if ok else 'FAILED'}] {name}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
