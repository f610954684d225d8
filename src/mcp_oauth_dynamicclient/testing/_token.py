"""The token endpoint, RFC 6749 §3.2, for four grants (and, behind their knobs, the JWT-bearer
and token exchange grants of :mod:`._extension_grants`).

- ``authorization_code`` (§4.1.3, RFC 7636 §4.6): the code is good for one redemption attempt
  by the client it was issued to; a replayed code is refused with ``invalid_grant`` and every
  token issued from it is revoked (§4.1.2). ``redirect_uri`` must repeat the one of the
  authorization request, and ``BASE64URL(SHA256(code_verifier))`` must equal the challenge.
- ``refresh_token`` (§6): a narrower ``scope`` may be asked for. With rotation on (the default,
  OAuth 2.1 §4.3.1) each refresh retires the refresh token and issues a new one; presenting a
  retired one is taken as theft and revokes the whole grant.
- ``client_credentials`` (§4.4.2): confidential clients only, no refresh token (§4.4.3).
- ``urn:ietf:params:oauth:grant-type:device_code`` (RFC 8628 §3.4-§3.5): ``authorization_pending``
  until approved, ``slow_down`` (and the interval grows by 5 s) when polled faster than the
  interval, ``access_denied``, ``expired_token``; a device code is redeemed once.

Access tokens are opaque, or RFC 9068 JWTs with ``access_token_format="jwt"``; a refresh token
is issued when the client registered the ``refresh_token`` grant; an RS256 ID token when
``openid`` is in the granted scope (OpenID Connect Core §3.1.3.3). ``resource`` (RFC 8707
§2.2) narrows the audience to granted resources. Every answer carries ``Cache-Control:
no-store`` and ``Pragma: no-cache`` (§5.1); errors are §5.2 JSON, 400 except
``invalid_client`` (401).

With DPoP on (RFC 9449 §5), every grant takes a ``DPoP`` proof (checked by :mod:`._dpop`) and
then binds the access token to the proof's key (``token_type: DPoP``), and a public client's
refresh token too: refreshing it needs a proof by the same key (none: ``invalid_dpop_proof``,
another key: ``invalid_grant``), and so does a code bound by ``dpop_jkt`` at ``/authorize``
(§10). ``dpop_required`` refuses requests without a proof
(``invalid_dpop_proof``), ``dpop_nonce`` those whose proof lacks the nonce (``use_dpop_nonce``
with a ``DPoP-Nonce`` header, §8); successful answers then carry ``DPoP-Nonce`` too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence

from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import Response

from .._generated import (
    AuthorizationCodeTokenRequest,
    ClientCredentialsTokenRequest,
    DeviceCodeTokenRequest,
    RefreshTokenRequest,
    TokenResponse,
)
from ._client_authn import authenticate_client
from ._client_metadata import DEVICE_CODE_GRANT
from ._context import Context, Paths
from ._dpop import nonce_headers, proof_of, verify_proof
from ._extension_grants import EXTENSION_GRANTS, Handler, grant_served
from ._http import (
    NO_STORE,
    OAuthProblem,
    form_model,
    model_response,
    oauth_error_response,
    optional_param,
    read_form,
)
from ._issue import issue_tokens
from ._scopes import (
    OPENID,
    allowed_scopes,
    check_scope,
    default_scope,
    parse_resources,
    parse_scope,
)
from ._state import ClientRecord, Grant

__all__ = ["token_endpoint"]

_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")  # RFC 7636 §4.1


def _invalid_grant(description: str) -> OAuthProblem:
    return OAuthProblem("invalid_grant", description)


def _audience(
    ctx: Context, requested: Sequence[str] | None, granted: tuple[str, ...]
) -> tuple[str, ...]:
    """RFC 8707 §2.2: the token's audience, a subset of the granted resources if any."""
    if not requested:
        return granted
    resources = parse_resources(ctx, requested)
    if granted and not set(resources) <= set(granted):
        raise OAuthProblem("invalid_target", "resource was not part of the authorization")
    return resources


def _refresh_binding(client: ClientRecord, jkt: str | None) -> str | None:
    """RFC 9449 §5: a public client's refresh token is bound to its DPoP key; a confidential
    client's is not (its authentication already binds it)."""
    return jkt if client.auth_method == "none" else None


def _dpop_binding(ctx: Context, request: Request) -> str | None:
    """The thumbprint of the request's valid DPoP proof (RFC 9449 §5), None without one.

    With DPoP off the header is ignored, as a server without DPoP support does (§5).

    Raises:
        OAuthProblem: ``invalid_dpop_proof`` (also for a missing proof with ``dpop_required``)
            or ``use_dpop_nonce``.
    """
    if not ctx.settings.dpop_enabled:
        return None
    proof = proof_of(request)
    if proof is None:
        if ctx.settings.dpop_required:
            raise OAuthProblem("invalid_dpop_proof", "this server requires a DPoP proof")
        return None
    return verify_proof(ctx, request, proof)


def _authorization_code(
    ctx: Context, client: ClientRecord, form: ImmutableMultiDict[str, str], jkt: str | None
) -> TokenResponse:
    request = form_model(form, AuthorizationCodeTokenRequest)
    now = ctx.clock.now()
    with ctx.state.lock:
        code = ctx.state.codes.get(request.code)
        if code is None or code.grant.client_id != client.client_id:
            raise _invalid_grant("unknown authorization code")
        if code.used:
            code.grant.revoked = True
            raise _invalid_grant("the authorization code was already used; its tokens are revoked")
        code.used = True
        if now >= code.expires_at:
            raise _invalid_grant("the authorization code has expired")
        if not ctx.state.grant_alive(code.grant):
            raise _invalid_grant("the authorization was revoked")
    registered = client.metadata.redirect_uris or ()
    if code.redirect_uri is not None and request.redirect_uri != code.redirect_uri:
        raise _invalid_grant("redirect_uri differs from the authorization request")
    if code.redirect_uri is None and request.redirect_uri not in (None, *registered):
        raise _invalid_grant("redirect_uri is not registered")
    verifier = request.code_verifier
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    if not _VERIFIER.fullmatch(verifier) or not hmac.compare_digest(computed, code.code_challenge):
        raise _invalid_grant("code_verifier does not match the code_challenge")
    if code.dpop_jkt is not None and jkt is None:
        raise OAuthProblem("invalid_dpop_proof", "the code is bound to a DPoP key: send a proof")
    if code.dpop_jkt is not None and code.dpop_jkt != jkt:
        raise _invalid_grant("the code is bound to another DPoP key (dpop_jkt)")
    grant = code.grant
    audience = _audience(ctx, request.resource, grant.resources)
    refresh = client.allows_grant("refresh_token")
    return issue_tokens(
        ctx,
        grant,
        scope=grant.scope,
        audience=audience,
        refresh=refresh,
        nonce=grant.nonce,
        jkt=jkt,
        refresh_jkt=_refresh_binding(client, jkt),
    )


def _refresh_token(
    ctx: Context, client: ClientRecord, form: ImmutableMultiDict[str, str], jkt: str | None
) -> TokenResponse:
    request = form_model(form, RefreshTokenRequest)
    now = ctx.clock.now()
    with ctx.state.lock:
        record = ctx.state.refresh_tokens.get(request.refresh_token)
        if record is None or record.grant.client_id != client.client_id:
            raise _invalid_grant("unknown refresh token")
        if record.retired:
            record.grant.revoked = True
            raise _invalid_grant("a rotated refresh token was replayed; the grant is revoked")
        if ctx.state.active_refresh_token(request.refresh_token, now) is None:
            raise _invalid_grant("the refresh token is expired or revoked")
        if record.jkt is not None and jkt is None:
            raise OAuthProblem(
                "invalid_dpop_proof", "the refresh token is DPoP-bound: send a proof"
            )
        if record.jkt is not None and record.jkt != jkt:
            raise _invalid_grant("the refresh token is bound to another DPoP key")
        grant = record.grant
        requested = parse_scope(request.scope)
        if requested is not None:
            check_scope(requested, grant.scope)
        audience = _audience(ctx, request.resource, grant.resources)
        rotate = ctx.settings.rotate_refresh_tokens
        if rotate:
            record.retired = True
    scope = requested if requested is not None else grant.scope
    return issue_tokens(
        ctx, grant, scope=scope, audience=audience, refresh=rotate, jkt=jkt, refresh_jkt=record.jkt
    )


def _client_credentials(
    ctx: Context, client: ClientRecord, form: ImmutableMultiDict[str, str], jkt: str | None
) -> TokenResponse:
    request = form_model(form, ClientCredentialsTokenRequest)
    if client.auth_method == "none":
        raise OAuthProblem("unauthorized_client", "client_credentials needs a confidential client")
    scope = parse_scope(request.scope) or default_scope(ctx, client)
    if OPENID in scope:
        raise OAuthProblem("invalid_scope", "openid needs a user; client_credentials has none")
    check_scope(scope, allowed_scopes(ctx, client))
    resources = parse_resources(ctx, request.resource or ())
    now = ctx.clock.timestamp()
    grant = Grant(client.client_id, client.client_id, scope, resources, now)
    return issue_tokens(ctx, grant, scope=scope, audience=resources, refresh=False, jkt=jkt)


def _device_code(
    ctx: Context, client: ClientRecord, form: ImmutableMultiDict[str, str], jkt: str | None
) -> TokenResponse:
    request = form_model(form, DeviceCodeTokenRequest)
    now = ctx.clock.now()
    with ctx.state.lock:
        device = ctx.state.devices.get(request.device_code)
        if device is None or device.client_id != client.client_id:
            raise _invalid_grant("unknown device code")
        if device.status == "redeemed":
            raise _invalid_grant("the device code was already used")
        if now >= device.expires_at:
            raise OAuthProblem("expired_token", "the device code has expired")
        if device.status == "denied":
            raise OAuthProblem("access_denied", "the user denied the request")
        if device.status == "pending":
            too_fast = now - device.last_poll < device.interval
            device.last_poll = now
            if too_fast:
                device.interval += 5
                raise OAuthProblem("slow_down", f"poll at most every {device.interval} s")
            raise OAuthProblem("authorization_pending", "the user has not answered yet")
        audience = _audience(ctx, request.resource, device.resources)
        device.status = "redeemed"
    subject = device.subject or ctx.settings.subject
    grant = Grant(client.client_id, subject, device.scope, device.resources, int(now))
    refresh = client.allows_grant("refresh_token")
    return issue_tokens(
        ctx,
        grant,
        scope=device.scope,
        audience=audience,
        refresh=refresh,
        jkt=jkt,
        refresh_jkt=_refresh_binding(client, jkt),
    )


_GRANTS: dict[str, Handler] = {
    "authorization_code": _authorization_code,
    "refresh_token": _refresh_token,
    "client_credentials": _client_credentials,
    DEVICE_CODE_GRANT: _device_code,
}


async def token_endpoint(ctx: Context, request: Request) -> Response:
    """``POST /token`` (RFC 6749 §3.2)."""
    try:
        form = await read_form(request)
        if "client_secret" in request.query_params:
            raise OAuthProblem("invalid_request", "credentials must not be sent in the URI")
        client = await authenticate_client(ctx, request, form, Paths.TOKEN)
        grant_type = optional_param(form, "grant_type")
        if grant_type is None:
            raise OAuthProblem("invalid_request", "grant_type is missing")
        handler = _GRANTS.get(grant_type)
        if handler is None and grant_served(ctx, grant_type):
            handler = EXTENSION_GRANTS[grant_type]
        if handler is None:
            raise OAuthProblem("unsupported_grant_type", "this grant type is not supported")
        if not client.allows_grant(grant_type):
            raise OAuthProblem("unauthorized_client", "the client did not register this grant")
        jkt = _dpop_binding(ctx, request)
        body = handler(ctx, client, form, jkt)
    except OAuthProblem as problem:
        return oauth_error_response(problem, no_store=True)
    return model_response(body, headers={**NO_STORE, **nonce_headers(ctx)})
