"""Scope (RFC 6749 §3.3) and resource indicator (RFC 8707 §2) parameters.

Scopes are space-delimited case-sensitive tokens; a client may ask for what it registered
(RFC 7591 §2 ``scope``) or, when it registered none, for anything the server supports.
Resource indicators are absolute URIs without a fragment; the server answers ``invalid_target``
for one it does not serve.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from ._context import Context
from ._http import OAuthProblem
from ._state import ClientRecord

__all__ = [
    "allowed_scopes",
    "check_scope",
    "default_scope",
    "parse_resources",
    "parse_scope",
    "supported_scopes",
]

_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
OPENID = "openid"


def parse_scope(value: str | None, *, error: str = "invalid_scope") -> tuple[str, ...] | None:
    """The scope tokens of a ``scope`` value, or None when absent.

    Raises:
        OAuthProblem: ``error`` when the value is not space-separated scope tokens.
    """
    if value is None:
        return None
    tokens = value.split(" ")
    for token in tokens:
        if not _SCOPE_TOKEN.fullmatch(token):
            raise OAuthProblem(error, "scope must be scope tokens separated by single spaces")
    return tuple(dict.fromkeys(tokens))


def supported_scopes(ctx: Context) -> tuple[str, ...]:
    """Every scope the server knows: the configured ones and ``openid``."""
    return tuple(dict.fromkeys([*ctx.settings.scopes, OPENID]))


def allowed_scopes(ctx: Context, client: ClientRecord) -> tuple[str, ...]:
    """The scopes ``client`` may request: what it registered, else all supported ones."""
    registered = parse_scope(client.metadata.scope)
    return registered if registered is not None else supported_scopes(ctx)


def default_scope(ctx: Context, client: ClientRecord) -> tuple[str, ...]:
    """The scope granted when a request names none (RFC 6749 §3.3): the registered one, else
    every configured scope (never ``openid``, which must be asked for)."""
    registered = parse_scope(client.metadata.scope)
    return registered if registered is not None else tuple(ctx.settings.scopes)


def check_scope(requested: Iterable[str], allowed: Sequence[str]) -> None:
    """Raise ``invalid_scope`` unless every requested scope is allowed."""
    extra = [scope for scope in requested if scope not in allowed]
    if extra:
        raise OAuthProblem("invalid_scope", f"scope not allowed: {' '.join(extra)}")


def parse_resources(ctx: Context, values: Sequence[str]) -> tuple[str, ...]:
    """Validate RFC 8707 §2 ``resource`` values.

    Raises:
        OAuthProblem: ``invalid_target`` for a value that is not an absolute URI, has a
            fragment, or (with ``reject_unknown_resources``) names a resource not served here.
    """
    for value in values:
        try:
            parts = urlsplit(value)
        except ValueError:
            raise OAuthProblem("invalid_target", "resource is not a valid URI") from None
        if not parts.scheme or "#" in value:
            raise OAuthProblem("invalid_target", "resource must be an absolute URI, no fragment")
        if ctx.settings.reject_unknown_resources and value not in ctx.served_resources():
            raise OAuthProblem("invalid_target", "this server does not serve that resource")
    return tuple(dict.fromkeys(values))
