"""The knobs of the mock server, one typed and validated attribute each.

A :class:`ServerSettings` is passed to (or built by) :class:`MockAuthServer`; its attributes can
be changed while the server runs (``server.settings.rotate_refresh_tokens = False``) and the next
request sees the change. Every assignment is validated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import attrs

from ..runtime import redact

__all__ = ["ServerSettings"]

_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")  # RFC 6749 §3.3 scope-token


def _non_negative(instance: Any, attribute: attrs.Attribute[Any], value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or value < 0):
        raise ValueError(f"{attribute.name} must be a non-negative integer, got {value!r}")


def _scope_tokens(instance: Any, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    for token in value:
        if not _SCOPE_TOKEN.fullmatch(token):
            raise ValueError(f"{attribute.name}: {token!r} is not an RFC 6749 §3.3 scope token")


def _scope_string(instance: Any, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None:
        _scope_tokens(instance, attribute, tuple(value.split(" ")))


def _to_tuple(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(value.split())
    return tuple(value)


@attrs.define(kw_only=True)
class ServerSettings:
    """Behaviour of a :class:`~mcp_oauth_dynamicclient.testing.MockAuthServer`.

    Lifetimes are whole seconds measured on the server's
    :class:`~mcp_oauth_dynamicclient.testing.Clock`.
    """

    #: Subject (``sub``) of the test user that ``/authorize`` and device approval log in.
    subject: str = "test-user"
    #: Scopes the server knows besides ``openid`` (RFC 6749 §3.3); advertised in metadata.
    scopes: tuple[str, ...] = attrs.field(
        default=("mcp:read", "mcp:write"), converter=_to_tuple, validator=_scope_tokens
    )
    #: Space-separated scopes a token needs at ``/mcp`` (else 403 ``insufficient_scope``, RFC
    #: 6750 §3.1); ``None`` accepts any valid token.
    required_scope: str | None = attrs.field(default="mcp:read", validator=_scope_string)
    #: Access token lifetime (``expires_in``, RFC 6749 §5.1).
    access_token_lifetime: int = attrs.field(default=3600, validator=_non_negative)
    #: Refresh token lifetime; ``None`` means refresh tokens never expire.
    refresh_token_lifetime: int | None = attrs.field(default=None, validator=_non_negative)
    #: Authorization code lifetime (RFC 6749 §4.1.2 recommends at most 10 minutes).
    code_lifetime: int = attrs.field(default=60, validator=_non_negative)
    #: Device code lifetime (``expires_in`` of RFC 8628 §3.2).
    device_code_lifetime: int = attrs.field(default=600, validator=_non_negative)
    #: Minimum polling interval of the device flow (``interval`` of RFC 8628 §3.2).
    device_interval: int = attrs.field(default=5, validator=_non_negative)
    #: Client secret lifetime (``client_secret_expires_at``, RFC 7591 §3.2.1); 0 means never.
    client_secret_lifetime: int = attrs.field(default=0, validator=_non_negative)
    #: Issue a new refresh token on every refresh and retire the old one (OAuth 2.1 §4.3.1);
    #: replaying a retired one revokes the whole grant. Off: no new refresh token is sent.
    rotate_refresh_tokens: bool = True
    #: Issue a new registration access token on every RFC 7592 update (PUT); the old one dies.
    rotate_registration_access_token: bool = False
    #: When set, ``POST /register`` requires it as a Bearer token (RFC 7591 §3).
    initial_access_token: str | None = attrs.field(default=None, repr=redact)
    #: Make ``/authorize`` answer ``access_denied`` (the user said no, RFC 6749 §4.1.2.1).
    deny_authorization: bool = False
    #: Resource indicators (RFC 8707) served besides the built-in ``/mcp`` and the origin.
    resources: tuple[str, ...] = attrs.field(default=(), converter=_to_tuple)
    #: Answer ``invalid_target`` for a resource the server does not serve; off accepts any
    #: absolute URI as an audience.
    reject_unknown_resources: bool = True
    #: ``/mcp`` refuses tokens that were issued without a ``resource`` (no audience).
    require_audience: bool = False
