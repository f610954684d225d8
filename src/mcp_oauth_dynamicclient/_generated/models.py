# Generated from spec/openapi.yaml by mcp-oauth-dynamicclient codegen. Do not edit.
"""attrs models: one class per object schema of the spec, fields named as on the wire.

Models for MCP OAuth 2.1 client wire contract. A field the server left out is ``None``; members
the spec does not name are kept in ``extra``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeAlias

import attrs

from mcp_oauth_dynamicclient import runtime


@attrs.frozen(kw_only=True)
class AuthorizationServerMetadata:
    """Authorization server metadata, RFC 8414 §2, with the fields added by RFC 8628 §4
    (device_authorization_endpoint), RFC 9207 §3
    (authorization_response_iss_parameter_supported), OpenID Connect Discovery 1.0 §3
    (userinfo_endpoint, id_token_signing_alg_values_supported, subject_types_supported) and the
    MCP authorization spec (client_id_metadata_document_supported). RFC 8414 §2 calls
    `response_types_supported` REQUIRED; it is optional here because MCP servers in the field
    omit it and a client needs nothing from it."""

    #: The issuer identifier, an https URL without query or fragment (RFC 8414 §2).
    issuer: str
    #: RFC 6749 §3.1 authorization endpoint URL.
    authorization_endpoint: str | None = None
    #: RFC 6749 §3.2 token endpoint URL.
    token_endpoint: str | None = None
    #: URL of the server's JWK Set (RFC 7517).
    jwks_uri: str | None = None
    #: RFC 7591 §3 client registration endpoint URL.
    registration_endpoint: str | None = None
    scopes_supported: Sequence[str] | None = None
    response_types_supported: Sequence[str] | None = None
    response_modes_supported: Sequence[str] | None = None
    grant_types_supported: Sequence[str] | None = None
    token_endpoint_auth_methods_supported: Sequence[str] | None = None
    token_endpoint_auth_signing_alg_values_supported: Sequence[str] | None = None
    service_documentation: str | None = None
    ui_locales_supported: Sequence[str] | None = None
    op_policy_uri: str | None = None
    op_tos_uri: str | None = None
    #: RFC 7009 §2 revocation endpoint URL.
    revocation_endpoint: str | None = None
    revocation_endpoint_auth_methods_supported: Sequence[str] | None = None
    revocation_endpoint_auth_signing_alg_values_supported: Sequence[str] | None = None
    #: RFC 7662 §2 introspection endpoint URL.
    introspection_endpoint: str | None = None
    introspection_endpoint_auth_methods_supported: Sequence[str] | None = None
    introspection_endpoint_auth_signing_alg_values_supported: Sequence[str] | None = None
    #: RFC 7636 PKCE methods; an MCP client refuses to authorize unless `S256` is listed.
    code_challenge_methods_supported: Sequence[str] | None = None
    #: RFC 8628 §4 device authorization endpoint URL.
    device_authorization_endpoint: str | None = None
    #: RFC 9207 §3; when true the client requires `iss` in authorization responses.
    authorization_response_iss_parameter_supported: bool | None = None
    #: MCP authorization spec; the server accepts URL-formatted client IDs.
    client_id_metadata_document_supported: bool | None = None
    #: RFC 9449 §5.1; the JWS algorithms the server accepts for DPoP proofs.
    dpop_signing_alg_values_supported: Sequence[str] | None = None
    #: OpenID Connect Discovery 1.0 §3.
    userinfo_endpoint: str | None = None
    id_token_signing_alg_values_supported: Sequence[str] | None = None
    subject_types_supported: Sequence[str] | None = None
    #: RFC 8414 §2.1 signed metadata JWT.
    signed_metadata: str | None = None
    #: Members the spec does not name, as received (vendor extensions); sent back on output.
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=runtime.redact_mapping)


@attrs.frozen(kw_only=True)
class ProtectedResourceMetadata:
    """OAuth 2.0 protected resource metadata, RFC 9728 §2."""

    #: The resource identifier (RFC 9728 §2).
    resource: str
    #: Issuer identifiers of the authorization servers for this resource.
    authorization_servers: Sequence[str] | None = None
    jwks_uri: str | None = None
    scopes_supported: Sequence[str] | None = None
    bearer_methods_supported: Sequence[str] | None = None
    resource_signing_alg_values_supported: Sequence[str] | None = None
    resource_name: str | None = None
    resource_documentation: str | None = None
    resource_policy_uri: str | None = None
    resource_tos_uri: str | None = None
    tls_client_certificate_bound_access_tokens: bool | None = None
    authorization_details_types_supported: Sequence[str] | None = None
    dpop_signing_alg_values_supported: Sequence[str] | None = None
    dpop_bound_access_tokens_required: bool | None = None
    signed_metadata: str | None = None
    #: Members the spec does not name, as received (vendor extensions); sent back on output.
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=runtime.redact_mapping)


@attrs.frozen(kw_only=True)
class JsonWebKey:
    """A JSON Web Key, RFC 7517 §4; key-type members stay in `extra`."""

    kty: str
    use: str | None = None
    key_ops: Sequence[str] | None = None
    alg: str | None = None
    kid: str | None = None
    #: Members the spec does not name, as received (vendor extensions); sent back on output.
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=runtime.redact_mapping)


@attrs.frozen(kw_only=True)
class JsonWebKeySet:
    """A JWK Set, RFC 7517 §5."""

    keys: Sequence[JsonWebKey]
    #: Members the spec does not name, as received (vendor extensions); sent back on output.
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=runtime.redact_mapping)


@attrs.frozen(kw_only=True)
class ClientMetadata:
    """Client metadata, RFC 7591 §2, sent in a registration request (§3.1). `software_statement` is
    the signed JWT of §2.3. Language-tagged human-readable values (§2.2, for example
    `client_name#fr`) stay in `extra`."""

    #: RFC 7591 §2 redirection URIs.
    redirect_uris: Sequence[str] | None = None
    #: RFC 7591 §2: none, client_secret_post, client_secret_basic, or an extension such as
    #: private_key_jwt.
    token_endpoint_auth_method: str | None = None
    grant_types: Sequence[str] | None = None
    response_types: Sequence[str] | None = None
    client_name: str | None = None
    client_uri: str | None = None
    logo_uri: str | None = None
    #: Space-separated scope values (RFC 6749 §3.3).
    scope: str | None = None
    contacts: Sequence[str] | None = None
    tos_uri: str | None = None
    policy_uri: str | None = None
    jwks_uri: str | None = None
    jwks: JsonWebKeySet | None = None
    software_id: str | None = None
    software_version: str | None = None
    #: RFC 7591 §2.3 software statement (a JWT).
    software_statement: str | None = attrs.field(default=None, repr=runtime.redact)
    #: OpenID Connect Dynamic Client Registration §2 (MCP 2026-07-28 requires it): native
    #: (loopback or custom-scheme redirects) or web.
    application_type: str | None = None
    #: Members the spec does not name, as received (vendor extensions); sent back on output.
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=runtime.redact_mapping)


@attrs.frozen(kw_only=True)
class ClientInformationResponse:
    """Client information response, RFC 7591 §3.2.1 and RFC 7592 §3: the registered metadata plus
    the client's credentials and, when the server supports management, the registration access
    token and the client configuration endpoint."""

    #: RFC 7591 §2 redirection URIs.
    redirect_uris: Sequence[str] | None = None
    #: RFC 7591 §2: none, client_secret_post, client_secret_basic, or an extension such as
    #: private_key_jwt.
    token_endpoint_auth_method: str | None = None
    grant_types: Sequence[str] | None = None
    response_types: Sequence[str] | None = None
    client_name: str | None = None
    client_uri: str | None = None
    logo_uri: str | None = None
    #: Space-separated scope values (RFC 6749 §3.3).
    scope: str | None = None
    contacts: Sequence[str] | None = None
    tos_uri: str | None = None
    policy_uri: str | None = None
    jwks_uri: str | None = None
    jwks: JsonWebKeySet | None = None
    software_id: str | None = None
    software_version: str | None = None
    #: RFC 7591 §2.3 software statement (a JWT).
    software_statement: str | None = attrs.field(default=None, repr=runtime.redact)
    #: OpenID Connect Dynamic Client Registration §2 (MCP 2026-07-28 requires it): native
    #: (loopback or custom-scheme redirects) or web.
    application_type: str | None = None
    #: RFC 7591 §3.2.1 client identifier.
    client_id: str
    #: RFC 7591 §3.2.1 client secret.
    client_secret: str | None = attrs.field(default=None, repr=runtime.redact)
    #: Seconds since the epoch.
    client_id_issued_at: int | None = None
    #: Seconds since the epoch, 0 for never; REQUIRED when a secret is issued.
    client_secret_expires_at: int | None = None
    #: RFC 7592 §3 registration access token.
    registration_access_token: str | None = attrs.field(default=None, repr=runtime.redact)
    #: RFC 7592 §3 client configuration endpoint.
    registration_client_uri: str | None = None
    #: Members the spec does not name, as received (vendor extensions); sent back on output.
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=runtime.redact_mapping)


@attrs.frozen(kw_only=True)
class ClientUpdateRequest:
    """Client update request, RFC 7592 §2.2: a full replacement of the metadata, carrying the
    `client_id` (and the current `client_secret`, if any). It never carries
    `registration_access_token`, `registration_client_uri`, `client_secret_expires_at` or
    `client_id_issued_at`."""

    #: RFC 7591 §2 redirection URIs.
    redirect_uris: Sequence[str] | None = None
    #: RFC 7591 §2: none, client_secret_post, client_secret_basic, or an extension such as
    #: private_key_jwt.
    token_endpoint_auth_method: str | None = None
    grant_types: Sequence[str] | None = None
    response_types: Sequence[str] | None = None
    client_name: str | None = None
    client_uri: str | None = None
    logo_uri: str | None = None
    #: Space-separated scope values (RFC 6749 §3.3).
    scope: str | None = None
    contacts: Sequence[str] | None = None
    tos_uri: str | None = None
    policy_uri: str | None = None
    jwks_uri: str | None = None
    jwks: JsonWebKeySet | None = None
    software_id: str | None = None
    software_version: str | None = None
    #: RFC 7591 §2.3 software statement (a JWT).
    software_statement: str | None = attrs.field(default=None, repr=runtime.redact)
    #: OpenID Connect Dynamic Client Registration §2 (MCP 2026-07-28 requires it): native
    #: (loopback or custom-scheme redirects) or web.
    application_type: str | None = None
    client_id: str
    client_secret: str | None = attrs.field(default=None, repr=runtime.redact)
    #: Members the spec does not name, as received (vendor extensions); sent back on output.
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=runtime.redact_mapping)


@attrs.frozen(kw_only=True)
class ClientRegistrationErrorResponse:
    """Client registration error response, RFC 7591 §3.2.2 (also used by RFC 7592). Codes:
    invalid_redirect_uri, invalid_client_metadata, invalid_software_statement,
    unapproved_software_statement."""

    error: str
    error_description: str | None = None
    #: Members the spec does not name, as received (vendor extensions); sent back on output.
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=runtime.redact_mapping)


@attrs.frozen(kw_only=True)
class AuthorizationRequest:
    """Query parameters of an authorization request, RFC 6749 §4.1.1 with PKCE (RFC 7636 §4.3),
    resource indicators (RFC 8707 §2) and the OpenID Connect `nonce`. Not an HTTP call the
    client makes: the user agent is sent to this URL."""

    response_type: Literal["code"] = "code"
    client_id: str
    redirect_uri: str | None = None
    scope: str | None = None
    state: str | None = None
    #: RFC 7636 §4.2 BASE64URL(SHA256(code_verifier)).
    code_challenge: str
    #: RFC 7636 §4.3; OAuth 2.1 clients send S256 only.
    code_challenge_method: Literal["S256"] = "S256"
    #: RFC 8707 §2 resource indicators.
    resource: Sequence[str] | None = None
    #: OpenID Connect Core §3.1.2.1.
    nonce: str | None = None
    #: Members the spec does not name, as received (vendor extensions); sent back on output.
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=runtime.redact_mapping)


@attrs.frozen(kw_only=True)
class AuthorizationResponse:
    """Query parameters of a successful authorization response, RFC 6749 §4.1.2, with the RFC 9207
    §2 `iss` parameter."""

    code: str = attrs.field(repr=runtime.redact)
    state: str | None = None
    iss: str | None = None
    #: Members the spec does not name, as received (vendor extensions); sent back on output.
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=runtime.redact_mapping)


@attrs.frozen(kw_only=True)
class AuthorizationErrorResponse:
    """Query parameters of an authorization error response, RFC 6749 §4.1.2.1 (and RFC 9207 §2)."""

    error: str
    error_description: str | None = None
    error_uri: str | None = None
    state: str | None = None
    iss: str | None = None
    #: Members the spec does not name, as received (vendor extensions); sent back on output.
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=runtime.redact_mapping)


@attrs.frozen(kw_only=True)
class AuthorizationCodeTokenRequest:
    """Access token request for the authorization code grant, RFC 6749 §4.1.3, with RFC 7636 §4.5
    and RFC 8707 §2."""

    grant_type: Literal["authorization_code"] = "authorization_code"
    code: str = attrs.field(repr=runtime.redact)
    redirect_uri: str | None = None
    #: RFC 7636 §4.1 code verifier.
    code_verifier: str = attrs.field(repr=runtime.redact)
    resource: Sequence[str] | None = None
    #: Members the spec does not name, as received (vendor extensions); sent back on output.
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=runtime.redact_mapping)


@attrs.frozen(kw_only=True)
class RefreshTokenRequest:
    """Refresh request, RFC 6749 §6, with RFC 8707 §2 resource indicators."""

    grant_type: Literal["refresh_token"] = "refresh_token"
    refresh_token: str = attrs.field(repr=runtime.redact)
    scope: str | None = None
    resource: Sequence[str] | None = None
    #: Members the spec does not name, as received (vendor extensions); sent back on output.
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=runtime.redact_mapping)


@attrs.frozen(kw_only=True)
class ClientCredentialsTokenRequest:
    """Access token request for the client credentials grant, RFC 6749 §4.4.2. Safe to resend: a
    second token for the client itself harms nothing."""

    grant_type: Literal["client_credentials"] = "client_credentials"
    scope: str | None = None
    resource: Sequence[str] | None = None
    #: Members the spec does not name, as received (vendor extensions); sent back on output.
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=runtime.redact_mapping)


@attrs.frozen(kw_only=True)
class DeviceCodeTokenRequest:
    """Device access token request, RFC 8628 §3.4."""

    grant_type: Literal["urn:ietf:params:oauth:grant-type:device_code"] = (
        "urn:ietf:params:oauth:grant-type:device_code"
    )
    device_code: str = attrs.field(repr=runtime.redact)
    resource: Sequence[str] | None = None
    #: Members the spec does not name, as received (vendor extensions); sent back on output.
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=runtime.redact_mapping)


@attrs.frozen(kw_only=True)
class JwtBearerTokenRequest:
    """Access token request with a JWT as the authorization grant, RFC 7523 §2.1 (workload identity
    federation; an ID-JAG in enterprise-managed authorization). Not resent: the assertion's
    ``jti`` may be accepted once only (RFC 7523 §3)."""

    grant_type: Literal["urn:ietf:params:oauth:grant-type:jwt-bearer"] = (
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    )
    assertion: str = attrs.field(repr=runtime.redact)
    scope: str | None = None
    resource: Sequence[str] | None = None
    #: Members the spec does not name, as received (vendor extensions); sent back on output.
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=runtime.redact_mapping)


@attrs.frozen(kw_only=True)
class TokenExchangeRequest:
    """Token exchange request, RFC 8693 §2.1."""

    grant_type: Literal["urn:ietf:params:oauth:grant-type:token-exchange"] = (
        "urn:ietf:params:oauth:grant-type:token-exchange"
    )
    subject_token: str = attrs.field(repr=runtime.redact)
    subject_token_type: str
    actor_token: str | None = attrs.field(default=None, repr=runtime.redact)
    actor_token_type: str | None = None
    requested_token_type: str | None = None
    audience: Sequence[str] | None = None
    resource: Sequence[str] | None = None
    scope: str | None = None
    #: Members the spec does not name, as received (vendor extensions); sent back on output.
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=runtime.redact_mapping)


@attrs.frozen(kw_only=True)
class TokenResponse:
    """Successful access token response, RFC 6749 §5.1 (with the OpenID Connect `id_token`)."""

    access_token: str = attrs.field(repr=runtime.redact)
    #: Bearer (RFC 6750), DPoP (RFC 9449 §5), or N_A for a token exchange (RFC 8693 §2.2.1);
    #: compared case-insensitively.
    token_type: str
    #: Lifetime in seconds from the response.
    expires_in: int | None = None
    refresh_token: str | None = attrs.field(default=None, repr=runtime.redact)
    scope: str | None = None
    #: OpenID Connect Core §3.1.3.3 ID Token.
    id_token: str | None = attrs.field(default=None, repr=runtime.redact)
    #: RFC 8693 §2.2.1: the type of the token issued by a token exchange.
    issued_token_type: str | None = None
    #: Members the spec does not name, as received (vendor extensions); sent back on output.
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=runtime.redact_mapping)


@attrs.frozen(kw_only=True)
class OAuthErrorResponse:
    """Error response, RFC 6749 §5.2; also the shape of RFC 7009 §2.2.1, RFC 7662 §2.3 and RFC 8628
    §3.5 errors (authorization_pending, slow_down, access_denied, expired_token)."""

    error: str
    error_description: str | None = None
    error_uri: str | None = None
    #: Members the spec does not name, as received (vendor extensions); sent back on output.
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=runtime.redact_mapping)


@attrs.frozen(kw_only=True)
class RevocationRequest:
    """Revocation request, RFC 7009 §2.1."""

    token: str = attrs.field(repr=runtime.redact)
    #: access_token or refresh_token (RFC 7009 §2.1).
    token_type_hint: str | None = None
    #: Members the spec does not name, as received (vendor extensions); sent back on output.
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=runtime.redact_mapping)


@attrs.frozen(kw_only=True)
class IntrospectionRequest:
    """Introspection request, RFC 7662 §2.1."""

    token: str = attrs.field(repr=runtime.redact)
    token_type_hint: str | None = None
    #: Members the spec does not name, as received (vendor extensions); sent back on output.
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=runtime.redact_mapping)


@attrs.frozen(kw_only=True)
class IntrospectionResponse:
    """Introspection response, RFC 7662 §2.2."""

    active: bool
    scope: str | None = None
    client_id: str | None = None
    username: str | None = None
    token_type: str | None = None
    exp: int | None = None
    iat: int | None = None
    nbf: int | None = None
    sub: str | None = None
    #: A string or an array of strings (RFC 7519 §4.1.3).
    aud: str | Sequence[str] | None = None
    iss: str | None = None
    jti: str | None = None
    #: Members the spec does not name, as received (vendor extensions); sent back on output.
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=runtime.redact_mapping)


@attrs.frozen(kw_only=True)
class DeviceAuthorizationRequest:
    """Device authorization request, RFC 8628 §3.1 (with RFC 8707 §2 resource indicators)."""

    scope: str | None = None
    resource: Sequence[str] | None = None
    #: Members the spec does not name, as received (vendor extensions); sent back on output.
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=runtime.redact_mapping)


@attrs.frozen(kw_only=True)
class DeviceAuthorizationResponse:
    """Device authorization response, RFC 8628 §3.2."""

    device_code: str = attrs.field(repr=runtime.redact)
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None = None
    expires_in: int
    #: Minimum seconds between polls; 5 when absent (RFC 8628 §3.2).
    interval: int | None = None
    #: Members the spec does not name, as received (vendor extensions); sent back on output.
    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=runtime.redact_mapping)


TokenRequest: TypeAlias = (
    AuthorizationCodeTokenRequest
    | RefreshTokenRequest
    | ClientCredentialsTokenRequest
    | DeviceCodeTokenRequest
    | JwtBearerTokenRequest
    | TokenExchangeRequest
)
"""A token endpoint request, one shape per grant type (RFC 6749 §4.1.3, §4.4.2, §6; RFC 8628 §3.4;
RFC 7523 §2.1; RFC 8693 §2.1).
"""
