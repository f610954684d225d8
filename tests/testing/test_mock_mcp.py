"""``/mcp`` as an MCP Streamable HTTP endpoint (MCP 2025-11-25): JSON-RPC, sessions, the Bearer
challenges (RFC 6750 §3, RFC 9728 §5.1), the protected resource metadata (RFC 9728 §3) and the
knobs that shape them, over real loopback HTTP."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.testing.mock_flows import confidential_client

ACCEPT = "application/json, text/event-stream"
PRM_PATH = "/.well-known/oauth-protected-resource/mcp"
PRM_ROOT = "/.well-known/oauth-protected-resource"


class McpPeer:
    """A hand-rolled MCP client: one Bearer token, one session, JSON-RPC over POST."""

    def __init__(self, http: httpx.Client, server: MockAuthServer, token: str) -> None:
        self.http = http
        self.server = server
        self.token = token
        self.session_id: str | None = None
        self.next_id = 0

    def headers(self, **extra: str) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": ACCEPT}
        if self.session_id is not None:
            headers["Mcp-Session-Id"] = self.session_id
        return {**headers, **extra}

    def post(self, message: object, **headers: str) -> httpx.Response:
        return self.http.post(
            self.server.resource_url,
            content=json.dumps(message).encode(),
            headers=self.headers(**{"Content-Type": "application/json", **headers}),
        )

    def request(self, method: str, params: dict[str, Any] | None = None) -> httpx.Response:
        self.next_id += 1
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            message["params"] = params
        return self.post(message)

    def notify(self, method: str) -> httpx.Response:
        return self.post({"jsonrpc": "2.0", "method": method})

    def initialize(self, version: str = "2025-11-25") -> dict[str, Any]:
        response = self.request(
            "initialize",
            {
                "protocolVersion": version,
                "capabilities": {},
                "clientInfo": {"name": "test", "version": "1"},
            },
        )
        assert response.status_code == 200, response.text
        self.session_id = response.headers["mcp-session-id"]
        assert self.notify("notifications/initialized").status_code == 202
        result: dict[str, Any] = response.json()["result"]
        return result

    def result(self, method: str, params: dict[str, Any] | None = None) -> Any:
        response = self.request(method, params)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        assert body["jsonrpc"] == "2.0"
        assert body["id"] == self.next_id
        return body["result"]

    def error(self, response: httpx.Response) -> tuple[int, int, object]:
        """(HTTP status, JSON-RPC error code, id) of an error response."""
        body = response.json()
        assert body["jsonrpc"] == "2.0"
        assert "result" not in body
        return response.status_code, body["error"]["code"], body["id"]


def token_for(server: MockAuthServer, scope: str = "mcp:read mcp:write") -> str:
    client_id, _ = confidential_client(server)
    return server.issue_token(client_id, scope=scope, resource=[server.resource_url]).access_token


@pytest.fixture
def peer(server: MockAuthServer, http: httpx.Client) -> McpPeer:
    return McpPeer(http, server, token_for(server))


def challenge(response: httpx.Response) -> str:
    value: str = response.headers["www-authenticate"]
    assert value.startswith("Bearer ")
    return value


# --------------------------------------------------------------------------- round trips


def test_initialize_list_call_and_ping(server: MockAuthServer, peer: McpPeer) -> None:
    result = peer.initialize()
    assert result["protocolVersion"] == "2025-11-25"
    assert result["capabilities"] == {"tools": {}}
    assert result["serverInfo"]["name"]
    assert peer.session_id in server.mcp_sessions
    tools = peer.result("tools/list")["tools"]
    assert [tool["name"] for tool in tools] == ["echo"]
    schema = tools[0]["inputSchema"]
    assert schema["type"] == "object"
    assert schema["properties"]["text"] == {
        "type": "string",
        "description": "The text to answer.",
    }
    called = peer.result("tools/call", {"name": "echo", "arguments": {"text": "héllo"}})
    assert called == {"content": [{"type": "text", "text": "héllo"}], "isError": False}
    assert peer.result("ping") == {}


@pytest.mark.parametrize(
    ("asked", "answered"),
    [
        ("2025-03-26", "2025-03-26"),
        ("2025-06-18", "2025-06-18"),
        ("2025-11-25", "2025-11-25"),
        ("2024-11-05", "2025-11-25"),
        ("2099-01-01", "2025-11-25"),
    ],
)
def test_protocol_version_is_echoed_when_supported_else_the_latest(
    peer: McpPeer, asked: str, answered: str
) -> None:
    assert peer.initialize(asked)["protocolVersion"] == answered


def test_echo_with_bad_arguments_is_a_tool_execution_error(peer: McpPeer) -> None:
    peer.initialize()
    for arguments in ({}, {"text": 3}):
        result = peer.result("tools/call", {"name": "echo", "arguments": arguments})
        assert result["isError"] is True
        assert result["content"][0]["type"] == "text"


@pytest.mark.anyio
async def test_async_clients_speak_it_too(server: MockAuthServer, ahttp: httpx.AsyncClient) -> None:
    headers = {"Authorization": f"Bearer {token_for(server)}", "Accept": ACCEPT}
    init = {
        "jsonrpc": "2.0",
        "id": "a",
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {}},
    }
    response = await ahttp.post(server.resource_url, json=init, headers=headers)
    assert response.json()["id"] == "a"
    headers["Mcp-Session-Id"] = response.headers["mcp-session-id"]
    headers["MCP-Protocol-Version"] = "2025-06-18"
    ping = {"jsonrpc": "2.0", "id": "b", "method": "ping"}
    response = await ahttp.post(server.resource_url, json=ping, headers=headers)
    assert response.json() == {"jsonrpc": "2.0", "id": "b", "result": {}}


# ----------------------------------------------------------------------------- sessions


def test_a_request_without_a_session_is_400_and_an_unknown_one_404(peer: McpPeer) -> None:
    status, code, _ = peer.error(peer.request("tools/list"))
    assert (status, code) == (400, -32600)
    peer.session_id = "no-such-session"
    assert peer.error(peer.request("tools/list"))[0] == 404
    assert peer.notify("notifications/initialized").status_code == 404


def test_delete_ends_the_session(server: MockAuthServer, http: httpx.Client, peer: McpPeer) -> None:
    peer.initialize()
    session = peer.session_id
    deleted = http.delete(server.resource_url, headers=peer.headers())
    assert deleted.status_code == 204
    assert session not in server.mcp_sessions
    assert peer.error(peer.request("ping"))[0] == 404
    assert http.delete(server.resource_url, headers=peer.headers()).status_code == 404
    peer.session_id = None
    assert http.delete(server.resource_url, headers=peer.headers()).status_code == 400


def test_each_initialize_starts_its_own_session(server: MockAuthServer, peer: McpPeer) -> None:
    peer.initialize()
    first = peer.session_id
    peer.initialize()  # a stale Mcp-Session-Id on initialize is ignored
    assert peer.session_id != first
    assert server.mcp_sessions == {first, peer.session_id}


def test_the_server_can_end_sessions(server: MockAuthServer, peer: McpPeer) -> None:
    peer.initialize()
    server.end_mcp_session(peer.session_id)
    assert peer.error(peer.request("ping"))[0] == 404
    peer.initialize()
    server.end_mcp_session()
    assert server.mcp_sessions == frozenset()


def test_a_session_is_bound_to_its_user(
    server: MockAuthServer, http: httpx.Client, peer: McpPeer
) -> None:
    peer.initialize()
    client_id, _ = confidential_client(server)
    other = server.issue_token(client_id, scope="mcp:read", subject="mallory").access_token
    intruder = McpPeer(http, server, other)
    intruder.session_id = peer.session_id
    assert intruder.error(intruder.request("tools/list"))[0] == 404
    assert peer.result("ping") == {}


def test_an_unsupported_protocol_version_header_is_400(peer: McpPeer) -> None:
    peer.initialize()
    response = peer.post(
        {"jsonrpc": "2.0", "id": 9, "method": "ping"}, **{"MCP-Protocol-Version": "1999-01-01"}
    )
    assert peer.error(response)[:2] == (400, -32600)
    ok = peer.post(
        {"jsonrpc": "2.0", "id": 10, "method": "ping"}, **{"MCP-Protocol-Version": "2025-06-18"}
    )
    assert ok.status_code == 200


def test_get_asking_for_an_event_stream_is_405(
    server: MockAuthServer, http: httpx.Client, peer: McpPeer
) -> None:
    peer.initialize()
    response = http.get(server.resource_url, headers=peer.headers(Accept="text/event-stream"))
    assert response.status_code == 405
    assert response.headers["allow"] == "POST, DELETE"


# ------------------------------------------------------------------------- JSON-RPC errors


def test_an_unknown_method_is_32601(peer: McpPeer) -> None:
    peer.initialize()
    assert peer.error(peer.request("resources/list")) == (200, -32601, peer.next_id)


def test_an_unknown_tool_and_bad_params_are_32602(peer: McpPeer) -> None:
    peer.initialize()
    params: dict[str, Any]
    for params in (
        {"name": "nope", "arguments": {}},
        {"arguments": {}},
        {"name": "echo", "arguments": ["x"]},
    ):
        assert peer.error(peer.request("tools/call", params)) == (200, -32602, peer.next_id)
    assert peer.error(peer.request("initialize", {}))[1] == -32602


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", -32700),
        (b"\xff\xfe", -32700),
        (b"", -32700),
        (b"[]", -32600),
        (b'[{"jsonrpc": "2.0", "id": 1, "method": "ping"}]', -32600),
        (b'"ping"', -32600),
        (b"42", -32600),
        (b'{"id": 1, "method": "ping"}', -32600),
        (b'{"jsonrpc": "1.0", "id": 1, "method": "ping"}', -32600),
        (b'{"jsonrpc": "2.0", "id": null, "method": "ping"}', -32600),
        (b'{"jsonrpc": "2.0", "id": true, "method": "ping"}', -32600),
        (b'{"jsonrpc": "2.0", "id": 1, "method": 7}', -32600),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": [1]}', -32600),
        (b'{"jsonrpc": "2.0", "id": 1}', -32600),
    ],
)
def test_malformed_messages_are_json_rpc_errors(
    server: MockAuthServer, http: httpx.Client, peer: McpPeer, body: bytes, code: int
) -> None:
    peer.initialize()
    response = http.post(
        server.resource_url,
        content=body,
        headers=peer.headers(**{"Content-Type": "application/json"}),
    )
    assert response.headers["content-type"] == "application/json"
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    # JSON-RPC 2.0 §5: the id is echoed when it could be read, else null.
    known_id = 1 if isinstance(parsed, dict) and type(parsed.get("id")) is int else None
    assert peer.error(response) == (400, code, known_id)


def test_wrong_content_type_is_415(
    server: MockAuthServer, http: httpx.Client, peer: McpPeer
) -> None:
    peer.initialize()
    body = b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}'
    for media_type in ("text/plain", "application/x-www-form-urlencoded"):
        response = http.post(
            server.resource_url, content=body, headers=peer.headers(**{"Content-Type": media_type})
        )
        assert peer.error(response)[:2] == (415, -32600)


def test_an_accept_without_json_is_406(peer: McpPeer) -> None:
    peer.initialize()
    response = peer.post({"jsonrpc": "2.0", "id": 1, "method": "ping"}, Accept="text/event-stream")
    assert peer.error(response)[:2] == (406, -32600)
    for accept in ("application/json", "*/*", "application/json; charset=utf-8"):
        assert (
            peer.post({"jsonrpc": "2.0", "id": 1, "method": "ping"}, Accept=accept).status_code
            == 200
        )


def test_an_oversized_body_is_413(peer: McpPeer) -> None:
    peer.initialize()
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call"}
    message["params"] = {"name": "echo", "arguments": {"text": "x" * (1 << 20)}}
    assert peer.error(peer.post(message))[:2] == (413, -32600)


def test_client_responses_and_other_notifications_are_accepted(peer: McpPeer) -> None:
    peer.initialize()
    for message in (
        {"jsonrpc": "2.0", "id": 5, "result": {}},
        {"jsonrpc": "2.0", "id": 6, "error": {"code": -1, "message": "no"}},
        {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}},
    ):
        response = peer.post(message)
        assert (response.status_code, response.content) == (202, b"")


def test_a_foreign_origin_is_403(peer: McpPeer) -> None:
    peer.initialize()
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    assert peer.post(ping, Origin="https://evil.example").status_code == 403
    assert peer.post(ping, Origin="http://localhost:3000").status_code == 200


# ---------------------------------------------------------------------- Bearer challenges


def test_no_token_is_401_naming_the_resource_metadata(
    server: MockAuthServer, http: httpx.Client
) -> None:
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
    response = http.post(server.resource_url, json=init, headers={"Accept": ACCEPT})
    assert response.status_code == 401
    value = challenge(response)
    assert f'resource_metadata="{server.url}{PRM_PATH}"' in value
    assert 'scope="mcp:read"' in value
    assert "error=" not in value


def test_a_bad_token_is_401_invalid_token(server: MockAuthServer, http: httpx.Client) -> None:
    peer = McpPeer(http, server, "forged")
    response = peer.request("ping")
    assert response.status_code == 401
    assert 'error="invalid_token"' in challenge(response)
    assert "resource_metadata=" in challenge(response)


def test_a_token_lacking_the_base_scope_is_403_before_any_json_rpc(
    server: MockAuthServer, http: httpx.Client
) -> None:
    peer = McpPeer(http, server, token_for(server, "mcp:write"))
    response = peer.request("initialize", {"protocolVersion": "2025-11-25"})
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in challenge(response)
    assert 'scope="mcp:read"' in challenge(response)


def test_tool_scopes_ask_for_step_up(http: httpx.Client) -> None:
    with MockAuthServer(
        scopes=["mcp:read", "mcp:write", "mcp:admin"],
        tool_scopes={"echo": "mcp:read", "admin_tool": "mcp:admin"},
    ) as server:
        peer = McpPeer(http, server, token_for(server, "mcp:read"))
        peer.initialize()
        tools = peer.result("tools/list")["tools"]
        assert [tool["name"] for tool in tools] == ["echo", "admin_tool"]
        assert peer.result("tools/call", {"name": "echo", "arguments": {"text": "a"}})
        call = {"name": "admin_tool", "arguments": {"text": "b"}}
        refused = peer.request("tools/call", call)
        assert refused.status_code == 403
        assert refused.json()["error"] == "insufficient_scope"
        value = challenge(refused)
        assert 'error="insufficient_scope"' in value
        assert 'scope="mcp:read mcp:admin"' in value
        assert f'resource_metadata="{server.url}{PRM_PATH}"' in value
        peer.token = token_for(server, "mcp:read mcp:admin")  # stepped up, same user
        assert peer.result("tools/call", call)["content"] == [{"type": "text", "text": "b"}]
        server.settings.tool_scopes = {}
        assert [tool["name"] for tool in peer.result("tools/list")["tools"]] == ["echo"]
        assert server.errors == []


def test_tool_scopes_are_validated() -> None:
    with pytest.raises(ValueError, match="tool name"):
        MockAuthServer(tool_scopes={"bad name": "mcp:read"})
    with pytest.raises(ValueError, match="scope token"):
        MockAuthServer(tool_scopes={"echo": 'a"b'})
    server = MockAuthServer(tool_scopes={"extra": None})
    with pytest.raises(ValueError):
        server.settings.tool_scopes = {"": "x"}
    assert dict(server.settings.tool_scopes) == {"extra": None}


def test_challenge_resource_metadata_knob(http: httpx.Client) -> None:
    with MockAuthServer(challenge_resource_metadata=False) as server:
        response = http.get(server.resource_url)
        assert response.status_code == 401
        assert "resource_metadata" not in challenge(response)
        assert 'scope="mcp:read"' in challenge(response)
        server.settings.challenge_resource_metadata = True
        assert "resource_metadata" in challenge(http.get(server.resource_url))


# --------------------------------------------------------------- protected resource metadata


def test_metadata_at_the_path_inserted_url_names_mcp_exactly(
    server: MockAuthServer, http: httpx.Client
) -> None:
    metadata = http.get(server.url + PRM_PATH).json()
    assert metadata["resource"] == server.resource_url == server.url + "/mcp"
    assert metadata["authorization_servers"] == [server.issuer]
    assert metadata["scopes_supported"] == ["mcp:read", "mcp:write"]
    assert metadata["bearer_methods_supported"] == ["header"]


@pytest.mark.parametrize(("root", "resource"), [("origin", ""), ("mcp", "/mcp")])
def test_root_resource_metadata_knob(http: httpx.Client, root: Any, resource: str) -> None:
    with MockAuthServer(root_resource_metadata=root) as server:
        metadata = http.get(server.url + PRM_ROOT).json()
        assert metadata["resource"] == server.url + resource
        assert metadata["authorization_servers"] == [server.issuer]
        assert http.get(server.url + PRM_PATH).json()["resource"] == server.resource_url


def test_root_resource_metadata_can_be_absent(http: httpx.Client) -> None:
    with MockAuthServer(root_resource_metadata="absent") as server:
        assert http.get(server.url + PRM_ROOT).status_code == 404
        assert http.get(server.url + PRM_PATH).status_code == 200
    with pytest.raises(ValueError):
        MockAuthServer(root_resource_metadata="elsewhere")  # type: ignore[arg-type]


def test_serve_resource_metadata_knob(http: httpx.Client) -> None:
    with MockAuthServer(serve_resource_metadata=False, challenge_resource_metadata=False) as server:
        assert http.get(server.url + PRM_PATH).status_code == 404
        assert http.get(server.url + PRM_ROOT).status_code == 404
        assert http.get(server.metadata_url).status_code == 200  # RFC 8414 still served
        server.settings.serve_resource_metadata = True
        assert http.get(server.url + PRM_PATH).status_code == 200


def test_resource_scopes_knob(http: httpx.Client) -> None:
    with MockAuthServer(resource_scopes=["mcp:read"]) as server:
        assert http.get(server.url + PRM_PATH).json()["scopes_supported"] == ["mcp:read"]
        server.settings.resource_scopes = ()
        assert "scopes_supported" not in http.get(server.url + PRM_PATH).json()
        server.settings.resource_scopes = None
        assert http.get(server.url + PRM_PATH).json()["scopes_supported"] == [
            "mcp:read",
            "mcp:write",
        ]
        with pytest.raises(ValueError):
            server.settings.resource_scopes = ("no spaces allowed",)


# ---------------------------------------------------------------- moving to another server


def test_the_resource_moves_to_another_authorization_server(http: httpx.Client) -> None:
    with MockAuthServer() as home, MockAuthServer() as elsewhere:
        old = McpPeer(http, home, token_for(home))
        old.initialize()
        home.settings.authorization_servers = (elsewhere.url,)
        metadata = http.get(home.url + PRM_PATH).json()
        assert metadata["authorization_servers"] == [elsewhere.url]
        assert metadata["resource"] == home.resource_url
        refused = old.request("ping")
        assert refused.status_code == 401
        assert 'error="invalid_token"' in challenge(refused)
        # The new server serves the moved resource as an RFC 8707 resource indicator.
        client_id, _ = confidential_client(elsewhere)
        issued = elsewhere.issue_token(client_id, scope="mcp:read", resource=[home.resource_url])
        new = McpPeer(http, home, issued.access_token)
        new.initialize()
        assert new.result("ping") == {}
        home.settings.authorization_servers = None
        assert new.request("ping").status_code == 401
        assert home.errors == []
        assert elsewhere.errors == []


def test_a_moved_resource_to_an_unknown_server_refuses_every_token(http: httpx.Client) -> None:
    with MockAuthServer(authorization_servers=["https://as.example.com"]) as server:
        metadata = http.get(server.url + PRM_PATH).json()
        assert metadata["authorization_servers"] == ["https://as.example.com"]
        response = McpPeer(http, server, token_for(server)).request("ping")
        assert response.status_code == 401
    for bad in (["not a url"], ["ftp://as.example.com"], ["https://as.example.com/?q=1"]):
        with pytest.raises(ValueError, match="issuer"):
            MockAuthServer(authorization_servers=bad)


# ------------------------------------------------------------------ the legacy convenience


def test_a_plain_get_or_empty_post_still_describes_the_token(
    server: MockAuthServer, http: httpx.Client
) -> None:
    token = token_for(server, "mcp:read")
    auth = {"Authorization": f"Bearer {token}"}
    for response in (
        http.get(server.resource_url, headers=auth),
        http.post(server.resource_url, headers=auth),
    ):
        assert response.status_code == 200
        assert response.json()["scope"] == "mcp:read"
