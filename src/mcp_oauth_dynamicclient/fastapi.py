"""The resource-server side: FastAPI MCP servers accept the tokens of their authorization server.

``BearerAuth`` is a FastAPI dependency that checks the bearer token of a request (RFC 6750 §2.1,
the ``Authorization`` header only: OAuth 2.1 §5.2 forbids tokens in the URI) and returns it as
an :class:`AccessToken`. Each rule, and the RFC behind it:

- Validation, per ``mode``. ``"jwt"``: the token is an RFC 9068 JWT access token, verified
  locally (``typ`` ``at+jwt``, ``iss``, signature, ``exp``/``iat``/``nbf``, the required claims)
  with the keys at the authorization server's ``jwks_uri`` (RFC 8414 §2). The JWK Set is
  cached ``jwks_cache_ttl`` seconds and fetched again early, at most once per
  ``jwks_refresh_interval``, when a token names a ``kid`` it lacks (a rotated key, RFC 7517
  §4.5). ``"introspection"``: the authorization server is asked (RFC 7662 §2), as a client of
  it (registered dynamically unless ``client_id``/``client_secret`` are given), and its answer
  is kept ``introspection_cache_ttl`` seconds, never past the token's ``exp``: a revoked token
  may pass for that long (RFC 7662 §4 weighs the trade).
- Audience (RFC 8707 §2, RFC 9068 §4, MCP 2025-11-25 "Token Audience Binding"): ``aud`` must
  contain ``resource``. A token issued for another resource, or for none, is refused: passing
  it on would make this server a confused deputy.
- Scope (RFC 6749 §3.3): every route needs ``scopes`` plus what its ``Security(auth,
  scopes=[...])`` (or ``auth.require(...)``) adds.
- Answers (RFC 6750 §3, RFC 9728 §5.1): no token is 401 with ``WWW-Authenticate: Bearer
  resource_metadata="<metadata URL>", scope="<needed>"`` and no error code (§3.1); a refused
  token is 401 ``error="invalid_token"``; a malformed ``Authorization`` header is 400
  ``invalid_request``; a token short of scope is 403 ``error="insufficient_scope"`` whose
  ``scope`` lists every scope the route needs (MCP 2025-11-25 "Scope Challenge Handling"), so a
  client steps up. An authorization server that cannot be reached, or refuses this server's
  introspection, is 503: the token was not judged, and a 401 would send clients to
  authorize again for nothing.
- ``metadata_router()`` serves the RFC 9728 §3 protected resource metadata at
  ``/.well-known/oauth-protected-resource<path of resource>``, naming the authorization server.

::

    auth = BearerAuth(issuer="https://auth.example.com", resource="https://mcp.example.com/mcp",
                      scopes=["mcp:read"])
    app = FastAPI()
    app.include_router(auth.metadata_router())

    @app.post("/mcp")
    async def mcp(token: AccessToken = Depends(auth)) -> dict[str, str]: ...

    @app.post("/mcp/admin")
    async def admin(token: AccessToken = auth.require("mcp:admin")) -> dict[str, str]: ...

An ``OAuth2Client`` does the talking to the authorization server (discovery, the JWK Set,
introspection), with its retries, SSRF checks and size limits; pass ``client=`` to share one.
A ``BearerAuth`` belongs to one event loop, like the ``httpx.AsyncClient`` inside it; close it
with ``await auth.aclose()`` (in the app's lifespan). :func:`oauth_token` is the plain
dependency the product description's example calls ``oauth_token``: the token, unchecked.

Needs the ``fastapi`` extra (``pip install "mcp-oauth-dynamicclient[fastapi]"``), which brings
PyJWT for the ``"jwt"`` mode.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

import attrs

try:
    from fastapi import APIRouter, HTTPException, Request, Security
    from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
    from fastapi.responses import JSONResponse
    from fastapi.security import SecurityScopes
    from fastapi.security.base import SecurityBase
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        'mcp_oauth_dynamicclient.fastapi needs the fastapi extra: pip install "'
        'mcp-oauth-dynamicclient[fastapi]"'
    ) from exc

from . import _jwt
from ._async.client import OAuth2Client
from ._concurrency import AsyncLock
from ._config import SAFE_ID_TOKEN_ALGORITHMS
from ._discovery import resource_metadata_urls
from ._urls import require_secure_url
from .exceptions import ConfigurationError, OAuth2Error, TokenError

__all__ = ["AccessToken", "BearerAuth", "Mode", "TokenRefused", "oauth_token"]

Mode = Literal["jwt", "introspection"]
"""How tokens are checked: locally as RFC 9068 JWTs, or by asking the server (RFC 7662)."""

_MODES = ("jwt", "introspection")
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")  # RFC 6749 §3.3 scope-token
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")  # RFC 6750 §2.1 b64token
_NOT_DESCRIPTION = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")  # RFC 6749 §5.2 error_description


# ------------------------------------------------------------------------------ results


@attrs.frozen(kw_only=True)
class AccessToken:
    """A bearer token this resource accepted, as its claims (RFC 9068 §2.2) or introspection
    response (RFC 7662 §2.2) described it. The token itself is kept out of the ``repr``."""

    #: The token as the client sent it, for calling another API on the user's behalf (only
    #: one that names this resource as its audience: RFC 8707 forbids passing it on elsewhere).
    token: str = attrs.field(repr=False)
    #: ``sub``: the user (or, for client credentials, the client) the token speaks for.
    subject: str | None
    #: ``client_id``: the client the token was issued to.
    client_id: str | None
    #: The scopes granted (``scope``, RFC 6749 §3.3).
    scopes: frozenset[str]
    #: ``aud``: the resources the token is for; this one among them.
    audience: tuple[str, ...]
    #: ``exp`` as seconds since the epoch, when given.
    expires_at: float | None
    #: Every claim or introspection member, as received.
    claims: Mapping[str, Any] = attrs.field(repr=False)


class TokenRefused(TokenError):
    """The resource refuses a request's token: ``error_code`` is the RFC 6750 §3.1 code.

    ``invalid_request`` (``status_code`` 400), ``invalid_token`` (401; ``None`` with 401 when
    no token was sent at all) or ``insufficient_scope`` (403, ``scope`` names what the route
    needs). The authorization server's own failures are not this: they keep the client's
    types (``NetworkError``, ``DiscoveryError``, a ``TokenError`` from introspection).
    """

    def __init__(
        self, message: str, *, error_code: str | None, status_code: int, scope: str | None = None
    ) -> None:
        super().__init__(message, error_code=error_code, status_code=status_code)
        self.scope = scope


def _refused(message: str) -> TokenRefused:
    return TokenRefused(message, error_code="invalid_token", status_code=401)


# ----------------------------------------------------------------------- the bearer token


def _bearer_token(request: Request) -> str | None:
    """The ``Authorization: Bearer`` credentials (RFC 6750 §2.1); None when there are none.

    Raises:
        TokenRefused: ``invalid_request``: several ``Authorization`` headers, or Bearer
            credentials that are not a b64token (RFC 6750 §3.1).
    """
    values = request.headers.getlist("authorization")
    if not values:
        return None
    if len(values) > 1:
        raise TokenRefused(
            "more than one Authorization header", error_code="invalid_request", status_code=400
        )
    scheme, _, credentials = values[0].strip().partition(" ")
    if scheme.lower() != "bearer":
        return None  # another scheme carries no bearer token: a plain 401 challenge
    credentials = credentials.strip()
    if not _TOKEN68.fullmatch(credentials):
        raise TokenRefused(
            "the Bearer credentials are not a b64token (RFC 6750 §2.1)",
            error_code="invalid_request",
            status_code=400,
        )
    return credentials


async def oauth_token(request: Request) -> str:
    """The request's bearer token, unchecked: for a dependency that validates it itself.

    What the product description's FastAPI example calls ``oauth_token``. Without a token the
    answer is 401 with ``WWW-Authenticate: Bearer``; a malformed header is 400
    ``invalid_request`` (RFC 6750 §3.1). Prefer :class:`BearerAuth`, which also checks the
    token, its audience and its scopes.
    """
    try:
        token = _bearer_token(request)
    except TokenRefused as refused:
        raise _http_error(refused, None) from None
    if token is None:
        raise _http_error(_no_token(), None)
    return token


def _no_token() -> TokenRefused:
    return TokenRefused("a bearer token is required", error_code=None, status_code=401)


def _challenge(**params: str | None) -> str:
    """A ``WWW-Authenticate: Bearer`` challenge (RFC 6750 §3) of quoted auth-params."""
    parts = []
    for name, value in params.items():
        if value is not None:
            text = _NOT_DESCRIPTION.sub("?", value) if name == "error_description" else value
            escaped = text.replace("\\", "\\\\").replace('"', '\\"')
            parts.append(f'{name}="{escaped}"')
    return "Bearer " + ", ".join(parts) if parts else "Bearer"


def _http_error(refused: TokenRefused, resource_metadata: str | None) -> HTTPException:
    """The 400, 401 or 403 answer to ``refused``, with its challenge."""
    code = refused.error_code
    challenge = _challenge(
        error=code,
        error_description=str(refused) if code is not None else None,
        scope=refused.scope,
        resource_metadata=resource_metadata,
    )
    status = refused.status_code or 401
    return HTTPException(status, str(refused), headers={"WWW-Authenticate": challenge})


# ---------------------------------------------------------------------------- the claims


def _audiences(claims: Mapping[str, Any]) -> tuple[str, ...]:
    """``aud``: a string or an array of strings (RFC 7519 §4.1.3); () when absent or odd."""
    aud = claims.get("aud")
    if isinstance(aud, str):
        return (aud,)
    if isinstance(aud, list) and all(isinstance(item, str) for item in aud):
        return tuple(aud)
    return ()


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _string(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value if isinstance(value, str) else None


def _access_token(token: str, claims: Mapping[str, Any]) -> AccessToken:
    scope = claims.get("scope")
    return AccessToken(
        token=token,
        subject=_string(claims, "sub"),
        client_id=_string(claims, "client_id"),
        scopes=frozenset(scope.split()) if isinstance(scope, str) else frozenset(),
        audience=_audiences(claims),
        expires_at=_number(claims, "exp"),
        claims=dict(claims),
    )


def _scope_tokens(scopes: Iterable[str], what: str) -> tuple[str, ...]:
    if isinstance(scopes, str):
        scopes = scopes.split()
    found = tuple(scopes)
    for scope in found:
        if not isinstance(scope, str) or not _SCOPE_TOKEN.fullmatch(scope):
            raise ConfigurationError(f"{what}: {scope!r} is not an RFC 6749 §3.3 scope token")
    return found


def _seconds(value: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ConfigurationError(f"{what}: expected a number of seconds >= 0, got {value!r}")
    return float(value)


# ------------------------------------------------------------------------ the dependency


class BearerAuth(SecurityBase):
    """A FastAPI dependency that accepts only valid bearer tokens for ``resource``.

    ``Depends(auth)`` or ``Security(auth, scopes=[...])`` (or ``auth.require(...)``) gives the
    route an :class:`AccessToken`; see the module docstring for the rules and the answers.

    Args:
        resource: This server's resource identifier (RFC 8707 §2, RFC 9728 §2), the URL MCP
            clients connect to, e.g. ``https://mcp.example.com/mcp``. Tokens must name it in
            ``aud``.
        issuer: The authorization server's issuer (RFC 8414 §2). Optional with ``client``.
        mode: ``"jwt"`` (RFC 9068, local, the default) or ``"introspection"`` (RFC 7662).
        scopes: Scopes every route needs.
        scopes_supported: ``scopes_supported`` of the metadata (RFC 9728 §2); ``scopes`` when
            not given, left out when both are empty.
        resource_name: ``resource_name`` of the metadata (RFC 9728 §2), for people.
        client: The ``OAuth2Client`` of the authorization server to use (not closed by
            :meth:`aclose`); one is made from ``issuer``, ``client_id`` and ``client_secret``
            otherwise.
        client_id / client_secret: This server's credentials at the authorization server, for
            introspection (RFC 7662 §2.1); without them it registers itself (RFC 7591).
        introspection_cache_ttl: Seconds an introspection answer is reused (never past the
            token's ``exp``); 0 asks every time.
        introspection_cache_size: Answers kept at most; the oldest go first.
        jwks_cache_ttl: Seconds the JWK Set is reused.
        jwks_refresh_interval: The shortest time between two fetches of the JWK Set when
            tokens name keys it lacks.
        leeway: Seconds of clock skew tolerated on ``exp``, ``iat`` and ``nbf``.
        algorithms: JWS algorithms accepted in ``"jwt"`` mode; ``none`` and ``HS*`` never are.
        clock: Seconds since the epoch (``time.time``); tests pass a server's clock.
        scheme_name: The security scheme's name in the OpenAPI document.

    Raises:
        ConfigurationError: a setting is wrong, or ``"jwt"`` mode lacks PyJWT.
    """

    def __init__(
        self,
        *,
        resource: str,
        issuer: str | None = None,
        mode: Mode = "jwt",
        scopes: Iterable[str] = (),
        scopes_supported: Iterable[str] | None = None,
        resource_name: str | None = None,
        client: OAuth2Client | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        introspection_cache_ttl: float = 10.0,
        introspection_cache_size: int = 10_000,
        jwks_cache_ttl: float = 300.0,
        jwks_refresh_interval: float = 30.0,
        leeway: float = 30.0,
        algorithms: Sequence[str] = SAFE_ID_TOKEN_ALGORITHMS,
        clock: Callable[[], float] | None = None,
        scheme_name: str | None = None,
    ) -> None:
        if mode not in _MODES:
            raise ConfigurationError(f"mode: expected 'jwt' or 'introspection', got {mode!r}")
        if mode == "jwt":
            _jwt.require_pyjwt()
        require_secure_url(resource, "resource", allow_query=False)
        if client is not None and (client_id is not None or client_secret is not None):
            raise ConfigurationError("client_id, client_secret: give them to client= instead")
        if issuer is None:
            issuer = client.config.auth_server if client is not None else None
            if issuer is None:
                raise ConfigurationError("issuer: required (or a client= built with auth_server)")
        require_secure_url(issuer, "issuer", allow_query=False)
        size = introspection_cache_size
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ConfigurationError("introspection_cache_size: expected a whole number >= 0")
        self.resource = resource
        self.issuer = issuer
        self.mode: Mode = mode
        self.scopes = _scope_tokens(scopes, "scopes")
        supported = self.scopes if scopes_supported is None else scopes_supported
        self.scopes_supported = _scope_tokens(supported, "scopes_supported")
        self.resource_name = resource_name
        self.introspection_cache_ttl = _seconds(introspection_cache_ttl, "introspection_cache_ttl")
        self.introspection_cache_size = size
        self.jwks_cache_ttl = _seconds(jwks_cache_ttl, "jwks_cache_ttl")
        self.jwks_refresh_interval = _seconds(jwks_refresh_interval, "jwks_refresh_interval")
        self.leeway = _seconds(leeway, "leeway")
        self.algorithms = tuple(algorithms)
        self._clock = clock if clock is not None else time.time
        self._owns_client = client is None
        self.client = (
            client
            if client is not None
            else OAuth2Client(
                auth_server=issuer, client_id=client_id, client_secret=client_secret, clock=clock
            )
        )
        self.model = HTTPBearerModel(bearerFormat="JWT" if mode == "jwt" else None)
        self.scheme_name = scheme_name or type(self).__name__
        self._jwks: Any = None  # the generated JsonWebKeySet, once fetched
        self._jwks_at = -math.inf
        self._jwks_lock = AsyncLock()
        self._answers: OrderedDict[str, tuple[float, AccessToken | str]] = OrderedDict()

    def __repr__(self) -> str:
        return f"BearerAuth(resource={self.resource!r}, issuer={self.issuer!r}, mode={self.mode!r})"

    async def aclose(self) -> None:
        """Close the ``OAuth2Client`` this dependency made (not one it was given)."""
        if self._owns_client:
            await self.client.aclose()

    # ------------------------------------------------------------------ the RFC 9728 side

    @property
    def metadata_url(self) -> str:
        """Where the protected resource metadata is (RFC 9728 §3.1): the ``resource_metadata``
        of every challenge."""
        return resource_metadata_urls(self.resource)[0]

    @property
    def metadata_path(self) -> str:
        """The path of :attr:`metadata_url`, the route :meth:`metadata_router` serves."""
        return "/" + self.metadata_url.split("://", 1)[1].partition("/")[2]

    def metadata(self) -> dict[str, Any]:
        """The protected resource metadata document (RFC 9728 §2)."""
        document: dict[str, Any] = {
            "resource": self.resource,
            "authorization_servers": [self.issuer],
            "bearer_methods_supported": ["header"],
        }
        if self.scopes_supported:
            document["scopes_supported"] = list(self.scopes_supported)
        if self.resource_name is not None:
            document["resource_name"] = self.resource_name
        return document

    def metadata_router(self) -> APIRouter:
        """A router serving :meth:`metadata` at :attr:`metadata_path` (RFC 9728 §3):
        ``app.include_router(auth.metadata_router())``. The document is public, so any
        origin may read it (browser-based clients discover from other origins)."""

        async def protected_resource_metadata() -> JSONResponse:
            headers = {"Access-Control-Allow-Origin": "*", "Cache-Control": "max-age=3600"}
            return JSONResponse(self.metadata(), headers=headers)

        router = APIRouter()
        router.add_api_route(
            self.metadata_path,
            protected_resource_metadata,
            methods=["GET"],
            include_in_schema=False,
        )
        return router

    # ---------------------------------------------------------------------- the dependency

    def require(self, *scopes: str) -> Any:
        """``Security(self, scopes=[...])``: a parameter default for a route that needs
        ``scopes`` on top of :attr:`scopes`."""
        return Security(self, scopes=list(_scope_tokens(scopes, "require")))

    async def __call__(self, request: Request, security_scopes: SecurityScopes) -> AccessToken:
        """Check the request's token for a route that needs ``security_scopes``.

        Raises:
            HTTPException: 400, 401 or 403 with a ``WWW-Authenticate`` challenge; 503 when the
                authorization server could not be asked.
        """
        needed = self._needed(security_scopes.scopes)
        try:
            token = _bearer_token(request)
            if token is None:
                raise _no_token()
            return await self.verify(token, needed)
        except TokenRefused as refused:
            if refused.scope is None and refused.status_code != 400:
                refused.scope = " ".join(needed) or None
            raise _http_error(refused, self.metadata_url) from None
        except OAuth2Error as exc:
            headers = {}
            if exc.retry_after is not None:
                headers["Retry-After"] = str(math.ceil(exc.retry_after))
            raise HTTPException(
                503, "the authorization server could not check the token", headers=headers
            ) from exc

    def _needed(self, route_scopes: Iterable[str]) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.scopes, *route_scopes)))

    async def verify(self, token: str, scopes: Iterable[str] = ()) -> AccessToken:
        """Validate ``token`` per ``mode``, for this resource and ``scopes`` (plus
        :attr:`scopes`), outside a request.

        Raises:
            TokenRefused: ``invalid_token``, or ``insufficient_scope`` naming the scopes needed.
            OAuth2Error: the authorization server could not be asked (``NetworkError``,
                ``DiscoveryError``, a ``TokenError`` from its introspection endpoint).
        """
        needed = self._needed(scopes)
        if self.mode == "jwt":
            accepted = await self._validate_jwt(token)
        else:
            accepted = await self._introspect(token)
        if not set(needed) <= accepted.scopes:
            missing = " ".join(s for s in needed if s not in accepted.scopes)
            raise TokenRefused(
                f"the token lacks the scope {missing}",
                error_code="insufficient_scope",
                status_code=403,
                scope=" ".join(needed),
            )
        return accepted

    # ----------------------------------------------------------------------------- RFC 9068

    async def _validate_jwt(self, token: str) -> AccessToken:
        if not _jwt.is_jwt(token):
            raise _refused("the access token is not a JWT (RFC 9068)")
        metadata = await self.client.discover()
        jwks = await self._keys(_kid(token))
        try:
            claims = _jwt.validate_jwt_access_token(
                token,
                jwks=jwks,
                issuer=metadata.issuer,
                audience=self.resource,
                algorithms=self.algorithms,
                leeway=self.leeway,
                now=self._clock(),
            )
        except TokenError as exc:
            raise _refused(str(exc)) from None
        return _access_token(token, claims)

    async def _keys(self, kid: str | None) -> Any:
        """The JWK Set, fetched again when stale, or early when it lacks ``kid`` (one fetch at
        a time; at most once per ``jwks_refresh_interval`` for unknown keys)."""
        stamp = self._jwks_at
        age = self._clock() - stamp
        held = self._jwks.keys if self._jwks is not None else ()
        known = kid is None or any(key.kid == kid for key in held)
        if age < self.jwks_cache_ttl and (known or age < self.jwks_refresh_interval):
            return self._jwks
        async with self._jwks_lock:
            if self._jwks_at == stamp:  # nobody fetched it while this task waited
                self._jwks = await self.client._jwks()
                self._jwks_at = self._clock()
        return self._jwks

    # ----------------------------------------------------------------------------- RFC 7662

    async def _introspect(self, token: str) -> AccessToken:
        key = hashlib.sha256(token.encode()).hexdigest()  # tokens are not kept as keys
        now = self._clock()
        held = self._answers.get(key)
        if held is not None and now < held[0]:
            answer = held[1]
        else:
            self._answers.pop(key, None)
            try:
                answer = self._judge(token, await self.client.introspect_token(token), now)
            except TokenRefused as refused:
                answer = str(refused)
            self._remember(key, answer, now)
        if isinstance(answer, str):
            raise _refused(answer)
        if answer.expires_at is not None and self._clock() >= answer.expires_at + self.leeway:
            raise _refused("the token has expired")
        return answer

    def _remember(self, key: str, answer: AccessToken | str, now: float) -> None:
        if self.introspection_cache_ttl <= 0 or self.introspection_cache_size == 0:
            return
        until = now + self.introspection_cache_ttl
        if isinstance(answer, AccessToken) and answer.expires_at is not None:
            until = min(until, answer.expires_at + self.leeway)
        self._answers[key] = (until, answer)
        while len(self._answers) > self.introspection_cache_size:
            self._answers.popitem(last=False)

    def _judge(self, token: str, answer: Mapping[str, Any], now: float) -> AccessToken:
        """The introspection response (RFC 7662 §2.2) as an accepted token, or refused."""
        if answer.get("active") is not True:
            raise _refused("the authorization server says the token is not active")
        token_type = answer.get("token_type")
        if isinstance(token_type, str) and token_type.lower() != "bearer":
            raise _refused(f"the token is a {token_type!r} token, not a bearer token")
        issuer = answer.get("iss")
        if issuer is not None and issuer != self.issuer:
            raise _refused(f"the token was issued by {issuer!r}, not {self.issuer!r}")
        exp, nbf = _number(answer, "exp"), _number(answer, "nbf")
        if exp is not None and now >= exp + self.leeway:
            raise _refused("the token has expired")
        if nbf is not None and nbf > now + self.leeway:
            raise _refused("the token is not valid yet (nbf)")
        if self.resource not in _audiences(answer):
            raise _refused(f"the token's audience does not include {self.resource} (RFC 8707)")
        return _access_token(token, answer)


def _kid(token: str) -> str | None:
    """The ``kid`` of a JWT's header, unverified: only to decide whether to fetch keys."""
    try:
        kid = _jwt._parse(token).header.get("kid")
    except _jwt._Refused:
        return None
    return kid if isinstance(kid, str) else None
