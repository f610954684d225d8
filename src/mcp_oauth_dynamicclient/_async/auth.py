"""``OAuth2Auth``: the ``httpx.Auth`` with which an httpx client calls a protected MCP server.

``httpx.AsyncClient(auth=client.httpx_auth(authorize=...))`` sends the bearer token of an
``OAuth2Client`` with every request (RFC 6750 §2.1), and answers the server's challenges
(MCP authorization, 2025-11-25). ``client.httpx2_auth(...)`` is the same for ``httpx2`` (the
``[httpx2]`` extra), the HTTP client of the MCP Python SDK 2.x, whose ``Auth`` has the same
shape: one flow, two base classes.

- 401 with ``invalid_token`` for a token that has a refresh token: refresh it (once) and resend;
- 401 otherwise (no token yet, or a refused one): discover the authorization server from the
  challenge's ``resource_metadata`` (RFC 9728 §5.1), authorize, and resend (once); a refused
  token has the resource's metadata read again, and a resource that names another
  authorization server now gets a client of that server (registered there if need be);
- 403 ``insufficient_scope`` (RFC 6750 §3.1): authorize again for the scopes held plus those the
  challenge asks for, at most ``max_step_ups`` times per request (2 by default: with the first
  authorization, three at most, as the MCP conformance suite expects of a client), then raise
  ``AuthorizationError`` naming the missing scope.

With ``grant`` set to ``client_credentials`` or ``jwt_bearer`` (``OAuth2Config``), a 401 is
answered by that grant instead, with no ``authorize`` step (MCP machine-to-machine, SEP-1046;
workload identity, SEP-1933; enterprise-managed authorization, SEP-990); its refusal is raised.
A DPoP-bound token (RFC 9449) goes with the ``DPoP`` scheme and a new proof per request, and a
resource's ``use_dpop_nonce`` is answered once with its nonce (§9); a resource that challenges
with ``DPoP`` gets DPoP-bound tokens when ``dpop`` is ``"auto"`` (the default).

The scope asked for is the challenge's ``scope``, else the configured one, else the resource's
``scopes_supported`` (RFC 9728 §2), else none at all; ``offline_access`` is added when the
authorization server lists it. Authorization that needs a person goes through ``authorize``: it
takes the authorization URL and returns the callback URL the browser was sent to, sync or
async (``mcp_oauth_dynamicclient.testing.auto_approve`` does it for ``MockAuthServer``). Without
one, a program run at a terminal with a browser signs in in the system browser with a loopback
redirect (``browser.BrowserAuthorizer``; the client's redirect URI is a loopback one, the port
of its stored registration while free): two lines connect the MCP SDK to a protected server.

No lock is held while a protected request is in flight; only authorization is one at a time,
so requests that meet the same 401 together authorize once and all use the result.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

import httpx

from .._concurrency import AsyncLock, async_to_thread
from .._www_authenticate import BearerChallenge, parse_resource_challenge
from ..exceptions import AuthorizationError, ConfigurationError

if TYPE_CHECKING:
    import httpx2

    from .._models import TokenResponse
    from .client import OAuth2Client

__all__ = ["Authorize", "OAuth2Auth", "httpx2_auth_class"]

Authorize = Callable[[str], "str | Awaitable[str]"]
"""The authorization step a person takes: authorization URL in, callback URL out."""

OFFLINE_ACCESS = "offline_access"


class _McpAuthFlow:
    """The flow of :class:`OAuth2Auth`, on no HTTP library's base class (see ``httpx2``)."""

    requires_request_body = True  # a request may be sent again after a 401 or a 403

    def __init__(
        self, client: OAuth2Client, *, authorize: Authorize | None = None, max_step_ups: int = 2
    ) -> None:
        if isinstance(max_step_ups, bool) or not isinstance(max_step_ups, int) or max_step_ups < 0:
            raise ConfigurationError("max_step_ups: expected a whole number >= 0")
        self.client = client
        self.authorize = authorize
        self.max_step_ups = max_step_ups
        self._authorizing = AsyncLock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.client!r}, max_step_ups={self.max_step_ups})"

    def sync_auth_flow(self, request: httpx.Request) -> Any:
        """Refused: an auth serves the httpx client of its own flavour only."""
        raise ConfigurationError(
            f"{type(self).__name__} was given to the other flavour of httpx client: the auth of "
            "an asyncio client goes with httpx's asyncio client, a blocking one's with the "
            "blocking client"
        )

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Send ``request`` with the token, answering 401 and 403 challenges as documented."""
        token = await self.client._held_token()
        refreshed = authorized = renonced = False
        step_ups = 0
        while True:
            if token is not None:
                if token.dpop_key is None:
                    request.headers["Authorization"] = f"Bearer {token.access_token}"
                else:
                    request.headers.update(
                        self.client._resource_headers(token, request.method, str(request.url))
                    )
            response = yield request
            if self.client._resource_nonce(token, request.url, response) and not renonced:
                renonced = True  # RFC 9449 §9: once more, with the resource's nonce
                continue
            if response.status_code not in (401, 403):
                return
            challenge = parse_resource_challenge(
                response.headers.get_list("www-authenticate"),
                prefer_dpop=token is None or token.dpop_key is not None,
            )
            if challenge is not None and challenge.scheme == "dpop":
                self.client._dpop_asked = True  # the resource wants DPoP-bound tokens
            if response.status_code == 401:
                if (
                    token is not None
                    and token.refresh_token
                    and not refreshed
                    and _says(challenge, "invalid_token")
                ):
                    token, refreshed = await self.client._refresh_held(token), True
                    if token is not None:
                        continue
                if authorized:
                    return  # authorized for this very request, and still refused
                token, authorized = await self._authorize(token, challenge), True
                continue
            if not _says(challenge, "insufficient_scope"):
                return
            if step_ups >= self.max_step_ups:
                missing = challenge.scope if challenge is not None else None
                raise AuthorizationError(
                    f"the resource still refuses after {step_ups} step-up authorization(s); "
                    f"it asks for scope {missing!r}",
                    error_code="insufficient_scope",
                )
            token, step_ups = await self._authorize(token, challenge), step_ups + 1

    async def _authorize(
        self, held: TokenResponse | None, challenge: BearerChallenge | None
    ) -> TokenResponse:
        """A token for the scope the challenge calls for: someone else's fresh one, or one
        the authorization step gives (one authorization at a time)."""
        async with self._authorizing:
            resource_metadata = challenge.resource_metadata if challenge is not None else None
            if held is not None and not _says(challenge, "insufficient_scope"):
                # Refused, not merely short of scope: the resource may have moved to another
                # authorization server.
                await self.client._follow_resource(resource_metadata)
            await self.client._find_issuer(resource_metadata)
            fresh = await self.client._held_token()
            renewed = fresh is not None and (
                held is None or fresh.access_token != held.access_token
            )
            if fresh is not None and renewed and _covers(fresh, challenge):
                return fresh
            if self.client.config.grant != "authorization_code":
                # A machine grant (client credentials, JWT-bearer): no person, no authorize
                # step; a refusal is raised, never answered with another grant (SEP-1933).
                return await self.client._grant_token(await self._scope(held, challenge, False))
            step = self.authorize or await self._browser_step()
            scope = await self._scope(held, challenge)
            url = await self.client._authorization_url(scope, None, {})
            callback = await self._run_authorize(step, url)
            return await self.client.exchange_code(callback)

    async def _browser_step(self) -> Authorize:
        """The default ``authorize`` step of a program a person runs at a terminal with a
        browser at hand: the system browser and a loopback redirect (RFC 8252), on the port
        of the client's stored registration while it is free (so one registration serves
        every run), else a new ephemeral one. Elsewhere (a service, a test, no browser):
        ``AuthorizationError``, since nobody could sign in."""
        from .._loopback import BrowserAuthorizer, browser_available, loopback_port

        client = self.client
        if not (sys.stdin is not None and sys.stdin.isatty() and browser_available()):
            raise AuthorizationError(
                "the resource needs an authorization and this auth has no authorize step "
                "(and this program has no terminal and browser to sign in with): pass "
                "authorize=<callable taking the authorization URL, returning the callback "
                "URL>, e.g. browser_authorizer()"
            )
        if not any(loopback_port(uri) for uri in client.config.redirect_uris):
            if client.config.redirect_uris:
                raise AuthorizationError(
                    "signing in in the browser needs a loopback redirect URI (RFC 8252 §7.3), "
                    "and this client's are not: add loopback_redirect_uri(), or pass authorize="
                )
            from .loopback import reusable_redirect_uri

            uri = await reusable_redirect_uri(client.storage, client.issuer)
            client._use_redirect_uris([uri])
        return BrowserAuthorizer()

    async def _run_authorize(self, step: Authorize, url: str) -> str:
        """The callback URL from the ``authorize`` step, run off the loop when it blocks."""
        callback: object
        if inspect.iscoroutinefunction(step):
            callback = await step(url)
        else:  # a blocking step (a browser, a prompt) runs off the event loop
            callback = await async_to_thread(step, url)
            if inspect.isawaitable(callback):  # a plain callable returning an awaitable
                callback = await callback
        if not isinstance(callback, str):
            raise ConfigurationError("authorize: must return the callback URL, a str")
        return callback

    async def _scope(
        self, held: TokenResponse | None, challenge: BearerChallenge | None, offline: bool = True
    ) -> str | None:
        """What to ask for: the challenge's scope (with the scopes held, for a step-up), else
        the configured one, else the resource's, else nothing; plus ``offline_access`` (for a
        person's authorization: ``offline``)."""
        wanted: list[str] = []
        if challenge is not None and challenge.scope:
            if held is not None and held.scope and challenge.error == "insufficient_scope":
                wanted += held.scope.split()
            wanted += challenge.scopes
        elif default := await self.client._scope(None):
            wanted += default.split()
        metadata = await self.client.discover()
        if offline and OFFLINE_ACCESS in (metadata.scopes_supported or ()) and wanted:
            wanted.append(OFFLINE_ACCESS)
        return " ".join(dict.fromkeys(wanted)) or None


def _says(challenge: BearerChallenge | None, error: str) -> bool:
    return challenge is not None and challenge.error == error


def _covers(token: TokenResponse, challenge: BearerChallenge | None) -> bool:
    """Whether ``token`` was granted every scope ``challenge`` asks for (unknown: yes)."""
    if challenge is None or not challenge.scope or token.scope is None:
        return True
    return set(challenge.scopes) <= set(token.scope.split())


class OAuth2Auth(_McpAuthFlow, httpx.Auth):
    """Bearer tokens of ``client`` for an httpx client, with MCP's 401 and 403 handling.

    Build it with ``OAuth2Client.httpx_auth``; see the module docstring.
    """


_HTTPX2_AUTH: type[httpx2.Auth] | None = None


def httpx2_auth_class() -> type[httpx2.Auth]:
    """:class:`OAuth2Auth` on ``httpx2.Auth``, made on first use (``httpx2`` is optional).

    Raises:
        ConfigurationError: ``httpx2`` is not installed.
    """
    global _HTTPX2_AUTH
    if _HTTPX2_AUTH is None:
        try:
            import httpx2
        except ImportError as exc:
            raise ConfigurationError(
                "httpx2_auth needs httpx2: pip install 'mcp-oauth-dynamicclient[httpx2]'"
            ) from exc
        made = type(
            OAuth2Auth.__name__,
            (_McpAuthFlow, httpx2.Auth),
            {"__doc__": OAuth2Auth.__doc__, "__module__": OAuth2Auth.__module__},
        )
        _HTTPX2_AUTH = cast("type[httpx2.Auth]", made)
    return _HTTPX2_AUTH
