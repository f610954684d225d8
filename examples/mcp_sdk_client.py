"""The official MCP Python SDK 2.x client, authorized by this library, from the server's URL alone.

    python examples/mcp_sdk_client.py                                # a MockAuthServer of its own
    python examples/mcp_sdk_client.py https://mcp.example.com/mcp    # your MCP server

Needs ``mcp`` 2.x and ``mcp-oauth-dynamicclient[httpx2]`` (and ``[testing]`` for the run
without a URL). The SDK talks through ``httpx2``; ``oauth.httpx2_auth()`` is the ``httpx2.Auth``
that answers the server's 401 (discovery, RFC 9728 then RFC 8414; registration, RFC 7591;
authorization code with PKCE) and 403 ``insufficient_scope`` (step-up), and sends the token.

Given a URL, the authorization step is the one a desktop or CLI app writes today: print the
authorization URL (and open it in a browser), then read the URL the browser was sent back to,
pasted by the user. Nothing listens on the redirect URI: the browser shows an error page, and
its address bar holds the code. Tokens are kept in a file, so the next run asks nothing.
Without a URL, the script starts a ``MockAuthServer``, whose ``/mcp`` is a real MCP server
and which approves at once (``auto_approve`` follows its redirect).
"""

from __future__ import annotations

import argparse
import asyncio
import webbrowser
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

from mcp_oauth_dynamicclient import OAuth2Client
from mcp_oauth_dynamicclient.storage import FileStorage, TokenStorage

Authorize = Callable[[str], str | Awaitable[str]]  # authorization URL in, callback URL out

REDIRECT_URI = "http://127.0.0.1:8765/callback"  # loopback (RFC 8252 §7.3); nothing listens
TOKEN_FILE = Path.home() / ".config" / "mcp-sdk-client-example" / "tokens.json"
TOOL, ARGUMENTS = "echo", {"text": "hello from the MCP SDK"}  # what to call, if offered


def step(title: str, detail: object) -> None:
    print(f"- {title}: {detail}", flush=True)


def opens_safely(url: str) -> bool:
    """Whether to hand ``url`` to the browser: https, or http on this machine only."""
    parts = urlsplit(url)
    loopback = parts.hostname in ("127.0.0.1", "::1", "localhost")
    return parts.scheme == "https" or (parts.scheme == "http" and loopback)


def browser_step(open_browser: bool) -> Authorize:
    """The ``authorize`` callback: authorization URL in, the callback URL the user pastes out."""

    async def authorize(authorization_url: str) -> str:
        print(f"Open this URL in your browser to authorize:\n{authorization_url}", flush=True)
        if open_browser and opens_safely(authorization_url):
            webbrowser.open(authorization_url)
        # input() blocks: run it in a thread so the event loop (and the SDK) keep going.
        pasted = await asyncio.to_thread(input, "Paste the URL your browser was sent to: ")
        return pasted.strip()

    return authorize


async def run_session(url: str, authorize: Authorize, storage: TokenStorage | None) -> None:
    """One MCP session with ``url``: initialize, list the tools, call one."""
    async with OAuth2Client(
        resource=url,  # no auth_server: the MCP server names it (RFC 9728)
        client_name="MCP SDK client example",
        redirect_uris=[REDIRECT_URI],
        storage=storage,  # None: in memory
    ) as oauth:
        auth = oauth.httpx2_auth(authorize=authorize)
        # The SDK's own timeouts: a server may hold an event stream open for minutes.
        http = httpx2.AsyncClient(auth=auth, timeout=httpx2.Timeout(30, read=300))
        async with (
            http,
            streamable_http_client(url, http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            init = await session.initialize()  # the first request: the 401 is answered here
            step("connected to", f"{init.server_info.name}, MCP {init.protocol_version}")
            names = [tool.name for tool in (await session.list_tools()).tools]
            step("tools", ", ".join(names))
            if TOOL in names:
                result = await session.call_tool(TOOL, ARGUMENTS)
                texts = [item.text for item in result.content if item.type == "text"]
                step(f"{TOOL} answered", " ".join(texts))


async def main() -> None:
    parser = argparse.ArgumentParser(description="The MCP SDK client, authorized by OAuth2Client.")
    parser.add_argument("url", nargs="?", help="the MCP server (default: a MockAuthServer)")
    parser.add_argument("--tokens", type=Path, default=TOKEN_FILE, help="the token file")
    parser.add_argument("--no-browser", action="store_true", help="only print the URL")
    args = parser.parse_args()
    if args.url:
        await run_session(args.url, browser_step(not args.no_browser), FileStorage(args.tokens))
        return
    from mcp_oauth_dynamicclient.testing import MockAuthServer, auto_approve  # [testing]

    async with MockAuthServer() as server:
        step("MockAuthServer", server.resource_url)
        await run_session(server.resource_url, auto_approve, None)


if __name__ == "__main__":
    asyncio.run(main())
