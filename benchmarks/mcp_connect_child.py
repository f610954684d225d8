# mypy: ignore-errors
"""The client half of ``bench_mcp_connect.py``: one contender, in the MCP SDK's own venv.

Runs INSIDE the SDK's virtual environment (``tests/interop/mcp_sdk_server/.venv``: ``mcp`` 2.x
needs ``httpx2``; this library is installed there too, editable), started by
``bench_mcp_connect.py`` with that interpreter. The parameters arrive as one JSON line on stdin;
the answer leaves as one JSON line on stdout.

``mode: "connect"``: the official MCP client (``streamable_http_client`` + ``ClientSession``)
runs ``initialize`` and a first ``tools/list`` through an ``httpx2.AsyncClient`` whose auth is

- ``ours``: ``OAuth2Client(resource=<MCP URL>, ...).httpx2_auth(authorize=approve)``, with a
  ``FileStorage`` at ``storage``;
- ``mcp-sdk``: the SDK's ``OAuthClientProvider`` with a JSON-file ``TokenStorage`` at
  ``storage`` (the SDK ships none; this one keeps what it is given, as an application's would)
  and redirect/callback handlers that approve headlessly.

``approve`` plays the browser: it follows the authorization server's redirects (one hop at
MockAuthServer, ``/authorize`` → ``/consent`` → callback at the SDK's server) to the redirect
URI. Every request is logged client-side, in the order sent: the MCP requests and the SDK
provider's OAuth requests (the httpx2 client's transport), our client's OAuth requests (its own
httpx client's transport) and the browser's hops. The answer (``records``) is printed once
``tools/list`` has returned, while the session is still open; the child then waits for stdin to
close, so that the parent can read the server's own log at that moment, before the session's
closing ``DELETE``. Run twice on one ``storage`` file, the second run is a restart.

``mode: "concurrency"``: bursts of ``concurrent`` ``tools/list`` POSTs to the MCP endpoint
through ``httpx2`` clients: raw, with the ``Authorization`` header set by hand (the ``token``
given), twice (the second an A/A control), with an ``httpx2.Auth`` that only sets the header,
with our ``httpx2_auth`` and with the SDK's provider. Each has its own MCP session
(``initialize`` first, which authorizes ours and the SDK's). ``rounds`` rounds, each contender
one burst per round, who goes first rotating; then ``sdk_bursts`` bursts of the SDK's. Answers
the wall time and the process CPU time of each burst, and the most requests each client had in
flight at once.
"""

import asyncio
import json
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import httpx2
from mcp.client.auth import OAuthClientProvider, TokenStorage
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)

from mcp_oauth_dynamicclient import OAuth2Client
from mcp_oauth_dynamicclient.storage import FileStorage

CLIENT_NAME = "bench-mcp-connect"
ACCEPT = "application/json, text/event-stream"
TIMEOUT = 30.0


# ------------------------------------------------------------------------------- counting


class Log:
    """Every request sent, in order: who sent it, method, path, JSON-RPC method, status."""

    def __init__(self) -> None:
        self.records = []

    def sent(self, who: str, request) -> dict:
        record = {
            "who": who,
            "method": request.method,
            "path": request.url.path,
            "rpc": _rpc_method(request),
            "status": None,
        }
        self.records.append(record)
        return record


def _rpc_method(request) -> str | None:
    try:
        message = json.loads(request.content)
    except (ValueError, TypeError, httpx.RequestNotRead, httpx2.RequestNotRead):
        return None
    return message.get("method") if isinstance(message, dict) else None


class _Counting:
    """Logs each request and tracks the most in flight at once (mixed into a transport)."""

    def __init__(self, log: Log, who: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.log, self.who = log, who
        self.in_flight = self.max_in_flight = 0

    async def handle_async_request(self, request):
        record = self.log.sent(self.who, request) if self.log is not None else None
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            response = await super().handle_async_request(request)
        finally:
            self.in_flight -= 1
        if record is not None:
            record["status"] = response.status_code
        return response


class Httpx2Counting(_Counting, httpx2.AsyncHTTPTransport):
    pass


class HttpxCounting(_Counting, httpx.AsyncHTTPTransport):
    pass


# ------------------------------------------------------------------------------- the user


def approver(log: Log, redirect_uri: str):
    """The headless browser: authorization URL in, the callback URL it ends at out."""

    async def approve(url: str) -> str:
        transport = Httpx2Counting(log, "browser")
        async with httpx2.AsyncClient(transport=transport, timeout=TIMEOUT) as browser:
            for _ in range(5):
                response = await browser.get(url)
                location = response.headers.get("location")
                if not response.is_redirect or not location:
                    raise RuntimeError(f"{url} answered {response.status_code}: {response.text}")
                url = str(response.url.join(location))
                if url.startswith(redirect_uri):
                    return url
        raise RuntimeError(f"no redirect to {redirect_uri}")

    return approve


# ---------------------------------------------------------------------------- contenders
#
# Each returns an ``httpx2.AsyncClient`` (its transport a counting one; ``limits`` for the
# concurrency part) and what else to close.


async def _nothing() -> None:
    return None


def _http(log, limits, **options) -> httpx2.AsyncClient:
    pool = {"limits": limits} if limits is not None else {}
    transport = Httpx2Counting(log, "http", **pool)
    return httpx2.AsyncClient(transport=transport, timeout=TIMEOUT, **pool, **options)


def raw(params, log, limits=None):
    """Raw ``httpx2``, the ``Authorization`` header set by hand (the given token)."""
    return _http(log, limits, headers={"Authorization": f"Bearer {params['token']}"}), _nothing


class HeaderAuth(httpx2.Auth):
    """The least an ``httpx2.Auth`` can do: set the header. What httpx2's auth machinery
    costs by itself, under any auth."""

    def __init__(self, token: str) -> None:
        self.header = f"Bearer {token}"

    def auth_flow(self, request):
        request.headers["Authorization"] = self.header
        yield request


def header_auth(params, log, limits=None):
    return _http(log, limits, auth=HeaderAuth(params["token"])), _nothing


def ours(params, log, limits=None):
    """``httpx2`` with our auth (``FileStorage``); also closes our OAuth client."""
    oauth = OAuth2Client(
        resource=params["mcp_url"],
        client_name=CLIENT_NAME,
        redirect_uris=[params["redirect_uri"]],
        storage=FileStorage(params["storage"]),
        http_client=httpx.AsyncClient(transport=HttpxCounting(log, "oauth"), timeout=TIMEOUT),
    )
    auth = oauth.httpx2_auth(authorize=approver(log, params["redirect_uri"]))
    return _http(log, limits, auth=auth), oauth.aclose


class JsonFileStorage(TokenStorage):
    """The SDK's ``TokenStorage`` on a JSON file, so that a second process finds the tokens."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def _read(self) -> dict:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def _write(self, key: str, value) -> None:
        data = self._read()
        data[key] = value.model_dump(mode="json", exclude_none=True)
        self.path.write_text(json.dumps(data))

    async def get_tokens(self):
        data = self._read().get("tokens")
        return OAuthToken.model_validate(data) if data else None

    async def set_tokens(self, tokens) -> None:
        self._write("tokens", tokens)

    async def get_client_info(self):
        data = self._read().get("client_info")
        return OAuthClientInformationFull.model_validate(data) if data else None

    async def set_client_info(self, client_info) -> None:
        self._write("client_info", client_info)


def sdk(params, log, limits=None):
    """``httpx2`` with the SDK's ``OAuthClientProvider``, approving headlessly."""
    approve = approver(log, params["redirect_uri"])
    landed = []

    async def redirect_handler(url: str) -> None:
        landed.append(await approve(url))

    async def callback_handler() -> AuthorizationCodeResult:
        query = parse_qs(urlsplit(landed.pop()).query)
        first = {name: values[0] for name, values in query.items()}
        return AuthorizationCodeResult(
            code=first["code"], state=first.get("state"), iss=first.get("iss")
        )

    provider = OAuthClientProvider(
        server_url=params["mcp_url"],
        client_metadata=OAuthClientMetadata(
            client_name=CLIENT_NAME,
            redirect_uris=[params["redirect_uri"]],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
        ),
        storage=JsonFileStorage(params["storage"]),
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
    )
    return _http(log, limits, auth=provider), _nothing


# ------------------------------------------------------------------------------- connect

CONTENDERS = {"ours": ours, "mcp-sdk": sdk}


async def connect(params) -> None:
    log = Log()
    http, close = CONTENDERS[params["contender"]](params, log)
    try:
        async with (
            http,
            streamable_http_client(params["mcp_url"], http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            tools = await session.list_tools()
            answer = {"records": list(log.records), "tools": [tool.name for tool in tools.tools]}
            print(json.dumps(answer), flush=True)
            # The parent reads the server's log now, then closes our stdin.
            await asyncio.to_thread(sys.stdin.read)
    finally:
        await close()


# --------------------------------------------------------------------------- concurrency


def _rpc(method: str, index: int, params=None) -> dict:
    message = {"jsonrpc": "2.0", "id": index, "method": method}
    if params is not None:
        message["params"] = params
    return message


INITIALIZE = {
    "protocolVersion": "2025-11-25",
    "capabilities": {},
    "clientInfo": {"name": CLIENT_NAME, "version": "1"},
}

# Raw httpx2 twice: the second client is the same as the first, so the spread of its ratio to
# the first is the noise of the measurement (an A/A comparison).
FAST = {
    "raw httpx2": raw,
    "raw httpx2 (A/A)": raw,
    "httpx2 Auth, header only": header_auth,
    "httpx2_auth (ours)": ours,
}
SDK = "mcp-sdk provider"


async def _session(http, url: str):
    """Start an MCP session (authorizing on the way); what sends one ``tools/list`` in it."""
    first = await http.post(url, json=_rpc("initialize", 0, INITIALIZE), headers={"Accept": ACCEPT})
    first.raise_for_status()
    headers = {
        "Accept": ACCEPT,
        "Mcp-Session-Id": first.headers["mcp-session-id"],
        "MCP-Protocol-Version": first.json()["result"]["protocolVersion"],
    }

    async def send():
        return await http.post(url, json=_rpc("tools/list", 1), headers=headers)

    return send


async def concurrency(params) -> dict:
    url, size = params["mcp_url"], params["concurrent"]
    limits = httpx2.Limits(
        max_connections=size, max_keepalive_connections=size, keepalive_expiry=120
    )
    clients, sends, closers = {}, {}, []
    for name, make in {**FAST, SDK: sdk}.items():
        storage = str(Path(params["storage_dir"]) / f"concurrency-{len(clients)}.json")
        http, close = make({**params, "storage": storage}, None, limits)
        clients[name] = http
        closers += [http.aclose, close]
        sends[name] = await _session(http, url)
    wall = {name: [] for name in clients}
    cpu = {name: [] for name in clients}

    redone = []

    async def burst(name: str, count: int, keep: bool = True) -> None:
        for _ in range(3):
            start, started = time.perf_counter(), time.process_time()
            try:
                responses = await asyncio.gather(*(sends[name]() for _ in range(count)))
            except httpx2.TransportError as exc:
                # A keep-alive connection the server closed as it was reused (seen once in a
                # while): not what is measured here, so the burst is run again.
                redone.append(f"{name}: {type(exc).__name__}")
                continue
            elapsed, spent = time.perf_counter() - start, time.process_time() - started
            bad = sorted({r.status_code for r in responses if r.status_code != 200})
            if bad:
                raise RuntimeError(f"{name}: HTTP {bad}")
            if keep:
                wall[name].append(elapsed * 1000)
                cpu[name].append(spent * 1000)
            return
        raise RuntimeError(f"{name}: three bursts in a row failed: {redone}")

    # Warm the pools up step by step: 200 connections opened at once overflow the server's
    # listen backlog (128), and SYN retransmits would be measured instead. The SDK's provider
    # sends one request at a time, so a few requests warm it.
    for step in range(size // 4, size + 1, size // 4):
        for name in FAST:
            await burst(name, step, keep=False)
    await burst(SDK, 5, keep=False)
    names = list(FAST)
    for index in range(params["rounds"]):  # who goes first rotates
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            await burst(name, size)
    # Last: its bursts take seconds, longer than the server keeps idle connections alive.
    for _ in range(params["sdk_bursts"]):
        await burst(SDK, size)
    answer = {
        "wall_ms": wall,
        "cpu_ms": cpu,
        "max_in_flight": {name: http._transport.max_in_flight for name, http in clients.items()},
        "redone": redone,
    }
    for close in closers:
        await close()
    return answer


def main() -> int:
    # Parameters arrive as one JSON line on stdin, not argv: a token is among them.
    params = json.loads(sys.stdin.readline())
    if params["mode"] == "connect":
        asyncio.run(connect(params))
    else:
        print(json.dumps(asyncio.run(concurrency(params))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
