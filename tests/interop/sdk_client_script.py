"""MCP clients authorized by this library, run in the MCP SDK's venv by the interop tests.

    python sdk_client_script.py {sdk,sync} URL [--call TOOL]... [--text T] [--consent]
                                [--tokens FILE] [--refuse]

``sdk``: the official SDK's ``ClientSession`` over ``streamable_http_client``, whose
``httpx2.AsyncClient`` carries ``OAuth2Client(resource=URL).httpx2_auth(...)``. ``sync``: a
blocking ``httpx2.Client`` with ``SyncOAuth2Client(resource=URL).httpx2_auth(...)``, speaking
MCP's JSON-RPC by hand (initialize, notifications/initialized, tools/list, tools/call).

Each calls the tools named by ``--call`` (with ``{"text": T}`` when ``--text`` is given, else no
arguments) and prints one JSON object: the server's name and protocol version, the tools listed,
each call's text, structured content and ``isError``, the authorization URLs the ``authorize``
step was handed, the registered ``client_id``, and the requests each HTTP client sent
(``[method, path, status]``; ``oauth``: the library's own, to the authorization server and the
resource's metadata, ``mcp``: those to the MCP server, 401 and 403 included).

``authorize`` is ``auto_approve`` (``MockAuthServer`` redirects straight to the callback), or
with ``--consent`` a browser stand-in that follows the server's redirects until the redirect
URI (the MCP SDK interop server sends ``/authorize`` to a ``/consent`` page first); with
``--refuse`` any authorization fails the run. ``--tokens`` keeps everything in a token file.

Runs under the SDK's venv only (``mcp`` is not installed beside the tests), so it imports
nothing from ``tests``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import httpx2
from mcp.client.session import ClientSession  # type: ignore[import-not-found, unused-ignore]
from mcp.client.streamable_http import streamable_http_client  # type: ignore[import-not-found, unused-ignore]

from mcp_oauth_dynamicclient import OAuth2Client, SyncOAuth2Client
from mcp_oauth_dynamicclient.storage import FileStorage, SyncFileStorage
from mcp_oauth_dynamicclient.testing import auto_approve

REDIRECT_URI = "http://127.0.0.1:8765/callback"
PROTOCOL_VERSION = "2025-11-25"
CLIENT_INFO = {"name": "sdk-client-script", "version": "1.0.0"}
MAX_HOPS = 5

Exchange = list[Any]  # [method, path, status]


class Run:
    """What one run saw: the authorizations it was asked for and every request it sent."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.authorizations: list[str] = []
        self.oauth: list[Exchange] = []
        self.mcp: list[Exchange] = []

    def authorize(self, authorization_url: str) -> str:
        """The browser: approve at the server and return the callback URL it redirects to."""
        self.authorizations.append(authorization_url)
        if self.args.refuse:
            raise RuntimeError(f"an authorization was asked for: {authorization_url}")
        if not self.args.consent:
            return auto_approve(authorization_url)
        url = authorization_url
        with httpx.Client(timeout=10) as browser:
            for _ in range(MAX_HOPS):
                response = browser.get(url)
                url = str(response.url.join(response.headers["location"]))
                if url.startswith(REDIRECT_URI + "?"):
                    return url  # the app's redirect URI: a browser would land there
        raise RuntimeError(f"no redirect to {REDIRECT_URI} within {MAX_HOPS} hops")

    def arguments(self) -> dict[str, Any]:
        return {"text": self.args.text} if self.args.text is not None else {}

    def settings(self) -> dict[str, Any]:
        return {
            "resource": self.args.url,  # no auth_server: found from the MCP server (RFC 9728)
            "client_name": "sdk-client-script",
            "redirect_uris": [REDIRECT_URI],
        }

    def report(
        self, version: str, server: str, tools: list[str], calls: Any, client_id: str
    ) -> None:
        out = {
            "version": version,
            "server": server,
            "tools": tools,
            "calls": calls,
            "authorizations": self.authorizations,
            "client_id": client_id,
            "oauth": self.oauth,
            "mcp": self.mcp,
        }
        print(json.dumps(out))


def recorder(into: list[Exchange]) -> Callable[[Any], None]:
    def record(response: Any) -> None:
        request = response.request
        into.append([request.method, request.url.path, response.status_code])

    return record


def asyncio_recorder(into: list[Exchange]) -> Callable[[Any], Any]:
    record = recorder(into)

    async def hook(response: Any) -> None:
        record(response)

    return hook


# ------------------------------------------------------------------ the SDK's client, asyncio


async def sdk_session(run: Run) -> None:
    storage = FileStorage(run.args.tokens) if run.args.tokens else None
    oauth_http = httpx.AsyncClient(event_hooks={"response": [asyncio_recorder(run.oauth)]})
    async with (
        oauth_http,
        OAuth2Client(**run.settings(), storage=storage, http_client=oauth_http) as oauth,
    ):
        http = httpx2.AsyncClient(
            auth=oauth.httpx2_auth(authorize=run.authorize),
            timeout=30,
            event_hooks={"response": [asyncio_recorder(run.mcp)]},
        )
        async with (
            http,
            streamable_http_client(run.args.url, http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            init = await session.initialize()
            tools = [tool.name for tool in (await session.list_tools()).tools]
            calls = {}
            for name in run.args.call:
                result = await session.call_tool(name, run.arguments())
                calls[name] = {
                    "text": [item.text for item in result.content if item.type == "text"],
                    "structured": result.structured_content,
                    "is_error": result.is_error,
                }
        client_id = (await oauth.register()).client_id  # the stored registration: no request
    run.report(init.protocol_version, init.server_info.name, tools, calls, client_id)


# ------------------------------------------------------- a blocking client, JSON-RPC by hand


class JsonRpc:
    """MCP over Streamable HTTP on a blocking ``httpx2.Client``, one session."""

    def __init__(self, http: httpx2.Client, url: str) -> None:
        self.http, self.url = http, url
        self.headers = {"Accept": "application/json, text/event-stream"}
        self.next_id = 0

    def post(self, message: dict[str, Any]) -> httpx2.Response:
        response = self.http.post(self.url, json=message, headers=self.headers)
        response.raise_for_status()
        if session := response.headers.get("mcp-session-id"):
            self.headers["Mcp-Session-Id"] = session
        return response

    def request(self, method: str, params: dict[str, Any]) -> Any:
        self.next_id += 1
        message = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}
        answer = read_message(self.post(message))
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]

    def notify(self, method: str) -> None:
        self.post({"jsonrpc": "2.0", "method": method})


def read_message(response: httpx2.Response) -> dict[str, Any]:
    """The JSON-RPC response in a JSON body, or in a ``data:`` line of an event stream."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        for line in response.text.splitlines():
            if line.startswith("data:") and (data := line[5:].strip()):
                message: dict[str, Any] = json.loads(data)
                if "id" in message:
                    return message
        raise RuntimeError("no JSON-RPC response in the event stream")
    answer: dict[str, Any] = response.json()
    return answer


def sync_session(run: Run) -> None:
    storage = SyncFileStorage(run.args.tokens) if run.args.tokens else None
    oauth_http = httpx.Client(event_hooks={"response": [recorder(run.oauth)]})
    with (
        oauth_http,
        SyncOAuth2Client(**run.settings(), storage=storage, http_client=oauth_http) as oauth,
        httpx2.Client(
            auth=oauth.httpx2_auth(authorize=run.authorize),
            timeout=30,
            event_hooks={"response": [recorder(run.mcp)]},
        ) as http,
    ):
        mcp = JsonRpc(http, run.args.url)
        init = mcp.request(
            "initialize",
            {"protocolVersion": PROTOCOL_VERSION, "capabilities": {}, "clientInfo": CLIENT_INFO},
        )
        mcp.headers["MCP-Protocol-Version"] = init["protocolVersion"]
        mcp.notify("notifications/initialized")
        tools = [tool["name"] for tool in mcp.request("tools/list", {})["tools"]]
        calls = {}
        for name in run.args.call:
            result = mcp.request("tools/call", {"name": name, "arguments": run.arguments()})
            calls[name] = {
                "text": [item["text"] for item in result["content"] if item["type"] == "text"],
                "structured": result.get("structuredContent"),
                "is_error": result.get("isError", False),
            }
        client_id = oauth.register().client_id  # the stored registration: no request
    run.report(init["protocolVersion"], init["serverInfo"]["name"], tools, calls, client_id)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["sdk", "sync"])
    parser.add_argument("url")
    parser.add_argument("--call", action="append", default=[], help="a tool to call")
    parser.add_argument("--text", help='the tools\' "text" argument')
    parser.add_argument("--consent", action="store_true", help="follow a consent redirect")
    parser.add_argument("--tokens", type=Path, help="a token file (default: in memory)")
    parser.add_argument("--refuse", action="store_true", help="fail on any authorization")
    args = parser.parse_args()
    if args.mode == "sdk":
        asyncio.run(sdk_session(Run(args)))
    else:
        sync_session(Run(args))


if __name__ == "__main__":
    main()
