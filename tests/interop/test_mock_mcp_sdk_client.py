"""The official MCP Python SDK's client talks to ``MockAuthServer``'s ``/mcp`` (MCP 2025-11-25,
Streamable HTTP): initialize, the GET stream it may open (405 here), tools/list, tools/call,
ping and the DELETE that ends the session.

The SDK (``mcp`` 2.x on ``httpx2``) never enters the test process: the client runs in the
interop suite's own virtual environment (``tests/interop/mcp_sdk_server/.venv``, built by
``tests.interop.mcp_sdk_server.ensure_venv`` on first use), so the test lives with the interop
suite (``nox -s interop``), which builds it anyway; it is never skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.interop.mcp_sdk_server import DEFAULT_VENV, ensure_venv
from tests.testing.mock_flows import confidential_client

pytestmark = pytest.mark.interop

SDK_CLIENT = """
import asyncio, json, sys

import httpx2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client


async def main(url: str, token: str) -> None:
    out = {}
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx2.AsyncClient(headers=headers, timeout=10) as http:
        async with streamable_http_client(url, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                init = await session.initialize()
                out["version"] = init.protocol_version
                out["server"] = init.server_info.name
                out["tools"] = [tool.name for tool in (await session.list_tools()).tools]
                result = await session.call_tool("echo", {"text": "hi from the SDK"})
                out["echo"] = [content.text for content in result.content]
                out["is_error"] = result.is_error
                await session.send_ping()
    print(json.dumps(out))


asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


@pytest.fixture(scope="module")
def sdk_python() -> Path:
    """The SDK environment's interpreter, built on first use."""
    return ensure_venv(Path(os.environ.get("MCP_SDK_VENV", DEFAULT_VENV)))


def test_the_mcp_sdk_client_runs_a_session(sdk_python: Path) -> None:
    with MockAuthServer() as server:
        client_id, _ = confidential_client(server)
        token = server.issue_token(client_id, scope="mcp:read", resource=[server.resource_url])
        done = subprocess.run(
            [str(sdk_python), "-c", SDK_CLIENT, server.resource_url, token.access_token],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-4000:]
        assert json.loads(done.stdout) == {
            "version": "2025-11-25",
            "server": "MockAuthServer",
            "tools": ["echo"],
            "echo": ["hi from the SDK"],
            "is_error": False,
        }
        exchanges = [(r.method, r.status) for r in server.requests.filter("/mcp")]
        assert exchanges[:2] == [("POST", 200), ("POST", 202)]  # initialize, initialized
        # The SDK may open its optional event stream: refused, this server offers none.
        assert all(status == 405 for method, status in exchanges if method == "GET")
        assert exchanges.count(("POST", 200)) == 4  # initialize, list, call, ping
        assert ("DELETE", 204) in exchanges  # the session ended on close
        assert server.mcp_sessions == frozenset()
        assert server.errors == []
