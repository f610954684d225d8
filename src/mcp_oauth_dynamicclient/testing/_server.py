"""``MockAuthServer``: a strict OAuth 2.1 authorization server on a loopback port, for tests."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, Self, TypedDict, Unpack
from urllib.parse import urlsplit

import anyio.to_thread
import cattrs
from starlette.types import ASGIApp

from .._generated import ClientInformationResponse, ClientMetadata, TokenResponse, converter
from ._app import build_app
from ._clock import Clock
from ._context import Context, Paths, register_context
from ._device import decide
from ._faults import Fault, FaultRule, FaultSet
from ._http import OAuthProblem, shape_problem
from ._issue import issue_tokens
from ._keys import signing_key
from ._recording import RequestLog
from ._registration import client_information, create_client_record
from ._runner import ServerThread, bind_loopback
from ._scopes import check_scope, parse_resources, parse_scope, supported_scopes
from ._settings import ServerSettings
from ._state import Grant, ServerState

__all__ = ["MockAuthServer", "SettingsKnobs"]


class SettingsKnobs(TypedDict, total=False):
    """Keyword knobs of :class:`MockAuthServer`; each is documented on :class:`ServerSettings`."""

    subject: str
    scopes: Sequence[str]
    required_scope: str | None
    access_token_lifetime: int
    refresh_token_lifetime: int | None
    code_lifetime: int
    device_code_lifetime: int
    device_interval: int
    client_secret_lifetime: int
    token_endpoint_auth_methods: Sequence[str]
    authorization_response_iss: bool
    id_token_subject: str | None
    rotate_refresh_tokens: bool
    rotate_registration_access_token: bool
    initial_access_token: str | None
    deny_authorization: bool
    resources: Sequence[str]
    reject_unknown_resources: bool
    require_audience: bool
    tool_scopes: Mapping[str, str | None]
    resource_scopes: Sequence[str] | None
    authorization_servers: Sequence[str] | None
    challenge_resource_metadata: bool
    serve_resource_metadata: bool
    root_resource_metadata: Literal["origin", "mcp", "absent"]
    access_token_format: Literal["opaque", "jwt"]
    dpop: bool
    dpop_required: bool
    dpop_nonce: bool
    dpop_signing_algs: Sequence[str]
    jwt_bearer_issuers: Mapping[str, Mapping[str, Any] | str]
    token_exchange: bool
    grant_scope_errors: Mapping[str, str]


class _Core:
    """Everything a server owns, kept apart from :class:`MockAuthServer` so that a finalizer can
    stop it once the server object is garbage collected."""

    def __init__(self, settings: ServerSettings, clock: Clock) -> None:
        self.lock = threading.RLock()
        self.settings = settings
        self.clock = clock
        self.state = ServerState()
        self.log = RequestLog()
        self.faults = FaultSet()
        self.ctx: Context | None = None
        self.app: ASGIApp | None = None
        self.port = 0
        self.thread: ServerThread | None = None

    def start(self) -> Context:
        with self.lock:
            if self.thread is not None and self.thread.alive and self.ctx is not None:
                return self.ctx
            sock = bind_loopback(self.port)
            try:
                if self.ctx is None or self.app is None:
                    self.port = sock.getsockname()[1]
                    issuer = f"http://127.0.0.1:{self.port}"
                    self.ctx = Context(issuer, self.settings, self.clock, self.state, signing_key())
                    register_context(self.ctx)
                    self.app = build_app(self.ctx, self.log, self.faults)
                thread = ServerThread(self.app, self.ctx, sock)
            except BaseException:
                sock.close()
                raise
            thread.start()
            self.thread = thread
            return self.ctx

    def stop(self) -> None:
        with self.lock:
            thread, self.thread = self.thread, None
        if thread is not None:
            thread.stop()

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.alive


class MockAuthServer:
    """A real OAuth 2.1 authorization server on ``127.0.0.1`` for sync and async tests.

    It implements RFC 8414 and RFC 9728 discovery, RFC 7591/7592 dynamic registration and
    management, the authorization code grant with PKCE S256 (RFC 7636) and RFC 9207 ``iss``,
    refresh with rotation, client credentials, the device flow (RFC 8628), revocation
    (RFC 7009), introspection (RFC 7662), ID tokens, and a Bearer-protected ``/mcp`` resource
    that is a minimal MCP Streamable HTTP server (``initialize``, ``ping``, ``tools/list``,
    ``tools/call`` of an ``echo`` tool; MCP 2025-11-25), strictly: bad input gets the RFC's
    error, never a 500.

    The MCP authorization extensions are there behind knobs, all off by default:

    - ``access_token_format="jwt"``: RFC 9068 JWT access tokens (``typ: at+jwt``, signed with
      the key of :attr:`jwks`), still remembered, so introspection and revocation work.
    - ``dpop=True`` (RFC 9449): proofs accepted at ``/token`` for every grant bind the tokens
      (``token_type: DPoP``, ``cnf.jkt``; a public client's refresh token too, §5); ``/mcp``
      takes ``Authorization: DPoP`` with a proof (§7) and challenges with ``DPoP algs=…``
      besides Bearer. ``dpop_required=True`` refuses requests without proofs and Bearer tokens;
      ``dpop_nonce=True`` demands the server nonce (§8, §9; :meth:`rotate_dpop_nonce`).
      :attr:`requests` shows each request's proof (``RecordedRequest.dpop``).
    - ``jwt_bearer_issuers={issuer: jwks_or_pem}``: the RFC 7523 §2.1 JWT-bearer grant for
      assertions of those issuers, ID-JAGs (SEP-990) included.
    - ``token_exchange=True``: RFC 8693 token exchange of this server's ID tokens
      (:meth:`issue_id_token`) or access tokens for an access token or an ID-JAG, so one
      server plays the enterprise IdP for another
      (``MockAuthServer(jwt_bearer_issuers={idp.url: idp.jwks})``).
    - ``grant_scope_errors={scope: error}``: those two grants refuse a scope with that error.

    A client must register (``grant_types``) the extension grants it uses; the server accepts
    them at registration only while their knob serves them.

    Use it as a context manager (``with`` or ``async with``), with :meth:`start` and
    :meth:`stop`, or not at all: reading :attr:`url` starts a server that was never started,
    and one never stopped is stopped when garbage collected or at interpreter exit. After
    :meth:`stop`, :attr:`url` still names the old port (connections are refused) and
    :meth:`start` serves the same state on the same port again.

    Knobs are keyword arguments (see :class:`ServerSettings`, or pass ``settings=``) and stay
    changeable on :attr:`settings`; :attr:`clock` drives every expiry; :attr:`requests` records
    what arrived; :meth:`inject` arms a :class:`Fault`.
    """

    def __init__(
        self,
        settings: ServerSettings | None = None,
        *,
        clock: Clock | None = None,
        **knobs: Unpack[SettingsKnobs],
    ) -> None:
        if settings is not None and knobs:
            raise TypeError("pass either settings or keyword knobs, not both")
        self._core = _Core(settings or ServerSettings(**knobs), clock or Clock())
        self._finalizer = weakref.finalize(self, self._core.stop)

    # ------------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        """Start serving (no-op when running); returns the server."""
        self._core.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port and thread (no-op when not running)."""
        self._core.stop()

    close = stop

    @property
    def running(self) -> bool:
        """Whether the server is accepting connections."""
        return self._core.running

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        await anyio.to_thread.run_sync(self._core.start)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await anyio.to_thread.run_sync(self._core.stop)

    def _ctx(self) -> Context:
        return self._core.ctx if self._core.ctx is not None else self._core.start()

    # ------------------------------------------------------------------------- addresses

    @property
    def url(self) -> str:
        """The issuer identifier and base URL, ``http://127.0.0.1:PORT`` (no trailing slash)."""
        return self._ctx().issuer

    @property
    def issuer(self) -> str:
        """Same as :attr:`url`: the RFC 8414 §2 ``issuer``."""
        return self.url

    @property
    def metadata_url(self) -> str:
        """The RFC 8414 §3 metadata URL."""
        return self.url + Paths.AS_METADATA

    @property
    def resource_url(self) -> str:
        """The protected ``/mcp`` endpoint, also its RFC 8707 resource identifier."""
        return self.url + Paths.MCP

    @property
    def jwks(self) -> dict[str, Any]:
        """The public JWK Set served at ``/jwks`` (RFC 7517 §5), as a plain JSON object: what
        verifies this server's ID tokens, JWT access tokens and ID-JAGs. Trust another server's
        assertions with ``MockAuthServer(jwt_bearer_issuers={idp.url: idp.jwks})``."""
        return self._ctx().key.public_jwks()

    # ------------------------------------------------------------------------ test knobs

    @property
    def settings(self) -> ServerSettings:
        """The knobs, changeable while the server runs."""
        return self._core.settings

    @property
    def clock(self) -> Clock:
        """The clock every expiry is measured on; ``server.clock.advance(seconds)``."""
        return self._core.clock

    @property
    def requests(self) -> RequestLog:
        """Every request received, in order (thread-safe)."""
        return self._core.log

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions that escaped an endpoint (each answered 500); empty unless the server has
        a bug."""
        ctx = self._core.ctx
        return list(ctx.errors) if ctx is not None else []

    def inject(
        self,
        fault: Fault,
        *,
        path: str | None = None,
        method: str | None = None,
        times: int | None = 1,
    ) -> FaultRule:
        """Arm ``fault`` for the next ``times`` requests (None: until cleared) to ``path``.

        ``path`` is a path (``"/token"``), a full URL or a ``*`` pattern (``"/register/*"``);
        None matches every path. ``method`` restricts it to one HTTP method.
        """
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for no limit)")
        if path is not None and path.startswith(("http://", "https://")):
            path = urlsplit(path).path
        rule = FaultRule(fault, path, method.upper() if method else None, times)
        self._core.faults.add(rule)
        return rule

    @property
    def faults(self) -> list[FaultRule]:
        """The fault rules still armed."""
        return self._core.faults.rules()

    def clear_faults(self) -> None:
        """Disarm every fault."""
        self._core.faults.clear()

    # ----------------------------------------------------------------------- MCP sessions

    @property
    def mcp_sessions(self) -> frozenset[str]:
        """The ``Mcp-Session-Id`` s of the MCP sessions open at ``/mcp``."""
        ctx = self._core.ctx
        if ctx is None:
            return frozenset()
        with ctx.state.lock:
            return frozenset(ctx.state.mcp_sessions)

    def end_mcp_session(self, session_id: str | None = None) -> None:
        """End one MCP session (all without ``session_id``) from the server side: the next
        request naming it gets 404, and the client must initialize again (MCP 2025-11-25
        Transports, "Session Management" item 3)."""
        ctx = self._ctx()
        with ctx.state.lock:
            if session_id is None:
                ctx.state.mcp_sessions.clear()
            else:
                ctx.state.mcp_sessions.pop(session_id, None)

    # -------------------------------------------------------------------- user stand-in

    def approve(self, user_code: str | None = None, *, subject: str | None = None) -> str:
        """Approve a device authorization (RFC 8628 §3.3) as ``subject`` (default: the test
        user); without ``user_code``, the only pending one. Returns the user code.

        Raises:
            LookupError: unknown user code, or not exactly one pending authorization.
            ValueError: already answered or expired.
        """
        return decide(self._ctx(), user_code, approve=True, subject=subject)

    def deny(self, user_code: str | None = None) -> str:
        """Deny a device authorization; the client's next poll gets ``access_denied``."""
        return decide(self._ctx(), user_code, approve=False, subject=None)

    # --------------------------------------------------------------- direct provisioning

    def create_client(
        self,
        metadata: ClientMetadata | Mapping[str, Any],
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
    ) -> ClientInformationResponse:
        """Register a client without HTTP, optionally with a chosen ID and secret.

        The metadata is validated as ``POST /register`` would (RFC 7591 §2).

        Raises:
            ValueError: the metadata is invalid (the message starts with the RFC 7591 error
                code), or the ID is taken.
        """
        ctx = self._ctx()
        if not isinstance(metadata, ClientMetadata):
            try:
                metadata = converter.structure(dict(metadata), ClientMetadata)
            except cattrs.BaseValidationError as exc:
                raise ValueError(f"invalid_client_metadata: {shape_problem(exc)}") from None
        try:
            record = create_client_record(
                ctx, metadata, client_id=client_id, client_secret=client_secret
            )
        except OAuthProblem as problem:
            raise ValueError(str(problem)) from None
        return client_information(ctx, record)

    def get_client(self, client_id: str) -> ClientInformationResponse | None:
        """The registration of ``client_id`` as RFC 7592 §2.1 would read it, or None."""
        ctx = self._ctx()
        with ctx.state.lock:
            record = ctx.state.clients.get(client_id)
            return None if record is None else client_information(ctx, record)

    def issue_token(
        self,
        client_id: str,
        *,
        scope: str | None = None,
        subject: str | None = None,
        resource: Sequence[str] = (),
        lifetime: int | None = None,
        refresh: bool = False,
        dpop_jkt: str | None = None,
    ) -> TokenResponse:
        """Mint tokens for a registered client as if it had just completed a flow.

        ``scope`` defaults to every configured scope; ``resource`` values become the audience.
        ``dpop_jkt`` (the RFC 7638 thumbprint of a DPoP public key) binds the access token to
        that key (RFC 9449 §6: ``token_type`` ``DPoP``), and the refresh token of a public
        client too (§5).

        Raises:
            LookupError: no such client.
            ValueError: an unsupported scope or resource.
        """
        ctx = self._ctx()
        with ctx.state.lock:
            client = ctx.state.clients.get(client_id)
        if client is None:
            raise LookupError(f"unknown client {client_id!r}")
        try:
            scopes = parse_scope(scope) or tuple(ctx.settings.scopes)
            check_scope(scopes, supported_scopes(ctx))
            audience = parse_resources(ctx, resource)
        except OAuthProblem as problem:
            raise ValueError(str(problem)) from None
        grant = Grant(
            client_id, subject or ctx.settings.subject, scopes, audience, ctx.clock.timestamp()
        )
        public = client.auth_method == "none"
        return issue_tokens(
            ctx,
            grant,
            scope=scopes,
            audience=audience,
            refresh=refresh,
            lifetime=lifetime,
            jkt=dpop_jkt,
            refresh_jkt=dpop_jkt if public else None,
        )

    def issue_id_token(
        self,
        *,
        audience: str,
        sub: str | None = None,
        lifetime: int | None = None,
        auth_time: int | None = None,
        **claims: Any,
    ) -> str:
        """Mint an ID token (OpenID Connect Core §2) for ``audience`` (a client ID), as if the
        user ``sub`` (default: the test user) had just logged in: ``iss``, ``sub``, ``aud``,
        ``iat``, ``exp`` (``lifetime`` seconds, default ``access_token_lifetime``) and
        ``auth_time``, plus ``claims``. Signed with the key of :attr:`jwks`; this server
        takes it back as an RFC 8693 ``subject_token`` of type ``...:token-type:id_token``
        (e.g. to issue an ID-JAG, SEP-990) when ``audience`` is the requesting client.
        """
        ctx = self._ctx()
        now = ctx.clock.timestamp()
        body: dict[str, Any] = {
            "iss": ctx.issuer,
            "sub": sub or ctx.settings.subject,
            "aud": audience,
            "iat": now,
            "exp": now + (ctx.settings.access_token_lifetime if lifetime is None else lifetime),
            "auth_time": now if auth_time is None else auth_time,
            **claims,
        }
        return ctx.key.sign(body)

    def rotate_dpop_nonce(self) -> str:
        """Replace the server's ``DPoP-Nonce`` (RFC 9449 §8, §9) and return the new one; with
        the ``dpop_nonce`` knob, proofs carrying the old one are refused from now on."""
        return self._ctx().state.rotate_dpop_nonce()

    @property
    def dpop_nonce(self) -> str:
        """The current ``DPoP-Nonce`` (required in proofs only with the ``dpop_nonce`` knob)."""
        ctx = self._ctx()
        with ctx.state.lock:
            return ctx.state.dpop_nonce

    def __repr__(self) -> str:
        ctx = self._core.ctx
        where = ctx.issuer if ctx is not None else "not started"
        return f"<MockAuthServer {where} running={self.running}>"
