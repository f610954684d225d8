# Generated from _async/client.py by mcp-oauth-dynamicclient codegen (unasync). Do not edit.
"""``SyncOAuth2Client``: the whole client lifecycle against an MCP authorization server, blocking.

Discovery (RFC 8414), registration (RFC 7591) and its management (RFC 7592), authorization
code with PKCE (RFC 7636, RFC 9207), refresh (RFC 6749 §6), revocation (RFC 7009),
introspection (RFC 7662), client credentials (RFC 6749 §4.4), the JWT-bearer grant (RFC 7523
§2.1), token exchange (RFC 8693), the device flow (RFC 8628), authenticated requests (RFC 6750)
and DPoP (RFC 9449). The blocking ``SyncOAuth2Client`` is generated from this file.

Every request to the authorization server is a method of the generated ``EndpointClient``,
sent through the client's ``SyncSender`` (retries, rate limit, metrics, logs); this module
says what to ask and keeps what comes back. The rules that do not live beside it: the
storage keys (``_keys``), what to register and when a registration fits (``_registration``),
client authentication (``_client_auth``), PKCE and the callback (``_pkce``, ``_authorization``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, Unpack

import httpx

# The generated models load on the first call to a server, not at import (PEP 562).
from .. import _generated as gen
from .._concurrency import sync_resolve, sync_settle, sync_sleep, sync_to_thread
from .._discovery import (
    ENDPOINTS,
    PRM_PATH,
    absent,
    check_metadata,
    check_resource_metadata,
    discovery_urls,
    fallback_endpoints,
    origin_of,
    resource_metadata_urls,
)
from .._keys import pending_key, registration_key, resource_key, token_key
from .._lazy import LazyModule
from .._logging import CLIENT, client_logger, emit
from .._observe import record_resource_request
from .._pkce import (
    code_challenge,
    make_code_verifier,
    make_nonce,
    make_state,
    same_secret,
)
from .._public import public
from .._urls import (
    redirect_matches,
    refuse_redirects,
    require_bearer_url,
    require_port,
    require_secure_url,
    same_issuer,
)
from .._www_authenticate import parse_resource_challenge
from ..exceptions import (
    AuthorizationError,
    CodeExchangeError,
    ConfigurationError,
    DiscoveryError,
    OAuth2Error,
    RegistrationError,
    TokenError,
    ValidationError,
    same_failure,
)
from ..metrics import MetricsSink
from ..runtime import ClientAuth, safe_url, transport_error
from .sender import SyncSender
from .storage import SyncMemoryStorage, SyncTokenStorage
from .token_manager import SyncTokenManager

if TYPE_CHECKING:  # imported where used: a program pays for what it calls (see bench_import)
    import httpx2

    from .. import _config, _models, _registration
    from .._config import OAuth2Config, OAuth2Settings
    from .._dpop import DPoPKey, DPoPNonces
    from .._models import (
        ClientRegistration,
        DeviceAuthorization,
        PendingAuthorization,
        TokenResponse,
    )
    from .._ratelimit import RateLimit
    from .._retry import RetryConfig
    from .auth import Authorize, SyncOAuth2Auth
else:
    # The config, the result types and the registration rules are attrs classes and what they
    # need (attrs alone is ~10 ms): they load when the first client is built, not at import.
    _config = LazyModule(__package__, ".._config")
    _models = LazyModule(__package__, ".._models")
    _registration = LazyModule(__package__, ".._registration")

__all__ = ["SyncOAuth2Client"]

T = TypeVar("T")
CLIENT_CREDENTIALS = "client_credentials"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: Grants whose token has no refresh token and is fetched anew when it expires.
REFETCHED_GRANTS = frozenset({CLIENT_CREDENTIALS, JWT_BEARER})
#: RFC 8693 §3 token type identifiers, and the ID-JAG's (SEP-990,
#: draft-ietf-oauth-identity-assertion-authz-grant §3).
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
ID_JAG_TYPE = "urn:ietf:params:oauth:token-type:id-jag"
#: RFC 7592 answers that mean the registration is gone (401 per §2; 403 and 404 in practice).
_GONE = frozenset({401, 403, 404})

PENDING_LIFETIME = 600
"""Seconds an authorization request waits for its callback before it is refused."""
_RESERVED_PARAMS = frozenset(
    {"response_type", "client_id", "code_challenge", "code_challenge_method", "state", "nonce"}
)


@public("mcp_oauth_dynamicclient")
class SyncOAuth2Client:
    """An OAuth 2.1 client of one authorization server.

    Build it from an ``auth_server`` URL and keyword settings (those of ``OAuth2Config``) or
    from ``config=``. Tokens, the registration and pending authorizations are kept in
    ``storage`` (in memory by default); ``tokens`` is the ``SyncTokenManager`` that keeps them
    fresh. An ``http_client`` you pass is used as is and never closed by this client; one it
    creates itself is closed by ``close()`` or ``with``. ``clock`` (seconds since the
    epoch, ``time.time`` by default) lets tests share a server's clock.

    Requests to the authorization server are retried per ``retry_config`` (``RetryConfig``;
    not retried without it) and paced per ``rate_limit`` (``RateLimit``; unlimited without
    it); requests to protected resources (``authenticated_request``) are neither.

    Lifecycle events are logged on the ``mcp_oauth_dynamicclient`` logger (see ``_logging``)
    and counted, with request latencies, in ``metrics_collector`` (a ``MetricsCollector`` or
    any ``metrics.MetricsSink``) when one is given.
    """

    def __init__(
        self,
        auth_server: str | None = None,
        *,
        config: OAuth2Config | None = None,
        storage: SyncTokenStorage | None = None,
        http_client: httpx.Client | None = None,
        clock: Callable[[], float] | None = None,
        retry_config: RetryConfig | None = None,
        rate_limit: RateLimit | None = None,
        metrics_collector: MetricsSink | None = None,
        **settings: Unpack[OAuth2Settings],
    ) -> None:
        self.config = _config.config_from(auth_server, config, settings)
        self.storage = storage if storage is not None else SyncMemoryStorage()
        self._owns_http = http_client is None
        self._http = (
            http_client if http_client is not None else httpx.Client(timeout=self.config.timeout)
        )
        self._sender = SyncSender(
            retry_config=retry_config,
            rate_limit=rate_limit,
            metrics_collector=metrics_collector,
            max_response_bytes=self.config.max_response_bytes,
            deadline=self.config.deadline,
        )
        self._metrics = metrics_collector
        self._endpoints_client: gen.EndpointClient | None = None
        self._known_key: tuple[str, str] | None = None
        self._clock = clock if clock is not None else time.time
        self._metadata: gen.AuthorizationServerMetadata | None = None
        self._issuer: str | None = self.config.issuer  # found from resource when not given
        self._resource: str | None = self.config.resource  # the RFC 9728 resource, once read
        self._resource_scopes: list[str] | None = None  # its scopes_supported
        self._without_prm = False  # a 2025-03-26 server: no resource metadata, issuer guessed
        self._registration: ClientRegistration | None = None
        self._last_state: str | None = None
        self._devices: dict[str, DeviceAuthorization] = {}
        self._dpop_asked = False  # the resource asked for DPoP (a challenge, its metadata)
        self._dpop_default: DPoPKey | None = None  # the key new tokens are bound to
        self._dpop_keys: dict[str, DPoPKey] = {}  # the keys of stored tokens, by PEM
        self._dpop_nonces: DPoPNonces | None = None
        self.tokens = SyncTokenManager(
            self.storage, client=self, skew=self.config.clock_skew, clock=self._clock
        )

    def __repr__(self) -> str:
        client_id = self._registration.client_id if self._registration else None
        server = self._issuer
        return f"{type(self).__name__}(auth_server={server!r}, client_id={client_id!r})"

    def _event(self, event: str, message: str, level: int = logging.INFO, **fields: Any) -> None:
        """Log a lifecycle ``event`` of this client (``auth_server`` added to ``fields``)."""
        if client_logger.isEnabledFor(level):
            emit(
                client_logger,
                level,
                CLIENT,
                event,
                message,
                auth_server=self._issuer,
                **fields,
            )

    def _count(self, event: str) -> None:
        if self._metrics is not None:
            self._metrics.count(event)

    def _got_token(
        self,
        registration: ClientRegistration,
        token: TokenResponse,
        grant_type: str,
        *,
        asked: str | None = None,
    ) -> None:
        """Count and log tokens obtained by a grant (never the tokens themselves); a scope
        narrower than the one ``asked`` for is a WARNING (RFC 6749 §3.3: the server may)."""
        if asked and token.scope is not None:
            missing = sorted(set(asked.split()) - set(token.scope.split()))
            if missing:
                self._event(
                    "scope_narrowed",
                    f"the server granted {token.scope!r}, without {' '.join(missing)} that "
                    "was asked for",
                    logging.WARNING,
                    client_id=registration.client_id,
                    scope=token.scope,
                )
        self._count("token_exchanges")
        self._event(
            "token_exchange",
            f"got tokens with the {grant_type} grant",
            client_id=registration.client_id,
            grant_type=grant_type,
            expires_in=token.expires_in,
            scope=token.scope,
        )

    def __enter__(self) -> SyncOAuth2Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP client if this client created it."""
        if self._owns_http:
            self._http.close()

    @property
    def _endpoints(self) -> gen.EndpointClient:
        """The generated endpoint client every request to the server goes through; made on
        first use, since it loads the generated models."""
        if self._endpoints_client is None:
            self._endpoints_client = gen.EndpointClient(self._http, sender=self._sender)
        return self._endpoints_client

    # ------------------------------------------------------------------------- discovery

    @property
    def issuer(self) -> str:
        """The authorization server's issuer: ``auth_server``, or the one discovery found.

        Raises:
            DiscoveryError: it is not known yet (call ``discover()`` first).
        """
        if self._issuer is None:
            raise DiscoveryError(
                "the authorization server is not known yet: call discover() (it is found from "
                "the resource's metadata, RFC 9728)"
            )
        return self._issuer

    def _find_issuer(self, resource_metadata: str | None = None) -> str:
        """The issuer, read from the resource's metadata (RFC 9728) the first time if needed.

        ``resource_metadata`` is the URL a 401 challenge named (RFC 9728 §5.1): tried first.
        A resource that publishes none is an MCP 2025-03-26 server: its origin is the
        authorization server (that spec's "authorization base URL").
        """
        if self._issuer is not None:
            return self._issuer
        found = self._read_resource_metadata(resource_metadata)
        if found is not None:
            self._use_resource_metadata(*found)
            return found[0]
        assert self.config.resource is not None  # checked by OAuth2Config
        issuer = origin_of(self.config.resource)
        self._issuer, self._without_prm = issuer, True
        return issuer

    def _read_resource_metadata(
        self, resource_metadata: str | None
    ) -> tuple[str, gen.ProtectedResourceMetadata] | None:
        """The issuer the resource's metadata names, and the document; None when the resource
        publishes none (RFC 9728 §3.1 order, after the challenge's URL). Changes nothing."""
        assert self.config.resource is not None  # checked by OAuth2Config
        urls = resource_metadata_urls(self.config.resource)
        if resource_metadata is not None:
            require_secure_url(resource_metadata, "resource_metadata", error=DiscoveryError)
            urls = [resource_metadata, *(url for url in urls if url != resource_metadata)]
        tried = []
        for url in urls:
            try:
                document = self._endpoints.get_protected_resource_metadata(url)
            except DiscoveryError as exc:
                if not absent(exc):
                    raise
                tried.append(f"{url} ({exc.message})")
                continue
            at_root = url.endswith(PRM_PATH)
            issuer = check_resource_metadata(document, self.config.resource, at_root=at_root)
            self._event(
                "discovery",
                f"found the authorization server {issuer} in {safe_url(url)} (RFC 9728)",
                issuer=issuer,
                url=safe_url(url),
            )
            return issuer, document
        self._event(
            "discovery",
            f"no protected resource metadata ({'; '.join(tried)}); taking the resource's "
            "origin as the authorization server (MCP 2025-03-26)",
            logging.WARNING,
        )
        return None

    def _use_resource_metadata(self, issuer: str, document: gen.ProtectedResourceMetadata) -> None:
        """Take the server the resource's metadata names, and keep it for the next start."""
        scopes = list(document.scopes_supported or ()) or None
        self._issuer, self._resource, self._without_prm = issuer, document.resource, False
        self._resource_scopes = scopes
        assert self.config.resource is not None
        found = {"issuer": issuer, "resource": document.resource, "scopes_supported": scopes}
        self.storage.store_token(resource_key(self.config.resource), found)

    def _recall_resource(self) -> bool:
        """Whether the storage knew the server the resource named last time (RFC 9728), now
        taken: a restarted client then sends its stored token without asking the resource
        first. Anything unreadable is ignored (the metadata is read again when needed)."""
        if self.config.resource is None:
            return False
        kept = self.storage.retrieve_token(resource_key(self.config.resource)) or {}
        issuer, resource, scopes = (kept.get(k) for k in ("issuer", "resource", "scopes_supported"))
        if not (isinstance(issuer, str) and isinstance(resource, str) and _strings(scopes)):
            return False
        self._issuer, self._resource, self._without_prm = issuer, resource, False
        self._resource_scopes = scopes
        return True

    def _follow_resource(self, resource_metadata: str | None) -> None:
        """Read the resource's metadata again after it refused this client's token: when it
        names another authorization server now, switch to it (MCP 2026-07-28).

        Registrations and tokens are kept per issuer, so the other server's client is used,
        or registered, and the old server's credentials are never sent to the new one. A
        client configured with ``auth_server``, or whose resource publishes no metadata,
        keeps its server.
        """
        if self.config.auth_server is not None or self.config.resource is None:
            return
        found = self._read_resource_metadata(resource_metadata)
        if found is None or found[0] == self._issuer:
            return
        previous = self._issuer
        self._use_resource_metadata(*found)
        self._metadata, self._registration, self._known_key = None, None, None
        self._event(
            "authorization_server_changed",
            f"the resource now names the authorization server {found[0]} (was {previous})",
            logging.WARNING,
            previous=previous,
        )

    def discover(self) -> gen.AuthorizationServerMetadata:
        """The server's metadata (RFC 8414), fetched once per client, in the MCP order.

        A client given only ``resource`` first reads the resource's metadata (RFC 9728) to learn
        which authorization server it uses.
        """
        if self._metadata is not None:
            return self._metadata
        issuer = self._find_issuer()
        tried = []
        for url in discovery_urls(issuer):
            try:
                metadata = self._endpoints.get_authorization_server_metadata(url)
            except DiscoveryError as exc:
                if not absent(exc):
                    raise
                tried.append(f"{url} ({exc.message})")
                continue
            if (
                self._without_prm
                and metadata.issuer != issuer
                and origin_of(metadata.issuer) == issuer
            ):
                # The issuer of a 2025-03-26 server was a guess from the MCP server's URL, not a
                # name the client was given: the document at that origin names one of its own.
                self._event(
                    "discovery",
                    f"the metadata at {safe_url(url)} names issuer {metadata.issuer}; taking it "
                    "(MCP 2025-03-26: no resource metadata named one)",
                    logging.WARNING,
                )
                issuer = self._issuer = metadata.issuer
            check_metadata(metadata, issuer)
            self._check_endpoint_hosts(metadata)
            self._metadata = metadata
            self._event(
                "discovery",
                f"discovered the authorization server metadata at {safe_url(url)}",
                issuer=metadata.issuer,
                url=safe_url(url),
            )
            return metadata
        if not (self._without_prm or self.config.configured_endpoints):
            raise DiscoveryError(
                f"no authorization server metadata for {issuer}: " + "; ".join(tried)
            )
        return self._fallback_metadata(issuer, tried)

    def _check_endpoint_hosts(self, metadata: gen.AuthorizationServerMetadata) -> None:
        """Refuse a remote server's endpoints in this machine or its network (SSRF).

        Raises:
            DiscoveryError: an endpoint on another host than the issuer's is on loopback, a
                private network or link-local, by its URL or by what its name resolves to,
                and its host is not in ``private_hosts``.
        """
        from .. import _ssrf

        if not _ssrf.remote_issuer(metadata.issuer):
            return
        endpoints = [(name, url) for name in ENDPOINTS if (url := getattr(metadata, name))]
        allowed = self.config.private_hosts
        problems = _ssrf.literal_problems(endpoints, metadata.issuer, allowed)
        for host, (port, names) in _ssrf.hosts_to_resolve(
            endpoints, metadata.issuer, allowed
        ).items():
            found = sync_to_thread(_ssrf.resolved_problems, host, port)
            if found:
                problems.append(f"{', '.join(names)} on {host} resolves to {', '.join(found)}")
        if problems:
            raise DiscoveryError(
                f"the metadata of {metadata.issuer} sends the client into this machine or its "
                f"network: {'; '.join(problems)}. Refusing it (server-side request forgery); "
                "if that server runs on your own network, allow its hosts with "
                "private_hosts=[...]"
            )

    def _fallback_metadata(self, issuer: str, tried: list[str]) -> gen.AuthorizationServerMetadata:
        """Metadata for a server that publishes none: the configured endpoints, else the MCP
        2025-03-26 default paths; PKCE S256 is assumed, since the client never sends less."""
        config = self.config
        configured = {
            "authorization_endpoint": config.authorization_endpoint,
            "token_endpoint": config.token_endpoint,
            "registration_endpoint": config.registration_endpoint,
        }
        endpoints = fallback_endpoints(issuer, configured)
        metadata = gen.AuthorizationServerMetadata(
            issuer=issuer,
            authorization_endpoint=endpoints["authorization_endpoint"],
            token_endpoint=endpoints["token_endpoint"],
            registration_endpoint=endpoints["registration_endpoint"],
            code_challenge_methods_supported=["S256"],
        )
        check_metadata(metadata, issuer)
        self._metadata = metadata
        self._event(
            "discovery",
            f"no authorization server metadata ({'; '.join(tried)}); using the endpoints "
            "configured or the MCP 2025-03-26 defaults",
            logging.WARNING,
            issuer=issuer,
        )
        return metadata

    def _endpoint(self, name: str, error: type[OAuth2Error]) -> str:
        url: str | None = getattr(self.discover(), name)
        if url is None:
            raise error(f"{self.issuer} does not advertise a {name} in its metadata")
        return url

    # ---------------------------------------------------------------------- registration

    @property
    def _registration_key(self) -> str:
        return registration_key(self.issuer)

    def _token_key(self, client_id: str) -> str:
        # Asked on every authenticated request: the key of the current client is kept.
        known = self._known_key
        if known is None or known[0] != client_id:
            known = self._known_key = (client_id, token_key(self.issuer, client_id))
        return known[1]

    def _save_registration(
        self, info: gen.ClientInformationResponse, previous: ClientRegistration | None = None
    ) -> ClientRegistration:
        """Keep the registration a client information response describes (RFC 7591 §3.2.1)."""
        requested = (
            previous.token_endpoint_auth_method
            if previous is not None
            else _registration.auth_method(self.config, self.discover())
        )
        registration = _registration.from_response(
            info,
            config=self.config,
            issuer=self.issuer,
            now=self._clock(),
            requested_method=requested,
            previous=previous,
        )
        self.storage.store_token(self._registration_key, registration.to_dict())
        self._registration = registration
        return registration

    def register(self, *, force: bool = False) -> ClientRegistration:
        """Register this client (RFC 7591 §3.1), or reuse the registration already stored.

        In the MCP order: a client configured with ``client_id`` is pre-registered and never
        registers; one with ``client_metadata_url`` uses it as its ``client_id`` where the
        server supports client ID metadata documents; else a stored registration is reused
        while it fits the config and its secret has not expired, and ``force=True`` registers
        anew.
        """
        config = self.config
        issuer = self._find_issuer()
        if config.client_id is not None:
            if self._registration is None:
                method = config.token_endpoint_auth_method
                if method == "auto":
                    method = _registration.auth_method(config, self.discover())
                self._registration = _registration.pre_registered(
                    config, issuer=issuer, now=self._clock(), method=method
                )
            return self._registration
        if (
            config.client_metadata_url is not None
            and (self.discover()).client_id_metadata_document_supported
        ):
            self._registration = _registration.metadata_document_client(
                config, issuer=issuer, now=self._clock()
            )
            return self._registration
        if not force:
            if self._registration is not None and self._fits(self._registration):
                return self._registration
            stored = self._stored_registration()
            if stored is not None:
                self._registration = stored
                return stored
        if (self.discover()).registration_endpoint is None:
            raise RegistrationError(
                f"{issuer} offers no dynamic registration (no registration_endpoint) and this "
                "client has no client_id: configure client_id (and client_secret) as the server "
                "registered it, or client_metadata_url where it accepts client ID metadata "
                "documents"
            )
        url = self._endpoint("registration_endpoint", RegistrationError)
        body = _registration.client_metadata(config, self.discover())
        info = self._endpoints.register_client(
            url, body, initial_access_token=config.initial_access_token
        )
        registration = self._save_registration(info)
        self._count("registrations")
        self._event(
            "client_registration",
            "registered the client",
            client_id=registration.client_id,
            token_endpoint_auth_method=registration.token_endpoint_auth_method,
        )
        return registration

    def _stored_registration(self) -> ClientRegistration | None:
        """The registration kept in the storage, if it still fits; reading it sends nothing.

        Raises:
            RegistrationError: the entry is not a registration this library wrote.
        """
        stored = self.storage.retrieve_token(self._registration_key)
        if not stored:
            return None
        try:
            registration = _models.ClientRegistration.from_dict(stored)
        except ValidationError as exc:
            raise RegistrationError(
                f"the stored registration under {self._registration_key!r} is "
                f"unreadable ({exc}); delete it to register again"
            ) from None
        return registration if self._fits(registration) else None

    def _fits(self, registration: ClientRegistration) -> bool:
        return _registration.fits(registration, self.config, issuer=self.issuer, now=self._clock())

    def _managed(self, client_id: str | None) -> tuple[ClientRegistration, str, str]:
        """The registration, its configuration endpoint and token (RFC 7592 §3)."""
        registration = self.register()
        if client_id is not None and client_id != registration.client_id:
            raise ValidationError(
                f"client_id {client_id!r} is not this client's ({registration.client_id!r})"
            )
        uri, token = registration.registration_client_uri, registration.registration_access_token
        if uri is None or token is None:
            raise RegistrationError(
                "the server gave no registration_client_uri and registration_access_token: "
                "it does not support client management (RFC 7592)"
            )
        require_secure_url(uri, "registration_client_uri", error=RegistrationError)
        metadata = self.discover()
        trusted = {origin_of(self.issuer)}
        if metadata.registration_endpoint is not None:
            trusted.add(origin_of(metadata.registration_endpoint))
        if origin_of(uri) not in trusted:
            raise RegistrationError(
                f"registration_client_uri {safe_url(uri)} is not on the origin of the "
                f"registration endpoint or of the issuer ({', '.join(sorted(trusted))}): the "
                "registration access token is not sent there (RFC 7592 §3)"
            )
        return registration, uri, token

    def _reload_registration(self, used: ClientRegistration) -> ClientRegistration | None:
        """The stored registration, if another client has replaced the one ``used`` since.

        Clients sharing a storage share a registration; when one of them gets a rotated
        registration access token (RFC 7592 §3) the others still hold the old one.
        """
        stored = self.storage.retrieve_token(self._registration_key)
        if not stored:
            return None
        fresh = _models.ClientRegistration.from_dict(stored)
        if fresh.registration_access_token == used.registration_access_token:
            return None
        self._registration = fresh
        return fresh

    def _manage(
        self,
        client_id: str | None,
        call: Callable[[ClientRegistration, str, str], T],
    ) -> tuple[ClientRegistration, T]:
        """Run ``call(registration, uri, token)`` at the client configuration endpoint.

        On a 401, when another client sharing the storage has replaced the registration (and
        its rotated token) since this one read it, the call is made once more with that one.
        """
        registration, uri, token = self._managed(client_id)
        try:
            return registration, call(registration, uri, token)
        except RegistrationError as exc:
            if exc.status_code != 401 or self._reload_registration(registration) is None:
                if gone := self._forget_if_gone(registration, exc):
                    raise gone from exc
                raise
        registration, uri, token = self._managed(client_id)
        try:
            return registration, call(registration, uri, token)
        except RegistrationError as exc:
            if gone := self._forget_if_gone(registration, exc):
                raise gone from exc
            raise

    def _forget_if_gone(
        self, registration: ClientRegistration, exc: RegistrationError
    ) -> RegistrationError | None:
        """Forget a registration the server no longer knows, so the next call registers anew;
        the error that says so, or None when ``exc`` does not mean that.

        RFC 7592 §2 answers for a client that does not exist, or whose registration access
        token is no longer valid, with 401 ``invalid_token``; real servers also send 403 and
        404. The stored registration and its tokens are deleted. A pre-registered client
        (``client_id`` configured) has nothing to forget.
        """
        if exc.status_code not in _GONE or self.config.client_id is not None:
            return None
        self._forget_token(registration)
        stored = self.storage.retrieve_token(self._registration_key)
        if stored and stored.get("client_id") == registration.client_id:
            self.storage.delete_token(self._registration_key)  # not another's new one
        if self._registration is registration:
            self._registration = None
        self._event(
            "client_forgotten",
            f"the server answered HTTP {exc.status_code} for the registration: forgotten",
            logging.WARNING,
            client_id=registration.client_id,
        )
        return RegistrationError(
            f"{exc.message}; the server no longer knows client {registration.client_id!r} "
            "(RFC 7592 §2): its registration and tokens were forgotten, and the next call "
            "registers anew",
            error_code=exc.error_code,
            error_description=exc.error_description,
            error_uri=exc.error_uri,
            status_code=exc.status_code,
            response=exc.response,
        )

    def get_client_info(self, client_id: str | None = None) -> dict[str, Any]:
        """The client's current registration as the server holds it (RFC 7592 §2.1); stored.

        Raises:
            RegistrationError: the server no longer knows the client (then forgotten: the
                next call registers anew), or gave no management endpoint.
        """

        def read(_: ClientRegistration, uri: str, token: str) -> gen.ClientInformationResponse:
            return self._endpoints.read_client(uri, registration_access_token=token)

        registration, info = self._manage(client_id, read)
        saved = self._save_registration(info, registration)
        return dict(saved.metadata)

    def update_client(self, client_id: str | None = None, **updates: Any) -> dict[str, Any]:
        """Change the registration (RFC 7592 §2.2).

        The server replaces the whole record, so the current metadata is sent with
        ``updates`` merged in; a field set to ``None`` is removed. The response is stored as
        the registration; a new registration access token or client secret in it replaces the
        stored one.

        Raises:
            RegistrationError: the server kept a field set to ``None`` (it merged instead of
                replacing, against RFC 7592 §2.2; what it holds is stored all the same), or
                no longer knows the client (then forgotten: the next call registers anew).
        """
        _registration.check_updates(updates)

        def replace(
            current: ClientRegistration, uri: str, token: str
        ) -> gen.ClientInformationResponse:
            body = _registration.update_body(current, updates)
            return self._endpoints.update_client(uri, body, registration_access_token=token)

        registration, info = self._manage(client_id, replace)
        saved = self._save_registration(info, registration)
        self._event("client_updated", "updated the client registration", client_id=saved.client_id)
        _registration.check_removed(saved, updates)
        return dict(saved.metadata)

    def delete_client(self, client_id: str | None = None) -> bool:
        """Deregister the client (RFC 7592 §2.3) and forget it and its tokens.

        Raises:
            RegistrationError: the server refused; when its answer means it no longer knows
                the client (401, 403, 404), the client is forgotten all the same.
        """

        def delete(_: ClientRegistration, uri: str, token: str) -> None:
            self._endpoints.delete_client(uri, registration_access_token=token)

        registration, _ = self._manage(client_id, delete)
        self._forget_token(registration)
        self.storage.delete_token(self._registration_key)
        self._registration = None
        self._event("client_deleted", "deleted the client", client_id=registration.client_id)
        return True

    # ----------------------------------------------------------------------------- tokens

    def _client_auth(self, registration: ClientRegistration) -> ClientAuth:
        from .._client_auth import client_auth_for

        return client_auth_for(registration, self.config, audience=self.issuer)

    def _token_request(
        self,
        body: gen.TokenRequest,
        registration: ClientRegistration,
        *,
        bound_to: str | None = None,
    ) -> tuple[gen.TokenResponse, str | None]:
        """Send a token request; the response, and the PEM of the DPoP key the token is bound
        to (None for a Bearer token).

        With DPoP on (see ``OAuth2Config.dpop``) every attempt carries a new proof (RFC 9449
        §5), by the key of the token being refreshed (``bound_to``) or else the client's; a
        ``use_dpop_nonce`` answer is retried once with the server's nonce (§8). A ``DPoP``
        token is accepted only when a proof was sent, ``N_A`` only from a token exchange
        (RFC 8693 §2.2.1).
        """
        url = self._endpoint("token_endpoint", TokenError)
        client_auth: ClientAuth = self._client_auth(registration)
        key: DPoPKey | None = None
        if bound_to is not None or self._uses_dpop():
            from .._dpop import ProofOfPossession

            key = self._dpop_key(bound_to)
            client_auth = ProofOfPossession(client_auth, key, self._nonces(), self._clock)
        try:
            response = self._endpoints.request_token(url, body, client_auth=client_auth)
        except TokenError as exc:
            if not (
                key is not None
                and exc.error_code == "use_dpop_nonce"
                and exc.response is not None
                and self._nonces().update(url, exc.response.headers)
            ):
                raise
            response = self._endpoints.request_token(url, body, client_auth=client_auth)
        kind = response.token_type.lower()
        if kind == "dpop" and key is not None:
            return response, key.to_pem()
        exchanged = isinstance(body, gen.TokenExchangeRequest)
        if kind != "bearer" and not (kind == "n_a" and exchanged):
            raise TokenError(
                f"the server issued a {response.token_type!r} token; expected Bearer"
                + (" or DPoP (RFC 9449)" if key is not None else " (DPoP is off for this client)")
            )
        return response, None

    def _use_redirect_uris(self, uris: list[str]) -> None:
        """Redirect to ``uris`` from now on (the browser sign-in's loopback one, chosen when
        it is first needed); a registration without them no longer fits and is replaced."""
        import attrs

        self.config = attrs.evolve(self.config, redirect_uris=uris)

    # ----------------------------------------------------------------------- DPoP

    def _nonces(self) -> DPoPNonces:
        if self._dpop_nonces is None:
            from .._dpop import DPoPNonces

            self._dpop_nonces = DPoPNonces()
        return self._dpop_nonces

    def _uses_dpop(self) -> bool:
        """Whether new tokens are asked for bound to a DPoP key (``OAuth2Config.dpop``)."""
        mode = self.config.dpop
        if mode is True or mode is False:
            return mode
        return self._dpop_asked and bool((self.discover()).dpop_signing_alg_values_supported)

    def _dpop_key(self, pem: str | None = None) -> DPoPKey:
        """The key of a stored token (by its ``pem``), or the one new tokens are bound to: the
        configured ``dpop_key``, else one made for this client with an algorithm the server
        accepts (RFC 9449 §5.1 ``dpop_signing_alg_values_supported``)."""
        from .._dpop import DPoPKey

        config = self.config
        if pem is not None:
            key = self._dpop_keys.get(pem)
            if key is None:
                key = self._dpop_keys[pem] = DPoPKey.from_pem(pem, config.dpop_algorithm)
            return key
        if self._dpop_default is None:
            accepted = (self.discover()).dpop_signing_alg_values_supported or ()
            if config.dpop_key is not None:
                made = DPoPKey.from_pem(config.dpop_key, config.dpop_algorithm)
            else:
                wanted = config.dpop_algorithm or "ES256"
                if accepted and wanted not in accepted and config.dpop_algorithm is None:
                    from .._dpop import (
                        DPOP_ALGORITHMS,  # the server's first one we can sign
                    )

                    wanted = next((alg for alg in accepted if alg in DPOP_ALGORITHMS), wanted)
                made = DPoPKey.generate(wanted)
            if accepted and made.algorithm not in accepted:
                raise ConfigurationError(
                    f"dpop_algorithm: {self.issuer} accepts DPoP proofs signed with "
                    f"{', '.join(accepted)}, not {made.algorithm} (RFC 9449 §5.1)"
                )
            self._dpop_default = made
        return self._dpop_default

    def _resource_headers(self, token: TokenResponse, method: str, url: str) -> dict[str, str]:
        """``Authorization`` for ``token`` at a resource: ``Bearer`` (RFC 6750 §2.1), or
        ``DPoP`` with a new proof for this request (RFC 9449 §7.1: ``ath``, the resource's
        nonce when it gave one)."""
        if token.token_type.lower() != "dpop":
            return {"Authorization": f"Bearer {token.access_token}"}
        if token.dpop_key is None:
            raise TokenError("a DPoP-bound token without its key cannot be used: sign in again")
        from .._dpop import DPoPKey

        key = self._dpop_keys.get(token.dpop_key)
        if key is None:
            key = DPoPKey.from_pem(token.dpop_key, self.config.dpop_algorithm)
            self._dpop_keys[token.dpop_key] = key
        nonce = self._nonces().get(url)
        proof = key.proof(
            method, url, access_token=token.access_token, nonce=nonce, now=self._clock()
        )
        return {"Authorization": f"DPoP {token.access_token}", "DPoP": proof}

    def _resource_nonce(self, token: TokenResponse | None, url: object, response: Any) -> bool:
        """Keep a DPoP resource's nonce; whether ``response`` asks to resend with a new one
        (401 ``use_dpop_nonce``, RFC 9449 §9)."""
        if token is None or token.dpop_key is None:
            return False
        fresh = self._nonces().update(str(url), response.headers)
        if fresh is None or response.status_code != 401:
            return False
        challenge = parse_resource_challenge(
            response.headers.get_list("www-authenticate"), prefer_dpop=True
        )
        return challenge is not None and challenge.error == "use_dpop_nonce"

    def _keep(self, registration: ClientRegistration, token: TokenResponse) -> TokenResponse:
        return self.tokens.store_token(self._token_key(registration.client_id), token)

    def _forget_token(self, registration: ClientRegistration) -> None:
        self.tokens.delete_token(self._token_key(registration.client_id))

    def _stored_token(self, registration: ClientRegistration) -> TokenResponse | None:
        return self.tokens.get_token(self._token_key(registration.client_id))

    def _current_key(self) -> str:
        """The storage key of this client's token (no storage access once registered)."""
        registration = self._registration
        if registration is None:
            registration = self.register()
        return self._token_key(registration.client_id)

    def _held_key(self) -> str:
        """The storage key of this client's token, registering nothing.

        Raises:
            TokenError: this client has no registration yet, so no token either.
        """
        registration = self._registration
        if registration is None:
            if self.config.client_id is not None or self.config.client_metadata_url is not None:
                registration = self.register()  # configured: nothing is registered
            else:
                self._find_issuer()
                registration = self._registration = self._stored_registration()
        if registration is None:
            raise TokenError(
                "no token yet: this client has not signed in with "
                f"{self._issuer or self.config.resource} (authorize with exchange_code, "
                "get_token or the device flow first)"
            )
        return self._token_key(registration.client_id)

    def access_token(self) -> str:
        """A valid access token: the one stored, refreshed when it is about to expire, or,
        for a client credentials or JWT-bearer token, fetched anew (RFC 6749 §4.4.3); with
        ``grant`` set to one of those, fetched when there is none yet. Registers nothing
        (but a machine grant's dynamic registration, when it needs one).

        Raises:
            TokenError: there is none to be had without the user (authorize first), or the
                refresh was refused (``invalid_grant``: sign in again).
        """
        key = self._held_key()
        token = self.tokens.held_token(key)
        if (
            token is None
            and self.config.grant != "authorization_code"
            and self.tokens.get_token(key) is None
        ):  # a machine grant with no token yet: fetch one
            token = self._grant_token(None)
        token = token or self.tokens.get_valid_token(key)
        return token.access_token

    def current_token(self) -> TokenResponse | None:
        """The valid token this client object holds in memory, without asking anyone: None
        when it has none yet (after a restart, until a call such as ``access_token()`` has
        read the storage) or it is about to expire."""
        registration = self._registration
        if registration is None or self._issuer is None:
            return None
        return self.tokens.held_token(self._token_key(registration.client_id))

    def logout(self) -> bool:
        """Sign out: revoke the stored tokens, the refresh token first (RFC 7009 §2.1: it ends
        the grant), and forget what is stored for this client and server (tokens, pending
        authorization requests, the resource's server). The registration is kept.

        Returns whether the server revoked the tokens; they are forgotten either way (a
        server without a revocation endpoint, or one that fails, is logged at WARNING).
        """
        try:
            key = self._held_key()
        except TokenError:
            key = None
        revoked = True
        token = self.tokens.get_token(key) if key is not None else None
        if token is not None and self._registration is not None:
            revoked = self._revoke_all(self._registration, token)
        if key is not None:
            self.tokens.delete_token(key)
        issuer = self._issuer
        for stored in self.storage.list_tokens():
            if issuer is not None and stored.startswith(f"pending:{issuer}:"):
                self.storage.delete_token(stored)
        if self.config.resource is not None and self.config.auth_server is None:
            self.storage.delete_token(resource_key(self.config.resource))
        self._last_state = None
        self._event("logout", "signed out", revoked=revoked)
        return revoked

    def _revoke_all(self, registration: ClientRegistration, token: TokenResponse) -> bool:
        """Revoke ``token``'s refresh token, then its access token; whether both were."""
        url = (self.discover()).revocation_endpoint
        if url is None:
            self._event(
                "logout",
                "the server has no revocation endpoint: tokens only forgotten",
                logging.WARNING,
            )
            return False
        for value, hint in (
            (token.refresh_token, "refresh_token"),
            (token.access_token, "access_token"),
        ):
            if not value:
                continue
            body = gen.RevocationRequest(token=value, token_type_hint=hint)
            try:
                self._endpoints.revoke_token(url, body, client_auth=self._client_auth(registration))
            except OAuth2Error as exc:
                self._event(
                    "logout",
                    f"revoking the {hint} failed ({exc.error_code or exc.status_code}): "
                    "forgotten all the same",
                    logging.WARNING,
                )
                return False
        return True

    def _resources(self, resource: str | None = None) -> list[str] | None:
        chosen = resource or self._resource  # RFC 8707 §2: as the resource publishes it
        return [chosen] if chosen else None

    def get_authorization_url(
        self, scope: str | None = None, state: str | None = None, **params: str
    ) -> str:
        """The URL to send the user to (RFC 6749 §4.1.1), with PKCE S256 (RFC 7636 §4.3).

        ``scope`` None asks for the configured scope, else the protected resource's
        ``scopes_supported`` (RFC 9728 §2, as MCP asks), else for none (the server's default,
        RFC 6749 §3.3); ``""`` asks for none. A random ``state`` is made when none is given
        and a ``nonce`` when ``openid`` is requested. ``redirect_uri`` and ``resource`` (RFC
        8707) may be given in ``params``; other params are added to the query. The pending
        authorization is kept in the storage so another process can handle the callback.
        """
        return self._authorization_url(self._scope(scope), state, params)

    def _scope(self, scope: str | None) -> str | None:
        """The scope a call asks for: ``scope`` as given (``""``: none), else the configured
        one, else the resource's ``scopes_supported`` (RFC 9728 §2), else None: no scope
        parameter, so the server applies its default (RFC 6749 §3.3)."""
        if scope is not None:
            if not isinstance(scope, str):
                raise ValidationError(f"scope: expected a space-separated string, got {scope!r}")
            return scope or None
        if self.config.scope:
            return self.config.scope
        if self.config.resource is not None:
            self._find_issuer()  # reads the resource's metadata when it names the server
        return " ".join(self._resource_scopes) if self._resource_scopes else None

    def _authorization_url(
        self, scope: str | None, state: str | None, params: dict[str, str]
    ) -> str:
        """``get_authorization_url`` with ``scope`` taken as given: None sends no scope (the
        MCP rule when neither the resource nor the configuration names one)."""
        metadata = self.discover()
        methods = metadata.code_challenge_methods_supported or []
        if "S256" not in methods:
            raise AuthorizationError(
                f"{self.issuer} does not advertise PKCE S256 in "
                f"code_challenge_methods_supported ({list(methods)}); refusing to authorize"
            )
        endpoint = self._endpoint("authorization_endpoint", AuthorizationError)
        reserved = sorted(_RESERVED_PARAMS & params.keys())
        if reserved:
            raise ValidationError(
                f"get_authorization_url: {', '.join(reserved)} are set by the client"
            )
        registration = self.register()
        redirect_uri = params.pop("redirect_uri", None) or next(
            iter(self.config.redirect_uris or registration.redirect_uris), None
        )
        if redirect_uri is None:
            raise ConfigurationError("redirect_uris: required for the authorization code flow")
        if registration.redirect_uris and not any(
            redirect_matches(redirect_uri, known) for known in registration.redirect_uris
        ):
            raise ValidationError(f"redirect_uri {redirect_uri!r} is not a registered redirect URI")
        state = state or make_state()
        verifier = make_code_verifier()
        resource = params.pop("resource", None) or self._resource
        pending = _models.PendingAuthorization(
            state=state,
            code_verifier=verifier,
            redirect_uri=redirect_uri,
            issuer=self.issuer,
            client_id=registration.client_id,
            created_at=self._clock(),
            nonce=make_nonce() if scope and "openid" in scope.split() else None,
            scope=scope,
            resource=resource,
        )
        request = gen.AuthorizationRequest(
            client_id=registration.client_id,
            redirect_uri=redirect_uri,
            scope=scope,
            state=state,
            code_challenge=code_challenge(verifier),
            resource=self._resources(resource),
            nonce=pending.nonce,
            extra=params,
        )
        self.storage.store_token(pending_key(self.issuer, state), _models.dump(pending))
        self._last_state = state
        self._event(
            "authorization_request",
            "made an authorization URL",
            logging.DEBUG,
            client_id=registration.client_id,
            scope=scope,
        )
        url = httpx.URL(endpoint).copy_merge_params(gen.converter.unstructure(request))
        return str(require_secure_url(str(url), "authorization URL", error=AuthorizationError))

    def _take_pending(self, state: str) -> PendingAuthorization:
        """The pending authorization for ``state``, removed so it is used once."""
        key = pending_key(self.issuer, state)
        stored = self.storage.retrieve_token(key)
        if not stored:
            raise AuthorizationError(
                "no pending authorization for this state: it was used already, or was not "
                "made by this client",
                error_code="invalid_state",
            )
        self.storage.delete_token(key)
        if self._last_state is not None and same_secret(self._last_state, state):
            self._last_state = None
        pending = _models.load(stored, _models.PendingAuthorization, "pending authorization")
        if not same_secret(pending.state, state):
            raise AuthorizationError("state mismatch", error_code="invalid_state")
        if self._clock() - pending.created_at > PENDING_LIFETIME:
            raise AuthorizationError(
                "the authorization request has expired; start a new one",
                error_code="invalid_state",
            )
        return pending

    def exchange_code(
        self, authorization_code: str, state: str | None = None, *, iss: str | None = None
    ) -> TokenResponse:
        """Exchange an authorization code for tokens (RFC 6749 §4.1.3, RFC 7636 §4.5).

        ``authorization_code`` is the whole callback URL (recommended: its ``state``, ``iss``
        and ``error`` are read from it and checked), or the bare code. The state is checked in
        constant time and used once; a callback URL without ``state`` is refused before
        anything is sent (RFC 6749 §10.12, RFC 9700 §4.7.1: it may carry an injected code).
        ``iss`` is checked against the issuer (RFC 9207 §2.4), from the URL or ``iss=``, and
        required, in every form of the call, when the server advertises
        ``authorization_response_iss_parameter_supported``. An ID Token is validated.

        A bare code without ``state`` (the seed's ``exchange_code(authorization_code)``) is
        exchanged for this client object's last authorization request: the application then
        owns the state check of the callback it took the code from, so pass the callback URL
        instead where you can.
        """
        from .._authorization import parse_callback

        for name, value in (("state", state), ("iss", iss)):
            if value is not None and (not isinstance(value, str) or not _printable(value)):
                raise ValidationError(f"{name}: expected a string of printable characters")
        callback = parse_callback(authorization_code)
        if callback.from_url and callback.state is None:
            refused = f" (it says error={callback.error!r})" if callback.error else ""
            raise AuthorizationError(
                f"the callback URL carries no state{refused}: refusing it, since it cannot be "
                "tied to a request of this client and may carry an injected code (RFC 6749 "
                "§10.12); use the URL the authorization server redirected to, whole",
                error_code="invalid_state",
            )
        if (
            state is not None
            and callback.state is not None
            and not same_secret(state, callback.state)
        ):
            raise AuthorizationError(
                "state mismatch between the callback and the state given",
                error_code="invalid_state",
            )
        if iss is not None and callback.iss is not None and iss != callback.iss:
            raise AuthorizationError(
                f"iss mismatch: the callback URL says {callback.iss!r}, iss= says {iss!r}",
                error_code="invalid_issuer",
            )
        state = state or callback.state or self._last_state
        if state is None:
            raise ValidationError("state: pass the state of the request, or the callback URL")
        issuer = iss if iss is not None else callback.iss
        metadata = self.discover()  # the pending request is kept under the issuer's key
        if (
            issuer is None
            and callback.error is None
            and metadata.authorization_response_iss_parameter_supported
        ):
            # Before the pending request is used: the caller can try again with the URL.
            raise AuthorizationError(
                "no iss came with the callback though the server sends it (RFC 9207 §2.4): "
                "pass the whole callback URL as authorization_code, or iss=<its iss parameter>",
                error_code="invalid_issuer",
            )
        pending = self._take_pending(state)
        if callback.error is not None:
            raise AuthorizationError(
                f"the authorization server refused: {callback.error}"
                + (f": {callback.error_description}" if callback.error_description else ""),
                error_code=callback.error,
                error_description=callback.error_description,
                error_uri=callback.error_uri,
            )
        if issuer is not None and not same_issuer(issuer, pending.issuer):
            raise AuthorizationError(
                f"the callback's iss {issuer!r} is not the issuer {pending.issuer!r} (RFC 9207)",
                error_code="invalid_issuer",
            )
        assert callback.code is not None  # a callback without error carries a code
        registration = self.register()
        body = gen.AuthorizationCodeTokenRequest(
            code=callback.code,
            code_verifier=pending.code_verifier,
            redirect_uri=pending.redirect_uri,
            resource=self._resources(pending.resource),
        )
        try:
            wire, bound = self._token_request(body, registration)
        except TokenError as exc:
            raise same_failure(CodeExchangeError, exc) from exc
        token = _models.TokenResponse.from_wire(wire, now=self._clock(), dpop_key=bound)
        if token.id_token is not None:
            self._validate_id_token(token.id_token, registration, pending.nonce)
        kept = self._keep(registration, token)
        self._got_token(registration, kept, "authorization_code", asked=pending.scope)
        return kept

    def _jwks(self) -> gen.JsonWebKeySet:
        return self._endpoints.get_jwks(self._endpoint("jwks_uri", DiscoveryError))

    def _validate_id_token(
        self,
        id_token: str,
        registration: ClientRegistration,
        nonce: str | None,
        *,
        require_nonce: bool = True,
    ) -> dict[str, Any]:
        """OpenID Connect Core §3.1.3.7, with the keys at ``jwks_uri``."""
        from .. import _jwt  # ID tokens and JWTs only: not loaded at import

        return _jwt.validate_id_token(
            id_token,
            jwks=self._jwks(),
            issuer=(self.discover()).issuer,
            client_id=registration.client_id,
            nonce=nonce,
            algorithms=self.config.id_token_algorithms,
            leeway=self.config.clock_skew,
            now=self._clock(),
            require_nonce=require_nonce,
        )

    def refresh_grant(self, token: TokenResponse) -> TokenResponse:
        """Exchange ``token``'s refresh token for a new token (RFC 6749 §6); stores nothing.

        A client credentials token has none: a new one is fetched by that grant (§4.4.3); so
        is one from the JWT-bearer grant, with a new assertion (RFC 7523 §2.1).

        ``SyncTokenManager`` calls it (the ``SyncRefresher`` protocol). Applications call
        ``refresh_token``, which keeps the result, or let ``authenticated_request`` refresh.

        Raises:
            TokenError: ``token`` has no refresh token, or the server refused it.
        """
        if not token.refresh_token:
            if token.grant_type == CLIENT_CREDENTIALS:  # RFC 6749 §4.4.3: fetched anew
                return self._client_credentials(token.scope)
            if token.grant_type == JWT_BEARER and self.config.grant_type == JWT_BEARER:
                return self._jwt_bearer(token.scope)  # with a new assertion
            raise TokenError("the token has no refresh token; authorize again")
        return self._refresh_with(token.refresh_token, token)

    def _refresh_with(self, refresh_token: str, previous: TokenResponse | None) -> TokenResponse:
        """The refresh grant with ``refresh_token``, the one of ``previous`` when known.

        A refresh token the server did not replace is kept; an ID Token that comes back is
        validated against the first one's nonce (OpenID Connect Core §12.2).
        """
        from .. import _jwt  # ID tokens and JWTs only: not loaded at import

        registration = self.register()
        body = gen.RefreshTokenRequest(refresh_token=refresh_token, resource=self._resources())
        wire, bound = self._token_request(
            body, registration, bound_to=previous.dpop_key if previous is not None else None
        )
        fresh = _models.TokenResponse.from_wire(
            wire, now=self._clock(), previous=previous, refresh_token=refresh_token, dpop_key=bound
        )
        if fresh.id_token is not None:
            earlier = _jwt.peek_claims(previous.id_token) if previous and previous.id_token else {}
            nonce = earlier.get("nonce")
            claims = self._validate_id_token(
                fresh.id_token,
                registration,
                nonce if isinstance(nonce, str) else None,
                require_nonce=False,
            )
            _same_user(earlier, claims)
        self._count("token_refreshes")
        return fresh

    def refresh_token(self, refresh_token: str | None = None) -> TokenResponse:
        """Get a new access token with a refresh token (RFC 6749 §6).

        Without an argument the stored token is refreshed, once however many callers ask at the
        same time (see ``SyncTokenManager``). ``invalid_grant`` removes the stored token: the user
        must authorize again.
        """
        key = self._current_key()
        stored = self.tokens.get_token(key)
        if refresh_token is None or (stored is not None and stored.refresh_token == refresh_token):
            if stored is None or not stored.refresh_token:
                raise TokenError("there is no refresh token to use; authorize again")
            return self.tokens.refresh_token(key, stored)
        fresh = self._refresh_with(refresh_token, None)
        kept = self.tokens.store_token(key, fresh)
        self._event(
            "token_refresh",
            "refreshed a token given by the caller",
            client_id=self._registration.client_id if self._registration else None,
            expires_in=kept.expires_in,
            scope=kept.scope,
        )
        return kept

    def get_token(self, scope: str | None = None, *, force: bool = False) -> TokenResponse:
        """A token for the client itself: the client credentials grant (RFC 6749 §4.4).

        The token already held is returned while it is valid and covers ``scope`` (``force``
        fetches a new one anyway); it comes with no refresh token (§4.4.3), so
        ``authenticated_request`` and ``access_token`` fetch a new one when it expires. When
        the server no longer knows a dynamically registered client (``invalid_client``), the
        client registers again, once, and retries.
        """
        wanted = self._scope(scope)
        registration = self.register()
        key = self._token_key(registration.client_id)
        if not force:
            held = self.tokens.get_token(key)
            if (
                held is not None
                and held.grant_type == CLIENT_CREDENTIALS
                and not held.is_expired(self.tokens.skew, now=self._clock())
                and _covers(held.scope, wanted)
            ):
                return held
        fresh = self._client_credentials(wanted)
        return self._keep(self._registration or registration, fresh)

    def _client_credentials(self, scope: str | None) -> TokenResponse:
        """A new token by the client credentials grant, not stored (RFC 6749 §4.4.2)."""
        supported = (self.discover()).grant_types_supported
        if supported is not None and CLIENT_CREDENTIALS not in supported:
            raise TokenError(
                f"{self.issuer} does not offer the client_credentials grant "
                f"(grant_types_supported: {list(supported)})",
                error_code="unsupported_grant_type",
            )
        body = gen.ClientCredentialsTokenRequest(scope=scope, resource=self._resources())
        registration = self.register()
        try:
            wire, bound = self._token_request(body, registration)
        except TokenError as exc:
            if exc.error_code != "invalid_client" or self.config.client_id is not None:
                raise
            registration = self.register(force=True)
            wire, bound = self._token_request(body, registration)
        token = _models.TokenResponse.from_wire(
            wire, now=self._clock(), grant_type=CLIENT_CREDENTIALS, dpop_key=bound
        )
        self._got_token(registration, token, CLIENT_CREDENTIALS, asked=scope)
        return token

    def jwt_bearer_grant(
        self, assertion: str | None = None, *, scope: str | None = None
    ) -> TokenResponse:
        """A token for a JWT assertion: the JWT-bearer grant (RFC 7523 §2.1), kept in storage.

        ``assertion`` defaults to the configured source (``OAuth2Config.assertion``, or an
        ID-JAG from the ``idp``: enterprise-managed authorization). The token comes with no
        refresh token; ``access_token``, ``authenticated_request`` and ``httpx_auth`` fetch a
        new one with a new assertion when it expires. A refusal (``invalid_grant``,
        ``invalid_scope``, ``unauthorized_client``) is raised as is: never retried, never
        answered with another grant (SEP-1933).

        Raises:
            TokenError: the server refused the assertion, or there is none to present.
        """
        wanted = self._scope(scope)
        registration = self.register()
        fresh = self._jwt_bearer(wanted, assertion)
        return self._keep(self._registration or registration, fresh)

    def _jwt_bearer(self, scope: str | None, assertion: str | None = None) -> TokenResponse:
        """A new token by the JWT-bearer grant, not stored (RFC 7523 §2.1)."""
        if assertion is None:
            assertion = self._assertion()
        body = gen.JwtBearerTokenRequest(
            assertion=assertion, scope=scope, resource=self._resources()
        )
        registration = self.register()
        wire, bound = self._token_request(body, registration)
        token = _models.TokenResponse.from_wire(
            wire, now=self._clock(), grant_type=JWT_BEARER, dpop_key=bound
        )
        self._got_token(registration, token, JWT_BEARER, asked=scope)
        return token

    def _assertion(self) -> str:
        """The assertion to present now: the configured one (or what its function returns),
        or an ID-JAG the IdP issues for the user's ID token (SEP-990)."""
        config = self.config
        if config.idp is not None:
            id_token = config.id_token() if callable(config.id_token) else config.id_token
            id_token = sync_resolve(id_token)
            if not isinstance(id_token, str) or not id_token:
                raise ConfigurationError("id_token: expected the user's ID token, a str")
            resource = self._resource or config.resource
            made = sync_resolve(
                config.idp.request_id_jag(id_token, audience=self.issuer, resource=resource)
            )
            assertion: object = made
        else:
            source = config.assertion
            if source is None:
                raise TokenError(
                    "no assertion to present: pass one, or configure assertion= (or idp= and "
                    "id_token=) with grant='jwt_bearer'"
                )
            assertion = sync_resolve(source() if callable(source) else source)
        if not isinstance(assertion, str) or not assertion:
            raise ConfigurationError("assertion: the function must return the JWT, a str")
        return assertion

    def token_exchange(
        self,
        subject_token: str,
        subject_token_type: str,
        *,
        requested_token_type: str | None = None,
        audience: str | list[str] | None = None,
        resource: str | list[str] | None = None,
        scope: str | None = None,
        actor_token: str | None = None,
        actor_token_type: str | None = None,
    ) -> TokenResponse:
        """Exchange a token for another at this server (RFC 8693 §2.1); stores nothing.

        ``subject_token_type`` and ``requested_token_type`` are RFC 8693 §3 URIs
        (``urn:ietf:params:oauth:token-type:access_token``, ``...:id_token``, ``...:id-jag``
        …); ``audience`` and ``resource`` name where the new token is for. The answer's
        ``issued_token_type`` says what was issued (``token_type`` may be ``N_A`` for a token
        that is not an access token, §2.2.1).

        Raises:
            TokenError: the server refused (``invalid_request``, ``invalid_target``, …).
        """
        if (actor_token is None) != (actor_token_type is None):
            raise ValidationError("actor_token and actor_token_type: give both, or neither")
        registration = self.register()
        body = gen.TokenExchangeRequest(
            subject_token=subject_token,
            subject_token_type=subject_token_type,
            actor_token=actor_token,
            actor_token_type=actor_token_type,
            requested_token_type=requested_token_type,
            audience=[audience] if isinstance(audience, str) else audience,
            resource=[resource] if isinstance(resource, str) else resource,
            scope=scope,
        )
        wire, bound = self._token_request(body, registration)
        if wire.issued_token_type is None:
            raise TokenError(
                "the token exchange response has no issued_token_type (RFC 8693 §2.2.1)"
            )
        token = _models.TokenResponse.from_wire(
            wire, now=self._clock(), grant_type=_config.TOKEN_EXCHANGE_GRANT, dpop_key=bound
        )
        self._got_token(registration, token, _config.TOKEN_EXCHANGE_GRANT, asked=scope)
        return token

    def request_id_jag(
        self, id_token: str, *, audience: str, resource: str | None = None, scope: str | None = None
    ) -> str:
        """An Identity Assertion JWT Authorization Grant for the user of ``id_token``, from this
        client's server acting as the enterprise IdP (SEP-990: RFC 8693 token exchange with
        ``requested_token_type`` ``urn:ietf:params:oauth:token-type:id-jag``). ``audience`` is
        the issuer of the authorization server that will take it, ``resource`` the MCP server.

        Raises:
            TokenError: the IdP refused, or issued something other than an ID-JAG.
        """
        token = self.token_exchange(
            id_token,
            ID_TOKEN_TYPE,
            requested_token_type=ID_JAG_TYPE,
            audience=audience,
            resource=resource,
            scope=scope,
        )
        if token.issued_token_type != ID_JAG_TYPE:
            raise TokenError(
                f"the IdP issued a {token.issued_token_type!r}, not an ID-JAG ({ID_JAG_TYPE})"
            )
        return token.access_token

    def _grant_token(self, scope: str | None) -> TokenResponse:
        """A new token, kept, by the configured machine grant (``OAuth2Config.grant``)."""
        if self.config.grant_type == JWT_BEARER:
            return self.jwt_bearer_grant(scope=scope)
        return self.get_token(scope, force=True)

    def revoke_token(self, token: str | TokenResponse, token_type: str = "access_token") -> bool:
        """Revoke a token (RFC 7009 §2.1); a stored token it belongs to is forgotten."""
        if token_type not in ("access_token", "refresh_token"):
            raise ValidationError("token_type: expected 'access_token' or 'refresh_token'")
        value = _models.token_value(token, token_type)
        url = self._endpoint("revocation_endpoint", TokenError)
        registration = self.register()
        body = gen.RevocationRequest(token=value, token_type_hint=token_type)
        self._endpoints.revoke_token(url, body, client_auth=self._client_auth(registration))
        self._count("token_revocations")
        self._event(
            "token_revoked",
            f"revoked a token ({token_type})",
            client_id=registration.client_id,
            token_type=token_type,
        )
        stored = self._stored_token(registration)
        if stored is not None and value in (stored.access_token, stored.refresh_token):
            self._forget_token(registration)
        return True

    def introspect_token(self, token: str | TokenResponse) -> dict[str, Any]:
        """What the server says of a token (RFC 7662 §2.2): ``active``, ``scope``, ``exp``…"""
        url = self._endpoint("introspection_endpoint", TokenError)
        registration = self.register()
        body = gen.IntrospectionRequest(token=_models.token_value(token, "access_token"))
        result = self._endpoints.introspect_token(
            url, body, client_auth=self._client_auth(registration)
        )
        introspection: dict[str, Any] = gen.converter.unstructure(result)
        return introspection

    def validate_token(self, token: str | TokenResponse) -> dict[str, Any]:
        """Introspect the token (RFC 7662), or, without an introspection endpoint, validate a
        JWT access token locally with the server's keys (RFC 9068 §4)."""
        from .. import _jwt  # ID tokens and JWTs only: not loaded at import

        metadata = self.discover()
        value = _models.token_value(token, "access_token")
        if metadata.introspection_endpoint is not None:
            try:
                return self.introspect_token(value)
            except TokenError as exc:
                # Some servers (oidc-provider) do not introspect the JWTs they issue.
                if exc.error_code != "unsupported_token_type" or not _jwt.is_jwt(value):
                    raise
        elif not _jwt.is_jwt(value):
            raise TokenError("the server has no introspection endpoint and the token is not a JWT")
        return _jwt.validate_jwt_access_token(
            value,
            jwks=self._jwks(),
            issuer=metadata.issuer,
            audience=self.config.resource,
            algorithms=self.config.id_token_algorithms,
            leeway=self.config.clock_skew,
            now=self._clock(),
        )

    # --------------------------------------------------------------------------- device flow

    def start_device_authorization(self, scope: str | None = None) -> DeviceAuthorization:
        """Start the device flow (RFC 8628 §3.1): show the user ``user_code`` and the URI."""
        url = self._endpoint("device_authorization_endpoint", AuthorizationError)
        registration = self.register()
        body = gen.DeviceAuthorizationRequest(scope=self._scope(scope), resource=self._resources())
        response = self._endpoints.request_device_authorization(
            url, body, client_auth=self._client_auth(registration)
        )
        for name in ("verification_uri", "verification_uri_complete"):
            shown = getattr(response, name)
            if shown is not None:  # handed to a person, to open: the rules of every endpoint
                require_secure_url(shown, f"the device flow's {name}", error=AuthorizationError)
        device = _models.DeviceAuthorization.from_wire(response, now=self._clock())
        self._devices[device.device_code] = device
        self._event(
            "device_authorization",
            "started a device authorization",
            client_id=registration.client_id,
            expires_in=response.expires_in,
            interval=device.interval,
        )
        return device

    def poll_device_authorization(
        self,
        device_code: str,
        *,
        interval: float | None = None,
        timeout: float | None = None,
        on_pending: Callable[[float], object] | None = None,
    ) -> TokenResponse:
        """Poll until the user approves (RFC 8628 §3.4, §3.5).

        Waits ``interval`` seconds between polls (the server's, or 5), 5 more after each
        ``slow_down``; ``authorization_pending`` keeps polling; ``access_denied`` and
        ``expired_token`` raise ``AuthorizationError``. Gives up at the device code's expiry
        or after ``timeout`` seconds. Cancel the task (asyncio) to stop early. ``on_pending``
        is called before each poll with the seconds left, so a UI can show progress (a
        coroutine function is awaited).
        """
        device = self._devices.get(device_code)
        wait = interval if interval is not None else (device.interval if device else 5)
        deadline = device.expires_at if device else self._clock() + 1800
        if timeout is not None:
            deadline = min(deadline, self._clock() + timeout)
        registration = self.register()
        body = gen.DeviceCodeTokenRequest(device_code=device_code, resource=self._resources())
        while True:
            if self._clock() + wait > deadline:
                raise AuthorizationError(
                    "the device code expired before the user approved it",
                    error_code="expired_token",
                )
            sync_sleep(wait)
            if on_pending is not None:
                sync_settle(on_pending(max(0.0, deadline - self._clock())))
            try:
                wire, bound = self._token_request(body, registration)
            except TokenError as exc:
                if exc.error_code == "authorization_pending":
                    continue
                if exc.error_code == "slow_down":
                    wait += 5
                    continue
                raise same_failure(AuthorizationError, exc) from exc
            self._devices.pop(device_code, None)
            token = _models.TokenResponse.from_wire(wire, now=self._clock(), dpop_key=bound)
            kept = self._keep(registration, token)
            self._got_token(registration, kept, "urn:ietf:params:oauth:grant-type:device_code")
            return kept

    def device_login(
        self,
        on_code: Callable[[DeviceAuthorization], object],
        *,
        scope: str | None = None,
        timeout: float | None = None,
        on_pending: Callable[[float], object] | None = None,
    ) -> TokenResponse:
        """The whole device flow (RFC 8628): start it, hand the user code and URI to
        ``on_code`` to show (a coroutine function is awaited), and poll until the user
        approves; the token is stored and returned."""
        device = self.start_device_authorization(scope)
        sync_settle(on_code(device))
        return self.poll_device_authorization(
            device.device_code, timeout=timeout, on_pending=on_pending
        )

    # ---------------------------------------------------------------- protected resources

    def httpx_auth(
        self, *, authorize: Authorize | None = None, max_step_ups: int = 2
    ) -> SyncOAuth2Auth:
        """An ``httpx.Auth`` for an ``httpx.Client`` that calls the protected resource.

        It sends this client's token, refreshes it, and answers the resource's 401 and 403
        challenges: discovery and authorization through ``authorize`` (authorization URL in,
        callback URL out, sync or async), step-up at most ``max_step_ups`` times per request.
        See ``SyncOAuth2Auth``.
        """
        from .auth import SyncOAuth2Auth

        return SyncOAuth2Auth(self, authorize=authorize, max_step_ups=max_step_ups)

    def httpx2_auth(
        self, *, authorize: Authorize | None = None, max_step_ups: int = 2
    ) -> httpx2.Auth:
        """``httpx_auth`` for an ``httpx2.Client`` (the MCP Python SDK 2.x's HTTP client)::

            streamable_http_client(url, http_client=httpx2.Client(auth=client.httpx2_auth()))

        Raises:
            ConfigurationError: ``httpx2`` is not installed (the ``[httpx2]`` extra).
        """
        from .auth import httpx2_auth_class

        made: httpx2.Auth = httpx2_auth_class()(  # type: ignore[call-arg]
            self, authorize=authorize, max_step_ups=max_step_ups
        )
        return made

    def _held_token(self) -> TokenResponse | None:
        """This client's valid token, refreshed when due; None when there is none to use.

        Registers nothing and, but for a refresh, asks the authorization server nothing: a
        program restarted with a valid token in storage goes straight to the resource.
        """
        if self._issuer is None and not self._recall_resource():
            return None
        if self._registration is None:
            if self.config.client_id is None and self.config.client_metadata_url is None:
                self._registration = self._stored_registration()  # never registers
                if self._registration is None:
                    return None
            else:
                self.register()  # a configured client: nothing is registered
        assert self._registration is not None
        try:
            return self.tokens.get_valid_token(self._token_key(self._registration.client_id))
        except TokenError:  # none stored, or expired with no refresh token, or refused
            return None

    def _refresh_held(self, token: TokenResponse) -> TokenResponse | None:
        """``token`` refreshed after the resource called it invalid; None if that is refused."""
        assert self._registration is not None
        try:
            return self.tokens.refresh_token(self._token_key(self._registration.client_id), token)
        except TokenError:
            return None

    def authenticated_request(
        self, method: str, url: str, token: str | TokenResponse | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Send a request with ``Authorization: Bearer`` (RFC 6750 §2.1).

        Without ``token`` the stored token is used, refreshed before it expires, and refreshed
        once more (with one retry) if the resource answers 401 ``invalid_token``. ``kwargs``
        go to ``httpx`` (``json``, ``params``, ``headers``…). The URL must be https, or http
        on loopback, so the token is never sent in clear over a network. Redirects are not
        followed: a 3xx comes back as the response (``follow_redirects=True`` raises
        ``ValidationError``), so the token goes only to the URL given. A URL or an option
        httpx cannot take raises ``ValidationError`` too.
        """
        require_bearer_url(str(url))
        refuse_redirects(kwargs)
        headers = kwargs.pop("headers", None)
        if token is not None:
            if isinstance(token, str):
                token = _models.TokenResponse(
                    access_token=_models.token_value(token, "access_token")
                )
            return self._send_with(method, url, token, headers, kwargs)
        registration = self._registration
        key = (
            self._token_key(registration.client_id)
            if registration is not None
            else self._held_key()
        )
        current = self.tokens.held_token(key) or self.tokens.get_valid_token(key)
        response = self._send_with(method, url, current, headers, kwargs)
        if (
            response.status_code == 401
            and current.refresh_token
            and (
                challenge := parse_resource_challenge(
                    response.headers.get_list("www-authenticate"),
                    prefer_dpop=current.dpop_key is not None,
                )
            )
            and challenge.error == "invalid_token"  # RFC 6750 §3.1
        ):
            response.close()
            refreshed = self.tokens.refresh_token(key, current)
            response = self._send_with(method, url, refreshed, headers, kwargs)
        return response

    def _send_with(
        self,
        method: str,
        url: str,
        token: TokenResponse,
        headers: Any,
        options: Mapping[str, Any],
    ) -> httpx.Response:
        """Send with ``token`` (``Bearer``, or ``DPoP`` and a proof), over the caller's
        ``headers`` (the per-request path: no context manager, no copy of headers the caller
        did not give); a DPoP resource's ``use_dpop_nonce`` is answered once (RFC 9449 §9)."""
        response = self._send_once(method, url, token, headers, options)
        if self._resource_nonce(token, url, response):
            response.close()
            response = self._send_once(method, url, token, headers, options)
        return response

    def _send_once(
        self,
        method: str,
        url: str,
        token: TokenResponse,
        headers: Any,
        options: Mapping[str, Any],
    ) -> httpx.Response:
        if token.dpop_key is None:
            added: dict[str, str] = {"Authorization": f"Bearer {token.access_token}"}
        else:
            added = self._resource_headers(token, method, url)
        if headers is None:
            merged: Any = added
        else:
            merged = httpx.Headers(headers)
            merged.update(added)
        try:
            request = self._http.build_request(method, url, headers=merged, **options)
        except (httpx.InvalidURL, TypeError) as exc:  # a bad URL, option or body: the caller's
            raise ValidationError(f"authenticated_request: cannot build it: {exc}") from exc
        require_port(request.url, "authenticated_request")
        started = time.perf_counter()
        try:
            response = self._http.send(request)
        except httpx.TransportError as exc:
            error = transport_error("authenticated_request", request, exc)
            record_resource_request(self._metrics, request, started, None, error)
            raise error from exc
        if self._metrics is not None or client_logger.isEnabledFor(logging.DEBUG):
            record_resource_request(self._metrics, request, started, response, None)
        return response


def _strings(value: object) -> bool:
    """Whether ``value`` is None or a list of strings (a stored ``scopes_supported``)."""
    return value is None or (isinstance(value, list) and all(isinstance(x, str) for x in value))


def _same_user(earlier: Mapping[str, Any], claims: Mapping[str, Any]) -> None:
    """A refreshed ID Token must name the user of the first (OpenID Connect Core §12.2: same
    ``iss``, ``sub`` and ``aud``), so a refresh cannot switch who is signed in.

    Raises:
        TokenError: it names another (nothing is stored).
    """
    if not earlier:
        return

    def audience(value: Any) -> set[str]:
        return {value} if isinstance(value, str) else set(value or ())

    changed = [name for name in ("iss", "sub") if earlier.get(name) != claims.get(name)]
    if audience(earlier.get("aud")) != audience(claims.get("aud")):
        changed.append("aud")
    if changed:
        raise TokenError(
            f"the refreshed ID Token changes {', '.join(changed)} of the first one: it names "
            "another user or client (OpenID Connect Core §12.2); refusing it, the stored "
            "token is kept",
            error_code="invalid_id_token",
        )


def _printable(value: str) -> bool:
    """Whether ``value`` holds printable characters only (no control or surrogate ones)."""
    return value.isprintable()


def _covers(granted: str | None, wanted: str | None) -> bool:
    """Whether a token granted ``granted`` serves a request for ``wanted`` (None: any)."""
    if wanted is None:
        return True
    return granted is not None and set(wanted.split()) <= set(granted.split())
