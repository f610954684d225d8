"""The protected resource ``/mcp``: an RFC 6750 Bearer-protected MCP endpoint with RFC 9728 hints.

Every request first passes the Bearer check. Without a token the answer is 401 with
``WWW-Authenticate: Bearer resource_metadata="…", scope="…"`` (RFC 6750 §3, RFC 9728 §5.1) and
no error code (RFC 6750 §3.1); a malformed ``Authorization`` header is 400 ``invalid_request``;
an unknown, expired or revoked token, one issued for another resource (RFC 8707 audience), or
one issued by an authorization server the resource no longer names (the
``authorization_servers`` knob) is 401 ``invalid_token``; a token without the required scope is
403 ``insufficient_scope`` whose ``scope`` names the scopes needed (RFC 6750 §3.1). The
``challenge_resource_metadata`` knob leaves ``resource_metadata`` out.

With DPoP on (RFC 9449 §7), ``Authorization: DPoP <token>`` is accepted too, with a ``DPoP``
proof whose ``ath`` hashes the token and whose key is the token's ``cnf.jkt``. Every challenge
then comes as two ``WWW-Authenticate`` lines, ``DPoP algs="…", resource_metadata="…"`` and the
Bearer one (only the DPoP one with ``dpop_required``), the error on the line of the scheme the
request used: a bad or missing proof is ``DPoP error="invalid_dpop_proof"``, a proof without
the current nonce (``dpop_nonce`` knob) ``DPoP error="use_dpop_nonce"`` with a ``DPoP-Nonce``
header (§9), a DPoP-bound token sent as Bearer, or any Bearer token with ``dpop_required``, is
``DPoP error="invalid_token"``, and an unbound token sent as DPoP ``invalid_token`` too.

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

from collections.abc import Callable
from typing import Literal
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ._context import Context, Paths
from ._dpop import nonce_headers, proof_of, verify_proof
from ._http import (
    OAuthProblem,
    access_token_credentials,
    auth_challenge,
    bearer_problem,
    oauth_error_response,
)
from ._mcp import INVALID_REQUEST, JsonRpcError, delete_session, handle_post
from ._state import AccessToken

__all__ = ["mcp_endpoint"]

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})

#: How a request presented its access token (RFC 6750 §2.1, RFC 9449 §7.1).
Scheme = Literal["Bearer", "DPoP"]


def _scopes(*values: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(s for value in values for s in (value or "").split()))


def _refuse(
    ctx: Context,
    error: str | None,
    description: str,
    status: int = 401,
    *,
    scope: str | None,
    scheme: Scheme = "Bearer",
) -> OAuthProblem:
    """An RFC 6750 §3 challenge, pointing at the RFC 9728 metadata unless the knob says not.

    With DPoP on, a ``DPoP`` challenge (RFC 9449 §7.1, with ``algs``) comes first and the
    Bearer one after it (none with ``dpop_required``); the error goes on the challenge of
    ``scheme``, the one the request used (or should have used).
    """
    metadata = ctx.url(Paths.PR_METADATA_MCP) if ctx.settings.challenge_resource_metadata else None
    if not ctx.settings.dpop_enabled:
        return bearer_problem(
            error, description, status=status, resource_metadata=metadata, scope=scope
        )
    if ctx.settings.dpop_required:
        scheme = "DPoP"
    detail = {"error": error, "error_description": description if error else None}

    def params(which: Scheme) -> dict[str, str | None]:
        return detail if which == scheme else {}

    algs = " ".join(ctx.settings.dpop_signing_algs)
    challenges = [
        auth_challenge("DPoP", **params("DPoP"), algs=algs, resource_metadata=metadata, scope=scope)
    ]
    if not ctx.settings.dpop_required:
        challenges.append(
            auth_challenge("Bearer", **params("Bearer"), resource_metadata=metadata, scope=scope)
        )
    return OAuthProblem(error, description, status=status, challenges=challenges)


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


def _check(ctx: Context, request: Request) -> tuple[AccessToken, Scheme]:
    """The record of the request's access token, and the scheme it came with."""
    required = ctx.settings.required_scope
    scheme: Scheme = "Bearer"

    def refuse(error: str | None, description: str, status: int = 401) -> OAuthProblem:
        scope = required if error in (None, "insufficient_scope") else None
        return _refuse(ctx, error, description, status, scope=scope, scheme=scheme)

    schemes: tuple[Scheme, ...] = ("DPoP", "Bearer") if ctx.settings.dpop_enabled else ("Bearer",)
    try:
        found = access_token_credentials(request, schemes)
    except OAuthProblem as problem:
        raise refuse("invalid_request", problem.description, 400) from None
    if found is None:
        raise refuse(None, "an access token is required")
    scheme = "DPoP" if found[0] == "DPoP" else "Bearer"
    token = found[1]
    record = _lookup(ctx, token)
    if scheme == "DPoP":
        jkt = _proof_key(ctx, request, token, refuse)
        if record is not None and record.jkt != jkt:
            raise refuse("invalid_token", "the access token is not bound to the proof's key")
    elif ctx.settings.dpop_required or (record is not None and record.jkt is not None):
        scheme = "DPoP"
        raise refuse("invalid_token", "the access token must be sent with DPoP and a proof")
    if record is None:
        raise refuse("invalid_token", "the access token is invalid, expired or revoked")
    accepted = {ctx.resource, ctx.issuer, ctx.issuer + "/"}
    if record.audience and not accepted.intersection(record.audience):
        raise refuse("invalid_token", "the access token is for another resource")
    if not record.audience and ctx.settings.require_audience:
        raise refuse("invalid_token", "the access token names no resource")
    if any(s not in record.scope for s in _scopes(required)):
        raise refuse("insufficient_scope", "the access token lacks a required scope", 403)
    return record, scheme


def _proof_key(
    ctx: Context, request: Request, token: str, refuse: Callable[[str, str], OAuthProblem]
) -> str:
    """The key thumbprint of the request's DPoP proof for ``token`` (RFC 9449 §7.1)."""
    try:
        proof = proof_of(request)
        if proof is None:
            raise OAuthProblem("invalid_dpop_proof", "a DPoP proof is required")
        return verify_proof(ctx, request, proof, access_token=token)
    except OAuthProblem as problem:
        refusal = refuse(problem.error or "invalid_dpop_proof", problem.description)
        refusal.headers.update(problem.headers)  # DPoP-Nonce with use_dpop_nonce (§9)
        raise refusal from None


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
    """``GET``/``POST``/``DELETE /mcp``: the Bearer- (or DPoP-) protected MCP endpoint; with
    the ``dpop_nonce`` knob every answer carries the current ``DPoP-Nonce`` (RFC 9449 §9)."""
    if _foreign_origin(request):
        return JsonRpcError(INVALID_REQUEST, "Forbidden: Origin not allowed", status=403).response()
    response = await _serve(ctx, request)
    response.headers.update(nonce_headers(ctx))
    return response


async def _serve(ctx: Context, request: Request) -> Response:
    try:
        record, scheme = _check(ctx, request)
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
            scope = " ".join(needed)
            raise _refuse(ctx, "insufficient_scope", description, 403, scope=scope, scheme=scheme)

    try:
        return await handle_post(ctx, request, record, check_tool_scope)
    except OAuthProblem as problem:
        return oauth_error_response(problem)
