"""``OAuth2Config``: everything a client needs to know before it talks to a server.

Checked when it is built: a bad value raises ``ConfigurationError`` naming the field, so a
mistake shows up at start-up rather than halfway through an authorization.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypedDict

import attrs

from ._public import public
from ._urls import require_issuer, require_secure_url
from .exceptions import ConfigurationError
from .runtime import DEFAULT_DEADLINE, DEFAULT_MAX_RESPONSE_BYTES, check_limits, redact

__all__ = [
    "DEVICE_CODE_GRANT",
    "JWT_BEARER_GRANT",
    "TOKEN_EXCHANGE_GRANT",
    "OAuth2Config",
    "OAuth2Settings",
    "config_from",
]

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
#: The ``grant`` setting's values, by short name (RFC 6749 §4.1, §4.4; RFC 7523 §2.1).
GRANTS = {
    "authorization_code": "authorization_code",
    "client_credentials": "client_credentials",
    "jwt_bearer": JWT_BEARER_GRANT,
    JWT_BEARER_GRANT: JWT_BEARER_GRANT,
}
AUTO = "auto"
AUTH_METHODS = (
    AUTO,
    "client_secret_basic",
    "client_secret_post",
    "none",
    "private_key_jwt",
    "client_secret_jwt",
)
SAFE_ID_TOKEN_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256",
                            "ES384", "ES512", "EdDSA")  # fmt: skip


def _strings(value: Sequence[str] | str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _optional_strings(value: Sequence[str] | str | None) -> tuple[str, ...] | None:
    return None if value is None else _strings(value)


def _default_auth_method(config: OAuth2Config) -> str:
    # The seed's default for a client told its server; "auto" for one that starts from the
    # MCP server's URL, which cannot know before discovery what its server accepts.
    return "client_secret_basic" if config.auth_server is not None else AUTO


@public("mcp_oauth_dynamicclient")
@attrs.frozen
class OAuth2Config:
    """Settings of an OAuth 2.1 client of an MCP authorization server.

    ``auth_server`` or ``resource`` is required: given only the MCP server's URL (``resource``),
    the client finds its authorization server in the server's protected resource metadata (RFC
    9728). Registration metadata follows RFC 7591 §2; with ``client_id`` (and
    ``client_secret``) set, the client is pre-registered and never registers.

    Attributes:
        auth_server: The authorization server's issuer URL (https, or http on loopback); found
            from ``resource`` when not given.
        client_name: Human-readable name sent at registration (RFC 7591 §2).
        redirect_uris: Where the authorization server may send the user back (https, or http
            on loopback, no fragment). Needed for the authorization code flow.
        scope: Scope requested when a call names none (RFC 6749 §3.3), and registered (RFC
            7591 §2) when set. Unset, a call that names none asks for the protected resource's
            ``scopes_supported`` (RFC 9728 §2) when the client found its server from the
            resource, else for no scope at all (the server's default, RFC 6749 §3.3); nothing
            is registered, so the client may later ask for any scope the server allows it.
        grant_types: Grant types to register. By default: ``authorization_code`` and
            ``refresh_token`` when there are redirect URIs, ``client_credentials`` for a
            confidential client, the device grant (RFC 8628) and ``refresh_token`` when the
            server supports it; narrowed to what the server advertises.
        use_pkce / code_challenge_method: PKCE is always on with S256 (OAuth 2.1); other
            values are refused.
        token_endpoint_auth_method: ``client_secret_basic``, ``client_secret_post``, ``none``
            (public client), ``private_key_jwt`` or ``client_secret_jwt`` (RFC 7523), or
            ``auto``: chosen from the server's ``token_endpoint_auth_methods_supported`` (RFC
            8414 §2), ``none`` first for a client that registers itself or has no secret,
            ``private_key_jwt`` when ``private_key`` is set. Default: ``client_secret_basic``
            with ``auth_server``, ``auto`` when the client starts from ``resource`` alone.
        application_type: ``native`` or ``web`` (OpenID Connect Dynamic Client Registration §2,
            sent at registration as MCP asks): by default ``native`` when every redirect URI is
            loopback or a custom scheme (RFC 8252 §7), else ``web``.
        client_lifetime: Seconds a dynamic registration is reused before registering again,
            when the server sets no expiry; 0 keeps it until the server says otherwise.
        resource: The protected resource (RFC 8707) tokens are requested for, e.g. the MCP
            server URL; with no ``auth_server``, where discovery starts (RFC 9728).
        authorization_endpoint / token_endpoint / registration_endpoint: For a server that
            publishes no metadata (MCP 2025-03-26): used when discovery finds none; unset, the
            spec's defaults ``/authorize``, ``/token`` and ``/register`` at the server's origin.
        client_id / client_secret: A pre-registered client.
        client_metadata_url: An https URL with a path where this client's metadata document is
            published: used as the ``client_id``, with no registration, by an authorization
            server that advertises ``client_id_metadata_document_supported`` (MCP 2025-11-25
            "Client ID Metadata Documents"); others register as usual.
        initial_access_token / software_statement: Sent at registration when the server
            requires them (RFC 7591 §3, §2.3).
        private_key / private_key_id / client_assertion_algorithm: For ``private_key_jwt``.
        id_token_algorithms: Signature algorithms accepted for ID Tokens and JWT access tokens;
            ``none`` and HMAC are never accepted.
        private_hosts: Hosts (names or addresses) a remote authorization server's endpoints
            may be on although they are on loopback, a private network or link-local: for a
            server run on your own network. Others are refused (server-side request forgery).
        clock_skew: Seconds of leeway for expiry checks and JWT validation.
        timeout: Seconds before an HTTP request to the authorization server gives up.
        deadline: Seconds one operation with the authorization server (fetching metadata,
            registering, a token request …) may take in all: connecting, sending, reading the
            whole response, and any retries with their waits; past it, ``DeadlineExceeded``.
            ``timeout`` is httpx's, per wait (for a connection, for each read): a server that
            sends a byte at a time never trips it, the deadline stops it. Default 120 seconds,
            several times ``timeout``; keep it so, and above ``RetryConfig.max_retry_after``
            when retrying. The blocking client cannot interrupt a read: it shortens each wait
            to the time left and checks the deadline as each part of the body arrives.
        grant: How the client gets a token when it needs one without being given it
            (``httpx_auth``, ``access_token``, an expired token with no refresh token):
            ``authorization_code`` (the default: a person authorizes), ``client_credentials``
            (the client itself, RFC 6749 §4.4; MCP machine-to-machine, SEP-1046) or
            ``jwt_bearer`` (a JWT assertion as the grant, RFC 7523 §2.1: workload identity
            federation, SEP-1933, with ``assertion``; enterprise-managed authorization,
            SEP-990, with ``idp`` and ``id_token``).
        assertion: For ``grant="jwt_bearer"``: the JWT to present, or a function (sync, or
            async for ``OAuth2Client``) returning it, called for every token request so that
            a short-lived workload token is read fresh (say, from a file the platform rotates).
        idp / id_token: For enterprise-managed authorization (SEP-990): the client of the
            user's enterprise identity provider (an ``OAuth2Client`` of the same flavour) and
            the user's ID token there (or a function returning it). The ID token is exchanged
            at the IdP for an ID-JAG (RFC 8693, audience the MCP authorization server, resource
            the MCP server), presented with the JWT-bearer grant.
        dpop: Sender-constrained tokens (RFC 9449): ``True`` sends a DPoP proof with every
            token request and uses the ``DPoP`` scheme for the tokens bound to its key;
            ``False`` never does, and refuses a DPoP token; ``"auto"`` (the default) does when
            the protected resource asks for DPoP (a ``DPoP`` challenge, or
            ``dpop_bound_access_tokens_required`` in its metadata, RFC 9728 §2) and the
            authorization server supports it (``dpop_signing_alg_values_supported``).
        dpop_key / dpop_algorithm: The DPoP key (an unencrypted PEM private key) and the JWS
            algorithm of its proofs (by default the key's: ES256 for a P-256 key, RS256 for
            RSA). Unset, a new key is made per client (ES256, or ``dpop_algorithm``) and kept
            with the tokens bound to it, so a restart keeps the binding.
        max_response_bytes: Largest response body read from the authorization server, after
            any content coding is undone; a larger one raises ``ResponseTooLarge``, refused
            before reading when its ``Content-Length`` says so. Default 4 MiB (4194304), ample
            for metadata, JWK Sets, registrations and tokens.
    """

    auth_server: str | None = None
    client_name: str = "MCP Client"
    client_uri: str | None = None
    logo_uri: str | None = None
    tos_uri: str | None = None
    policy_uri: str | None = None
    contacts: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    redirect_uris: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    scope: str | None = None
    grant_types: tuple[str, ...] | None = attrs.field(default=None, converter=_optional_strings)
    use_pkce: bool = True
    code_challenge_method: str = "S256"
    token_endpoint_auth_method: str = attrs.field(
        default=attrs.Factory(_default_auth_method, takes_self=True)
    )
    application_type: str | None = None
    client_lifetime: int = 7776000
    resource: str | None = None
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    registration_endpoint: str | None = None
    client_id: str | None = None
    client_metadata_url: str | None = None
    client_secret: str | None = attrs.field(default=None, repr=redact)
    initial_access_token: str | None = attrs.field(default=None, repr=redact)
    software_statement: str | None = attrs.field(default=None, repr=redact)
    software_id: str | None = None
    software_version: str | None = None
    jwks_uri: str | None = None
    jwks: Mapping[str, Any] | None = None
    private_key: str | None = attrs.field(default=None, repr=redact)
    private_key_id: str | None = None
    client_assertion_algorithm: str = "RS256"
    id_token_algorithms: tuple[str, ...] = attrs.field(
        default=SAFE_ID_TOKEN_ALGORITHMS, converter=_strings
    )
    private_hosts: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    clock_skew: int = 60
    timeout: float = 30.0
    deadline: float = DEFAULT_DEADLINE
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    grant: str = "authorization_code"
    assertion: str | Callable[[], str | Awaitable[str]] | None = attrs.field(
        default=None, repr=redact
    )
    idp: Any = attrs.field(default=None, eq=False)
    id_token: str | Callable[[], str | Awaitable[str]] | None = attrs.field(
        default=None, repr=redact
    )
    dpop: bool | str = AUTO
    dpop_key: str | None = attrs.field(default=None, repr=redact)
    dpop_algorithm: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.auth_server is None and self.resource is None:
            raise ConfigurationError(
                "auth_server: required, or resource (the MCP server's URL) to find it from"
            )
        if self.auth_server is not None:
            require_issuer(self.auth_server, "auth_server")
        for uri in self.redirect_uris:
            require_secure_url(uri, f"redirect_uris entry {uri!r}")
        for name in (
            "client_uri",
            "logo_uri",
            "tos_uri",
            "policy_uri",
            "jwks_uri",
            "resource",
            "authorization_endpoint",
            "token_endpoint",
            "registration_endpoint",
        ):
            value = getattr(self, name)
            if value is not None:
                require_secure_url(value, name, allow_fragment=False)
        if not self.use_pkce:
            raise ConfigurationError("use_pkce: OAuth 2.1 requires PKCE; it cannot be turned off")
        if self.code_challenge_method != "S256":
            raise ConfigurationError(
                f"code_challenge_method: only 'S256' is allowed, got {self.code_challenge_method!r}"
            )
        if self.token_endpoint_auth_method not in AUTH_METHODS:
            raise ConfigurationError(
                f"token_endpoint_auth_method: expected one of {', '.join(AUTH_METHODS)}, "
                f"got {self.token_endpoint_auth_method!r}"
            )
        if self.client_metadata_url is not None:
            document = require_secure_url(self.client_metadata_url, "client_metadata_url")
            if document.scheme != "https" or document.path in ("", "/"):
                raise ConfigurationError(
                    "client_metadata_url: must be an https URL with a path, got "
                    f"{self.client_metadata_url!r}"
                )
        if self.application_type not in (None, "native", "web"):
            raise ConfigurationError(
                f"application_type: expected 'native' or 'web', got {self.application_type!r}"
            )
        if self.token_endpoint_auth_method == "private_key_jwt" and not self.private_key:
            raise ConfigurationError("private_key: required for private_key_jwt")
        if self.client_secret is not None and self.client_id is None:
            raise ConfigurationError("client_id: required when client_secret is given")
        if not self.client_name.strip():
            raise ConfigurationError("client_name: must not be empty")
        if self.client_lifetime < 0:
            raise ConfigurationError("client_lifetime: must be 0 (no limit) or a positive number")
        if self.clock_skew < 0 or self.timeout <= 0:
            raise ConfigurationError("clock_skew and timeout: must be positive")
        check_limits(self.max_response_bytes, self.deadline)
        self._check_extensions()
        unsafe = {a for a in self.id_token_algorithms if a == "none" or a.startswith("HS")}
        if unsafe:
            raise ConfigurationError(f"id_token_algorithms: {sorted(unsafe)} are not allowed")

    def _check_extensions(self) -> None:
        """The settings of the MCP authorization extensions: grant, assertion, IdP, DPoP."""
        if self.grant not in GRANTS:
            raise ConfigurationError(
                f"grant: expected one of authorization_code, client_credentials, jwt_bearer, "
                f"got {self.grant!r}"
            )
        jwt_bearer = GRANTS[self.grant] == JWT_BEARER_GRANT
        sources = [name for name in ("assertion", "idp") if getattr(self, name) is not None]
        if jwt_bearer and len(sources) != 1:
            raise ConfigurationError(
                "grant='jwt_bearer': give either assertion (the JWT, or a function returning "
                "it) or idp and id_token (enterprise-managed authorization)"
            )
        if sources and not jwt_bearer:
            raise ConfigurationError(f"{sources[0]}: used only with grant='jwt_bearer'")
        if (self.idp is None) != (self.id_token is None):
            raise ConfigurationError("idp and id_token: give both, or neither")
        if self.assertion is not None and not (
            isinstance(self.assertion, str) or callable(self.assertion)
        ):
            raise ConfigurationError("assertion: expected the JWT (a str) or a function")
        if self.dpop is not True and self.dpop is not False and self.dpop != AUTO:
            raise ConfigurationError(f"dpop: expected True, False or 'auto', got {self.dpop!r}")
        if self.dpop_key is None and self.dpop_algorithm is None:
            return  # nothing to check, nothing to load
        from ._dpop import DPOP_ALGORITHMS, DPoPKey

        if self.dpop_key is not None:  # its algorithm is checked with it
            DPoPKey.from_pem(self.dpop_key, self.dpop_algorithm)
        elif self.dpop_algorithm not in DPOP_ALGORITHMS:
            raise ConfigurationError(
                f"dpop_algorithm: expected one of {', '.join(DPOP_ALGORITHMS)} (RFC 9449 §4.2), "
                f"got {self.dpop_algorithm!r}"
            )

    @property
    def grant_type(self) -> str:
        """The ``grant`` setting's grant type URI or name as sent on the wire."""
        return GRANTS[self.grant]

    @property
    def issuer(self) -> str | None:
        """The issuer identifier: ``auth_server`` exactly as given (RFC 8414 §2, §3.3), or
        None until discovery from ``resource`` finds it."""
        return self.auth_server

    @property
    def configured_endpoints(self) -> bool:
        """Whether any endpoint is configured (for a server without metadata)."""
        endpoints = (self.authorization_endpoint, self.token_endpoint, self.registration_endpoint)
        return any(endpoint is not None for endpoint in endpoints)

    @property
    def registered_application_type(self) -> str:
        """``application_type``, or the one the redirect URIs imply (RFC 8252 §7.1, §7.3)."""
        if self.application_type is not None:
            return self.application_type
        web = [uri for uri in self.redirect_uris if uri.startswith("https://")]
        return "web" if web or not self.redirect_uris else "native"

    def wanted_grant_types(self, supported: Sequence[str] | None, method: str) -> list[str]:
        """Grant types to register, given the server's ``grant_types_supported`` (if any) and
        the authentication ``method`` registered (``client_credentials`` only for a client
        that authenticates, RFC 6749 §4.4; the JWT-bearer grant for ``grant="jwt_bearer"``)."""
        if self.grant_types is not None:
            return list(self.grant_types)
        wanted = []
        if self.redirect_uris:
            wanted += ["authorization_code", "refresh_token"]
        if method != "none":
            wanted.append("client_credentials")
        if self.grant_type == JWT_BEARER_GRANT:  # the grant this client is built for
            wanted.append(JWT_BEARER_GRANT)
        if supported is None:
            return wanted or ["authorization_code"]
        if DEVICE_CODE_GRANT in supported:
            wanted.append(DEVICE_CODE_GRANT)
            if "refresh_token" not in wanted:  # a device's sign-in should last (RFC 8628 §3.5)
                wanted.append("refresh_token")
        return [grant for grant in wanted if grant in supported] or wanted


class OAuth2Settings(TypedDict, total=False):
    """The keyword settings of ``OAuth2Client(auth_server, **settings)``: ``OAuth2Config``'s fields.

    A client's ``**settings`` are typed with it (``Unpack``), so a misspelt setting is a type
    error as well as the ``ConfigurationError`` it is at run time. A test keeps it in step with
    ``OAuth2Config``.
    """

    client_name: str
    client_uri: str | None
    logo_uri: str | None
    tos_uri: str | None
    policy_uri: str | None
    contacts: Sequence[str] | str | None
    redirect_uris: Sequence[str] | str | None
    scope: str | None
    grant_types: Sequence[str] | str | None
    use_pkce: bool
    code_challenge_method: str
    token_endpoint_auth_method: str
    application_type: str | None
    client_lifetime: int
    resource: str | None
    authorization_endpoint: str | None
    token_endpoint: str | None
    registration_endpoint: str | None
    client_id: str | None
    client_metadata_url: str | None
    client_secret: str | None
    initial_access_token: str | None
    software_statement: str | None
    software_id: str | None
    software_version: str | None
    jwks_uri: str | None
    jwks: Mapping[str, Any] | None
    private_key: str | None
    private_key_id: str | None
    client_assertion_algorithm: str
    id_token_algorithms: Sequence[str] | str
    private_hosts: Sequence[str] | str
    clock_skew: int
    timeout: float
    deadline: float
    max_response_bytes: int
    grant: str
    assertion: str | Callable[[], str | Awaitable[str]] | None
    idp: Any
    id_token: str | Callable[[], str | Awaitable[str]] | None
    dpop: bool | str
    dpop_key: str | None
    dpop_algorithm: str | None


def config_from(
    auth_server: str | None, config: OAuth2Config | None, settings: Mapping[str, Any]
) -> OAuth2Config:
    """The config a client constructor was given: a config, or ``auth_server`` and keywords."""
    known = {field.name for field in attrs.fields(OAuth2Config)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ConfigurationError(f"unknown setting(s): {', '.join(unknown)}")
    if config is not None:
        if auth_server is not None and auth_server != config.auth_server:
            raise ConfigurationError("auth_server: given twice, with different values")
        return attrs.evolve(config, **settings) if settings else config
    if auth_server is None and "resource" not in settings:
        raise ConfigurationError(
            "auth_server: required (or resource=<the MCP server URL>, or config=OAuth2Config(...))"
        )
    return OAuth2Config(auth_server=auth_server, **settings)
