"""A minimal MCP server on the Streamable HTTP transport (MCP 2025-11-25, Basic, "Transports").

``POST /mcp`` takes one JSON-RPC 2.0 message (MCP Basic, "Messages") and answers it with one
``application/json`` response; the server never opens an SSE stream, so a ``GET`` asking for
``text/event-stream`` is 405 (Transports, "Listening for Messages from the Server"). What it
speaks:

- ``initialize`` (Lifecycle, "Initialization"): echoes the client's ``protocolVersion`` when it
  is one of :data:`SUPPORTED_VERSIONS`, else answers :data:`LATEST_VERSION`; declares the
  ``tools`` capability; starts a session whose ID comes back in ``Mcp-Session-Id``;
- notifications (``notifications/initialized`` and any other) and client responses: 202
  Accepted, no body (Transports, "Sending Messages to the Server" item 4);
- ``ping`` (Utilities, "Ping"), ``tools/list`` and ``tools/call`` (Server, "Tools"): the tool
  ``echo`` answers its ``text`` argument as text content, and each extra tool named in the
  ``tool_scopes`` knob does the same;
- anything else: JSON-RPC ``-32601``.

Session rules (Transports, "Session Management"): every message but ``initialize`` must carry
``Mcp-Session-Id`` (400 without), an unknown or ended session is 404, ``DELETE`` ends one. A
session is bound to the user of the token that started it; another user's token gets 404
(Security Best Practices, "Session Hijacking"). An ``MCP-Protocol-Version`` header naming a
version the server does not speak is 400 (Transports, "Protocol Version Header").

Bad input gets a JSON-RPC error with ``id: null`` and an HTTP error status: a body that is not
JSON ``-32700``; a batch (JSON-RPC batching was removed in 2025-06-18), a non-object or a
message that is not JSON-RPC 2.0 ``-32600`` (400); a wrong ``Content-Type`` 415; an ``Accept``
that excludes ``application/json`` 406; a body over :data:`MAX_BODY_BYTES` 413. Bad
``params`` are ``-32602``; ``echo`` arguments that do not fit its input schema are a tool
execution error (``isError: true``, Server, "Tools" / "Error Handling").
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ._context import Context
from ._http import content_type
from ._state import AccessToken, McpSession

__all__ = [
    "INVALID_REQUEST",
    "LATEST_VERSION",
    "MAX_BODY_BYTES",
    "SESSION_HEADER",
    "SUPPORTED_VERSIONS",
    "JsonRpcError",
    "delete_session",
    "handle_post",
    "tool_names",
]

#: Protocol revisions this server speaks (MCP Lifecycle, "Version Negotiation").
SUPPORTED_VERSIONS = ("2025-03-26", "2025-06-18", "2025-11-25")
#: The revision answered when the client asks for one the server does not speak.
LATEST_VERSION = SUPPORTED_VERSIONS[-1]
#: The largest request body accepted (413 above it).
MAX_BODY_BYTES = 1 << 20
#: The session header (MCP Transports, "Session Management"); HTTP header names are
#: case-insensitive.
SESSION_HEADER = "Mcp-Session-Id"
VERSION_HEADER = "MCP-Protocol-Version"

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602

SERVER_INFO = {"name": "MockAuthServer", "version": "1.0.0"}
ECHO = "echo"

#: Checks that the token allows ``tools/call`` of a tool; raises an ``OAuthProblem`` (403).
ScopeCheck = Callable[[str | None], None]


class JsonRpcError(Exception):
    """A JSON-RPC 2.0 error object (JSON-RPC 2.0 §5.1) to answer with, at an HTTP status."""

    def __init__(
        self, code: int, message: str, *, status: int = 200, request_id: object = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.request_id = request_id

    def response(self) -> Response:
        """The error response: a JSON-RPC error object, ``id`` null when it is unknown."""
        body = {
            "jsonrpc": "2.0",
            "id": self.request_id,
            "error": {"code": self.code, "message": self.message},
        }
        return JSONResponse(body, status_code=self.status)


def tool_names(ctx: Context) -> list[str]:
    """``echo`` and every extra tool named in the ``tool_scopes`` knob, in that order."""
    return list(dict.fromkeys([ECHO, *ctx.settings.tool_scopes]))


def _tool(name: str) -> dict[str, Any]:
    """The ``tools/list`` entry of one echoing tool (MCP Server, "Tools", "Tool")."""
    return {
        "name": name,
        "description": "Answers its text argument back." if name == ECHO else f"The {name} tool.",
        "inputSchema": {
            "type": "object",
            "properties": {"text": {"type": "string", "description": "The text to answer."}},
            "required": ["text"],
        },
    }


def _accepts_json(request: Request) -> bool:
    """Whether the ``Accept`` header (RFC 9110 §12.5.1) allows ``application/json``."""
    header = request.headers.get("accept")
    if header is None:
        return True
    for item in header.split(","):
        media_type, *params = (part.strip().lower() for part in item.split(";"))
        if media_type in ("application/json", "application/*", "*/*") and "q=0" not in params:
            return True
    return False


def _parse(body: bytes) -> dict[str, Any]:
    """One JSON-RPC 2.0 message (JSON-RPC 2.0 §4, §5), as MCP Basic "Messages" restricts it.

    Raises:
        JsonRpcError: ``-32700`` for bytes that are not JSON, ``-32600`` for a batch, a
            non-object, or a message that is neither a request, a notification nor a response.
    """
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        raise JsonRpcError(PARSE_ERROR, "Parse error: the body is not JSON", status=400) from None
    if isinstance(message, list):
        raise JsonRpcError(
            INVALID_REQUEST, "Invalid Request: JSON-RPC batches are not supported", status=400
        )
    if not isinstance(message, dict):
        raise JsonRpcError(
            INVALID_REQUEST, "Invalid Request: the body must be a JSON object", status=400
        )

    def invalid(why: str) -> JsonRpcError:
        request_id = message.get("id")
        known = request_id if _valid_id(request_id) else None
        return JsonRpcError(
            INVALID_REQUEST, f"Invalid Request: {why}", status=400, request_id=known
        )

    if message.get("jsonrpc") != "2.0":
        raise invalid('"jsonrpc" must be "2.0"')
    if "method" in message:
        if not isinstance(message["method"], str):
            raise invalid('"method" must be a string')
        if "id" in message and not _valid_id(message["id"]):
            raise invalid('"id" must be a string or an integer')
        if "params" in message and not isinstance(message["params"], dict):
            raise invalid('"params" must be an object')
        return message
    is_response = ("result" in message) != ("error" in message)
    if is_response and "id" in message:
        return message
    raise invalid("not a request, a notification or a response")


def _valid_id(value: object) -> bool:
    """MCP request IDs are strings or integers, never null (MCP Basic, "Requests")."""
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _session_id(request: Request) -> str | None:
    values = request.headers.getlist(SESSION_HEADER)
    return values[0] if len(values) == 1 else None


def _find_session(ctx: Context, request: Request, record: AccessToken) -> McpSession:
    """The session the request names.

    Raises:
        JsonRpcError: 400 without ``Mcp-Session-Id``; 404 when the session is unknown, ended or
            another user's (MCP Transports, "Session Management" items 2 and 3).
    """
    session_id = _session_id(request)
    if session_id is None:
        raise JsonRpcError(
            INVALID_REQUEST, "Bad Request: the Mcp-Session-Id header is required", status=400
        )
    with ctx.state.lock:
        session = ctx.state.mcp_sessions.get(session_id)
    if session is None or session.subject != record.grant.subject:
        raise JsonRpcError(INVALID_REQUEST, "Session not found", status=404)
    return session


def delete_session(ctx: Context, request: Request, record: AccessToken) -> Response:
    """``DELETE /mcp``: end the session (MCP Transports, "Session Management" item 5)."""
    try:
        session = _find_session(ctx, request, record)
    except JsonRpcError as error:
        return error.response()
    with ctx.state.lock:
        ctx.state.mcp_sessions.pop(session.session_id, None)
    return Response(status_code=204)


async def handle_post(
    ctx: Context, request: Request, record: AccessToken, check_tool_scope: ScopeCheck
) -> Response:
    """``POST /mcp`` with a JSON-RPC message, the bearer token already accepted.

    ``check_tool_scope`` is called with a tool's extra scope before the tool runs; it raises
    the ``OAuthProblem`` of a 403 ``insufficient_scope`` (RFC 6750 §3.1), which the caller
    answers.
    """
    try:
        if not _accepts_json(request):
            raise JsonRpcError(
                INVALID_REQUEST,
                "Not Acceptable: the client must accept application/json",
                status=406,
            )
        if content_type(request) != "application/json":
            raise JsonRpcError(
                INVALID_REQUEST,
                "Unsupported Media Type: the body must be application/json",
                status=415,
            )
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            raise JsonRpcError(INVALID_REQUEST, "Payload Too Large", status=413)
        message = _parse(body)
        if message.get("method") == "initialize" and "id" in message:
            return _initialize(ctx, message, record)
        version = request.headers.get(VERSION_HEADER)
        if version is not None and version not in SUPPORTED_VERSIONS:
            raise JsonRpcError(
                INVALID_REQUEST, f"Bad Request: unsupported {VERSION_HEADER}", status=400
            )
        session = _find_session(ctx, request, record)
        if "method" not in message or "id" not in message:  # a notification or a response
            if message.get("method") == "notifications/initialized":
                session.initialized = True
            return Response(status_code=202)
        result = _dispatch(ctx, message, check_tool_scope)
    except JsonRpcError as error:
        return error.response()
    return JSONResponse({"jsonrpc": "2.0", "id": message["id"], "result": result})


def _initialize(ctx: Context, message: Mapping[str, Any], record: AccessToken) -> Response:
    """``initialize`` (MCP Lifecycle, "Initialization", "Version Negotiation")."""
    params = message.get("params")
    asked = params.get("protocolVersion") if isinstance(params, dict) else None
    if not isinstance(asked, str):
        error = JsonRpcError(
            INVALID_PARAMS,
            'Invalid params: "protocolVersion" is required',
            request_id=message["id"],
        )
        return error.response()
    version = asked if asked in SUPPORTED_VERSIONS else LATEST_VERSION
    session = McpSession(secrets.token_urlsafe(24), record.grant.subject, version)
    with ctx.state.lock:
        ctx.state.mcp_sessions[session.session_id] = session
    result = {
        "protocolVersion": version,
        "capabilities": {"tools": {}},
        "serverInfo": SERVER_INFO,
    }
    return JSONResponse(
        {"jsonrpc": "2.0", "id": message["id"], "result": result},
        headers={SESSION_HEADER: session.session_id},
    )


def _dispatch(
    ctx: Context, message: Mapping[str, Any], check_tool_scope: ScopeCheck
) -> dict[str, Any]:
    """The result of one request after ``initialize``."""
    request_id = message["id"]
    method = message["method"]
    params = message.get("params") or {}
    if method == "ping":
        return {}
    if method == "tools/list":
        return {"tools": [_tool(name) for name in tool_names(ctx)]}
    if method == "tools/call":
        name = params.get("name")
        if not isinstance(name, str):
            raise JsonRpcError(
                INVALID_PARAMS, 'Invalid params: "name" must be a string', request_id=request_id
            )
        if name not in tool_names(ctx):
            raise JsonRpcError(INVALID_PARAMS, f"Unknown tool: {name}", request_id=request_id)
        arguments = params.get("arguments", {})
        if not isinstance(arguments, dict):
            raise JsonRpcError(
                INVALID_PARAMS,
                'Invalid params: "arguments" must be an object',
                request_id=request_id,
            )
        check_tool_scope(ctx.settings.tool_scopes.get(name))
        return _call_echo(arguments)
    raise JsonRpcError(METHOD_NOT_FOUND, f"Method not found: {method}", request_id=request_id)


def _call_echo(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """A ``CallToolResult``: the ``text`` argument as text content, or a tool execution error
    when the arguments do not fit the input schema (MCP Server, "Tools", "Error Handling")."""
    text = arguments.get("text")
    if not isinstance(text, str):
        failure = 'the "text" argument must be a string'
        return {"content": [{"type": "text", "text": failure}], "isError": True}
    return {"content": [{"type": "text", "text": text}], "isError": False}
