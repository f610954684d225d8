"""The protected resource ``/mcp``: an RFC 6750 Bearer-protected endpoint with RFC 9728 hints.

Without a token the answer is 401 with ``WWW-Authenticate: Bearer resource_metadata="…",
scope="…"`` (RFC 6750 §3, RFC 9728 §5.1) and no error code (RFC 6750 §3.1); a malformed
``Authorization`` header is 400 ``invalid_request``; an unknown, expired or revoked token, or one
issued for another resource (RFC 8707 audience), is 401 ``invalid_token``; a token without the
required scope is 403 ``insufficient_scope``. A good token gets 200 and a small JSON account
of itself: ``sub``, ``client_id``, ``scope``, ``aud``. ``GET`` and ``POST`` behave the same.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ._context import Context, Paths
from ._http import OAuthProblem, bearer_problem, bearer_token, oauth_error_response
from ._state import AccessToken

__all__ = ["mcp_endpoint"]


def _check(ctx: Context, request: Request) -> AccessToken:
    required = ctx.settings.required_scope

    def refuse(error: str | None, description: str, status: int = 401) -> OAuthProblem:
        scope = required if error in (None, "insufficient_scope") else None
        metadata = ctx.url(Paths.PR_METADATA_MCP)
        return bearer_problem(
            error, description, status=status, resource_metadata=metadata, scope=scope
        )

    try:
        token = bearer_token(request)
    except OAuthProblem as problem:
        raise refuse("invalid_request", problem.description, 400) from None
    if token is None:
        raise refuse(None, "an access token is required")
    record = ctx.state.active_access_token(token, ctx.clock.now())
    if record is None:
        raise refuse("invalid_token", "the access token is invalid, expired or revoked")
    accepted = {ctx.resource, ctx.issuer, ctx.issuer + "/"}
    if record.audience and not accepted.intersection(record.audience):
        raise refuse("invalid_token", "the access token is for another resource")
    if not record.audience and ctx.settings.require_audience:
        raise refuse("invalid_token", "the access token names no resource")
    if any(s not in record.scope for s in (required or "").split()):
        raise refuse("insufficient_scope", "the access token lacks a required scope", 403)
    return record


async def mcp_endpoint(ctx: Context, request: Request) -> Response:
    """``GET``/``POST /mcp``: the Bearer-protected resource."""
    try:
        record = _check(ctx, request)
    except OAuthProblem as problem:
        return oauth_error_response(problem)
    grant = record.grant
    return JSONResponse(
        {
            "sub": grant.subject,
            "client_id": grant.client_id,
            "scope": " ".join(record.scope),
            "aud": list(record.audience),
        }
    )
