"""Token revocation, RFC 7009.

``POST /revoke`` with client authentication (RFC 7009 §2.1) and a ``token``. The answer is 200
with an empty body whether or not the token was valid (§2.2), since an invalid token needs no
revoking. Revoking an access token ends that token; revoking a refresh token ends its grant, and
with it every access token issued under that grant (§2.1). A valid token of another client is
refused with ``invalid_grant`` and left alone (§2.1: "the request is refused").
``token_type_hint`` is only a hint (§2.1); both kinds are searched whatever it says.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .._generated import RevocationRequest
from ._client_authn import authenticate_client
from ._context import Context, Paths
from ._http import NO_STORE, OAuthProblem, form_model, oauth_error_response, read_form

__all__ = ["revoke_endpoint"]


async def revoke_endpoint(ctx: Context, request: Request) -> Response:
    """``POST /revoke`` (RFC 7009 §2.1)."""
    try:
        form = await read_form(request)
        client = await authenticate_client(ctx, request, form, Paths.REVOKE)
        body = form_model(form, RevocationRequest)
        now = ctx.clock.now()
        with ctx.state.lock:
            access = ctx.state.active_access_token(body.token, now)
            refresh = ctx.state.active_refresh_token(body.token, now)
            grant = access.grant if access is not None else refresh.grant if refresh else None
            if grant is not None and grant.client_id != client.client_id:
                raise OAuthProblem("invalid_grant", "the token was issued to another client")
            if access is not None:
                access.revoked = True
            if refresh is not None:
                refresh.grant.revoked = True
    except OAuthProblem as problem:
        return oauth_error_response(problem, no_store=True)
    return Response(status_code=200, headers=NO_STORE)
