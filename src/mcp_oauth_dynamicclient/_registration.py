"""Registration rules, pure: what to register, whether a stored registration fits, how to update.

- :func:`auth_method`: the token endpoint authentication method to register or use, the
  configured one or, for ``auto``, one the server advertises (RFC 8414 §2).
- :func:`client_metadata`: the RFC 7591 §2 metadata a client registers, from its config and the
  server's metadata (grant types narrowed to ``grant_types_supported``).
- :func:`fits`: whether a stored registration may be reused: same issuer, secret not expired
  (RFC 7591 §3.2.1 ``client_secret_expires_at``), younger than ``client_lifetime``, the
  configured authentication method (any the client can use, for ``auto``), every configured
  redirect URI registered.
- :func:`from_response`: the registration a client information response describes (RFC 7591
  §3.2.1, RFC 7592 §3), refused when a confidential client got no secret.
- :func:`check_removed`: whether the server removed what an update removed (RFC 7592 §2.2).
- :func:`update_body`: the RFC 7592 §2.2 full replacement, the current metadata with the
  caller's changes merged in (``None`` removes a field).
- :func:`pre_registered`: the registration of a client configured with ``client_id``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._models import ClientRegistration, load
from ._urls import redirect_matches, same_issuer
from .exceptions import RegistrationError, ValidationError

if TYPE_CHECKING:
    from ._config import OAuth2Config
    from ._generated import (
        AuthorizationServerMetadata,
        ClientInformationResponse,
        ClientMetadata,
        ClientUpdateRequest,
    )

__all__ = [
    "auth_method",
    "check_removed",
    "check_updates",
    "client_metadata",
    "fits",
    "from_response",
    "metadata_document_client",
    "pre_registered",
    "update_body",
    "usable_methods",
]

#: Fields the server sets, never sent back in an update (RFC 7592 §2.2).
NOT_UPDATABLE = frozenset(
    {
        "registration_access_token",
        "registration_client_uri",
        "client_secret_expires_at",
        "client_id_issued_at",
    }
)
_SECRET_METHODS = ("client_secret_basic", "client_secret_post", "client_secret_jwt")
#: RFC 8414 §2: a server that lists no ``token_endpoint_auth_methods_supported`` takes this.
_DEFAULT_SUPPORTED = ("client_secret_basic",)


def auth_method(config: OAuth2Config, metadata: AuthorizationServerMetadata) -> str:
    """The token endpoint authentication method to register or use with this server.

    The configured one, or for ``auto`` the first the server advertises (RFC 8414 §2; a
    server that lists none takes ``client_secret_basic``) of: ``private_key_jwt`` when a
    ``private_key`` is configured; then ``none`` for a client that registers itself or was
    given no secret (a public client, OAuth 2.1 §2.1), else the secret methods.

    Raises:
        RegistrationError: ``auto``, and the server accepts no method this client can use.
    """
    method = config.token_endpoint_auth_method
    if method != "auto":
        return method
    supported = metadata.token_endpoint_auth_methods_supported or _DEFAULT_SUPPORTED
    if config.private_key and "private_key_jwt" in supported:
        return "private_key_jwt"
    if config.client_id is not None and config.client_secret is None:
        preference: tuple[str, ...] = ("none",)
    elif config.client_secret is not None:
        preference = _SECRET_METHODS
    else:
        preference = ("none", *_SECRET_METHODS)
    chosen = next((method for method in preference if method in supported), None)
    if chosen is None:
        raise RegistrationError(
            f"{metadata.issuer} accepts only {', '.join(supported)} at its token endpoint "
            "(token_endpoint_auth_methods_supported), none of which this client can use: "
            "configure private_key for private_key_jwt, or client_id and client_secret"
        )
    return chosen


def usable_methods(config: OAuth2Config) -> frozenset[str]:
    """The methods this client can authenticate with, whatever it asked for: ``none``, the
    secret methods (a registration that names one comes with its secret), ``private_key_jwt``
    when it has a key. A server may register another method than the one asked for (RFC 7591
    §3.2.1); one in this set is accepted."""
    usable = {"none", *_SECRET_METHODS}
    if config.private_key:
        usable.add("private_key_jwt")
    return frozenset(usable)


def client_metadata(config: OAuth2Config, metadata: AuthorizationServerMetadata) -> ClientMetadata:
    """The client metadata to register with a server described by ``metadata`` (RFC 7591 §2)."""
    from . import _generated as gen

    method = auth_method(config, metadata)
    grants = config.wanted_grant_types(metadata.grant_types_supported, method)
    return gen.ClientMetadata(
        redirect_uris=list(config.redirect_uris) or None,
        token_endpoint_auth_method=method,
        grant_types=grants,
        response_types=["code"] if "authorization_code" in grants else [],
        client_name=config.client_name,
        client_uri=config.client_uri,
        logo_uri=config.logo_uri,
        scope=config.scope,
        contacts=list(config.contacts) or None,
        tos_uri=config.tos_uri,
        policy_uri=config.policy_uri,
        jwks_uri=config.jwks_uri,
        jwks=None if config.jwks is None else load(config.jwks, gen.JsonWebKeySet, "jwks"),
        software_id=config.software_id,
        software_version=config.software_version,
        software_statement=config.software_statement,
        application_type=config.registered_application_type,
    )


def fits(
    registration: ClientRegistration, config: OAuth2Config, *, issuer: str, now: float
) -> bool:
    """Whether a stored ``registration`` with ``issuer`` still fits ``config``, unexpired.

    It is judged by what was asked for, not by what the server made of it: a registration
    made for the configured authentication method fits even when the server substituted
    another the client can use (RFC 7591 §3.2.1), so a client never registers again because
    its server decides differently from its config.
    """
    lifetime = config.client_lifetime
    configured = config.token_endpoint_auth_method
    asked = registration.requested_method or registration.token_endpoint_auth_method
    return (
        same_issuer(registration.issuer, issuer)
        and not registration.secret_expired(now=now, skew=config.clock_skew)
        and not (lifetime and now - registration.registered_at > lifetime)
        and (configured == "auto" or asked == configured)
        and registration.token_endpoint_auth_method in usable_methods(config)
        and all(
            any(redirect_matches(uri, known) for known in registration.redirect_uris)
            for uri in config.redirect_uris
        )
    )


#: What a client information response may leave out and still be taken from the registration
#: it replaces: the credentials the server issued earlier (RFC 7592 §3: a server that does not
#: rotate them). Any other field it leaves out is no longer registered (RFC 7592 §2.2).
_CARRIED_OVER = (
    "registration_access_token",
    "registration_client_uri",
    "client_secret",
    "client_secret_expires_at",
)


def from_response(
    info: ClientInformationResponse,
    *,
    config: OAuth2Config,
    issuer: str,
    now: float,
    requested_method: str,
    previous: ClientRegistration | None = None,
) -> ClientRegistration:
    """The registration a client information response describes (RFC 7591 §3.2.1, 7592 §3).

    The response is the whole registration: of the ``previous`` one, only the credentials it
    leaves out are kept (a server that does not rotate the registration access token still
    accepts the old one); a field it leaves out is gone. A response without
    ``token_endpoint_auth_method`` registered the method the client asked for
    (``requested_method``), and one without ``redirect_uris`` the configured ones: RFC 7591
    §3.2.1 has the server return every registered value, and one it leaves out is taken as
    unchanged, not as the RFC's default.

    Raises:
        RegistrationError: the server registered something the client cannot use: an
            authentication method it cannot perform, a secret method without a secret, or
            other redirect URIs than the configured ones (said once, with what changed,
            instead of registering again on every call).
    """
    from . import _generated as gen

    payload = gen.converter.unstructure(info)
    if previous is not None:
        for name in _CARRIED_OVER:
            if payload.get(name) is None and previous.metadata.get(name) is not None:
                payload[name] = previous.metadata[name]
    payload.setdefault("token_endpoint_auth_method", requested_method)
    if config.redirect_uris and not payload.get("redirect_uris"):
        payload["redirect_uris"] = list(config.redirect_uris)  # left out: as asked, likewise
    registration = ClientRegistration.from_information(
        gen.converter.structure(payload, gen.ClientInformationResponse),
        issuer=issuer,
        registered_at=previous.registered_at if previous else now,
        payload=payload,
        requested_method=requested_method,
    )
    method = registration.token_endpoint_auth_method
    if method in _SECRET_METHODS and not registration.client_secret:
        raise RegistrationError(f"the server registered a {method} client without a client_secret")
    if method not in usable_methods(config):
        raise RegistrationError(
            f"asked to register a {requested_method} client, the server registered "
            f"{registration.client_id!r} as {method}, which this client cannot use: configure "
            f"token_endpoint_auth_method={method!r} and what it needs (private_key), or "
            "ask the server's operator"
        )
    missing = sorted(
        uri
        for uri in config.redirect_uris
        if not any(redirect_matches(uri, known) for known in registration.redirect_uris)
    )
    if missing:
        raise RegistrationError(
            f"the server registered {registration.client_id!r} with redirect_uris "
            f"{list(registration.redirect_uris)}, not {missing}: the authorization code "
            "flow cannot come back to this client (RFC 7591 §3.2.1 lets a server replace "
            "metadata; this client cannot accept that change)"
        )
    return registration


def check_removed(registration: ClientRegistration, updates: Mapping[str, Any]) -> None:
    """Refuse an update whose removals the server did not make (RFC 7592 §2.2).

    Raises:
        RegistrationError: a field set to None in ``updates`` is still registered: the server
            merged the update into the old record instead of replacing it.
    """
    kept = sorted(
        name
        for name, value in updates.items()
        if value is None and registration.metadata.get(name) is not None
    )
    if kept:
        raise RegistrationError(
            f"the server kept {', '.join(kept)} of {registration.client_id!r}, which the update "
            "removed: it merged the update into the old registration instead of replacing it "
            "(RFC 7592 §2.2). The registration is stored as the server holds it."
        )


def update_body(current: ClientRegistration, updates: Mapping[str, Any]) -> ClientUpdateRequest:
    """The RFC 7592 §2.2 full replacement of ``current`` with ``updates`` merged in.

    The server replaces the whole record, so every field kept is sent; a field set to ``None``
    in ``updates`` is removed.

    Raises:
        ValidationError: ``updates`` names a field the client cannot change.
    """
    from . import _generated as gen

    check_updates(updates)
    merged = {k: v for k, v in current.metadata.items() if k not in NOT_UPDATABLE}
    merged.update(updates)
    merged = {k: v for k, v in merged.items() if v is not None}
    merged["client_id"] = current.client_id
    if current.client_secret:
        merged["client_secret"] = current.client_secret
    return load(merged, gen.ClientUpdateRequest, "update_client metadata")


def pre_registered(
    config: OAuth2Config, *, issuer: str, now: float, method: str
) -> ClientRegistration:
    """The registration with ``issuer`` of a client configured with ``client_id``, which
    authenticates with ``method`` (:func:`auth_method`)."""
    assert config.client_id is not None
    return _preset(config, config.client_id, config.client_secret, method, issuer=issuer, now=now)


def metadata_document_client(
    config: OAuth2Config, *, issuer: str, now: float
) -> ClientRegistration:
    """The client whose ``client_id`` is its metadata document's URL: a public client that
    registers nothing (MCP 2025-11-25, Client ID Metadata Documents)."""
    assert config.client_metadata_url is not None
    return _preset(config, config.client_metadata_url, None, "none", issuer=issuer, now=now)


def _preset(
    config: OAuth2Config,
    client_id: str,
    secret: str | None,
    method: str,
    *,
    issuer: str,
    now: float,
) -> ClientRegistration:
    """A client the configuration names, not one the server registered."""
    return ClientRegistration(
        client_id=client_id,
        client_secret=secret,
        redirect_uris=config.redirect_uris,
        scope=config.scope,
        token_endpoint_auth_method=method,
        client_name=config.client_name,
        issuer=issuer,
        registered_at=now,
    )


def check_updates(updates: Mapping[str, Any]) -> None:
    """Refuse, before anything is sent, an update of a field the client cannot change."""
    refused = sorted((NOT_UPDATABLE | {"client_id", "client_secret"}) & updates.keys())
    if refused:
        raise ValidationError(f"update_client: {', '.join(refused)} cannot be updated")
