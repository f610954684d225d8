"""Two extension grants of the token endpoint: JWT-bearer (RFC 7523 §2.1) and token exchange
(RFC 8693), with the ID-JAG of the Identity Assertion Authorization Grant (SEP-990,
draft-ietf-oauth-identity-assertion-authz-grant) between them.

So one ``MockAuthServer`` can play an enterprise IdP (``token_exchange=True``: an ID token it
issued in, an ID-JAG out) and another the MCP authorization server
(``jwt_bearer_issuers={idp.url: idp.jwks}``: the ID-JAG in, an access token out).

**JWT-bearer** (``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``, served while the
``jwt_bearer_issuers`` knob names an issuer). The ``assertion`` is a JWT whose ``iss`` is a
trusted issuer and whose signature verifies with one of its keys (an asymmetric ``alg``); its
``aud`` names this server's issuer or token endpoint, ``exp`` is present and not past, ``nbf``
(if any) not future, ``sub`` is present, and a ``jti`` (if any) is used once (RFC 7523 §3).
The client authenticates as it registered, ``none`` included (workload identity federation,
SEP-1933). When the assertion's header says ``typ: oauth-id-jag+jwt`` it is an ID-JAG: its
``client_id`` must be the authenticated client, its ``scope`` bounds the scope granted and its
``resource`` (when present) is the token's audience. Failures are ``invalid_grant`` (RFC 7523
§3.1) with a description; no refresh token is issued.

**Token exchange** (``grant_type=urn:ietf:params:oauth:grant-type:token-exchange``, with the
``token_exchange`` knob; RFC 8693 §2.1). ``subject_token`` is an ID token this server issued
(``subject_token_type=urn:ietf:params:oauth:token-type:id_token``: signature by its key, ``iss``
this server, not expired, ``aud`` naming the requesting client) or one of its active access
tokens (``...:access_token``); ``actor_token``/``actor_token_type`` likewise, optional.
``requested_token_type=urn:ietf:params:oauth:token-type:id-jag`` (with exactly one ``audience``,
the issuer of the authorization server that will take it) returns an ID-JAG: a JWT of type
``oauth-id-jag+jwt`` signed by this server with ``iss``, ``sub``, ``aud``, ``client_id`` (the
requesting client), ``jti``, ``iat``, ``exp`` (5 minutes), and ``resource``, ``scope``,
``auth_time``, ``act`` when known; ``token_type`` is ``N_A`` (RFC 8693 §2.2.1). Otherwise
(``...:access_token`` or nothing) an access token for the subject, its audience the
``resource`` and ``audience`` values (RFC 8707), its scope at most the subject token's. Errors
follow §2.2.2: ``invalid_request`` (missing or unsupported parameters), ``invalid_grant`` (a
subject or actor token that does not validate), ``invalid_target`` (an audience or resource
not served), ``invalid_scope``.

The ``grant_scope_errors`` knob makes both grants refuse with a chosen error code whenever a
given scope is asked for (or carried by an ID-JAG), for client tests.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs
import jwt
from starlette.datastructures import ImmutableMultiDict

from .._generated import TokenResponse
from ._client_authn import ASSERTION_ALGORITHMS
from ._client_metadata import JWT_BEARER_GRANT, TOKEN_EXCHANGE_GRANT
from ._context import Context, Paths
from ._http import OAuthProblem, json_object, optional_param
from ._issue import issue_tokens
from ._keys import public_keys
from ._scopes import allowed_scopes, check_scope, default_scope, parse_resources, parse_scope
from ._state import ClientRecord, Grant, new_secret

__all__ = [
    "ACCESS_TOKEN_TYPE",
    "EXTENSION_GRANTS",
    "ID_JAG_LIFETIME",
    "ID_JAG_TOKEN_TYPE",
    "ID_JAG_TYP",
    "ID_TOKEN_TYPE",
    "Handler",
    "grant_served",
]

#: The JWT ``typ`` of an ID-JAG (draft-ietf-oauth-identity-assertion-authz-grant §3).
ID_JAG_TYP = "oauth-id-jag+jwt"
#: RFC 8693 §3 token type identifiers, and the ID-JAG's.
ID_JAG_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id-jag"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
#: Seconds an ID-JAG is valid.
ID_JAG_LIFETIME = 300

#: A grant: the request's client, form and DPoP key thumbprint (None: no proof) to a response.
Handler = Callable[[Context, ClientRecord, ImmutableMultiDict[str, str], str | None], TokenResponse]


def _invalid_grant(description: str) -> OAuthProblem:
    return OAuthProblem("invalid_grant", description)


def _required(form: ImmutableMultiDict[str, str], name: str) -> str:
    value = optional_param(form, name)
    if value is None:
        raise OAuthProblem("invalid_request", f"{name} is missing")
    return value


def _refuse_configured(ctx: Context, scope: tuple[str, ...]) -> None:
    """The ``grant_scope_errors`` knob: refuse a scope with the error configured for it."""
    for item in scope:
        error = ctx.settings.grant_scope_errors.get(item)
        if error is not None:
            raise OAuthProblem(error, f"the server refuses the scope {item}")


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    """A NumericDate claim (RFC 7519 §2), None when absent or not a finite number."""
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


# ------------------------------------------------------------------------------ JWT-bearer


def _verified_assertion(ctx: Context, assertion: str) -> tuple[dict[str, Any], str | None]:
    """The claims and header ``typ`` of a JWT-bearer assertion (RFC 7523 §3).

    Raises:
        OAuthProblem: ``invalid_grant`` naming the rule the assertion breaks.
    """
    try:
        header = jwt.get_unverified_header(assertion)
        unverified_jws = jwt.api_jws.decode_complete(assertion, options={"verify_signature": False})
        unverified = json_object(unverified_jws["payload"])
    except (jwt.PyJWTError, ValueError, TypeError):
        raise _invalid_grant("the assertion is not a JWT") from None
    if unverified is None:
        raise _invalid_grant("the assertion's payload is not a JSON object")
    algorithm = header.get("alg")
    if algorithm not in ASSERTION_ALGORITHMS:
        raise _invalid_grant("the assertion must be signed with an asymmetric algorithm")
    issuer = unverified.get("iss")
    trusted = ctx.settings.jwt_bearer_issuers.get(issuer) if isinstance(issuer, str) else None
    if trusted is None:
        raise _invalid_grant("the assertion's issuer (iss) is not trusted")
    kid = header.get("kid")
    for key_id, key in public_keys(trusted):
        if kid is not None and key_id is not None and key_id != kid:
            continue
        try:
            jwt.api_jws.decode(assertion, key, algorithms=[algorithm])
        except (jwt.PyJWTError, ValueError, TypeError):
            continue
        typ = header.get("typ")
        return unverified, typ if isinstance(typ, str) else None
    raise _invalid_grant("the assertion's signature does not verify with the issuer's keys")


def _check_assertion_claims(ctx: Context, claims: dict[str, Any]) -> None:
    """RFC 7523 §3 items 3-7 on verified claims."""
    audience = claims.get("aud")
    names = [audience] if isinstance(audience, str) else audience
    if not isinstance(names, list) or not names:
        raise _invalid_grant("the assertion lacks the aud claim")
    if not {ctx.issuer, ctx.issuer + "/", ctx.url(Paths.TOKEN)}.intersection(
        n for n in names if isinstance(n, str)
    ):
        raise _invalid_grant("the assertion's aud must name this server or its token endpoint")
    now = ctx.clock.now()
    exp = _number(claims, "exp")
    if exp is None:
        raise _invalid_grant("the assertion lacks the exp claim")
    if now >= exp:
        raise _invalid_grant("the assertion has expired")
    nbf = _number(claims, "nbf")
    if nbf is not None and now < nbf:
        raise _invalid_grant("the assertion is not valid yet (nbf)")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise _invalid_grant("the assertion lacks the sub claim")


def _use_assertion(ctx: Context, claims: dict[str, Any]) -> None:
    """RFC 7523 §3 item 7: an assertion with a ``jti`` is good once; it is used up only by a
    request that succeeds, so a refused one (say, for its scope) can be corrected."""
    jti, exp = claims.get("jti"), _number(claims, "exp")
    if jti is not None and not (
        isinstance(jti, str)
        and ctx.state.use_assertion_id(claims["iss"], jti, exp or 0.0, ctx.clock.now())
    ):
        raise _invalid_grant("the assertion's jti was already used")


def _claim_strings(claims: Mapping[str, Any], name: str) -> tuple[str, ...] | None:
    """A claim that is a string or a list of strings, as a tuple; None when absent."""
    value = claims.get(name)
    if value is None:
        return None
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise _invalid_grant(f"the assertion's {name} claim is malformed")
    return tuple(values)


def _jwt_bearer(
    ctx: Context, client: ClientRecord, form: ImmutableMultiDict[str, str], jkt: str | None
) -> TokenResponse:
    """RFC 7523 §2.1 (and, for an ID-JAG, the Identity Assertion Authorization Grant)."""
    claims, typ = _verified_assertion(ctx, _required(form, "assertion"))
    _check_assertion_claims(ctx, claims)
    id_jag = typ is not None and typ.lower().removeprefix("application/") == ID_JAG_TYP
    requested = parse_scope(optional_param(form, "scope"))
    carried: tuple[str, ...] | None = None
    audience = parse_resources(ctx, form.getlist("resource"))
    if id_jag:
        if claims.get("client_id") != client.client_id:
            raise _invalid_grant("the ID-JAG was issued to another client (client_id)")
        scope_claim = claims.get("scope")
        if scope_claim is not None and not isinstance(scope_claim, str):
            raise _invalid_grant("the ID-JAG's scope claim is malformed")
        carried = parse_scope(scope_claim)
        resources = _claim_strings(claims, "resource")
        if resources is not None:
            if audience and not set(audience) <= set(resources):
                raise OAuthProblem("invalid_target", "resource differs from the ID-JAG's")
            audience = parse_resources(ctx, resources)
    if requested is not None and carried is not None:
        check_scope(requested, carried)
    scope = requested or carried or default_scope(ctx, client)
    check_scope(scope, allowed_scopes(ctx, client))
    _refuse_configured(ctx, scope)
    _use_assertion(ctx, claims)
    auth_time = _number(claims, "auth_time")
    now = ctx.clock.timestamp()
    grant = Grant(client.client_id, claims["sub"], scope, audience, int(auth_time or now))
    return issue_tokens(ctx, grant, scope=scope, audience=audience, refresh=False, jkt=jkt)


# -------------------------------------------------------------------------- token exchange


@attrs.frozen
class _Subject:
    """Who a subject or actor token stands for."""

    subject: str
    scope: tuple[str, ...] | None
    auth_time: int | None


def _validated_token(
    ctx: Context, client: ClientRecord, token: str, token_type: str, role: str
) -> _Subject:
    """RFC 8693 §2.1: validate a ``subject_token`` or ``actor_token`` of ``token_type``.

    Raises:
        OAuthProblem: ``invalid_request`` for an unsupported type, ``invalid_grant`` for a
            token that does not validate.
    """
    if token_type == ACCESS_TOKEN_TYPE:
        record = ctx.state.active_access_token(token, ctx.clock.now())
        if record is None:
            raise _invalid_grant(f"the {role} is not an active access token of this server")
        return _Subject(record.grant.subject, record.scope, record.grant.auth_time)
    if token_type != ID_TOKEN_TYPE:
        raise OAuthProblem("invalid_request", f"unsupported {role}_type")
    try:
        claims = ctx.key.verify(token)
    except (jwt.PyJWTError, ValueError, TypeError):
        raise _invalid_grant(f"the {role} is not an ID token of this server") from None
    audience = claims.get("aud")
    names = [audience] if isinstance(audience, str) else audience
    exp = _number(claims, "exp")
    subject = claims.get("sub")
    if claims.get("iss") != ctx.issuer:
        raise _invalid_grant(f"the {role} was issued by another server")
    if exp is None or ctx.clock.now() >= exp:
        raise _invalid_grant(f"the {role} has expired")
    if not isinstance(names, list) or client.client_id not in names:
        raise _invalid_grant(f"the {role} was issued to another client (aud)")
    if not isinstance(subject, str) or not subject:
        raise _invalid_grant(f"the {role} lacks the sub claim")
    auth_time = _number(claims, "auth_time")
    return _Subject(subject, None, None if auth_time is None else int(auth_time))


def _actor(
    ctx: Context, client: ClientRecord, form: ImmutableMultiDict[str, str]
) -> _Subject | None:
    """The optional ``actor_token`` (RFC 8693 §2.1: its type is required with it, only with it)."""
    token, token_type = (
        optional_param(form, "actor_token"),
        optional_param(form, "actor_token_type"),
    )
    if token is None and token_type is None:
        return None
    if token is None or token_type is None:
        raise OAuthProblem("invalid_request", "actor_token and actor_token_type go together")
    return _validated_token(ctx, client, token, token_type, "actor_token")


def _absolute_uris(values: list[str], name: str) -> tuple[str, ...]:
    for value in values:
        try:
            parts = urlsplit(value)
        except ValueError:
            raise OAuthProblem("invalid_target", f"{name} is not a valid URI") from None
        if not parts.scheme or "#" in value:
            raise OAuthProblem("invalid_target", f"{name} must be an absolute URI, no fragment")
    return tuple(dict.fromkeys(values))


def _id_jag(
    ctx: Context,
    client: ClientRecord,
    form: ImmutableMultiDict[str, str],
    subject: _Subject,
    actor: _Subject | None,
) -> TokenResponse:
    """An ID-JAG for the subject (draft-ietf-oauth-identity-assertion-authz-grant §4.3)."""
    audiences = form.getlist("audience")
    if len(audiences) != 1 or not audiences[0]:
        raise OAuthProblem(
            "invalid_request", "an ID-JAG needs one audience: the authorization server's issuer"
        )
    resources = _absolute_uris(form.getlist("resource"), "resource")
    scope = parse_scope(optional_param(form, "scope"))
    _refuse_configured(ctx, scope or ())
    now = ctx.clock.timestamp()
    claims: dict[str, Any] = {
        "iss": ctx.issuer,
        "sub": subject.subject,
        "aud": audiences[0],
        "client_id": client.client_id,
        "jti": new_secret(12),
        "iat": now,
        "exp": now + ID_JAG_LIFETIME,
    }
    if resources:
        claims["resource"] = resources[0] if len(resources) == 1 else list(resources)
    if scope:
        claims["scope"] = " ".join(scope)
    if subject.auth_time is not None:
        claims["auth_time"] = subject.auth_time
    if actor is not None:
        claims["act"] = {"sub": actor.subject}  # RFC 8693 §4.1
    return TokenResponse(
        access_token=ctx.key.sign(claims, typ=ID_JAG_TYP),
        token_type="N_A",
        expires_in=ID_JAG_LIFETIME,
        scope=" ".join(scope) if scope else None,
        extra={"issued_token_type": ID_JAG_TOKEN_TYPE},
    )


def _token_exchange(
    ctx: Context, client: ClientRecord, form: ImmutableMultiDict[str, str], jkt: str | None
) -> TokenResponse:
    """RFC 8693 §2.1-§2.2."""
    subject_token = _required(form, "subject_token")
    subject_type = _required(form, "subject_token_type")
    requested_type = optional_param(form, "requested_token_type") or ACCESS_TOKEN_TYPE
    if requested_type not in (ACCESS_TOKEN_TYPE, ID_JAG_TOKEN_TYPE):
        raise OAuthProblem("invalid_request", "unsupported requested_token_type")
    if requested_type == ID_JAG_TOKEN_TYPE and subject_type != ID_TOKEN_TYPE:
        raise OAuthProblem("invalid_request", "an ID-JAG is issued for an ID token subject")
    subject = _validated_token(ctx, client, subject_token, subject_type, "subject_token")
    actor = _actor(ctx, client, form)
    if requested_type == ID_JAG_TOKEN_TYPE:
        return _id_jag(ctx, client, form, subject, actor)
    audience = parse_resources(ctx, [*form.getlist("resource"), *form.getlist("audience")])
    requested = parse_scope(optional_param(form, "scope"))
    if requested is not None and subject.scope is not None:
        check_scope(requested, subject.scope)
    scope = requested or subject.scope or default_scope(ctx, client)
    check_scope(scope, allowed_scopes(ctx, client))
    _refuse_configured(ctx, scope)
    now = ctx.clock.timestamp()
    grant = Grant(client.client_id, subject.subject, scope, audience, subject.auth_time or now)
    response = issue_tokens(ctx, grant, scope=scope, audience=audience, refresh=False, jkt=jkt)
    return attrs.evolve(response, extra={"issued_token_type": ACCESS_TOKEN_TYPE})


#: The extension grants by ``grant_type``.
EXTENSION_GRANTS: dict[str, Handler] = {
    JWT_BEARER_GRANT: _jwt_bearer,
    TOKEN_EXCHANGE_GRANT: _token_exchange,
}


def grant_served(ctx: Context, grant_type: str) -> bool:
    """Whether an extension grant is on (its knob set)."""
    if grant_type == JWT_BEARER_GRANT:
        return bool(ctx.settings.jwt_bearer_issuers)
    return grant_type == TOKEN_EXCHANGE_GRANT and ctx.settings.token_exchange
