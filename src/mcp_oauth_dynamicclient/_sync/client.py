# Generated from _async/client.py by mcp-oauth-dynamicclient codegen (unasync). Do not edit.
"""``SyncOAuth2Client``: the whole client lifecycle against an MCP authorization server, blocking.

Discovery (RFC 8414), registration (RFC 7591) and its management (RFC 7592), authorization
code with PKCE (RFC 7636, RFC 9207), refresh (RFC 6749 §6), revocation (RFC 7009),
introspection (RFC 7662), client credentials (RFC 6749 §4.4), the device flow (RFC 8628) and
authenticated requests (RFC 6750). The blocking ``SyncOAuth2Client`` is generated from this file.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from functools import partial
from types import TracebackType
from typing import Any, TypeVar

import httpx

# The generated models load on the first call to a server, not at import (PEP 562).
from .. import _generated as gen
from .._authorization import parse_callback
from .._client_auth import ClientSecretBasic, ClientSecretPost, NoClientAuth
from .._concurrency import sync_sleep
from .._config import OAuth2Config, config_from
from .._discovery import check_metadata, discovery_urls
from .._logging import CLIENT, client_logger, emit
from .._models import (
    ClientRegistration,
    DeviceAuthorization,
    PendingAuthorization,
    TokenResponse,
    dump,
    load,
)
from .._pkce import (
    code_challenge,
    make_code_verifier,
    make_nonce,
    make_state,
    same_secret,
)
from .._ratelimit import RateLimit
from .._retry import RetryConfig
from .._urls import require_bearer_url, require_secure_url, same_issuer
from .._wire import ClientAuth, safe_url, send_errors
from ..exceptions import (
    AuthorizationError,
    ConfigurationError,
    DiscoveryError,
    OAuth2Error,
    RegistrationError,
    TokenError,
    ValidationError,
)
from ..metrics import MetricsSink
from .sender import SyncSender, error_key
from .storage import SyncMemoryStorage, SyncTokenStorage
from .token_manager import SyncTokenManager

__all__ = ["SyncOAuth2Client"]

T = TypeVar("T")

PENDING_LIFETIME = 600
"""Seconds an authorization request waits for its callback before it is refused."""
_RESERVED_PARAMS = frozenset(
    {"response_type", "client_id", "code_challenge", "code_challenge_method", "state", "nonce"}
)
_NOT_UPDATABLE = frozenset(
    {
        "registration_access_token",
        "registration_client_uri",
        "client_secret_expires_at",
        "client_id_issued_at",
    }
)


def _as_error(kind: type[OAuth2Error], exc: OAuth2Error) -> OAuth2Error:
    """The same failure as another class of the hierarchy (the seed's exchange_code contract)."""
    return kind(
        exc.message,
        error_code=exc.error_code,
        error_description=exc.error_description,
        error_uri=exc.error_uri,
        status_code=exc.status_code,
        response=exc.response,
        retry_after=exc.retry_after,
    )


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
        **settings: Any,
    ) -> None:
        self.config = config_from(auth_server, config, settings)
        self.storage = storage if storage is not None else SyncMemoryStorage()
        self._owns_http = http_client is None
        self._http = (
            http_client if http_client is not None else httpx.Client(timeout=self.config.timeout)
        )
        if retry_config is not None and not isinstance(retry_config, RetryConfig):
            raise ConfigurationError("retry_config: expected a RetryConfig")
        if rate_limit is not None and not isinstance(rate_limit, RateLimit):
            raise ConfigurationError("rate_limit: expected a RateLimit")
        if metrics_collector is not None and not isinstance(metrics_collector, MetricsSink):
            raise ConfigurationError(
                "metrics_collector: expected a MetricsCollector (or an object with "
                "record_request, count and record_error)"
            )
        self._metrics = metrics_collector
        self._sender = SyncSender(
            self._http, retry=retry_config, rate_limit=rate_limit, metrics=metrics_collector
        )
        self._clock = clock if clock is not None else time.time
        self._metadata: gen.AuthorizationServerMetadata | None = None
        self._registration: ClientRegistration | None = None
        self._last_state: str | None = None
        self._devices: dict[str, DeviceAuthorization] = {}
        self.tokens = SyncTokenManager(
            self.storage,
            refresher=self._refresh_grant,
            skew=self.config.clock_skew,
            clock=self._clock,
        )

    def __repr__(self) -> str:
        client_id = self._registration.client_id if self._registration else None
        server = self.config.auth_server
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
                auth_server=self.config.auth_server,
                **fields,
            )

    def _count(self, event: str) -> None:
        if self._metrics is not None:
            self._metrics.count(event)

    def _got_token(
        self, registration: ClientRegistration, token: TokenResponse, grant_type: str
    ) -> None:
        """Count and log tokens obtained by a grant (never the tokens themselves)."""
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

    # ------------------------------------------------------------------------- discovery

    def discover(self) -> gen.AuthorizationServerMetadata:
        """The server's metadata (RFC 8414), fetched once per client, in the MCP order."""
        if self._metadata is not None:
            return self._metadata
        tried = []
        for url in discovery_urls(self.config.issuer):
            try:
                metadata = self._sender.send(
                    "get_authorization_server_metadata",
                    partial(gen.operations.build_get_authorization_server_metadata, url),
                    gen.operations.parse_get_authorization_server_metadata,
                    idempotent=True,
                )
            except DiscoveryError as exc:
                if exc.status_code is None or exc.status_code >= 500 or exc.status_code == 429:
                    raise  # the server is there but unwell or busy: not "no metadata here"
                tried.append(f"{url} ({exc.message})")
                continue
            check_metadata(metadata, self.config.issuer)
            self._metadata = metadata
            self._event(
                "discovery",
                f"discovered the authorization server metadata at {safe_url(url)}",
                issuer=metadata.issuer,
                url=safe_url(url),
            )
            return metadata
        raise DiscoveryError(
            f"no authorization server metadata for {self.config.issuer}: " + "; ".join(tried)
        )

    def _endpoint(self, name: str, error: type[OAuth2Error]) -> str:
        url: str | None = getattr(self.discover(), name)
        if url is None:
            raise error(f"{self.config.issuer} does not advertise a {name} in its metadata")
        return url

    # ---------------------------------------------------------------------- registration

    @property
    def _registration_key(self) -> str:
        return f"registration:{self.config.issuer}"

    def _token_key(self, client_id: str) -> str:
        return f"token:{self.config.issuer}:{client_id}"

    def _pending_key(self, state: str) -> str:
        digest = hashlib.sha256(state.encode()).hexdigest()
        return f"pending:{self.config.issuer}:{digest}"

    def _usable(self, registration: ClientRegistration) -> bool:
        """Whether a stored registration still fits the config and has not expired."""
        now = self._clock()
        config = self.config
        lifetime = config.client_lifetime
        return (
            same_issuer(registration.issuer, config.issuer)
            and not registration.secret_expired(now=now, skew=config.clock_skew)
            and not (lifetime and now - registration.registered_at > lifetime)
            and registration.token_endpoint_auth_method == config.token_endpoint_auth_method
            and set(config.redirect_uris) <= set(registration.redirect_uris)
        )

    def _client_metadata(self, metadata: gen.AuthorizationServerMetadata) -> gen.ClientMetadata:
        config = self.config
        grants = config.wanted_grant_types(metadata.grant_types_supported)
        return gen.ClientMetadata(
            redirect_uris=list(config.redirect_uris) or None,
            token_endpoint_auth_method=config.token_endpoint_auth_method,
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
        )

    def _save_registration(
        self, info: gen.ClientInformationResponse, previous: ClientRegistration | None = None
    ) -> ClientRegistration:
        """Keep a registration from a client information response (RFC 7591 §3.2.1, 7592 §3).

        A field the response leaves out keeps its previous value: a server that does not
        rotate the registration access token on an update still accepts the old one.
        """
        payload = {**(previous.metadata if previous else {}), **gen.converter.unstructure(info)}
        registration = ClientRegistration.from_information(
            gen.converter.structure(payload, gen.ClientInformationResponse),
            issuer=self.config.issuer,
            registered_at=previous.registered_at if previous else self._clock(),
            payload=payload,
        )
        if (
            registration.token_endpoint_auth_method
            in ("client_secret_basic", "client_secret_post", "client_secret_jwt")
            and not registration.client_secret
        ):
            raise RegistrationError(
                f"the server registered a {registration.token_endpoint_auth_method} client "
                "without a client_secret"
            )
        self.storage.store_token(self._registration_key, registration.to_dict())
        self._registration = registration
        return registration

    def register(self, *, force: bool = False) -> ClientRegistration:
        """Register this client (RFC 7591 §3.1), or reuse the registration already stored.

        A stored registration is reused while it fits the config and its secret has not
        expired; ``force=True`` registers anew. A client configured with ``client_id`` is
        pre-registered and never registers.
        """
        config = self.config
        if config.client_id is not None:
            if self._registration is None:
                self._registration = ClientRegistration(
                    client_id=config.client_id,
                    client_secret=config.client_secret,
                    redirect_uris=config.redirect_uris,
                    scope=config.scope,
                    token_endpoint_auth_method=config.token_endpoint_auth_method,
                    client_name=config.client_name,
                    issuer=config.issuer,
                    registered_at=self._clock(),
                )
            return self._registration
        if not force:
            if self._registration is not None and self._usable(self._registration):
                return self._registration
            stored = self.storage.retrieve_token(self._registration_key)
            if stored:
                try:
                    registration = ClientRegistration.from_dict(stored)
                except ValidationError as exc:
                    raise RegistrationError(
                        f"the stored registration under {self._registration_key!r} is "
                        f"unreadable ({exc}); delete it to register again"
                    ) from None
                if self._usable(registration):
                    self._registration = registration
                    return registration
        url = self._endpoint("registration_endpoint", RegistrationError)
        body = self._client_metadata(self.discover())
        info = self._sender.send(
            "register_client",
            partial(
                gen.operations.build_register_client,
                url,
                body,
                initial_access_token=config.initial_access_token,
            ),
            gen.operations.parse_register_client,
            idempotent=False,  # a second POST would register a second client
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
        return registration, uri, token

    def _reload_registration(self, used: ClientRegistration) -> ClientRegistration | None:
        """The stored registration, if another client has replaced the one ``used`` since.

        Clients sharing a storage share a registration; when one of them gets a rotated
        registration access token (RFC 7592 §3) the others still hold the old one.
        """
        stored = self.storage.retrieve_token(self._registration_key)
        if not stored:
            return None
        fresh = ClientRegistration.from_dict(stored)
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
                raise
        registration, uri, token = self._managed(client_id)
        return registration, call(registration, uri, token)

    def get_client_info(self, client_id: str | None = None) -> dict[str, Any]:
        """The client's current registration as the server holds it (RFC 7592 §2.1)."""

        def read(_: ClientRegistration, uri: str, token: str) -> gen.ClientInformationResponse:
            return self._sender.send(
                "read_client",
                partial(gen.operations.build_read_client, uri, registration_access_token=token),
                gen.operations.parse_read_client,
                idempotent=True,
            )

        registration, info = self._manage(client_id, read)
        saved = self._save_registration(info, registration)
        return dict(saved.metadata)

    def update_client(self, client_id: str | None = None, **updates: Any) -> dict[str, Any]:
        """Change the registration (RFC 7592 §2.2).

        The server replaces the whole record, so the current metadata is sent with
        ``updates`` merged in; a field set to ``None`` is removed. A new registration access
        token or client secret in the response replaces the stored one.
        """
        refused = sorted((_NOT_UPDATABLE | {"client_id", "client_secret"}) & updates.keys())
        if refused:
            raise ValidationError(f"update_client: {', '.join(refused)} cannot be updated")

        def replace(
            current: ClientRegistration, uri: str, token: str
        ) -> gen.ClientInformationResponse:
            merged = {k: v for k, v in current.metadata.items() if k not in _NOT_UPDATABLE}
            merged.update(updates)
            merged = {k: v for k, v in merged.items() if v is not None}
            merged["client_id"] = current.client_id
            if current.client_secret:
                merged["client_secret"] = current.client_secret
            body = load(merged, gen.ClientUpdateRequest, "update_client metadata")
            return self._sender.send(
                "update_client",
                partial(
                    gen.operations.build_update_client, uri, body, registration_access_token=token
                ),
                gen.operations.parse_update_client,
                idempotent=False,  # the server may rotate the registration access token
            )

        registration, info = self._manage(client_id, replace)
        saved = self._save_registration(info, registration)
        self._event("client_updated", "updated the client registration", client_id=saved.client_id)
        return dict(saved.metadata)

    def delete_client(self, client_id: str | None = None) -> bool:
        """Deregister the client (RFC 7592 §2.3) and forget it and its tokens."""

        def delete(_: ClientRegistration, uri: str, token: str) -> None:
            self._sender.send(
                "delete_client",
                partial(gen.operations.build_delete_client, uri, registration_access_token=token),
                gen.operations.parse_delete_client,
                idempotent=False,  # a resent DELETE of a deleted client is refused with 401
            )

        registration, _ = self._manage(client_id, delete)
        self._forget_token(registration)
        self.storage.delete_token(self._registration_key)
        self._registration = None
        self._event("client_deleted", "deleted the client", client_id=registration.client_id)
        return True

    # ----------------------------------------------------------------------------- tokens

    def _client_auth(self, registration: ClientRegistration) -> ClientAuth:
        """Token endpoint authentication for the registered method (RFC 6749 §2.3)."""
        method, client_id = registration.token_endpoint_auth_method, registration.client_id
        secret = registration.client_secret
        if method == "none":
            return NoClientAuth(client_id)
        if method == "private_key_jwt":
            from .._client_auth_jwt import PrivateKeyJwt

            assert self.config.private_key is not None  # checked by OAuth2Config
            return PrivateKeyJwt(
                client_id,
                self.config.private_key,
                algorithm=self.config.client_assertion_algorithm,
                key_id=self.config.private_key_id,
                audience=self.config.issuer,
            )
        if secret is None:
            raise ConfigurationError(f"client_secret: required for {method}")
        if method == "client_secret_post":
            return ClientSecretPost(client_id, secret)
        if method == "client_secret_jwt":
            from .._client_auth_jwt import ClientSecretJwt

            return ClientSecretJwt(client_id, secret, audience=self.config.issuer)
        return ClientSecretBasic(client_id, secret)

    def _token_request(
        self, body: gen.TokenRequest, registration: ClientRegistration
    ) -> gen.TokenResponse:
        url = self._endpoint("token_endpoint", TokenError)
        response = self._sender.send(
            "request_token",
            partial(
                gen.operations.build_request_token,
                url,
                body,
                client_auth=self._client_auth(registration),
            ),
            gen.operations.parse_request_token,
            # A code is used once and a refresh token may rotate (RFC 6749 §4.1.2, §6); a
            # device-code poll keeps its own interval (RFC 8628 §3.5). Client credentials may
            # be asked for again.
            idempotent=isinstance(body, gen.ClientCredentialsTokenRequest),
        )
        if response.token_type.lower() != "bearer":
            raise TokenError(
                f"the server issued a {response.token_type!r} token; only Bearer is supported"
            )
        return response

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

    def _resources(self, resource: str | None = None) -> list[str] | None:
        chosen = resource or self.config.resource
        return [chosen] if chosen else None

    def get_authorization_url(
        self, scope: str | None = None, state: str | None = None, **params: str
    ) -> str:
        """The URL to send the user to (RFC 6749 §4.1.1), with PKCE S256 (RFC 7636 §4.3).

        A random ``state`` is made when none is given and a ``nonce`` when ``openid`` is
        requested. ``redirect_uri`` and ``resource`` (RFC 8707) may be given in ``params``;
        other params are added to the query. The pending authorization is kept in the storage
        so another process can handle the callback.
        """
        metadata = self.discover()
        methods = metadata.code_challenge_methods_supported or []
        if "S256" not in methods:
            raise AuthorizationError(
                f"{self.config.issuer} does not advertise PKCE S256 in "
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
        if registration.redirect_uris and redirect_uri not in registration.redirect_uris:
            raise ValidationError(f"redirect_uri {redirect_uri!r} is not a registered redirect URI")
        scope = scope or self.config.default_scope
        state = state or make_state()
        verifier = make_code_verifier()
        resource = params.pop("resource", None) or self.config.resource
        pending = PendingAuthorization(
            state=state,
            code_verifier=verifier,
            redirect_uri=redirect_uri,
            issuer=self.config.issuer,
            client_id=registration.client_id,
            created_at=self._clock(),
            nonce=make_nonce() if "openid" in scope.split() else None,
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
        self.storage.store_token(self._pending_key(state), dump(pending))
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
        key = self._pending_key(state)
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
        pending = load(stored, PendingAuthorization, "pending authorization")
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

        ``authorization_code`` is the code, or the whole callback URL (then its ``state``,
        ``iss`` and ``error`` are read from it). The state is checked in constant time and used
        once; ``iss`` is checked against the issuer (RFC 9207), and required when the server
        advertises it and the callback URL was given. An ID Token is validated.
        """
        callback = parse_callback(authorization_code)
        if (
            state is not None
            and callback.state is not None
            and not same_secret(state, callback.state)
        ):
            raise AuthorizationError(
                "state mismatch between the callback and the state given",
                error_code="invalid_state",
            )
        state = state or callback.state or self._last_state
        if state is None:
            raise ValidationError("state: pass the state of the request, or the callback URL")
        pending = self._take_pending(state)
        if callback.error is not None:
            raise AuthorizationError(
                f"the authorization server refused: {callback.error}"
                + (f": {callback.error_description}" if callback.error_description else ""),
                error_code=callback.error,
                error_description=callback.error_description,
                error_uri=callback.error_uri,
            )
        metadata = self.discover()
        issuer = iss if iss is not None else callback.iss
        if issuer is not None and not same_issuer(issuer, pending.issuer):
            raise AuthorizationError(
                f"the callback's iss {issuer!r} is not the issuer {pending.issuer!r} (RFC 9207)",
                error_code="invalid_issuer",
            )
        if (
            issuer is None
            and callback.from_url
            and metadata.authorization_response_iss_parameter_supported
        ):
            raise AuthorizationError(
                "the callback has no iss though the server sends it (RFC 9207)",
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
            wire = self._token_request(body, registration)
        except TokenError as exc:
            raise _as_error(AuthorizationError, exc) from None
        token = TokenResponse.from_wire(wire, now=self._clock())
        if token.id_token is not None:
            self._validate_id_token(token.id_token, registration, pending.nonce)
        kept = self._keep(registration, token)
        self._got_token(registration, kept, "authorization_code")
        return kept

    def _jwks(self) -> Any:
        url = self._endpoint("jwks_uri", DiscoveryError)
        return self._sender.send(
            "get_jwks",
            partial(gen.operations.build_get_jwks, url),
            gen.operations.parse_get_jwks,
            idempotent=True,
        )

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

    def _refresh_grant(self, token: TokenResponse) -> TokenResponse:
        """Exchange ``token``'s refresh token for a new token (RFC 6749 §6); stores nothing.

        A refresh token the server did not replace is kept; an ID Token that comes back is
        validated against the first one's nonce (OpenID Connect Core §12.2).
        """
        from .. import _jwt  # ID tokens and JWTs only: not loaded at import

        assert token.refresh_token is not None
        registration = self.register()
        body = gen.RefreshTokenRequest(
            refresh_token=token.refresh_token, resource=self._resources()
        )
        wire = self._token_request(body, registration)
        fresh = TokenResponse.from_wire(wire, now=self._clock(), previous=token)
        if fresh.id_token is not None:
            earlier = _jwt.peek_claims(token.id_token) if token.id_token else {}
            nonce = earlier.get("nonce")
            self._validate_id_token(
                fresh.id_token,
                registration,
                nonce if isinstance(nonce, str) else None,
                require_nonce=False,
            )
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
        fresh = self._refresh_grant(TokenResponse(access_token="", refresh_token=refresh_token))
        kept = self.tokens.store_token(key, fresh)
        self._event(
            "token_refresh",
            "refreshed a token given by the caller",
            client_id=self._registration.client_id if self._registration else None,
            expires_in=kept.expires_in,
            scope=kept.scope,
        )
        return kept

    def get_token(self, scope: str | None = None) -> TokenResponse:
        """A token for the client itself: the client credentials grant (RFC 6749 §4.4).

        When the server no longer knows a dynamically registered client (``invalid_client``),
        the client registers again, once, and retries.
        """
        supported = (self.discover()).grant_types_supported
        if supported is not None and "client_credentials" not in supported:
            raise TokenError(
                f"{self.config.issuer} does not offer the client_credentials grant "
                f"(grant_types_supported: {list(supported)})",
                error_code="unsupported_grant_type",
            )
        body = gen.ClientCredentialsTokenRequest(
            scope=scope or self.config.default_scope, resource=self._resources()
        )
        registration = self.register()
        try:
            wire = self._token_request(body, registration)
        except TokenError as exc:
            if exc.error_code != "invalid_client" or self.config.client_id is not None:
                raise
            registration = self.register(force=True)
            wire = self._token_request(body, registration)
        kept = self._keep(registration, TokenResponse.from_wire(wire, now=self._clock()))
        self._got_token(registration, kept, "client_credentials")
        return kept

    @staticmethod
    def _token_value(token: str | TokenResponse, token_type: str) -> str:
        if isinstance(token, str):
            return token
        value = token.refresh_token if token_type == "refresh_token" else token.access_token
        if not value:
            raise ValidationError(f"the token has no {token_type}")
        return value

    def revoke_token(self, token: str | TokenResponse, token_type: str = "access_token") -> bool:
        """Revoke a token (RFC 7009 §2.1); a stored token it belongs to is forgotten."""
        if token_type not in ("access_token", "refresh_token"):
            raise ValidationError("token_type: expected 'access_token' or 'refresh_token'")
        value = self._token_value(token, token_type)
        url = self._endpoint("revocation_endpoint", TokenError)
        registration = self.register()
        body = gen.RevocationRequest(token=value, token_type_hint=token_type)
        self._sender.send(
            "revoke_token",
            partial(
                gen.operations.build_revoke_token,
                url,
                body,
                client_auth=self._client_auth(registration),
            ),
            gen.operations.parse_revoke_token,
            idempotent=True,  # revoking a revoked token succeeds (RFC 7009 §2.2)
        )
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
        body = gen.IntrospectionRequest(token=self._token_value(token, "access_token"))
        result = self._sender.send(
            "introspect_token",
            partial(
                gen.operations.build_introspect_token,
                url,
                body,
                client_auth=self._client_auth(registration),
            ),
            gen.operations.parse_introspect_token,
            idempotent=True,
        )
        introspection: dict[str, Any] = gen.converter.unstructure(result)
        return introspection

    def validate_token(self, token: str | TokenResponse) -> dict[str, Any]:
        """Introspect the token (RFC 7662), or, without an introspection endpoint, validate a
        JWT access token locally with the server's keys (RFC 9068 §4)."""
        from .. import _jwt  # ID tokens and JWTs only: not loaded at import

        metadata = self.discover()
        value = self._token_value(token, "access_token")
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
        body = gen.DeviceAuthorizationRequest(
            scope=scope or self.config.default_scope, resource=self._resources()
        )
        response = self._sender.send(
            "request_device_authorization",
            partial(
                gen.operations.build_request_device_authorization,
                url,
                body,
                client_auth=self._client_auth(registration),
            ),
            gen.operations.parse_request_device_authorization,
            idempotent=False,  # each request starts another device authorization
        )
        device = DeviceAuthorization.from_wire(response, now=self._clock())
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
        self, device_code: str, *, interval: float | None = None, timeout: float | None = None
    ) -> TokenResponse:
        """Poll until the user approves (RFC 8628 §3.4, §3.5).

        Waits ``interval`` seconds between polls (the server's, or 5), 5 more after each
        ``slow_down``; ``authorization_pending`` keeps polling; ``access_denied`` and
        ``expired_token`` raise ``AuthorizationError``. Gives up at the device code's expiry
        or after ``timeout`` seconds. Cancel the task (asyncio) to stop early.
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
            try:
                wire = self._token_request(body, registration)
            except TokenError as exc:
                if exc.error_code == "authorization_pending":
                    continue
                if exc.error_code == "slow_down":
                    wait += 5
                    continue
                raise _as_error(AuthorizationError, exc) from None
            self._devices.pop(device_code, None)
            token = TokenResponse.from_wire(wire, now=self._clock())
            kept = self._keep(registration, token)
            self._got_token(registration, kept, "urn:ietf:params:oauth:grant-type:device_code")
            return kept

    # ---------------------------------------------------------------- protected resources

    def authenticated_request(
        self, method: str, url: str, token: str | TokenResponse | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Send a request with ``Authorization: Bearer`` (RFC 6750 §2.1).

        Without ``token`` the stored token is used, refreshed before it expires, and refreshed
        once more (with one retry) if the resource answers 401 ``invalid_token``. ``kwargs``
        go to ``httpx`` (``json``, ``params``, ``headers``…). The URL must be https, or http
        on loopback, so the token is never sent in clear over a network.
        """
        require_bearer_url(str(url))
        if token is not None:
            access_token = self._token_value(token, "access_token")
            return self._send_with(method, url, access_token, kwargs)
        key = self._current_key()
        current = self.tokens.get_valid_token(key)
        response = self._send_with(method, url, current.access_token, kwargs)
        if (
            response.status_code == 401
            and current.refresh_token
            and "invalid_token" in response.headers.get("www-authenticate", "")
        ):
            response.close()
            refreshed = self.tokens.refresh_token(key, current)
            response = self._send_with(method, url, refreshed.access_token, kwargs)
        return response

    def _send_with(
        self, method: str, url: str, access_token: str, kwargs: Mapping[str, Any]
    ) -> httpx.Response:
        options = dict(kwargs)
        headers = httpx.Headers(options.pop("headers", None))
        headers["Authorization"] = f"Bearer {access_token}"
        request = self._http.build_request(method, url, headers=headers, **options)
        started = time.perf_counter()
        try:
            with send_errors("authenticated_request", request):
                response = self._http.send(request)
        except OAuth2Error as exc:
            self._observe(request, started, None, exc)
            raise
        if self._metrics is not None or client_logger.isEnabledFor(logging.DEBUG):
            self._observe(request, started, response, None)
        return response

    def _observe(
        self,
        request: httpx.Request,
        started: float,
        response: httpx.Response | None,
        error: OAuth2Error | None,
    ) -> None:
        """Record an ``authenticated_request``'s latency and outcome; log it at DEBUG."""
        seconds = time.perf_counter() - started
        status = response.status_code if response is not None else None
        failed = error is not None or (status is not None and status >= 400)
        if self._metrics is not None:
            self._metrics.record_request(
                "authenticated_request", seconds, "error" if failed else "ok"
            )
            if error is not None:
                self._metrics.record_error(error_key(error))
        if client_logger.isEnabledFor(logging.DEBUG):
            url = safe_url(request.url)
            emit(
                client_logger,
                logging.DEBUG,
                CLIENT,
                "request",
                f"authenticated_request: {request.method} {url} -> "
                f"{status if error is None else error_key(error)} ({seconds * 1000:.1f} ms)",
                operation="authenticated_request",
                method=request.method,
                url=url,
                status_code=status,
                error_code=None,
                duration_ms=round(seconds * 1000, 3),
            )
