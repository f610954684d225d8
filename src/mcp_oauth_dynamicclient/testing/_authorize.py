"""The authorization endpoint, RFC 6749 §4.1.1-§4.1.2, with PKCE (RFC 7636) and RFC 9207.

There is no browser: the configured test user approves every valid request at once, and the
answer is a 302 to the client's redirect URI carrying ``code``, ``state`` and ``iss``
(RFC 9207 §2). Rules:

- ``client_id`` must name a registered client and ``redirect_uri`` must equal one of its
  registered URIs exactly (it may be left out only when exactly one is registered, RFC 6749
  §3.1.2.3). Otherwise the user agent is not redirected: a 400 HTML page (RFC 6749 §4.1.2.1).
- Every other error is redirected (RFC 6749 §4.1.2.1): ``invalid_request`` (a missing or
  repeated parameter, no PKCE, a method other than ``S256``: RFC 7636 §4.4.1, OAuth 2.1 §4.1.1),
  ``unsupported_response_type``, ``unauthorized_client`` (the client did not register the
  authorization code grant), ``invalid_scope``, ``invalid_target`` (RFC 8707 §2) and
  ``access_denied`` when the server is set to deny.
- ``resource`` values are recorded on the grant and become the token audience (RFC 8707); a
  ``nonce`` is carried into the ID token when ``openid`` is granted (OpenID Connect Core
  §3.1.2.1).
- With DPoP on, ``dpop_jkt`` (RFC 9449 §10, a base64url SHA-256 JWK thumbprint) binds the
  code: its exchange needs a proof by that key.
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from .._generated import AuthorizationErrorResponse, AuthorizationResponse, converter
from .._urls import redirect_matches
from ._context import Context
from ._http import NO_STORE, OAuthProblem, optional_param, sanitize
from ._scopes import allowed_scopes, check_scope, default_scope, parse_resources, parse_scope
from ._state import AuthorizationCode, ClientRecord, Grant, new_secret

__all__ = ["authorize", "with_query"]

_S256_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
_THUMBPRINT = re.compile(r"[A-Za-z0-9_-]{43}")  # RFC 7638 SHA-256, base64url


def with_query(uri: str, params: dict[str, Any]) -> str:
    """``uri`` with ``params`` added to its query, keeping the query it had (RFC 6749 §3.1.2)."""
    parts = urlsplit(uri)
    added = urlencode(params)
    query = f"{parts.query}&{added}" if parts.query else added
    return urlunsplit(parts._replace(query=query))


def _error_page(problem: OAuthProblem) -> Response:
    """The page shown instead of redirecting to an unverified redirect URI (RFC 6749 §4.1.2.1)."""
    error = html.escape(problem.error or "invalid_request")
    body = (
        "<!DOCTYPE html><html><head><title>Authorization error</title></head><body>"
        f"<h1>{error}</h1><p>{html.escape(sanitize(problem.description))}</p></body></html>"
    )
    return HTMLResponse(body, status_code=400, headers=NO_STORE)


def _client_and_redirect(
    ctx: Context, params: ImmutableMultiDict[str, str]
) -> tuple[ClientRecord, str, str | None]:
    """The client, the redirect URI to use and the one the request named (or None)."""
    client_id = optional_param(params, "client_id")
    if client_id is None:
        raise OAuthProblem("invalid_request", "client_id is missing")
    with ctx.state.lock:
        client = ctx.state.clients.get(client_id)
    if client is None:
        raise OAuthProblem("invalid_request", "unknown client_id")
    registered = list(client.metadata.redirect_uris or [])
    requested = optional_param(params, "redirect_uri")
    if requested is None:
        if len(registered) != 1:
            raise OAuthProblem("invalid_request", "redirect_uri is required")
        return client, registered[0], None
    if not any(redirect_matches(requested, known) for known in registered):  # RFC 8252 §7.3
        raise OAuthProblem("invalid_request", "redirect_uri does not match a registered one")
    return client, requested, requested


def _issue_code(
    ctx: Context, params: ImmutableMultiDict[str, str], client: ClientRecord, named: str | None
) -> str:
    """Validate the rest of the request and issue a code, or raise the error to redirect."""
    response_type = optional_param(params, "response_type")
    if response_type is None:
        raise OAuthProblem("invalid_request", "response_type is missing")
    if response_type != "code":
        raise OAuthProblem("unsupported_response_type", "only response_type=code is supported")
    if not client.allows_grant("authorization_code"):
        raise OAuthProblem("unauthorized_client", "the client did not register authorization_code")
    challenge = optional_param(params, "code_challenge")
    method = optional_param(params, "code_challenge_method")
    if challenge is None:
        raise OAuthProblem("invalid_request", "PKCE is required: code_challenge is missing")
    if method != "S256":
        raise OAuthProblem("invalid_request", "code_challenge_method must be S256")
    if not _S256_CHALLENGE.fullmatch(challenge):
        raise OAuthProblem("invalid_request", "code_challenge must be BASE64URL(SHA256(verifier))")
    scope = parse_scope(optional_param(params, "scope")) or default_scope(ctx, client)
    check_scope(scope, allowed_scopes(ctx, client))
    resources = parse_resources(ctx, params.getlist("resource"))
    nonce = optional_param(params, "nonce")
    dpop_jkt = optional_param(params, "dpop_jkt") if ctx.settings.dpop_enabled else None
    if dpop_jkt is not None and not _THUMBPRINT.fullmatch(dpop_jkt):
        raise OAuthProblem("invalid_request", "dpop_jkt must be a base64url SHA-256 thumbprint")
    if ctx.settings.deny_authorization:
        raise OAuthProblem("access_denied", "the test user denied the request")
    now = ctx.clock.timestamp()
    grant = Grant(client.client_id, ctx.settings.subject, scope, resources, now, nonce)
    code = new_secret()
    expires_at = ctx.clock.now() + ctx.settings.code_lifetime
    with ctx.state.lock:
        ctx.state.codes[code] = AuthorizationCode(
            grant, named, challenge, expires_at, dpop_jkt=dpop_jkt
        )
    return code


def _redirect(location: str) -> Response:
    return Response(status_code=302, headers={"Location": location, **NO_STORE})


async def authorize(ctx: Context, request: Request) -> Response:
    """``GET /authorize``: approve as the test user and redirect (RFC 6749 §4.1.2)."""
    params = request.query_params
    try:
        client, redirect_uri, named = _client_and_redirect(ctx, params)
    except OAuthProblem as problem:
        return _error_page(problem)
    states = params.getlist("state")
    state = states[0] if len(states) == 1 and states[0] else None
    try:
        if len(states) > 1:
            raise OAuthProblem("invalid_request", "the state parameter is repeated")
        code = _issue_code(ctx, params, client, named)
    except OAuthProblem as problem:
        error = AuthorizationErrorResponse(
            error=problem.error or "invalid_request",
            error_description=sanitize(problem.description),
            state=state,
            iss=ctx.issuer if ctx.settings.authorization_response_iss else None,
        )
        return _redirect(with_query(redirect_uri, converter.unstructure(error)))
    iss = ctx.issuer if ctx.settings.authorization_response_iss else None
    success = AuthorizationResponse(code=code, state=state, iss=iss)
    return _redirect(with_query(redirect_uri, converter.unstructure(success)))
