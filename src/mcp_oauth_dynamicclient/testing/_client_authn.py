"""Client authentication at the token, revocation, introspection and device endpoints.

- ``client_secret_basic`` (RFC 6749 §2.3.1): HTTP Basic whose user-id and password are the
  client ID and secret, each ``application/x-www-form-urlencoded`` first, so the server
  percent- and plus-decodes both (UTF-8) after splitting at the first ``:``.
- ``client_secret_post`` (§2.3.1): ``client_id`` and ``client_secret`` in the form.
- ``none`` (RFC 7591 §2): a public client sends only ``client_id`` (RFC 6749 §3.2.1).
- ``private_key_jwt`` (RFC 7523 §2.2, §3): a JWT signed with a key from the client's registered
  ``jwks`` or ``jwks_uri``; ``iss`` and ``sub`` are the client ID, ``aud`` names the issuer, the
  token endpoint or the endpoint called, ``exp`` is in the future on the server's clock and the
  ``jti`` is used once.

A client must use the method it registered, and only one method per request (RFC 6749 §2.3).
Failures are ``invalid_client`` with 401 and, when Basic was tried, ``WWW-Authenticate: Basic``
(RFC 6749 §5.2).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any
from urllib.parse import unquote_plus

import httpx
import jwt
from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request

from .._generated import converter
from ._context import Context
from ._http import OAuthProblem, optional_param
from ._state import ClientRecord

__all__ = ["ASSERTION_ALGORITHMS", "BASIC_CHALLENGE", "JWT_BEARER_ASSERTION", "authenticate_client"]

BASIC_CHALLENGE = 'Basic realm="MockAuthServer", charset="UTF-8"'
JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGORITHMS = (
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
)  # fmt: skip


def _invalid_client(description: str, *, basic: bool = False) -> OAuthProblem:
    headers = {"WWW-Authenticate": BASIC_CHALLENGE} if basic else {}
    return OAuthProblem("invalid_client", description, status=401, headers=headers)


def _basic_credentials(header: str) -> tuple[str, str]:
    """Split and form-decode an ``Authorization: Basic`` header (RFC 6749 §2.3.1)."""
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise OAuthProblem("invalid_request", "the Authorization scheme must be Basic")
    try:
        pair = base64.b64decode(encoded.strip(), validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        raise _invalid_client("malformed Basic credentials", basic=True) from None
    client_id, colon, secret = pair.partition(":")
    if not colon:
        raise _invalid_client("Basic credentials lack the ':' separator", basic=True)
    try:
        return (
            unquote_plus(client_id, errors="strict"),
            unquote_plus(secret, errors="strict"),
        )
    except UnicodeDecodeError:
        raise _invalid_client("Basic credentials are not UTF-8 form encoding", basic=True) from None


def _used_methods(request: Request, form: ImmutableMultiDict[str, str]) -> list[str]:
    methods = []
    if request.headers.getlist("authorization"):
        methods.append("client_secret_basic")
    if "client_secret" in form:
        methods.append("client_secret_post")
    if "client_assertion" in form or "client_assertion_type" in form:
        methods.append("private_key_jwt")
    return methods


async def authenticate_client(
    ctx: Context, request: Request, form: ImmutableMultiDict[str, str], path: str
) -> ClientRecord:
    """The client that made the request, authenticated with its registered method.

    Raises:
        OAuthProblem: ``invalid_client`` (401) or ``invalid_request`` (400).
    """
    methods = _used_methods(request, form)
    if len(methods) > 1:
        raise OAuthProblem("invalid_request", "more than one client authentication method used")
    method = methods[0] if methods else "none"
    basic = method == "client_secret_basic"
    body_id = optional_param(form, "client_id")
    secret: str | None = None
    if basic:
        headers = request.headers.getlist("authorization")
        if len(headers) > 1:
            raise OAuthProblem("invalid_request", "more than one Authorization header")
        client_id, secret = _basic_credentials(headers[0])
        if body_id is not None and body_id != client_id:
            raise _invalid_client("client_id differs from the Basic credentials", basic=True)
    elif method == "client_secret_post":
        client_id, secret = body_id or "", optional_param(form, "client_secret")
    elif method == "private_key_jwt":
        return await _authenticate_assertion(ctx, form, body_id, path)
    else:
        client_id = body_id or ""
    if not client_id:
        raise _invalid_client("client authentication is required", basic=basic)
    with ctx.state.lock:
        client = ctx.state.clients.get(client_id)
    if client is None:
        raise _invalid_client("unknown client", basic=basic)
    if client.auth_method != method:
        raise _invalid_client(f"the client is registered for {client.auth_method}", basic=basic)
    if method != "none":
        expected = client.client_secret
        if expected is None or not hmac.compare_digest(expected.encode(), (secret or "").encode()):
            raise _invalid_client("wrong client secret", basic=basic)
        if client.secret_expired(ctx.clock.now()):
            raise _invalid_client("the client secret has expired", basic=basic)
    return client


async def _authenticate_assertion(
    ctx: Context, form: ImmutableMultiDict[str, str], body_id: str | None, path: str
) -> ClientRecord:
    """RFC 7523 §3: validate a ``private_key_jwt`` client assertion."""
    if optional_param(form, "client_assertion_type") != JWT_BEARER_ASSERTION:
        raise _invalid_client(f"client_assertion_type must be {JWT_BEARER_ASSERTION}")
    assertion = optional_param(form, "client_assertion")
    if assertion is None:
        raise OAuthProblem("invalid_request", "client_assertion is missing")
    try:
        header = jwt.get_unverified_header(assertion)
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise _invalid_client("client_assertion is not a JWT") from None
    client_id = unverified.get("sub")
    if not isinstance(client_id, str) or (body_id is not None and body_id != client_id):
        raise _invalid_client("the assertion sub must be the client_id")
    with ctx.state.lock:
        client = ctx.state.clients.get(client_id)
    if client is None:
        raise _invalid_client("unknown client")
    if client.auth_method != "private_key_jwt":
        raise _invalid_client(f"the client is registered for {client.auth_method}")
    algorithm = header.get("alg")
    if algorithm not in ASSERTION_ALGORITHMS:
        raise _invalid_client("the assertion must be signed with an asymmetric algorithm")
    claims = _verified_claims(ctx, assertion, await _client_keys(client), algorithm, path)
    if claims["sub"] != client_id or claims["iss"] != client_id:
        raise _invalid_client("the assertion iss and sub must be the client_id")
    now = ctx.clock.now()
    exp, nbf = claims["exp"], claims.get("nbf")
    if not isinstance(exp, (int, float)) or now >= exp:
        raise _invalid_client("the assertion has expired")
    if isinstance(nbf, (int, float)) and now < nbf:
        raise _invalid_client("the assertion is not valid yet")
    if not isinstance(claims["jti"], str) or not ctx.state.use_assertion_id(
        client_id, claims["jti"], float(exp), now
    ):
        raise _invalid_client("the assertion jti was already used")
    return client


def _verified_claims(
    ctx: Context, assertion: str, keys: list[jwt.PyJWK], algorithm: str, path: str
) -> dict[str, Any]:
    kid = jwt.get_unverified_header(assertion).get("kid")
    candidates = [k for k in keys if kid is None or k.key_id == kid]
    for key in candidates:
        try:
            claims: dict[str, Any] = jwt.decode(
                assertion,
                key.key,
                algorithms=[algorithm],
                audience=sorted(ctx.endpoint_urls(path)),
                options={
                    "require": ["iss", "sub", "aud", "exp", "jti"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.InvalidAudienceError:
            raise _invalid_client("the assertion aud must name this server") from None
        except jwt.MissingRequiredClaimError as exc:
            raise _invalid_client(f"the assertion lacks the {exc.claim} claim") from None
        except (jwt.PyJWTError, ValueError, TypeError):
            continue
        return claims
    raise _invalid_client("the assertion signature does not verify with the client's keys")


async def _client_keys(client: ClientRecord) -> list[jwt.PyJWK]:
    """The client's public keys: registered ``jwks``, or fetched from ``jwks_uri``."""
    metadata = client.metadata
    try:
        if metadata.jwks is not None:
            return list(jwt.PyJWKSet.from_dict(converter.unstructure(metadata.jwks)).keys)
        if metadata.jwks_uri is None:
            raise _invalid_client("the client registered no keys")
        async with httpx.AsyncClient(timeout=5.0) as http:
            response = await http.get(metadata.jwks_uri)
        response.raise_for_status()
        return list(jwt.PyJWKSet.from_dict(response.json()).keys)
    except (httpx.HTTPError, ValueError, jwt.PyJWTError):
        raise _invalid_client("the client's keys could not be loaded") from None
