"""Device authorization, RFC 8628.

``POST /device_authorization`` (§3.1) authenticates the client like the token endpoint (public
clients send ``client_id``), checks that it registered the device code grant, the ``scope``
and the ``resource`` values, and answers (§3.2) with a ``device_code``, a ``user_code`` in the
§6.1 style (``WDJB-MJHT``), ``verification_uri`` (``/device``, a small HTML page),
``verification_uri_complete``, ``expires_in`` and ``interval``. No user visits the page: a test
calls :meth:`MockAuthServer.approve` or :meth:`MockAuthServer.deny`, and the token endpoint
answers the polling client accordingly (§3.5).
"""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from .._generated import DeviceAuthorizationRequest, DeviceAuthorizationResponse
from ._authorize import with_query
from ._client_authn import authenticate_client
from ._client_metadata import DEVICE_CODE_GRANT
from ._context import Context, Paths
from ._http import (
    NO_STORE,
    OAuthProblem,
    form_model,
    model_response,
    oauth_error_response,
    read_form,
)
from ._scopes import allowed_scopes, check_scope, default_scope, parse_resources, parse_scope
from ._state import DeviceAuthorization, new_secret, new_user_code

__all__ = ["decide", "device_authorization_endpoint", "device_page"]


async def device_authorization_endpoint(ctx: Context, request: Request) -> Response:
    """``POST /device_authorization`` (RFC 8628 §3.1-§3.2)."""
    try:
        form = await read_form(request)
        client = await authenticate_client(ctx, request, form, Paths.DEVICE_AUTHORIZATION)
        if not client.allows_grant(DEVICE_CODE_GRANT):
            raise OAuthProblem(
                "unauthorized_client", "the client did not register the device grant"
            )
        body = form_model(form, DeviceAuthorizationRequest)
        scope = parse_scope(body.scope) or default_scope(ctx, client)
        check_scope(scope, allowed_scopes(ctx, client))
        resources = parse_resources(ctx, body.resource or ())
    except OAuthProblem as problem:
        return oauth_error_response(problem, no_store=True)
    now = ctx.clock.now()
    lifetime, interval = ctx.settings.device_code_lifetime, ctx.settings.device_interval
    device = DeviceAuthorization(
        device_code=new_secret(),
        user_code=new_user_code(),
        client_id=client.client_id,
        scope=scope,
        resources=resources,
        expires_at=now + lifetime,
        interval=interval,
        last_poll=now,
    )
    ctx.state.add_device(device)
    verification_uri = ctx.url(Paths.DEVICE_VERIFICATION)
    answer = DeviceAuthorizationResponse(
        device_code=device.device_code,
        user_code=device.user_code,
        verification_uri=verification_uri,
        verification_uri_complete=with_query(verification_uri, {"user_code": device.user_code}),
        expires_in=lifetime,
        interval=interval,
    )
    return model_response(answer, headers=NO_STORE)


async def device_page(ctx: Context, request: Request) -> Response:
    """``GET /device``: the verification page (RFC 8628 §3.3), informational only."""
    user_code = request.query_params.get("user_code")
    status = "Enter the code shown on your device."
    if user_code:
        device = ctx.state.device_by_user_code(user_code)
        found = "unknown code" if device is None else device.status
        status = f"Code {html.escape(user_code)}: {html.escape(found)}."
    body = (
        "<!DOCTYPE html><html><head><title>Device login</title></head>"
        f"<body><h1>MockAuthServer device login</h1><p>{status}</p></body></html>"
    )
    return HTMLResponse(body, headers=NO_STORE)


def decide(ctx: Context, user_code: str | None, *, approve: bool, subject: str | None) -> str:
    """Approve or deny a pending device authorization as the user would; returns its user code.

    Raises:
        LookupError: no such user code, or (without one) not exactly one pending request.
        ValueError: the request was already answered or has expired.
    """
    now = ctx.clock.now()
    with ctx.state.lock:
        if user_code is None:
            pending = ctx.state.pending_devices(now)
            if len(pending) != 1:
                raise LookupError(f"{len(pending)} device authorizations pending; name a user_code")
            device = pending[0]
        else:
            found = ctx.state.device_by_user_code(user_code)
            if found is None:
                raise LookupError(f"unknown user code {user_code!r}")
            device = found
        if device.status != "pending":
            raise ValueError(f"device authorization {device.user_code} is already {device.status}")
        if now >= device.expires_at:
            raise ValueError(f"device authorization {device.user_code} has expired")
        device.status = "approved" if approve else "denied"
        device.subject = subject if subject is not None else ctx.settings.subject
        return device.user_code
