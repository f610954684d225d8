"""Token introspection, RFC 7662.

``POST /introspect`` with client authentication (RFC 7662 §2.1) and a ``token``. An active
access token is described with ``active``, ``scope``, ``client_id``, ``sub``, ``aud`` (the RFC
8707 resources, a string when there is one), ``exp``, ``iat``, ``token_type`` (``Bearer``),
``iss`` and ``jti`` (§2.2); a DPoP-bound one has ``token_type`` ``DPoP`` and ``cnf.jkt`` (RFC
9449 §6.2). An active refresh token likewise, without ``token_type`` (with ``cnf`` when
bound). Anything else (unknown, expired, revoked, rotated away, its client deleted) is just
``{"active": false}`` (§2.2). JWT access tokens (RFC 9068) are looked up like opaque ones.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .._generated import IntrospectionRequest, IntrospectionResponse
from ._client_authn import authenticate_client
from ._context import Context, Paths
from ._http import (
    NO_STORE,
    OAuthProblem,
    form_model,
    model_response,
    oauth_error_response,
    read_form,
)

__all__ = ["introspect_endpoint"]


def _audience(resources: tuple[str, ...]) -> str | list[str] | None:
    if not resources:
        return None
    return resources[0] if len(resources) == 1 else list(resources)


def _confirmation(jkt: str | None) -> dict[str, Any]:
    """The RFC 7800 §3.1 ``cnf`` member of a DPoP-bound token (RFC 9449 §6.2)."""
    return {} if jkt is None else {"cnf": {"jkt": jkt}}


def introspect(ctx: Context, token: str) -> IntrospectionResponse:
    """What the server knows about ``token`` (RFC 7662 §2.2)."""
    now = ctx.clock.now()
    with ctx.state.lock:
        access = ctx.state.active_access_token(token, now)
        refresh = ctx.state.active_refresh_token(token, now)
    if access is not None:
        return IntrospectionResponse(
            active=True,
            scope=" ".join(access.scope),
            client_id=access.grant.client_id,
            sub=access.grant.subject,
            aud=_audience(access.audience),
            exp=access.expires_at,
            iat=access.issued_at,
            token_type="Bearer" if access.jkt is None else "DPoP",
            iss=ctx.issuer,
            jti=access.token_id,
            extra=_confirmation(access.jkt),
        )
    if refresh is not None:
        return IntrospectionResponse(
            active=True,
            scope=" ".join(refresh.grant.scope),
            client_id=refresh.grant.client_id,
            sub=refresh.grant.subject,
            aud=_audience(refresh.grant.resources),
            exp=refresh.expires_at,
            iat=refresh.issued_at,
            iss=ctx.issuer,
            extra=_confirmation(refresh.jkt),
        )
    return IntrospectionResponse(active=False)


async def introspect_endpoint(ctx: Context, request: Request) -> Response:
    """``POST /introspect`` (RFC 7662 §2.1)."""
    try:
        form = await read_form(request)
        await authenticate_client(ctx, request, form, Paths.INTROSPECT)
        body = form_model(form, IntrospectionRequest)
    except OAuthProblem as problem:
        return oauth_error_response(problem, no_store=True)
    return model_response(introspect(ctx, body.token), headers=NO_STORE)
