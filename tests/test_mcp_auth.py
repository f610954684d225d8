"""``client.httpx_auth(...)``: an httpx client that calls a protected MCP server (issue 11).

Against MockAuthServer's real MCP endpoint (Streamable HTTP, JSON-RPC), sync and async: from
the server's URL alone to an authorized ``tools/call``; a step-up on a 403 ``insufficient_scope``
and its bound; a refresh on a 401 ``invalid_token``; a restart that finds its token in storage
and asks the authorization server nothing; no ``authorize`` step, a clear error.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from mcp_oauth_dynamicclient import (
    AuthorizationError,
    ConfigurationError,
    OAuth2Client,
    SyncOAuth2Client,
)
from mcp_oauth_dynamicclient.storage import MemoryStorage, SyncMemoryStorage
from mcp_oauth_dynamicclient.testing import MockAuthServer, auto_approve
from tests.clients import REDIRECT

ACCEPT = {"Accept": "application/json, text/event-stream"}
INITIALIZE = {
    "protocolVersion": "2025-11-25",
    "capabilities": {},
    "clientInfo": {"name": "test", "version": "1"},
}
AS_PATHS = ("/authorize", "/token", "/register")


def _settings(server: MockAuthServer, **more: Any) -> dict[str, Any]:
    return {
        "resource": server.resource_url,
        "client_name": "MCP App",
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "none",
        **more,
    }


def _rpc(method: str, params: dict[str, Any] | None = None, id_: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id_, "method": method, "params": params or {}}


class SyncMcp:
    """JSON-RPC over Streamable HTTP with a session, on a blocking httpx client."""

    def __init__(self, http: httpx.Client, url: str) -> None:
        self.http, self.url, self.headers = http, url, dict(ACCEPT)

    def call(self, method: str, params: dict[str, Any] | None = None) -> httpx.Response:
        response = self.http.post(self.url, json=_rpc(method, params), headers=self.headers)
        if session := response.headers.get("mcp-session-id"):
            self.headers["Mcp-Session-Id"] = session
        return response


class AsyncMcp:
    """:class:`SyncMcp` on an asyncio httpx client."""

    def __init__(self, http: httpx.AsyncClient, url: str) -> None:
        self.http, self.url, self.headers = http, url, dict(ACCEPT)

    async def call(self, method: str, params: dict[str, Any] | None = None) -> httpx.Response:
        response = await self.http.post(self.url, json=_rpc(method, params), headers=self.headers)
        if session := response.headers.get("mcp-session-id"):
            self.headers["Mcp-Session-Id"] = session
        return response


def _as_requests(server: MockAuthServer) -> int:
    return sum(server.requests.count(path) for path in AS_PATHS)


def test_sync_from_the_server_url_to_a_tool_call(server: MockAuthServer) -> None:
    with (
        SyncOAuth2Client(**_settings(server)) as client,
        httpx.Client(auth=client.httpx_auth(authorize=auto_approve)) as http,
    ):
        mcp = SyncMcp(http, server.resource_url)
        assert mcp.call("initialize", INITIALIZE).status_code == 200
        echoed = mcp.call("tools/call", {"name": "echo", "arguments": {"text": "hi"}})
    assert echoed.json()["result"]["content"] == [{"type": "text", "text": "hi"}]
    assert server.requests.count("/authorize") == 1
    assert client.issuer == server.url


def test_async_from_the_server_url_to_a_tool_call(server: MockAuthServer) -> None:
    async def run() -> httpx.Response:
        async with (
            OAuth2Client(**_settings(server)) as client,
            httpx.AsyncClient(auth=client.httpx_auth(authorize=auto_approve)) as http,
        ):
            mcp = AsyncMcp(http, server.resource_url)
            assert (await mcp.call("initialize", INITIALIZE)).status_code == 200
            # Requests that meet the first 401 together authorize once.
            calls = [
                mcp.call("tools/call", {"name": "echo", "arguments": {"text": str(n)}})
                for n in range(5)
            ]
            responses = await asyncio.gather(*calls)
            assert {r.status_code for r in responses} == {200}
            return responses[0]

    assert asyncio.run(run()).json()["result"]["content"] == [{"type": "text", "text": "0"}]
    assert server.requests.count("/authorize") == 1


def _step_up_server() -> MockAuthServer:
    return MockAuthServer(
        scopes=["mcp:read", "mcp:write", "mcp:admin"],
        tool_scopes={"echo": "mcp:read", "admin_tool": "mcp:admin"},
    )


def test_a_403_insufficient_scope_steps_up_to_the_union_of_scopes() -> None:
    with _step_up_server() as server:
        with (
            SyncOAuth2Client(**_settings(server)) as client,
            httpx.Client(auth=client.httpx_auth(authorize=auto_approve)) as http,
        ):
            mcp = SyncMcp(http, server.resource_url)
            mcp.call("initialize", INITIALIZE)
            admin = mcp.call("tools/call", {"name": "admin_tool", "arguments": {"text": "x"}})
        assert admin.status_code == 200, admin.text
        authorizations = server.requests.filter("/authorize")
        assert len(authorizations) == 2
        second = (authorizations[1].param("scope") or "").split()
        assert {"mcp:read", "mcp:admin"} <= set(second)
        assert server.errors == []


def test_step_up_is_bounded() -> None:
    with _step_up_server() as server:
        with (
            SyncOAuth2Client(**_settings(server)) as client,
            httpx.Client(auth=client.httpx_auth(authorize=auto_approve, max_step_ups=0)) as http,
        ):
            mcp = SyncMcp(http, server.resource_url)
            mcp.call("initialize", INITIALIZE)
            with pytest.raises(AuthorizationError, match="mcp:admin") as caught:
                mcp.call("tools/call", {"name": "admin_tool", "arguments": {"text": "x"}})
        assert caught.value.error_code == "insufficient_scope"
        assert server.requests.count("/authorize") == 1


def test_a_401_invalid_token_is_refreshed_once_and_resent(server: MockAuthServer) -> None:
    # The client keeps real time; the server's clock runs ahead, so it alone finds the token
    # expired and says so with 401 invalid_token.
    with (
        SyncOAuth2Client(**_settings(server)) as client,
        httpx.Client(auth=client.httpx_auth(authorize=auto_approve)) as http,
    ):
        mcp = SyncMcp(http, server.resource_url)
        assert mcp.call("initialize", INITIALIZE).status_code == 200
        tokens_before = server.requests.count("/token")
        server.clock.advance(server.settings.access_token_lifetime + 1)
        assert mcp.call("ping").status_code == 200
    assert server.requests.count("/token") == tokens_before + 1
    assert server.requests.count("/authorize") == 1


def test_a_restart_with_a_stored_token_asks_the_authorization_server_nothing(
    server: MockAuthServer,
) -> None:
    storage = SyncMemoryStorage()
    with (
        SyncOAuth2Client(**_settings(server), storage=storage) as first,
        httpx.Client(auth=first.httpx_auth(authorize=auto_approve)) as http,
    ):
        assert SyncMcp(http, server.resource_url).call("initialize", INITIALIZE).status_code == 200
    assert _as_requests(server) == 3

    def refuse(url: str) -> str:
        raise AssertionError("no authorization should be needed")

    with (
        SyncOAuth2Client(**_settings(server), storage=storage) as again,
        httpx.Client(auth=again.httpx_auth(authorize=refuse)) as http,
    ):
        server.requests.clear()
        assert SyncMcp(http, server.resource_url).call("initialize", INITIALIZE).status_code == 200
    assert _as_requests(server) == 0
    # The server the resource named is remembered too: the stored token goes with the first
    # request, with no 401 to learn it and no metadata read.
    assert [(r.path, r.status) for r in server.requests] == [("/mcp", 200)]
    assert server.requests[0].headers["authorization"].startswith("Bearer ")


def test_a_remembered_server_the_resource_has_left_is_followed() -> None:
    """The storage says which server the resource named; when it names another now, the
    stored token is refused and the client moves, as it would in one session."""
    with MockAuthServer() as home, MockAuthServer() as elsewhere:
        storage = SyncMemoryStorage()
        with (
            SyncOAuth2Client(**_settings(home), storage=storage) as first,
            httpx.Client(auth=first.httpx_auth(authorize=auto_approve)) as http,
        ):
            assert (
                SyncMcp(http, home.resource_url).call("initialize", INITIALIZE).status_code == 200
            )
        home.settings.authorization_servers = (elsewhere.url,)
        with (
            SyncOAuth2Client(**_settings(home), storage=storage) as again,
            httpx.Client(auth=again.httpx_auth(authorize=auto_approve)) as http,
        ):
            assert (
                SyncMcp(http, home.resource_url).call("initialize", INITIALIZE).status_code == 200
            )
            assert again.issuer == elsewhere.url
        assert elsewhere.requests.count("/register") == 1
        assert home.errors == elsewhere.errors == []


def test_an_unreadable_remembered_server_is_ignored(server: MockAuthServer) -> None:
    storage = SyncMemoryStorage()
    storage.store_token(f"resource:{server.resource_url}", {"issuer": 7, "resource": None})
    with (
        SyncOAuth2Client(**_settings(server), storage=storage) as client,
        httpx.Client(auth=client.httpx_auth(authorize=auto_approve)) as http,
    ):
        assert SyncMcp(http, server.resource_url).call("initialize", INITIALIZE).status_code == 200
        assert client.issuer == server.url
    assert storage.retrieve_token(f"resource:{server.resource_url}") == {
        "issuer": server.url,
        "resource": server.resource_url,
        "scopes_supported": ["mcp:read", "mcp:write"],
    }


def test_without_an_authorize_step_the_error_says_what_to_pass(server: MockAuthServer) -> None:
    async def run() -> None:
        async with OAuth2Client(**_settings(server), storage=MemoryStorage()) as client:
            http = httpx.AsyncClient(auth=client.httpx_auth())
            async with http:
                await AsyncMcp(http, server.resource_url).call("initialize", INITIALIZE)

    with pytest.raises(AuthorizationError, match="pass authorize="):
        asyncio.run(run())


def test_an_auth_refuses_the_other_flavour_of_httpx_client(server: MockAuthServer) -> None:
    async def run() -> None:
        async with OAuth2Client(**_settings(server)) as client:
            with httpx.Client(auth=client.httpx_auth()) as http:
                http.get(server.resource_url)

    with pytest.raises(ConfigurationError, match="other flavour"):
        asyncio.run(run())


def test_a_resource_that_moves_gets_a_client_of_the_new_server() -> None:
    """MCP 2026-07-28: the old server's credentials never reach the new one."""
    with MockAuthServer() as home, MockAuthServer() as elsewhere:
        storage = SyncMemoryStorage()
        with (
            SyncOAuth2Client(**_settings(home), storage=storage) as client,
            httpx.Client(auth=client.httpx_auth(authorize=auto_approve)) as http,
        ):
            mcp = SyncMcp(http, home.resource_url)
            assert mcp.call("initialize", INITIALIZE).status_code == 200
            old_client_id = client.register().client_id
            home.settings.authorization_servers = (elsewhere.url,)
            assert mcp.call("ping").status_code == 200
            assert client.issuer == elsewhere.url
            assert client.register().client_id != old_client_id
        assert elsewhere.requests.count("/register") == 1
        sent_to_new = [r.param("client_id") for r in elsewhere.requests.filter("/authorize")]
        assert old_client_id not in sent_to_new
        # Credentials are kept per issuer: the old server's registration is still stored.
        assert any(key.startswith(f"registration:{home.url}") for key in storage.list_tokens())
        assert home.errors == elsewhere.errors == []


# ----------------------------------------------------- httpx2, the MCP Python SDK 2.x's client


def test_httpx2_async_from_the_server_url_to_a_tool_call(server: MockAuthServer) -> None:
    import httpx2

    async def run() -> Any:
        async with (
            OAuth2Client(**_settings(server)) as client,
            httpx2.AsyncClient(auth=client.httpx2_auth(authorize=auto_approve)) as http,
        ):
            headers = dict(ACCEPT)
            first = await http.post(
                server.resource_url, json=_rpc("initialize", INITIALIZE), headers=headers
            )
            assert first.status_code == 200, first.text
            headers["Mcp-Session-Id"] = first.headers["mcp-session-id"]
            call = {"name": "echo", "arguments": {"text": "via httpx2"}}
            echoed = await http.post(
                server.resource_url, json=_rpc("tools/call", call, 2), headers=headers
            )
            return echoed.json()["result"]["content"]

    assert asyncio.run(run()) == [{"type": "text", "text": "via httpx2"}]
    assert server.requests.count("/authorize") == 1


def test_httpx2_sync_steps_up_too() -> None:
    import httpx2

    with _step_up_server() as server, SyncOAuth2Client(**_settings(server)) as client:
        auth = client.httpx2_auth(authorize=auto_approve)
        assert isinstance(auth, httpx2.Auth)
        with httpx2.Client(auth=auth) as http:
            headers = dict(ACCEPT)
            first = http.post(
                server.resource_url, json=_rpc("initialize", INITIALIZE), headers=headers
            )
            headers["Mcp-Session-Id"] = first.headers["mcp-session-id"]
            call = {"name": "admin_tool", "arguments": {"text": "x"}}
            admin = http.post(
                server.resource_url, json=_rpc("tools/call", call, 2), headers=headers
            )
        assert admin.status_code == 200, admin.text
        assert server.requests.count("/authorize") == 2


def test_httpx2_auth_without_httpx2_says_which_extra(
    server: MockAuthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from mcp_oauth_dynamicclient._sync import auth as sync_auth

    monkeypatch.setattr(sync_auth, "_HTTPX2_AUTH", None)
    monkeypatch.setitem(sys.modules, "httpx2", None)
    with (
        SyncOAuth2Client(**_settings(server)) as client,
        pytest.raises(ConfigurationError, match=r"mcp-oauth-dynamicclient\[httpx2\]"),
    ):
        client.httpx2_auth()
