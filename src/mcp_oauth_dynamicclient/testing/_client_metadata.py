"""Validation of client metadata, RFC 7591 §2, shared by registration and RFC 7592 updates.

The rules, each answered with the RFC 7591 §3.2.2 error code:

- ``redirect_uris``: absolute, no fragment, ``https`` or ``http`` on a loopback host
  (``127.0.0.1``, ``[::1]``, ``localhost``; RFC 8252 §7.3, OAuth 2.1 §2.3.1); required when the
  client uses the authorization code grant. Else ``invalid_redirect_uri``.
- ``token_endpoint_auth_method``: ``client_secret_basic`` (the RFC 7591 §2 default),
  ``client_secret_post``, ``none`` or ``private_key_jwt`` (RFC 7523), which needs exactly one of
  ``jwks`` and ``jwks_uri`` (RFC 7591 §2 forbids both) holding public keys only.
- ``grant_types`` (default ``authorization_code``; the JWT-bearer and token exchange grants
  only while their knobs serve them) and ``response_types`` are supported and
  consistent (RFC 7591 §2.1): ``authorization_code`` if and only if ``code``. When
  ``response_types`` is omitted it follows ``grant_types``. ``client_credentials`` needs a
  confidential client (RFC 6749 §4.4).
- ``scope`` names supported scopes; URL-valued fields are absolute http(s) URLs.

Everything else is ``invalid_client_metadata``. Metadata the server does not understand is
ignored (RFC 7591 §2), except the language-tagged human-readable fields of §2.2, which are kept;
a ``software_statement`` is ignored too (§3.1.1 lets a server that does not support them do so).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

import attrs
import jwt

from .._generated import ClientMetadata, converter
from ._context import Context
from ._http import OAuthProblem
from ._scopes import check_scope, parse_scope, supported_scopes
from ._settings import AUTH_METHODS

__all__ = [
    "AUTH_METHODS",
    "CONFIDENTIAL_METHODS",
    "DEVICE_CODE_GRANT",
    "GRANT_TYPES",
    "JWT_BEARER_GRANT",
    "TOKEN_EXCHANGE_GRANT",
    "redirect_uri_problem",
    "supported_grant_types",
    "validate_client_metadata",
]

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
CONFIDENTIAL_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials", DEVICE_CODE_GRANT)
#: RFC 7523 §2.1, served when the ``jwt_bearer_issuers`` knob names an issuer.
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: RFC 8693 §2.1, served with the ``token_exchange`` knob.
TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
RESPONSE_TYPES = ("code",)

_LOOPBACK_NAMES = ("localhost",)
_LANGUAGE_TAGGED = re.compile(r"(client_name|client_uri|logo_uri|tos_uri|policy_uri)#[A-Za-z0-9-]+")
_PRIVATE_KEY_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k")
_URL_FIELDS = ("client_uri", "logo_uri", "tos_uri", "policy_uri")


def _metadata_error(description: str) -> OAuthProblem:
    return OAuthProblem("invalid_client_metadata", description)


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def redirect_uri_problem(uri: str) -> str | None:
    """Why ``uri`` is not an acceptable redirect URI, or None when it is."""
    if any(ch.isspace() or ord(ch) < 0x20 for ch in uri):
        return "a redirect URI must not contain whitespace or control characters"
    try:
        parts = urlsplit(uri)
        host = parts.hostname
        _ = parts.port
    except ValueError:
        return "a redirect URI must be a valid URI"
    if not parts.scheme or not parts.netloc or not host:
        return "a redirect URI must be an absolute URI with a host"
    if "#" in uri:
        return "a redirect URI must not contain a fragment"
    if "@" in parts.netloc:
        return "a redirect URI must not contain user information"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and _is_loopback(host):
        return None
    return "a redirect URI must use https, or http on a loopback address"


def _not_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return True
    return parts.scheme not in ("http", "https") or not parts.netloc or "#" in value


def _check_redirect_uris(uris: list[str], grant_types: list[str]) -> None:
    if "authorization_code" in grant_types and not uris:
        raise OAuthProblem(
            "invalid_redirect_uri", "redirect_uris is required for the authorization_code grant"
        )
    for uri in uris:
        problem = redirect_uri_problem(uri)
        if problem is not None:
            raise OAuthProblem("invalid_redirect_uri", problem)


def supported_grant_types(ctx: Context) -> tuple[str, ...]:
    """The grants the server serves now: the four built-in ones and the extension grants
    their knobs turn on (RFC 8414 §2 ``grant_types_supported``)."""
    extensions = [JWT_BEARER_GRANT] if ctx.settings.jwt_bearer_issuers else []
    extensions += [TOKEN_EXCHANGE_GRANT] if ctx.settings.token_exchange else []
    return (*GRANT_TYPES, *extensions)


def _check_grants(
    grant_types: list[str], response_types: list[str], method: str, supported: tuple[str, ...]
) -> None:
    if not grant_types:
        raise _metadata_error("grant_types must not be empty")
    unknown = [g for g in grant_types if g not in supported]
    if unknown:
        raise _metadata_error(f"unsupported grant_types: {' '.join(unknown)}")
    unknown = [r for r in response_types if r not in RESPONSE_TYPES]
    if unknown:
        raise _metadata_error(f"unsupported response_types: {' '.join(unknown)}")
    if ("authorization_code" in grant_types) != ("code" in response_types):
        raise _metadata_error(
            "grant_types and response_types disagree: authorization_code goes with code"
        )
    if "client_credentials" in grant_types and method not in CONFIDENTIAL_METHODS:
        raise _metadata_error("client_credentials needs a confidential client authentication")


def _check_keys(metadata: ClientMetadata, method: str) -> None:
    if metadata.jwks is not None and metadata.jwks_uri is not None:
        raise _metadata_error("jwks and jwks_uri must not both be present")
    if method == "private_key_jwt" and metadata.jwks is None and metadata.jwks_uri is None:
        raise _metadata_error("private_key_jwt needs jwks or jwks_uri")
    if metadata.jwks_uri is not None and redirect_uri_problem(metadata.jwks_uri) is not None:
        raise _metadata_error("jwks_uri must be an https URL (or http on a loopback address)")
    if metadata.jwks is not None:
        keys: dict[str, Any] = converter.unstructure(metadata.jwks)
        if any(m in key for key in keys["keys"] for m in _PRIVATE_KEY_MEMBERS):
            raise _metadata_error("jwks must hold public keys only")
        try:
            jwt.PyJWKSet.from_dict(keys)
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            raise _metadata_error("jwks holds no usable public key") from None


def validate_client_metadata(ctx: Context, metadata: ClientMetadata) -> ClientMetadata:
    """Check ``metadata`` against RFC 7591 §2 and return it with the defaults filled in.

    Raises:
        OAuthProblem: ``invalid_redirect_uri`` or ``invalid_client_metadata``.
    """
    method = metadata.token_endpoint_auth_method or "client_secret_basic"
    if method not in ctx.settings.token_endpoint_auth_methods:
        raise _metadata_error(f"unsupported token_endpoint_auth_method: {method}")
    if metadata.grant_types is None:
        grant_types = ["authorization_code"]
    else:
        grant_types = list(dict.fromkeys(metadata.grant_types))
    if metadata.response_types is None:
        response_types = ["code"] if "authorization_code" in grant_types else []
    else:
        response_types = list(dict.fromkeys(metadata.response_types))
    _check_grants(grant_types, response_types, method, supported_grant_types(ctx))
    redirect_uris = list(metadata.redirect_uris or [])
    _check_redirect_uris(redirect_uris, grant_types)
    _check_keys(metadata, method)
    scope = parse_scope(metadata.scope, error="invalid_client_metadata")
    if scope is not None:
        try:
            check_scope(scope, supported_scopes(ctx))
        except OAuthProblem as problem:
            raise _metadata_error(problem.description) from None
    for name in _URL_FIELDS:
        value = getattr(metadata, name)
        if value is not None and _not_http_url(value):
            raise _metadata_error(f"{name} must be an absolute http(s) URL")
    kept = {k: v for k, v in metadata.extra.items() if _LANGUAGE_TAGGED.fullmatch(k)}
    if not all(isinstance(v, str) for v in kept.values()):
        raise _metadata_error("language-tagged metadata values must be strings")
    return attrs.evolve(
        metadata,
        token_endpoint_auth_method=method,
        grant_types=grant_types,
        response_types=response_types,
        redirect_uris=redirect_uris if metadata.redirect_uris is not None else None,
        scope=" ".join(scope) if scope is not None else None,
        software_statement=None,
        extra=kept,
    )
