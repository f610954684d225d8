"""The knobs of the mock server, one typed and validated attribute each.

A :class:`ServerSettings` is passed to (or built by) :class:`MockAuthServer`; its attributes can
be changed while the server runs (``server.settings.rotate_refresh_tokens = False``) and the next
request sees the change. Every assignment is validated.

The knobs of the MCP resource side (``tool_scopes``, ``resource_scopes``,
``authorization_servers``, ``challenge_resource_metadata``, ``serve_resource_metadata``,
``root_resource_metadata``) shape what an MCP client meets at ``/mcp`` (MCP 2025-11-25,
Authorization) and in the RFC 9728 protected resource metadata.

The knobs of the MCP authorization extensions (all off by default, so a default server behaves
as before them): ``access_token_format`` (RFC 9068 JWT access tokens), ``dpop``,
``dpop_required`` and ``dpop_nonce`` (RFC 9449 sender-constrained tokens), ``jwt_bearer_issuers``
(the RFC 7523 §2.1 JWT-bearer grant, also for ID-JAGs), ``token_exchange`` (RFC 8693, also to
issue ID-JAGs) and ``grant_scope_errors`` (refusals of those two grants, for client tests).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Literal
from urllib.parse import urlsplit

import attrs

from .._generated import converter
from ..runtime import redact
from ._keys import TrustedKeys, public_keys

__all__ = ["DPOP_ALGORITHMS", "GRANT_ERRORS", "ServerSettings"]

#: Every client authentication method the server implements (RFC 7591 §2, RFC 7523 §2.2).
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none", "private_key_jwt")
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


def _auth_methods(instance: Any, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    unknown = sorted(set(value) - set(AUTH_METHODS))
    if unknown or not value:
        raise ValueError(f"{attribute.name}: a non-empty subset of {AUTH_METHODS}, not {value!r}")


def _to_tuple(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(value.split())
    return tuple(value)


def _to_optional_tuple(value: Iterable[str] | None) -> tuple[str, ...] | None:
    return None if value is None else _to_tuple(value)


def _optional_scope_tokens(
    instance: Any, attribute: attrs.Attribute[Any], value: tuple[str, ...] | None
) -> None:
    if value is not None:
        _scope_tokens(instance, attribute, value)


def _to_tool_scopes(value: Mapping[str, str | None]) -> Mapping[str, str | None]:
    return MappingProxyType(dict(value))


_TOOL_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")  # MCP 2025-11-25 Tools, "Tool Names"


def _tool_scopes(
    instance: Any, attribute: attrs.Attribute[Any], value: Mapping[str, str | None]
) -> None:
    for name, scope in value.items():
        if not isinstance(name, str) or not _TOOL_NAME.fullmatch(name):
            raise ValueError(f"{attribute.name}: {name!r} is not an MCP tool name")
        _scope_string(instance, attribute, scope)


def _server_urls(
    instance: Any, attribute: attrs.Attribute[Any], value: tuple[str, ...] | None
) -> None:
    for url in value or ():
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or "#" in url:
            raise ValueError(f"{attribute.name}: {url!r} is not an RFC 8414 issuer URL")


def _to_issuers(value: Mapping[str, Any]) -> Mapping[str, TrustedKeys]:
    converted: dict[str, TrustedKeys] = {}
    for issuer, keys in dict(value).items():
        if attrs.has(type(keys)):  # a JsonWebKeySet model, as the generated client parses it
            keys = converter.unstructure(keys)
        converted[issuer] = keys if isinstance(keys, str) else MappingProxyType(dict(keys))
    return MappingProxyType(converted)


def _issuers(instance: Any, attribute: attrs.Attribute[Any], value: Mapping[str, Any]) -> None:
    _server_urls(instance, attribute, tuple(value))
    for issuer, keys in value.items():
        try:
            public_keys(keys)
        except ValueError as exc:
            raise ValueError(f"{attribute.name}[{issuer!r}]: {exc}") from None


#: DPoP proof signature algorithms the server can verify (asymmetric only, RFC 9449 §4.3 item
#: 5): every one PyJWT verifies with ``cryptography``.
DPOP_ALGORITHMS = (
    "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA",
)  # fmt: skip


def _dpop_algs(instance: Any, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    unknown = sorted(set(value) - set(DPOP_ALGORITHMS))
    if unknown or not value:
        raise ValueError(
            f"{attribute.name}: a non-empty subset of {DPOP_ALGORITHMS}, not {value!r}"
        )


#: Error codes a refused extension grant may answer (RFC 6749 §5.2, RFC 7523 §3.1).
GRANT_ERRORS = ("invalid_grant", "invalid_scope", "unauthorized_client", "invalid_target")


def _grant_errors(instance: Any, attribute: attrs.Attribute[Any], value: Mapping[str, str]) -> None:
    for scope, error in value.items():
        _scope_tokens(instance, attribute, (scope,))
        if error not in GRANT_ERRORS:
            raise ValueError(f"{attribute.name}: {error!r} is not one of {GRANT_ERRORS}")


def _to_mapping(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


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
    #: Client authentication methods the token endpoint accepts: advertised as
    #: ``token_endpoint_auth_methods_supported`` (RFC 8414 §2); registering another is
    #: ``invalid_client_metadata`` (RFC 7591 §3.2.2).
    token_endpoint_auth_methods: tuple[str, ...] = attrs.field(
        default=AUTH_METHODS, converter=_to_tuple, validator=_auth_methods
    )
    #: Issue a new refresh token on every refresh and retire the old one (OAuth 2.1 §4.3.1);
    #: replaying a retired one revokes the whole grant. Off: no new refresh token is sent.
    rotate_refresh_tokens: bool = True
    #: Issue a new registration access token on every RFC 7592 update (PUT); the old one dies.
    rotate_registration_access_token: bool = False
    #: When set, ``POST /register`` requires it as a Bearer token (RFC 7591 §3).
    initial_access_token: str | None = attrs.field(default=None, repr=redact)
    #: A misbehaving server: ID tokens name this ``sub`` instead of the grant's user, so
    #: setting it between a code exchange and a refresh switches users (OpenID Connect Core
    #: §12.2 forbids it).
    id_token_subject: str | None = None
    #: Send ``iss`` with every authorization response and advertise
    #: ``authorization_response_iss_parameter_supported`` (RFC 9207); off, like most servers.
    authorization_response_iss: bool = True
    #: Make ``/authorize`` answer ``access_denied`` (the user said no, RFC 6749 §4.1.2.1).
    deny_authorization: bool = False
    #: Resource indicators (RFC 8707) served besides the built-in ``/mcp`` and the origin.
    resources: tuple[str, ...] = attrs.field(default=(), converter=_to_tuple)
    #: Answer ``invalid_target`` for a resource the server does not serve; off accepts any
    #: absolute URI as an audience.
    reject_unknown_resources: bool = True
    #: ``/mcp`` refuses tokens that were issued without a ``resource`` (no audience).
    require_audience: bool = False
    #: Scope each MCP tool needs on top of ``required_scope``, by tool name, e.g.
    #: ``{"echo": "mcp:read", "admin_tool": "mcp:admin"}``. A ``tools/call`` whose token lacks
    #: it is a 403 ``insufficient_scope`` naming the scopes needed (RFC 6750 §3.1, MCP
    #: 2025-11-25 Authorization "Scope Challenge Handling"): step-up. A name other than
    #: ``echo`` adds a tool that echoes like ``echo`` does; ``None`` as the scope adds a tool
    #: that needs nothing more.
    tool_scopes: Mapping[str, str | None] = attrs.field(
        factory=dict, converter=_to_tool_scopes, validator=_tool_scopes
    )
    #: ``scopes_supported`` of the protected resource metadata (RFC 9728 §2); ``None`` lists
    #: ``scopes``, an empty tuple leaves the member out.
    resource_scopes: tuple[str, ...] | None = attrs.field(
        default=None, converter=_to_optional_tuple, validator=_optional_scope_tokens
    )
    #: ``authorization_servers`` of the protected resource metadata (RFC 9728 §2); ``None``
    #: names this server. Naming others "moves" the resource: ``/mcp`` then accepts only
    #: tokens of those servers (another ``MockAuthServer`` in this process is recognised, and
    #: serves this ``/mcp`` as a resource indicator) and refuses this server's own with 401
    #: ``invalid_token``.
    authorization_servers: tuple[str, ...] | None = attrs.field(
        default=None, converter=_to_optional_tuple, validator=_server_urls
    )
    #: Whether the ``WWW-Authenticate`` challenges of ``/mcp`` carry ``resource_metadata``
    #: (RFC 9728 §5.1); off behaves like servers that leave it out, so clients must probe the
    #: well-known URLs (MCP 2025-11-25 Authorization, "Protected Resource Metadata Discovery").
    challenge_resource_metadata: bool = True
    #: Whether the protected resource metadata is served at all (RFC 9728 §3); off answers 404
    #: at both well-known URLs, like a 2025-03-26-era MCP server.
    serve_resource_metadata: bool = True
    #: What ``/.well-known/oauth-protected-resource`` (the origin's URL) serves: ``"origin"``
    #: the metadata of the origin as a resource (RFC 9728 §3.3: ``resource`` is the URL it was
    #: fetched for), ``"mcp"`` the metadata of ``/mcp`` (as single-resource MCP servers do),
    #: ``"absent"`` a 404 (only the path-inserted URL of RFC 9728 §3.1 serves metadata).
    root_resource_metadata: Literal["origin", "mcp", "absent"] = attrs.field(
        default="origin", validator=attrs.validators.in_(("origin", "mcp", "absent"))
    )
    #: What access tokens look like: ``"opaque"`` random strings, or ``"jwt"``: RFC 9068 JWTs
    #: (header ``typ: at+jwt``, signed with the key the JWK Set publishes) with ``iss``, ``exp``,
    #: ``iat``, ``jti``, ``aud`` (the RFC 8707 resources when asked for, else the client ID),
    #: ``sub``, ``client_id``, ``scope``, ``auth_time`` and, when DPoP-bound, ``cnf.jkt``
    #: (RFC 9068 §2.2, RFC 9449 §6.1). The server remembers them either way, so introspection,
    #: revocation and ``/mcp`` treat both alike.
    access_token_format: Literal["opaque", "jwt"] = attrs.field(
        default="opaque", validator=attrs.validators.in_(("opaque", "jwt"))
    )
    #: DPoP (RFC 9449): advertise ``dpop_signing_alg_values_supported`` in both metadata
    #: documents (§5.1, RFC 9728 §2); a token request with a valid ``DPoP`` proof (§4.3) gets a
    #: token bound to the proof's key (``token_type: DPoP``, ``cnf.jkt`` in introspection
    #: (§6.2) and in JWT access tokens), and a public client's refresh token bound to the same
    #: key (§5). ``/mcp`` then takes ``Authorization: DPoP`` with a proof carrying ``ath``
    #: (§7) and offers a ``DPoP`` challenge beside the Bearer one. Off, a ``DPoP`` header is
    #: ignored, as by a server that does not support DPoP (§5).
    dpop: bool = False
    #: Implies ``dpop``: token requests without a proof get 400 ``invalid_dpop_proof``, ``/mcp``
    #: refuses Bearer tokens (401 ``DPoP error="invalid_token"``) and the protected resource
    #: metadata says ``dpop_bound_access_tokens_required`` (RFC 9728 §2).
    dpop_required: bool = False
    #: Implies ``dpop``: proofs must carry the server's current nonce (RFC 9449 §8 at the token
    #: endpoint: 400 ``use_dpop_nonce``; §9 at ``/mcp``: 401 ``DPoP error="use_dpop_nonce"``),
    #: which each such refusal and each successful answer sends in ``DPoP-Nonce``.
    #: ``MockAuthServer.rotate_dpop_nonce()`` replaces it.
    dpop_nonce: bool = False
    #: The DPoP proof algorithms accepted and advertised (``dpop_signing_alg_values_supported``
    #: of both metadata documents, ``algs`` of the ``DPoP`` challenge, RFC 9449 §5.1, §7.1); a
    #: proof signed otherwise is ``invalid_dpop_proof``. Default: the asymmetric ones (ES256,
    #: ES384, ES512, RS*, PS*, EdDSA); e.g. ``["ES384"]`` to see a client pick what the server
    #: takes.
    dpop_signing_algs: tuple[str, ...] = attrs.field(
        default=DPOP_ALGORITHMS, converter=_to_tuple, validator=_dpop_algs
    )
    #: Trusted issuers of RFC 7523 §2.1 JWT-bearer assertions, issuer URL to its public keys: a
    #: JWK Set (``{"keys": [...]}``, e.g. another server's ``MockAuthServer.jwks``) or a PEM
    #: public key. Non-empty, the grant
    #: ``urn:ietf:params:oauth:grant-type:jwt-bearer`` is served and advertised, for clients
    #: that registered it; an assertion of type ``oauth-id-jag+jwt`` (an ID-JAG, SEP-990) must
    #: also name the authenticated client in ``client_id``.
    jwt_bearer_issuers: Mapping[str, TrustedKeys] = attrs.field(
        factory=dict, converter=_to_issuers, validator=_issuers
    )
    #: Serve (and advertise) the RFC 8693 token exchange grant
    #: ``urn:ietf:params:oauth:grant-type:token-exchange`` for clients that registered it:
    #: this server's ID tokens or access tokens in, an access token or an ID-JAG
    #: (``requested_token_type=urn:ietf:params:oauth:token-type:id-jag``) out.
    token_exchange: bool = False
    #: Test faults of the JWT-bearer and token exchange grants: scope to the error code the
    #: grant answers when that scope is asked for (or, for an ID-JAG, carried), e.g.
    #: ``{"mcp:admin": "invalid_scope"}``; the codes: ``invalid_grant``, ``invalid_scope``,
    #: ``unauthorized_client``, ``invalid_target``.
    grant_scope_errors: Mapping[str, str] = attrs.field(
        factory=dict, converter=_to_mapping, validator=_grant_errors
    )

    @property
    def dpop_enabled(self) -> bool:
        """Whether DPoP is on (``dpop``, or a knob that implies it)."""
        return self.dpop or self.dpop_required or self.dpop_nonce
