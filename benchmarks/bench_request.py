"""What ``authenticated_request`` with a valid token costs over raw httpx, in the same run.

    python benchmarks/bench_request.py [--rounds 5] [--requests 3000]

1. Client CPU: requests through an in-process ``httpx.MockTransport`` (no network), sync and
   async: raw httpx with the ``Authorization`` header set by hand, our client with a stored
   valid token, and Authlib's httpx client when it is installed, taking turns of 250 requests
   so that machine load falls on all alike. Reported as process CPU µs per request
   and as µs added over raw httpx (target: at most +3 µs), for an ``https://`` resource and
   for an ``http://127.0.0.1`` one (how local MCP servers are reached), whose bearer-URL
   check differs.
2. Concurrency: 200 concurrent requests to a loopback endpoint that answers after 20 ms, raw
   httpx against our client and against an httpx client with our ``httpx_auth``, as ratios of
   wall time (targets: within 1.10× and 1.05×).

``httpx_auth`` (the ``httpx.Auth`` MCP applications plug in) is measured beside
``authenticated_request`` in both (target: at most +5 µs of CPU per request). When ``httpx2``
is installed (the ``[httpx2]`` extra; the HTTP client of the MCP Python SDK 2.x), the CPU part
also measures ``httpx2_auth`` against raw ``httpx2`` with the header set by hand (target: at
most +5 µs), in the same turns; Authlib, which runs on ``httpx2`` when it is installed, is then
compared with raw ``httpx2``. Each contender's "added" is over the raw client of its own library.

The medians of several rounds are compared; the numbers are ratios against the baseline taken
in the same process, never absolute thresholds.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import httpx

from mcp_oauth_dynamicclient import OAuth2Client, SyncOAuth2Client, TokenResponse

try:
    import httpx2
except ImportError:  # the [httpx2] extra: its contenders are left out
    httpx2 = None  # type: ignore[assignment]

ISSUER = "https://as.example"
URLS = {"https": "https://mcp.example/mcp", "http loopback": "http://127.0.0.1:8000/mcp"}
RESOURCE = URLS["https"]
ACCESS_TOKEN = "at-" + "x" * 40
BURSTS = 11


def _ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"ok": True})


def _ok2(request: Any) -> Any:
    return httpx2.Response(200, json={"ok": True})


RAW = {"httpx": "raw httpx", "httpx2": "raw httpx2"}
# The library each contender runs on, so that it is compared with that library's raw client.
LIBRARY = {"raw httpx": "httpx", "ours": "httpx", "httpx_auth": "httpx",
           "raw httpx2": "httpx2", "httpx2_auth": "httpx2"}  # fmt: skip


def _authlib_library(client_class: type) -> str:
    """The library an Authlib client runs on: httpx2 once installed (Authlib moves there)."""
    if httpx2 is not None and issubclass(client_class, (httpx2.Client, httpx2.AsyncClient)):
        return "httpx2"
    return "httpx"


def _mock_transport(library: str) -> Any:
    return httpx2.MockTransport(_ok2) if library == "httpx2" else httpx.MockTransport(_ok)


CHUNK = 250  # requests per turn: the contenders take turns, so machine load falls on all alike


def _time_sync(send: Callable[[], Any], count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        send()
    return (time.perf_counter() - start) / count * 1e6


async def _time_async(send: Callable[[], Awaitable[Any]], count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        await send()
    return (time.perf_counter() - start) / count * 1e6


def _turns_sync(sends: dict[str, Callable[[], Any]], count: int) -> dict[str, float]:
    """µs of process CPU per request of each contender, taking turns of ``CHUNK`` requests."""
    spent = dict.fromkeys(sends, 0.0)
    for turn in range(count // CHUNK):
        order = list(sends.items())
        for name, send in order if turn % 2 else reversed(order):
            start = time.process_time()
            for _ in range(CHUNK):
                send()
            spent[name] += time.process_time() - start
    return {name: total / (count // CHUNK * CHUNK) * 1e6 for name, total in spent.items()}


async def _turns_async(
    sends: dict[str, Callable[[], Awaitable[Any]]], count: int
) -> dict[str, float]:
    """:func:`_turns_sync` for coroutines, on one event loop."""
    spent = dict.fromkeys(sends, 0.0)
    for turn in range(count // CHUNK):
        order = list(sends.items())
        for name, send in order if turn % 2 else reversed(order):
            start = time.process_time()
            for _ in range(CHUNK):
                await send()
            spent[name] += time.process_time() - start
    return {name: total / (count // CHUNK * CHUNK) * 1e6 for name, total in spent.items()}


def _seeded_token() -> TokenResponse:
    return TokenResponse(access_token=ACCESS_TOKEN, expires_in=3600, expires_at=time.time() + 3600)


def _client_metadata() -> Any:
    from mcp_oauth_dynamicclient._generated import AuthorizationServerMetadata

    return AuthorizationServerMetadata(
        issuer=ISSUER,
        token_endpoint=f"{ISSUER}/token",
        code_challenge_methods_supported=["S256"],
    )


def _prime(client: Any) -> None:
    """A pre-registered client holding a valid token, as after a completed flow."""
    client._metadata = _client_metadata()


def cpu_sync(count: int, resource: str) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {ACCESS_TOKEN}"}
    raw = httpx.Client(transport=httpx.MockTransport(_ok))
    ours = SyncOAuth2Client(
        ISSUER,
        client_id="c",
        client_secret="s",
        http_client=httpx.Client(transport=httpx.MockTransport(_ok)),
    )
    _prime(ours)
    ours._keep(ours.register(), _seeded_token())
    with_auth = httpx.Client(transport=httpx.MockTransport(_ok), auth=ours.httpx_auth())
    sends: dict[str, Callable[[], Any]] = {
        "raw httpx": lambda: raw.get(resource, headers=headers),
        "ours": lambda: ours.authenticated_request("GET", resource),
        "httpx_auth": lambda: with_auth.get(resource),
    }
    if httpx2 is not None:
        raw2 = httpx2.Client(transport=httpx2.MockTransport(_ok2))
        with_auth2 = httpx2.Client(transport=httpx2.MockTransport(_ok2), auth=ours.httpx2_auth())
        sends["raw httpx2"] = lambda: raw2.get(resource, headers=headers)
        sends["httpx2_auth"] = lambda: with_auth2.get(resource)
    try:
        from authlib.integrations.httpx_client import OAuth2Client as AuthlibClient
    except ImportError:
        return _turns_sync(sends, count)
    LIBRARY["authlib"] = _authlib_library(AuthlibClient)
    authlib = AuthlibClient(
        client_id="c",
        client_secret="s",
        token={
            "access_token": ACCESS_TOKEN,
            "token_type": "Bearer",
            "expires_at": time.time() + 3600,
        },
        transport=_mock_transport(LIBRARY["authlib"]),
    )
    sends["authlib"] = lambda: authlib.get(resource)
    return _turns_sync(sends, count)


async def cpu_async(count: int, resource: str) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {ACCESS_TOKEN}"}
    raw = httpx.AsyncClient(transport=httpx.MockTransport(_ok))
    ours = OAuth2Client(
        ISSUER,
        client_id="c",
        client_secret="s",
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(_ok)),
    )
    _prime(ours)
    await ours._keep(await ours.register(), _seeded_token())
    with_auth = httpx.AsyncClient(transport=httpx.MockTransport(_ok), auth=ours.httpx_auth())
    sends: dict[str, Callable[[], Awaitable[Any]]] = {
        "raw httpx": lambda: raw.get(resource, headers=headers),
        "ours": lambda: ours.authenticated_request("GET", resource),
        "httpx_auth": lambda: with_auth.get(resource),
    }
    if httpx2 is not None:
        raw2 = httpx2.AsyncClient(transport=httpx2.MockTransport(_ok2))
        auth2 = ours.httpx2_auth()
        with_auth2 = httpx2.AsyncClient(transport=httpx2.MockTransport(_ok2), auth=auth2)
        sends["raw httpx2"] = lambda: raw2.get(resource, headers=headers)
        sends["httpx2_auth"] = lambda: with_auth2.get(resource)
    try:
        from authlib.integrations.httpx_client import AsyncOAuth2Client as AuthlibAsync
    except ImportError:
        return await _turns_async(sends, count)
    LIBRARY["authlib"] = _authlib_library(AuthlibAsync)
    authlib = AuthlibAsync(
        client_id="c",
        client_secret="s",
        token={
            "access_token": ACCESS_TOKEN,
            "token_type": "Bearer",
            "expires_at": time.time() + 3600,
        },
        transport=_mock_transport(LIBRARY["authlib"]),
    )
    sends["authlib"] = lambda: authlib.get(resource)
    return await _turns_async(sends, count)


# ------------------------------------------------------------------------- concurrency


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


SLOW_APP = """
import asyncio, socket, sys
import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

async def slow(request):
    await asyncio.sleep(0.020)
    return JSONResponse({"ok": True})

app = Starlette(routes=[Route("/mcp", slow)])
# Created with IPPROTO_TCP so asyncio turns Nagle off (TCP_NODELAY); a socket made with proto 0,
# as uvicorn's own bind does, keeps Nagle on and adds delayed-ACK stalls of ~40 ms.
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", int(sys.argv[1])))
config = uvicorn.Config(app, log_level="error", backlog=2048, timeout_keep_alive=120)
uvicorn.Server(config).run(sockets=[sock])
"""


def _serve_slow_endpoint(port: int) -> subprocess.Popen[bytes]:
    """The 20 ms endpoint, in its own process so it does not share our GIL."""
    process = subprocess.Popen([sys.executable, "-c", SLOW_APP, str(port)])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/mcp", timeout=1)
            return process
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("the benchmark endpoint did not start")


async def concurrency(concurrent: int) -> dict[str, float]:
    port = _free_port()
    server = _serve_slow_endpoint(port)
    url = f"http://127.0.0.1:{port}/mcp"
    limits = httpx.Limits(
        max_connections=concurrent, max_keepalive_connections=concurrent, keepalive_expiry=120
    )
    headers = {"Authorization": f"Bearer {ACCESS_TOKEN}"}
    try:
        async with httpx.AsyncClient(limits=limits) as raw:
            ours = OAuth2Client(
                ISSUER,
                client_id="c",
                client_secret="s",
                http_client=httpx.AsyncClient(limits=limits),
            )
            _prime(ours)
            await ours._keep(await ours.register(), _seeded_token())

            async def burst(send: Callable[[], Awaitable[Any]], size: int = concurrent) -> float:
                start = time.perf_counter()
                responses = await asyncio.gather(*(send() for _ in range(size)))
                assert all(r.status_code == 200 for r in responses)
                return time.perf_counter() - start

            with_auth = httpx.AsyncClient(limits=limits, auth=ours.httpx_auth())
            sends: dict[str, Callable[[], Awaitable[Any]]] = {
                "raw httpx": lambda: raw.get(url, headers=headers),
                "ours": lambda: ours.authenticated_request("GET", url),
                "httpx_auth": lambda: with_auth.get(url),
            }
            # Warm every pool first, growing the bursts step by step: 200 connections opened at
            # once leave httpcore's pool slow for a long while (for raw httpx alike), which is
            # not what is measured here.
            for size in range(concurrent // 4, concurrent + 1, concurrent // 4):
                for send in sends.values():
                    await burst(send, size)
            times: dict[str, list[float]] = {name: [] for name in sends}
            for index in range(BURSTS):  # rotate who goes first
                order = list(sends)
                order = order[index % len(order) :] + order[: index % len(order)]
                for name in order:
                    times[name].append(await burst(sends[name]))
            await ours._http.aclose()
            await with_auth.aclose()
        for name, measured in times.items():
            print(f"  bursts (ms): {name}", [round(t * 1000) for t in measured])
        return {name: statistics.median(measured) * 1000 for name, measured in times.items()}
    finally:
        server.terminate()
        server.wait(timeout=10)


def _run_async(count: int, resource: str) -> dict[str, float]:
    return asyncio.run(cpu_async(count, resource))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrent", type=int, default=200)
    args = parser.parse_args()
    try:
        import sniffio  # noqa: F401  (httpcore retries the import on every request without it)
    except ImportError:
        print("warning: sniffio is not installed; the raw baseline is slower than it should be")

    for kind, url in URLS.items():
        runs: dict[str, Callable[[], dict[str, float]]] = {
            "sync": partial(cpu_sync, args.requests, url),
            "async": partial(_run_async, args.requests, url),
        }
        for flavour, run in runs.items():
            rounds = [run() for _ in range(args.rounds)]
            medians = {name: statistics.median(r[name] for r in rounds) for name in rounds[0]}
            print(
                f"\nclient CPU per request to an {kind} URL, {flavour} "
                f"(median of {args.rounds} rounds of {args.requests}, in turns of {CHUNK})"
            )
            for library, raw in RAW.items():
                for name, value in medians.items():
                    if LIBRARY[name] != library:
                        continue
                    # The median of each round's difference: both sides ran in the same turns.
                    added = statistics.median(r[name] - r[raw] for r in rounds)
                    ratio = value / medians[raw]
                    print(f"  {name:11} {value:7.1f} µs   {added:+5.1f} µs   x{ratio:.2f} of {raw}")
    print("\n  targets: over raw httpx, ours +3 µs and httpx_auth +5 µs; over raw httpx2,")
    print("  httpx2_auth +5 µs")
    if httpx2 is None:
        print("  (httpx2 is not installed: httpx2_auth was not measured)")

    timings = asyncio.run(concurrency(args.concurrent))
    print(
        f"\n{args.concurrent} concurrent requests to a 20 ms endpoint (median of {BURSTS} bursts)"
    )
    base = timings["raw httpx"]
    for name, value in timings.items():
        print(f"  {name:10} {value:7.1f} ms   x{value / base:.3f} of raw httpx")
    print("  targets: ours <= 1.10, httpx_auth <= 1.05")
    return 0


if __name__ == "__main__":
    sys.exit(main())
