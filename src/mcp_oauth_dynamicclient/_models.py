"""The public result types, and how they are kept in a ``TokenStorage``.

``TokenResponse`` adds to the wire response (RFC 6749 §5.1) the absolute ``expires_at`` computed
when it was received: a token reloaded from storage after a restart still knows when it expires,
which a bare ``expires_in`` cannot tell. Secrets are kept out of every ``repr``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

import attrs

from . import runtime
from ._json import json_problem
from ._public import public
from .exceptions import TokenError, ValidationError
from .runtime import redact, redact_mapping

#: RFC 6750 §2.1: what a Bearer token may hold, so ``Authorization: Bearer <token>`` is intact.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
#: RFC 6749 Appendix A.17: a refresh token is printable ASCII.
_VSCHARS = re.compile(r"[\x20-\x7e]+")

if TYPE_CHECKING:
    from ._generated import ClientInformationResponse, DeviceAuthorizationResponse
    from ._generated import TokenResponse as WireTokenResponse

__all__ = [
    "ClientRegistration",
    "DeviceAuthorization",
    "PendingAuthorization",
    "TokenResponse",
    "dump",
    "load",
    "token_value",
]

T = TypeVar("T")

_store = runtime.make_converter()
"""Converter for what we keep in storage: strict, so a tampered entry is refused, not guessed."""


def load(data: Any, kind: type[T], what: str) -> T:
    """Structure a stored dict, or raise ``ValidationError`` naming the bad field.

    Whatever is accepted can be stored again: a value JSON cannot carry (``NaN``, which
    Python's ``json`` reads from a token file, or nesting past ``_json.MAX_DEPTH``) is
    refused here, not when the entry is next written.
    """
    if not isinstance(data, Mapping):
        raise ValidationError(f"{what} must be a mapping, got {type(data).__name__}")
    problem = json_problem(dict(data))
    if problem is not None:
        raise ValidationError(f"{what} is not a valid {kind.__name__}: {problem}")
    from cattrs import BaseValidationError, transform_error

    try:
        loaded: T = _store.structure(dict(data), kind)
    except BaseValidationError as exc:
        problems = "; ".join(transform_error(exc, "$", runtime.describe_problem))
        raise ValidationError(f"{what} is not a valid {kind.__name__}: {problems}") from None
    return loaded


def dump(value: Any) -> dict[str, Any]:
    """The dict a storage keeps for ``value`` (JSON-compatible, unset fields left out)."""
    dumped: dict[str, Any] = _store.unstructure(value)
    return dumped


def token_value(token: str | TokenResponse, token_type: str) -> str:
    """The access or refresh token (``token_type``) of ``token``, or ``token`` itself if a str.

    Raises:
        ValidationError: ``token`` is a ``TokenResponse`` without that token.
    """
    if isinstance(token, str):
        return token
    value = token.refresh_token if token_type == "refresh_token" else token.access_token
    if not value:
        raise ValidationError(f"the token has no {token_type}")
    return value


class _ItemAccess:
    """``result["field"]`` as well as ``result.field``, for code written against dicts."""

    def __getitem__(self, key: str) -> Any:
        fields = attrs.fields_dict(cast("type[attrs.AttrsInstance]", type(self)))
        if key.startswith("_") or key not in fields:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        """``result.get("field")``, like a dict."""
        try:
            return self[key]
        except KeyError:
            return default


@public("mcp_oauth_dynamicclient", resolve=True)
@attrs.frozen(kw_only=True)
class TokenResponse(_ItemAccess):
    """An access token response (RFC 6749 §5.1) with its absolute expiry.

    Attributes:
        access_token: The access token (never shown in ``repr``).
        token_type: Usually ``Bearer`` (RFC 6750).
        expires_in: Lifetime in seconds, as the server sent it.
        expires_at: Seconds since the epoch when the token expires, computed on receipt;
            ``None`` when the server gave no lifetime.
        refresh_token: A refresh token, if one was issued (never shown in ``repr``).
        scope: The granted scope, if the server said (RFC 6749 §5.1).
        id_token: An OpenID Connect ID Token, already validated when it came from
            ``exchange_code``.
        grant_type: ``client_credentials`` for a token the client got for itself: it comes
            with no refresh token (RFC 6749 §4.4.3) and is fetched anew when it expires; the
            JWT-bearer grant's URI (RFC 7523 §2.1) for one got with an assertion, fetched anew
            with a new assertion.
        issued_token_type: What a token exchange issued (RFC 8693 §2.2.1), e.g.
            ``urn:ietf:params:oauth:token-type:id-jag``; None for other grants.
        dpop_key: For a DPoP-bound token (``token_type`` ``DPoP``, RFC 9449 §5): the private
            key it is bound to, PKCS #8 PEM (never shown in ``repr``), kept with the token so
            that proofs can still be made after a restart.
        extra: Other members of the response.
    """

    access_token: str = attrs.field(repr=redact)
    token_type: str = "Bearer"
    expires_in: int | None = None
    expires_at: float | None = None
    refresh_token: str | None = attrs.field(default=None, repr=redact)
    scope: str | None = None
    id_token: str | None = attrs.field(default=None, repr=redact)
    grant_type: str | None = None
    issued_token_type: str | None = None
    dpop_key: str | None = attrs.field(default=None, repr=redact)
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=redact_mapping)

    @classmethod
    def from_wire(
        cls,
        wire: WireTokenResponse,
        *,
        now: float | None = None,
        previous: TokenResponse | None = None,
        refresh_token: str | None = None,
        grant_type: str | None = None,
        dpop_key: str | None = None,
    ) -> TokenResponse:
        """The token of a response received at ``now``, by ``grant_type`` when it matters,
        bound to ``dpop_key`` when the server made it a DPoP token (RFC 9449 §5).

        For a refresh (RFC 6749 §6), ``refresh_token`` is the one that was used and
        ``previous`` the token it belonged to, when known: the refresh token is kept when the
        server did not issue a new one, and the scope when the server did not restate it.
        """
        received = time.time() if now is None else now
        if refresh_token is None and previous is not None:
            refresh_token = previous.refresh_token
        if not _B64TOKEN.fullmatch(wire.access_token):
            raise TokenError(
                "the server sent an access token with characters a Bearer token cannot carry "
                "(RFC 6750 §2.1 b64token): refusing it, since it could not be sent intact"
            )
        if wire.refresh_token is not None and not _VSCHARS.fullmatch(wire.refresh_token):
            raise TokenError(
                "the server sent a refresh token with characters outside the printable ASCII "
                "RFC 6749 Appendix A.17 allows: refusing it"
            )
        return cls(
            access_token=wire.access_token,
            token_type=wire.token_type,
            expires_in=wire.expires_in,
            expires_at=None if wire.expires_in is None else received + wire.expires_in,
            refresh_token=wire.refresh_token or refresh_token,
            scope=wire.scope if wire.scope is not None else (previous.scope if previous else None),
            id_token=wire.id_token,
            grant_type=grant_type or (previous.grant_type if previous is not None else None),
            issued_token_type=wire.issued_token_type,
            dpop_key=dpop_key if wire.token_type.lower() == "dpop" else None,
            extra=dict(wire.extra),
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, now: float | None = None) -> TokenResponse:
        """A token from a stored dict; one with only ``expires_in`` counts from ``now``."""
        token = load(data, cls, "token")
        if token.expires_at is None and token.expires_in is not None:
            received = time.time() if now is None else now
            token = attrs.evolve(token, expires_at=received + token.expires_in)
        return token

    def to_dict(self) -> dict[str, Any]:
        """The dict kept in storage (``expires_at`` included)."""
        return dump(self)

    def is_expired(self, skew: float = 0, *, now: float | None = None) -> bool:
        """Whether the token has expired, or will within ``skew`` seconds."""
        if self.expires_at is None:
            return False
        return (time.time() if now is None else now) + skew >= self.expires_at


@public("mcp_oauth_dynamicclient", resolve=True)
@attrs.frozen(kw_only=True)
class ClientRegistration(_ItemAccess):
    """A registered client: RFC 7591 §3.2.1 information plus RFC 7592 §3 management data.

    Attributes:
        client_id: The client identifier.
        client_secret: The secret of a confidential client (never shown in ``repr``).
        client_secret_expires_at: When the secret expires (seconds since the epoch), 0 for never.
        registration_access_token: Bearer token for the client configuration endpoint.
        registration_client_uri: The client configuration endpoint (RFC 7592 §3).
        issuer: The authorization server this client is registered with.
        registered_at: When this client learned of the registration (seconds since the epoch).
        requested_method: The ``token_endpoint_auth_method`` the client asked for, which the
            server may have replaced (RFC 7591 §3.2.1); None for one stored before it was kept.
        metadata: The whole client information response, vendor fields included; sent back
            on an update, since RFC 7592 §2.2 replaces the whole record.
    """

    client_id: str
    client_secret: str | None = attrs.field(default=None, repr=redact)
    client_secret_expires_at: int | None = None
    client_id_issued_at: int | None = None
    registration_access_token: str | None = attrs.field(default=None, repr=redact)
    registration_client_uri: str | None = None
    redirect_uris: Sequence[str] = ()
    grant_types: Sequence[str] = ()
    scope: str | None = None
    token_endpoint_auth_method: str = "client_secret_basic"
    client_name: str | None = None
    issuer: str = ""
    registered_at: float = 0.0
    requested_method: str | None = None
    metadata: Mapping[str, Any] = attrs.field(factory=dict, repr=redact_mapping)

    @classmethod
    def from_information(
        cls,
        info: ClientInformationResponse,
        *,
        issuer: str,
        registered_at: float,
        payload: Mapping[str, Any],
        requested_method: str | None = None,
    ) -> ClientRegistration:
        """The registration described by a client information response."""
        return cls(
            client_id=info.client_id,
            client_secret=info.client_secret,
            client_secret_expires_at=info.client_secret_expires_at,
            client_id_issued_at=info.client_id_issued_at,
            registration_access_token=info.registration_access_token,
            registration_client_uri=info.registration_client_uri,
            redirect_uris=tuple(info.redirect_uris or ()),
            grant_types=tuple(info.grant_types or ("authorization_code",)),
            scope=info.scope,
            token_endpoint_auth_method=info.token_endpoint_auth_method or "client_secret_basic",
            client_name=info.client_name,
            issuer=issuer,
            registered_at=registered_at,
            requested_method=requested_method,
            metadata=dict(payload),
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClientRegistration:
        """A registration from a stored dict."""
        return load(data, cls, "client registration")

    def to_dict(self) -> dict[str, Any]:
        """The dict kept in storage."""
        return dump(self)

    def secret_expired(self, *, now: float, skew: float = 0) -> bool:
        """Whether the client secret has expired (RFC 7591 §3.2.1; 0 means never)."""
        expires = self.client_secret_expires_at
        return bool(self.client_secret and expires and now + skew >= expires)


@public("mcp_oauth_dynamicclient", resolve=True)
@attrs.frozen(kw_only=True)
class DeviceAuthorization(_ItemAccess):
    """A started device authorization (RFC 8628 §3.2): show ``user_code`` and the URI.

    Attributes:
        device_code: Polled for the token (never shown in ``repr``).
        user_code: The code the user types at ``verification_uri``.
        verification_uri / verification_uri_complete: Where the user goes.
        expires_in / expires_at: The device code's lifetime, relative and absolute.
        interval: Seconds between polls (RFC 8628 §3.2: 5 when the server gives none).
    """

    device_code: str = attrs.field(repr=redact)
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None = None
    expires_in: int
    expires_at: float
    interval: int = 5
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=redact_mapping)

    @classmethod
    def from_wire(cls, wire: DeviceAuthorizationResponse, *, now: float) -> DeviceAuthorization:
        """The device authorization of a response received at ``now``."""
        return cls(
            device_code=wire.device_code,
            user_code=wire.user_code,
            verification_uri=wire.verification_uri,
            verification_uri_complete=wire.verification_uri_complete,
            expires_in=wire.expires_in,
            expires_at=now + wire.expires_in,
            interval=wire.interval if wire.interval is not None else 5,
            extra=dict(wire.extra),
        )


@attrs.frozen(kw_only=True)
class PendingAuthorization:
    """What the callback of an authorization request needs, kept in storage under its state."""

    state: str = attrs.field(repr=redact)
    code_verifier: str = attrs.field(repr=redact)
    redirect_uri: str
    issuer: str
    client_id: str
    created_at: float
    nonce: str | None = attrs.field(default=None, repr=redact)
    scope: str | None = None
    resource: str | None = None
