"""A third-party MCP server for interop tests, built on the MCP Python SDK (``mcp`` 2.x).

One process, one loopback port, two roles:

* authorization server: the SDK's own auth routes (RFC 8414 metadata, RFC 7591 ``/register``,
  ``/authorize``, ``/token``, RFC 7009 ``/revoke``) over :class:`InMemoryProvider`, an in-memory
  implementation of the SDK's ``OAuthAuthorizationServerProvider`` protocol written for these
  tests;
* resource server: the SDK's RFC 9728 protected resource metadata and a streamable-HTTP MCP
  endpoint at ``/mcp`` (an ``MCPServer`` with one tool, ``whoami``), guarded by the SDK's bearer
  middleware, which answers 401 with ``WWW-Authenticate: Bearer ..., resource_metadata="..."``.

``/authorize`` approves a fixed test user without any UI: it answers 302 to ``/consent?txn=...``,
which answers 302 to ``redirect_uri?code=...&state=...``. No cookie is needed.

This file runs only inside its own virtual environment (see ``requirements.txt``); the test
process never imports it and talks to it over HTTP only.

Usage::

    python app.py PORT [--access-token-ttl SECONDS] [--issuer-trailing-slash] [--watch-stdin]

``PORT`` 0 binds a free port chosen by the OS. Once listening on 127.0.0.1, the process prints
exactly one line, ``READY http://127.0.0.1:PORT``, to stdout. It stops on SIGTERM or SIGINT, and
also when its stdin reaches end-of-file if ``--watch-stdin`` is given (so that it cannot outlive
a parent that dies without cleaning up).
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import socket
import sys
import threading
import time
from dataclasses import dataclass, field

import uvicorn
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    OAuthAuthorizationServerProvider,
    RefreshToken,
    TokenError,
    construct_redirect_uri,
)
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from mcp.server.mcpserver import MCPServer
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from pydantic import AnyHttpUrl
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

SCOPES = ["mcp:read", "mcp:write"]
"""Scopes the authorization server knows (and registers clients with by default)."""

REQUIRED_SCOPES = ["mcp:read"]
"""Scopes a token needs for the MCP endpoint (also the RFC 9728 ``scopes_supported``)."""

TEST_USER = "test-user"
"""The resource owner every authorization is approved for."""

CODE_TTL_SECONDS = 300
PENDING_TTL_SECONDS = 300


def _same_resource(a: str, b: str) -> bool:
    """Compare two resource indicators, ignoring one trailing slash."""
    return a.rstrip("/") == b.rstrip("/")


@dataclass
class PendingAuthorization:
    """An authorization request waiting at the (automatic) consent step."""

    client_id: str
    params: AuthorizationParams
    scopes: list[str]
    expires_at: float


@dataclass
class Grant:
    """Every token issued from one authorization, so that they can be revoked together."""

    access_tokens: set[str] = field(default_factory=set)
    refresh_tokens: set[str] = field(default_factory=set)


class InMemoryProvider(
    OAuthAuthorizationServerProvider[AuthorizationCode, RefreshToken, AccessToken]
):
    """In-memory ``OAuthAuthorizationServerProvider`` for one test process's lifetime.

    It subclasses the SDK's protocol explicitly to inherit the default (refusing)
    ``exchange_identity_assertion``; the SEP-990 grant stays disabled.

    Policy choices (the SDK leaves all of these to the provider):

    * ``resource`` (RFC 8707) at ``/authorize`` must name this server's MCP endpoint, else the
      client is sent back with ``error=invalid_target``; tokens carry it, and the MCP endpoint
      refuses a token whose resource is not the endpoint (``validate_token_resource``), so a
      token obtained without ``resource`` is useless there;
    * no ``scope`` at ``/authorize`` means the scopes the client registered;
    * authorization codes are single-use; presenting a used code again fails and revokes every
      token issued from it (RFC 6749 section 4.1.2);
    * refresh tokens rotate on every use; presenting a rotated-out refresh token fails and revokes
      the whole grant (OAuth 2.1 section 4.3.1 replay detection);
    * revoking any token (access or refresh) revokes the whole grant.
    """

    def __init__(self, issuer: str, resource: str, access_token_ttl: int) -> None:
        """Create an empty store for the server at ``issuer`` guarding ``resource``."""
        self.issuer = issuer
        self.resource = resource
        self.access_token_ttl = access_token_ttl
        self.clients: dict[str, OAuthClientInformationFull] = {}
        self.pending: dict[str, PendingAuthorization] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.used_codes: dict[str, Grant] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.retired_refresh_tokens: dict[str, Grant] = {}
        self.grant_of: dict[str, Grant] = {}

    # -- clients ------------------------------------------------------------------------------

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        """Return the registered client, if any."""
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        """Store a client that the SDK's registration handler has already validated."""
        self.clients[client_info.client_id] = client_info

    # -- authorization ------------------------------------------------------------------------

    async def authorize(
        self, client: OAuthClientInformationFull, params: AuthorizationParams
    ) -> str:
        """Park the request and send the user agent to the automatic consent step."""
        if params.resource is not None and not _same_resource(params.resource, self.resource):
            raise AuthorizeError(
                error="invalid_target",
                error_description=f"unknown resource {params.resource!r}; this server guards "
                f"{self.resource!r}",
            )
        scopes = params.scopes if params.scopes is not None else (client.scope or "").split()
        txn = secrets.token_urlsafe(24)
        self.pending[txn] = PendingAuthorization(
            client_id=client.client_id,
            params=params,
            scopes=scopes,
            expires_at=time.time() + PENDING_TTL_SECONDS,
        )
        return f"{self.issuer}/consent?txn={txn}"

    async def consent(self, request: Request) -> Response:
        """Approve a parked request for the test user and redirect back with a code."""
        pending = self.pending.pop(request.query_params.get("txn", ""), None)
        if pending is None or pending.expires_at < time.time():
            return JSONResponse(
                {"error": "invalid_request", "error_description": "unknown or expired txn"},
                status_code=400,
            )
        params = pending.params
        code = AuthorizationCode(
            code=secrets.token_urlsafe(32),
            scopes=pending.scopes,
            expires_at=time.time() + CODE_TTL_SECONDS,
            client_id=pending.client_id,
            code_challenge=params.code_challenge,
            redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            resource=params.resource,
            subject=TEST_USER,
        )
        self.codes[code.code] = code
        location = construct_redirect_uri(
            str(params.redirect_uri), code=code.code, state=params.state
        )
        return RedirectResponse(location, status_code=302, headers={"Cache-Control": "no-store"})

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> AuthorizationCode | None:
        """Return an unused code of this client; a replayed code revokes what it produced."""
        replayed = self.used_codes.get(authorization_code)
        if replayed is not None:
            self._revoke_grant(replayed)
            return None
        code = self.codes.get(authorization_code)
        if code is None or code.client_id != client.client_id:
            return None
        return code

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode
    ) -> OAuthToken:
        """Consume the code and issue an access token and a refresh token."""
        if self.codes.pop(authorization_code.code, None) is None:
            raise TokenError(error="invalid_grant", error_description="authorization code was used")
        grant = Grant()
        self.used_codes[authorization_code.code] = grant
        return self._issue(
            grant,
            client_id=client.client_id,
            scopes=authorization_code.scopes,
            refresh_scopes=authorization_code.scopes,
            resource=authorization_code.resource,
            subject=authorization_code.subject,
        )

    # -- refresh --------------------------------------------------------------------------------

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> RefreshToken | None:
        """Return a live refresh token of this client; a rotated-out one revokes its grant."""
        retired = self.retired_refresh_tokens.get(refresh_token)
        if retired is not None:
            self._revoke_grant(retired)
            return None
        token = self.refresh_tokens.get(refresh_token)
        if token is None or token.client_id != client.client_id:
            return None
        return token

    async def exchange_refresh_token(
        self,
        client: OAuthClientInformationFull,
        refresh_token: RefreshToken,
        scopes: list[str],
    ) -> OAuthToken:
        """Rotate: retire the presented refresh token and issue a new pair in the same grant."""
        grant = self.grant_of.get(refresh_token.token)
        if grant is None or self.refresh_tokens.pop(refresh_token.token, None) is None:
            raise TokenError(error="invalid_grant", error_description="refresh token was revoked")
        grant.refresh_tokens.discard(refresh_token.token)
        self.retired_refresh_tokens[refresh_token.token] = grant
        return self._issue(
            grant,
            client_id=client.client_id,
            scopes=scopes,
            refresh_scopes=refresh_token.scopes,
            resource=refresh_token.resource,
            subject=refresh_token.subject,
        )

    # -- access tokens and revocation ------------------------------------------------------------

    async def load_access_token(self, token: str) -> AccessToken | None:
        """Return a live, unexpired access token."""
        access = self.access_tokens.get(token)
        if access is None or (access.expires_at is not None and access.expires_at < time.time()):
            return None
        return access

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        """Revoke the whole grant the token belongs to."""
        grant = self.grant_of.get(token.token)
        if grant is not None:
            self._revoke_grant(grant)

    # -- helpers ----------------------------------------------------------------------------------

    def _issue(
        self,
        grant: Grant,
        *,
        client_id: str,
        scopes: list[str],
        refresh_scopes: list[str],
        resource: str | None,
        subject: str | None,
    ) -> OAuthToken:
        """Mint an access token and a refresh token into ``grant``."""
        access = AccessToken(
            token=secrets.token_urlsafe(32),
            client_id=client_id,
            scopes=scopes,
            expires_at=int(time.time()) + self.access_token_ttl,
            resource=resource,
            subject=subject,
            claims={"iss": self.issuer},
        )
        refresh = RefreshToken(
            token=secrets.token_urlsafe(32),
            client_id=client_id,
            scopes=refresh_scopes,
            resource=resource,
            subject=subject,
        )
        self.access_tokens[access.token] = access
        self.refresh_tokens[refresh.token] = refresh
        grant.access_tokens.add(access.token)
        grant.refresh_tokens.add(refresh.token)
        self.grant_of[access.token] = grant
        self.grant_of[refresh.token] = grant
        return OAuthToken(
            access_token=access.token,
            token_type="Bearer",
            expires_in=self.access_token_ttl,
            scope=" ".join(scopes),
            refresh_token=refresh.token,
        )

    def _revoke_grant(self, grant: Grant) -> None:
        """Forget every token of ``grant`` (retired refresh tokens stay known as retired)."""
        for token in grant.access_tokens:
            self.access_tokens.pop(token, None)
        for token in grant.refresh_tokens:
            self.refresh_tokens.pop(token, None)
        grant.access_tokens.clear()
        grant.refresh_tokens.clear()


def build_server(base_url: str, access_token_ttl: int, issuer_trailing_slash: bool) -> MCPServer:
    """Assemble the MCP server with the SDK's authorization server and resource server parts.

    The SDK keeps a URL given as a string as written (``http://127.0.0.1:PORT``), but a pydantic
    ``AnyHttpUrl`` object with an empty path gains a trailing slash, which then shows up in the
    issuer and in the RFC 9728 ``authorization_servers``. Real servers do both, so
    ``issuer_trailing_slash`` selects the second form.
    """
    resource = f"{base_url}/mcp"
    provider = InMemoryProvider(
        issuer=base_url, resource=resource, access_token_ttl=access_token_ttl
    )
    issuer_url: str | AnyHttpUrl = AnyHttpUrl(base_url) if issuer_trailing_slash else base_url
    settings = AuthSettings.model_validate(
        {
            "issuer_url": issuer_url,
            "resource_server_url": resource,
            "required_scopes": REQUIRED_SCOPES,
            "validate_token_resource": True,
            "client_registration_options": ClientRegistrationOptions(
                enabled=True, valid_scopes=SCOPES, default_scopes=SCOPES
            ),
            "revocation_options": RevocationOptions(enabled=True),
        }
    )
    server = MCPServer(
        "mcp-sdk-interop", auth_server_provider=provider, auth=settings, log_level="WARNING"
    )

    @server.tool()
    def whoami() -> dict[str, object]:
        """Describe the bearer token this request was authorized with."""
        token = get_access_token()
        if token is None:
            return {"authenticated": False}
        return {
            "authenticated": True,
            "client_id": token.client_id,
            "subject": token.subject,
            "scopes": token.scopes,
            "resource": token.resource,
        }

    server.custom_route("/consent", methods=["GET"])(provider.consent)
    return server


def _watch_stdin(loop: asyncio.AbstractEventLoop, server: uvicorn.Server) -> None:
    """Block on stdin until end-of-file, then ask uvicorn to shut down."""
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except (OSError, ValueError):
        pass
    loop.call_soon_threadsafe(setattr, server, "should_exit", True)


async def _serve(sock: socket.socket, base_url: str, args: argparse.Namespace) -> int:
    """Run uvicorn on the bound socket and announce readiness on stdout."""
    server_app = build_server(base_url, args.access_token_ttl, args.issuer_trailing_slash)
    app = server_app.streamable_http_app()
    config = uvicorn.Config(
        app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2, access_log=False
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if serving.done():
            await serving
            print("uvicorn stopped before it was ready", file=sys.stderr)
            return 1
        await asyncio.sleep(0.02)
    if args.watch_stdin:
        loop = asyncio.get_running_loop()
        threading.Thread(target=_watch_stdin, args=(loop, server), daemon=True).start()
    print(f"READY {base_url}", flush=True)
    await serving
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, bind 127.0.0.1:PORT, and serve until told to stop."""
    parser = argparse.ArgumentParser(description="MCP Python SDK interop server (see app.py).")
    parser.add_argument("port", type=int, help="TCP port on 127.0.0.1 (0: any free port)")
    parser.add_argument(
        "--access-token-ttl", type=int, default=3600, help="access token lifetime in seconds"
    )
    parser.add_argument(
        "--issuer-trailing-slash",
        action="store_true",
        help="configure the issuer as a URL object, so that it reads http://127.0.0.1:PORT/",
    )
    parser.add_argument(
        "--watch-stdin", action="store_true", help="exit when stdin reaches end-of-file"
    )
    args = parser.parse_args(argv)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if sys.platform != "win32":  # there, SO_REUSEADDR would allow stealing a bound port
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(128)
    sock.setblocking(False)
    port = sock.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    return asyncio.run(_serve(sock, base_url, args))


if __name__ == "__main__":
    sys.exit(main())
