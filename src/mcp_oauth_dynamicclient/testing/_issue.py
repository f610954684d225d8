"""Minting the tokens of a successful token response (RFC 6749 §5.1), for every grant.

Access tokens are opaque random strings, or RFC 9068 JWTs (``access_token_format="jwt"``);
either way the server remembers them. A token may be bound to a DPoP key (RFC 9449 §5).
"""

from __future__ import annotations

import functools
from typing import Any

from .._generated import TokenResponse
from ._context import Context
from ._scopes import OPENID
from ._state import AccessToken, Grant

__all__ = ["AT_JWT", "issue_tokens", "jwt_access_token"]

#: The ``typ`` of an RFC 9068 JWT access token (§2.1).
AT_JWT = "at+jwt"


def jwt_access_token(ctx: Context, record: AccessToken) -> str:
    """The RFC 9068 §2 JWT of an access token record: ``typ: at+jwt``, signed with the key the
    JWK Set publishes; ``aud`` is the RFC 8707 audience, else the client ID (§2.2, §3)."""
    grant = record.grant
    audience = record.audience or (grant.client_id,)
    claims: dict[str, Any] = {
        "iss": ctx.issuer,
        "exp": record.expires_at,
        "iat": record.issued_at,
        "jti": record.token_id,
        "aud": audience[0] if len(audience) == 1 else list(audience),
        "sub": grant.subject,
        "client_id": grant.client_id,
        "auth_time": grant.auth_time,
    }
    if record.scope:
        claims["scope"] = " ".join(record.scope)
    if record.jkt is not None:
        claims["cnf"] = {"jkt": record.jkt}  # RFC 9449 §6.1
    return ctx.key.sign(claims, typ=AT_JWT)


def issue_tokens(
    ctx: Context,
    grant: Grant,
    *,
    scope: tuple[str, ...],
    audience: tuple[str, ...],
    refresh: bool,
    lifetime: int | None = None,
    nonce: str | None = None,
    jkt: str | None = None,
    refresh_jkt: str | None = None,
) -> TokenResponse:
    """Mint the tokens of one successful token response (RFC 6749 §5.1).

    ``nonce`` goes into the ID token; only the code exchange passes it, since a refreshed ID
    token carries none (OpenID Connect Core §12.2, errata). ``jkt`` binds the access token to
    a DPoP key (RFC 9449 §5: ``token_type`` is then ``DPoP``), ``refresh_jkt`` the refresh token.
    """
    now = ctx.clock.timestamp()
    lifetime = ctx.settings.access_token_lifetime if lifetime is None else lifetime
    encode = None
    if ctx.settings.access_token_format == "jwt":
        encode = functools.partial(jwt_access_token, ctx)
    access_token, _ = ctx.state.mint_access_token(
        grant, scope=scope, audience=audience, now=now, lifetime=lifetime, jkt=jkt, encode=encode
    )
    refresh_token = None
    if refresh:
        refresh_token = ctx.state.mint_refresh_token(
            grant, now=now, lifetime=ctx.settings.refresh_token_lifetime, jkt=refresh_jkt
        )
    id_token = None
    if OPENID in scope:
        claims = {
            "iss": ctx.issuer,
            "sub": ctx.settings.id_token_subject or grant.subject,
            "aud": grant.client_id,
            "iat": now,
            "exp": now + lifetime,
            "auth_time": grant.auth_time,
            "at_hash": ctx.key.token_hash(access_token),
        }
        if nonce is not None:
            claims["nonce"] = nonce
        id_token = ctx.key.sign(claims)
    return TokenResponse(
        access_token=access_token,
        token_type="Bearer" if jkt is None else "DPoP",
        expires_in=lifetime,
        refresh_token=refresh_token,
        scope=" ".join(scope) if scope else None,
        id_token=id_token,
    )
