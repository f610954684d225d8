"""The protected resource ``/mcp``: an RFC 6750 Bearer-protected MCP endpoint with RFC 9728 hints.

Every request first passes the Bearer check. Without a token the answer is 401 with
``WWW-Authenticate: Bearer resource_metadata="…", scope="…"`` (RFC 6750 §3, RFC 9728 §5.1) and
no error code (RFC 6750 §3.1); a malformed ``Authorization`` header is 400 ``invalid_request``;
an unknown, expired or revoked token, one issued for another resource (RFC 8707 audience), or
one issued by an authorization server the resource no longer names (the
``authorization_servers`` knob) is 401 ``invalid_token``; a token without the required scope is
403 ``insufficient_scope`` whose ``scope`` names the scopes needed (RFC 6750 §3.1). The
``challenge_resource_metadata`` knob leaves ``resource_metadata`` out.

Then ``/mcp`` is an MCP Streamable HTTP endpoint (see :mod:`._mcp`): ``POST`` a JSON-RPC
message, ``DELETE`` a session; a ``tools/call`` of a tool that needs more scope (the
``tool_scopes`` knob) is again a 403 ``insufficient_scope``, for step-up authorization (MCP
2025-11-25 Authorization, "Scope Challenge Handling").

Two answers are a test convenience, not MCP: a ``GET`` that does not ask for
``text/event-stream``, and a ``POST`` with no body and no ``Content-Type``, get 200 and a small
JSON account of the token: ``sub``, ``client_id``, ``scope``, ``aud``. A ``GET`` asking for an
event stream gets 405: this server offers none (MCP Transports, "Listening for Messages").
A request whose ``Origin`` is not a loopback page is 403 (MCP Transports, "Security Warning").
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ._context import Context, Paths
from ._http import OAuthProblem, bearer_problem, bearer_token, oauth_error_response
from ._mcp import INVALID_REQUEST, JsonRpcError, delete_session, handle_post
from ._state import AccessToken

__all__ = ["mcp_endpoint"]

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def _scopes(*values: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(s for value in values for s in (value or "").split()))


def _refuse(
    ctx: Context, error: str | None, description: str, status: int = 401, *, scope: str | None
) -> OAuthProblem:
    """An RFC 6750 §3 challenge, pointing at the RFC 9728 metadata unless the knob says not."""
    metadata = ctx.url(Paths.PR_METADATA_MCP) if ctx.settings.challenge_resource_metadata else None
    return bearer_problem(
        error, description, status=status, resource_metadata=metadata, scope=scope
    )


def _lookup(ctx: Context, token: str) -> AccessToken | None:
    """The token's record at the authorization servers ``/mcp`` trusts, on their clocks."""
    for issuer in ctx.token_issuers():
        record = issuer.state.active_access_token(token, issuer.clock.now())
        if record is not None:
            return record
    return None


def _foreign_origin(request: Request) -> bool:
    """Whether an ``Origin`` header names a page off this machine: MCP Transports, "Security
    Warning", has servers refuse those (403) against DNS rebinding."""
    origin = request.headers.get("origin")
    if origin is None:
        return False
    try:
        parts = urlsplit(origin)
    except ValueError:
        return True
    return parts.scheme not in ("http", "https") or parts.hostname not in _LOOPBACK


def _check(ctx: Context, request: Request) -> AccessToken:
    required = ctx.settings.required_scope

    def refuse(error: str | None, description: str, status: int = 401) -> OAuthProblem:
        scope = required if error in (None, "insufficient_scope") else None
        return _refuse(ctx, error, description, status, scope=scope)

    try:
        token = bearer_token(request)
    except OAuthProblem as problem:
        raise refuse("invalid_request", problem.description, 400) from None
    if token is None:
        raise refuse(None, "an access token is required")
    record = _lookup(ctx, token)
    if record is None:
        raise refuse("invalid_token", "the access token is invalid, expired or revoked")
    accepted = {ctx.resource, ctx.issuer, ctx.issuer + "/"}
    if record.audience and not accepted.intersection(record.audience):
        raise refuse("invalid_token", "the access token is for another resource")
    if not record.audience and ctx.settings.require_audience:
        raise refuse("invalid_token", "the access token names no resource")
    if any(s not in record.scope for s in _scopes(required)):
        raise refuse("insufficient_scope", "the access token lacks a required scope", 403)
    return record


def _account(record: AccessToken) -> Response:
    grant = record.grant
    return JSONResponse(
        {
            "sub": grant.subject,
            "client_id": grant.client_id,
            "scope": " ".join(record.scope),
            "aud": list(record.audience),
        }
    )


async def mcp_endpoint(ctx: Context, request: Request) -> Response:
    """``GET``/``POST``/``DELETE /mcp``: the Bearer-protected MCP endpoint."""
    if _foreign_origin(request):
        return JsonRpcError(INVALID_REQUEST, "Forbidden: Origin not allowed", status=403).response()
    try:
        record = _check(ctx, request)
    except OAuthProblem as problem:
        return oauth_error_response(problem)
    if request.method == "GET":
        if "text/event-stream" in request.headers.get("accept", "").lower():
            return Response(status_code=405, headers={"Allow": "POST, DELETE"})
        return _account(record)
    if request.method == "DELETE":
        return delete_session(ctx, request, record)
    if "content-type" not in request.headers and not await request.body():
        return _account(record)

    def check_tool_scope(tool_scope: str | None) -> None:
        needed = _scopes(ctx.settings.required_scope, tool_scope)
        if any(s not in record.scope for s in needed):
            description = "the access token lacks the scope this tool requires"
            raise _refuse(ctx, "insufficient_scope", description, 403, scope=" ".join(needed))

    try:
        return await handle_post(ctx, request, record, check_tool_scope)
    except OAuthProblem as problem:
        return oauth_error_response(problem)
