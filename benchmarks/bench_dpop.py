"""What DPoP (RFC 9449) costs per protected request, against a Bearer token, in the same run.

    python benchmarks/bench_dpop.py [--rounds 5] [--requests 2000]

1. Client CPU per request through an in-process ``httpx.MockTransport`` (no network), sync and
   async, ``authenticated_request`` and ``httpx_auth``: the same client holding a Bearer token
   and holding a DPoP-bound one (ES256: one proof signed per request), taking turns so machine
   load falls on both alike. Reported as process CPU µs per request, the µs DPoP adds, and the
   ratio; beside them, one ES256 proof made alone.
2. Does signing on the event loop block it? Bursts of 50 concurrent requests to a loopback
   endpoint that answers after 20 ms (connections already open: httpx's own cost of opening
   hundreds at once would drown what is measured), Bearer against DPoP, while a ticker task
   measures how late the loop wakes it (1 ms sleeps): wall time per burst, its ratio, and the
   ticker's p99 and worst lateness for each.
   Signing is moved off the loop only if DPoP's lateness is measurably worse than Bearer's.

Medians of several rounds; ratios against the baseline in the same process, never absolute
thresholds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

# Run as a script from benchmarks/: the turn-taking timers are bench_request's.
from bench_request import _turns_async, _turns_sync  # type: ignore[import-not-found]

from mcp_oauth_dynamicclient import OAuth2Client, SyncOAuth2Client, TokenResponse
from mcp_oauth_dynamicclient._dpop import DPoPKey

ISSUER = "https://as.example"
RESOURCE = "https://mcp.example/mcp"
ACCESS_TOKEN = "at-" + "x" * 40


def _ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"ok": True})


def _tokens() -> dict[str, TokenResponse]:
    expires_at = time.time() + 3600
    key = DPoPKey.generate("ES256")
    return {
        "bearer": TokenResponse(access_token=ACCESS_TOKEN, expires_in=3600, expires_at=expires_at),
        "dpop": TokenResponse(
            access_token=ACCESS_TOKEN,
            token_type="DPoP",
            expires_in=3600,
            expires_at=expires_at,
            dpop_key=key.to_pem(),
        ),
    }


def _metadata() -> Any:
    from mcp_oauth_dynamicclient._generated import AuthorizationServerMetadata

    return AuthorizationServerMetadata(issuer=ISSUER, token_endpoint=f"{ISSUER}/token")


def cpu_sync(count: int) -> dict[str, float]:
    sends: dict[str, Callable[[], Any]] = {}
    for kind, token in _tokens().items():
        client = SyncOAuth2Client(
            ISSUER,
            client_id=f"c-{kind}",
            client_secret="s",
            http_client=httpx.Client(transport=httpx.MockTransport(_ok)),
        )
        client._metadata = _metadata()
        client._keep(client.register(), token)
        auth = httpx.Client(transport=httpx.MockTransport(_ok), auth=client.httpx_auth())
        sends[f"{kind} authenticated_request"] = lambda c=client: c.authenticated_request(
            "POST", RESOURCE, json={}
        )
        sends[f"{kind} httpx_auth"] = lambda a=auth: a.post(RESOURCE, json={})
    return _turns_sync(sends, count)


async def cpu_async(count: int) -> dict[str, float]:
    sends: dict[str, Callable[[], Awaitable[Any]]] = {}
    for kind, token in _tokens().items():
        client = OAuth2Client(
            ISSUER,
            client_id=f"c-{kind}",
            client_secret="s",
            http_client=httpx.AsyncClient(transport=httpx.MockTransport(_ok)),
        )
        client._metadata = _metadata()
        await client._keep(await client.register(), token)
        auth = httpx.AsyncClient(transport=httpx.MockTransport(_ok), auth=client.httpx_auth())
        sends[f"{kind} authenticated_request"] = lambda c=client: c.authenticated_request(
            "POST", RESOURCE, json={}
        )
        sends[f"{kind} httpx_auth"] = lambda a=auth: a.post(RESOURCE, json={})
    return await _turns_async(sends, count)


def proof_alone(count: int) -> float:
    key = DPoPKey.generate("ES256")
    start = time.process_time()
    for _ in range(count):
        key.proof("POST", RESOURCE, access_token=ACCESS_TOKEN)
    return (time.process_time() - start) / count * 1e6


# ------------------------------------------------------------------- the loop under load


async def _slow_endpoint() -> tuple[asyncio.AbstractServer, int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                if length:
                    await reader.readexactly(length)
                await asyncio.sleep(0.02)
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    return server, server.sockets[0].getsockname()[1]


async def _ticker(late: list[float], done: asyncio.Event) -> None:
    """Sleep 1 ms at a time until ``done``, noting how late (ms) the loop wakes it each time."""
    while not done.is_set():
        before = time.perf_counter()
        await asyncio.sleep(0.001)
        late.append((time.perf_counter() - before - 0.001) * 1000)


async def loop_lateness(concurrency: int) -> dict[str, tuple[float, float, float]]:
    """Per kind: wall seconds per burst of ``concurrency`` requests, the ticker's p99 and worst
    lateness (ms)."""
    server, port = await _slow_endpoint()
    url = f"http://127.0.0.1:{port}/mcp"
    out: dict[str, tuple[float, float, float]] = {}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    for kind, token in _tokens().items():
        client = OAuth2Client(
            ISSUER,
            client_id=f"c-{kind}",
            client_secret="s",
            http_client=httpx.AsyncClient(limits=limits),
        )
        client._metadata = _metadata()
        await client._keep(await client.register(), token)
        requests = [client.authenticated_request("POST", url, json={}) for _ in range(concurrency)]
        await asyncio.gather(*requests)  # warm: the connections are open from now on
        late: list[float] = []
        done = asyncio.Event()
        tick = asyncio.create_task(_ticker(late, done))
        start = time.perf_counter()
        for _ in range(5):
            requests = [
                client.authenticated_request("POST", url, json={}) for _ in range(concurrency)
            ]
            await asyncio.gather(*requests)
        wall = (time.perf_counter() - start) / 5
        done.set()
        await tick
        await client.aclose()
        late.sort()
        out[kind] = (wall, late[int(len(late) * 0.99)], late[-1])
    server.close()
    await server.wait_closed()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    rounds: list[dict[str, float]] = []
    for _ in range(args.rounds):
        merged = {f"sync {k}": v for k, v in cpu_sync(args.requests).items()}
        merged |= {f"async {k}": v for k, v in asyncio.run(cpu_async(args.requests)).items()}
        merged["ES256 proof alone"] = proof_alone(args.requests)
        rounds.append(merged)
    median = {name: statistics.median(r[name] for r in rounds) for name in rounds[0]}
    print(f"1. client CPU per request (median of {args.rounds} rounds, µs)")
    for flavour in ("sync", "async"):
        for path in ("authenticated_request", "httpx_auth"):
            bearer = median[f"{flavour} bearer {path}"]
            dpop = median[f"{flavour} dpop {path}"]
            print(
                f"   {flavour:5} {path:22} bearer {bearer:7.1f}  dpop {dpop:7.1f}  "
                f"added {dpop - bearer:+7.1f}  ratio {dpop / bearer:4.2f}x"
            )
    print(f"   one ES256 proof alone: {median['ES256 proof alone']:.1f} µs")
    lateness = [asyncio.run(loop_lateness(50)) for _ in range(args.rounds)]
    print(f"2. bursts of 50 concurrent requests, 20 ms each (median of {args.rounds} rounds)")
    for kind in ("bearer", "dpop"):
        wall = statistics.median(r[kind][0] for r in lateness)
        p99 = statistics.median(r[kind][1] for r in lateness)
        worst = statistics.median(r[kind][2] for r in lateness)
        print(
            f"   {kind:6} wall {wall * 1000:7.1f} ms  "
            f"loop lateness p99 {p99:5.2f} ms, worst {worst:5.2f} ms"
        )
    ratio = statistics.median(r["dpop"][0] / r["bearer"][0] for r in lateness)
    print(f"   wall ratio dpop/bearer: {ratio:.3f}x")


if __name__ == "__main__":
    main()
