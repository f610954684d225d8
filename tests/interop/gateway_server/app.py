"""The mcp-oauth-gateway's authorization server (PyPI ``mcp-oauth-dynamicclient`` 0.2.0) for
interop tests, with its GitHub login replaced by a fixed test user.

Everything that answers a client is upstream's code: ``create_app(Settings(...))`` with its
routes for RFC 8414 metadata, RFC 7591 ``/register``, RFC 7592 ``/register/{client_id}``,
``/authorize``, ``/callback``, ``/token``, RFC 7009 ``/revoke``, RFC 7662 ``/introspect``,
``/jwks`` and the ForwardAuth ``/verify``, storing in Redis. This wrapper changes two things
only, both about GitHub, which a test cannot reach:

* ``/authorize`` answers with a redirect to ``https://github.com/login/oauth/authorize?...``.
  The wrapper rewrites that ``Location`` to what GitHub answers once its user has approved:
  ``https://auth.DOMAIN/callback?code=GITHUB_CODE&state=...``. So a headless browser goes
  ``/authorize`` → ``/callback`` (upstream's code, which checks the state and the allowed
  users and makes the authorization code) → ``redirect_uri?code=...&state=...``.
* ``AuthManager.exchange_github_code`` returns the GitHub user ``test-user`` for
  ``GITHUB_CODE`` (and nothing, as upstream does for a failed exchange, for any other code).

It also keeps a log of the requests it answered (method, path, status, the scheme of the
``Authorization`` header, the names of the form fields), served as JSON at
``GET /_interop/requests``, so that a test can count what reached the server without trusting
the client's own account.

This file runs only inside its own virtual environment (see ``requirements.txt``): the package
it serves has the import name of the library under test. The test process talks to it over
HTTPS only.

Usage::

    python app.py --domain gateway.test --redis-url redis://127.0.0.1:PORT/7 \\
        --certfile cert.pem --keyfile key.pem [--port 0] [--access-token-lifetime 3600] \\
        [--client-lifetime 7776000] [--watch-stdin]

It serves TLS on 127.0.0.1:PORT (0: a free port) with the given certificate, and prints exactly
one line, ``READY PORT``, to stdout once it listens. Its issuer is ``https://auth.DOMAIN``, with
no port: clients must connect ``auth.DOMAIN:443`` to that port themselves. It stops on SIGTERM
or SIGINT, and when stdin reaches end-of-file with ``--watch-stdin``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import secrets
import socket
import sys
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

TEST_USER: dict[str, Any] = {
    "id": 4242,
    "login": "test-user",
    "email": "test-user@gateway.test",
    "name": "Test User",
}
"""What GitHub's ``/user`` would say of the user who approves every authorization."""

GITHUB_CODE = "interop-github-code"
"""The code "GitHub" hands to ``/callback``; upstream exchanges it for :data:`TEST_USER`."""

GITHUB_AUTHORIZE = "https://github.com/login/oauth/authorize"
GITHUB_CLIENT_ID = "interop-github-client"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]


def _signing_key_b64() -> str:
    """A fresh RSA key for upstream's RS256 access tokens, as its ``JWT_PRIVATE_KEY_B64``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return base64.b64encode(pem).decode("ascii")


def build_app(args: argparse.Namespace) -> Asgi:
    """Upstream's app, configured for ``args``, behind :class:`Interop`."""
    import os

    # Upstream reads its RSA key from this variable (keys.RSAKeyManager), and server.py builds
    # a module-level app from the environment when imported: both need the settings there.
    environment = {
        "GITHUB_CLIENT_ID": GITHUB_CLIENT_ID,
        "GITHUB_CLIENT_SECRET": secrets.token_urlsafe(16),
        "JWT_SECRET": secrets.token_urlsafe(32),
        "JWT_ALGORITHM": "RS256",
        "JWT_PRIVATE_KEY_B64": _signing_key_b64(),
        "BASE_DOMAIN": args.domain,
        "REDIS_URL": args.redis_url,
        "REDIS_PASSWORD": "",
        "ACCESS_TOKEN_LIFETIME": str(args.access_token_lifetime),
        "REFRESH_TOKEN_LIFETIME": str(30 * 86400),
        "SESSION_TIMEOUT": "3600",
        "CLIENT_LIFETIME": str(args.client_lifetime),
        "ALLOWED_GITHUB_USERS": TEST_USER["login"],
        "MCP_PROTOCOL_VERSION": "2025-06-18",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(environment)

    from mcp_oauth_dynamicclient.auth_authlib import AuthManager
    from mcp_oauth_dynamicclient.config import Settings
    from mcp_oauth_dynamicclient.server import create_app

    async def exchange_github_code(self: AuthManager, code: str) -> dict[str, Any] | None:
        """GitHub's code exchange and ``/user`` lookup, answered for the test user."""
        return dict(TEST_USER) if secrets.compare_digest(code, GITHUB_CODE) else None

    AuthManager.exchange_github_code = exchange_github_code
    settings = Settings(redis_password=None)  # the rest from the environment above
    return Interop(create_app(settings), args.domain)


class Interop:
    """ASGI middleware: GitHub's approval in place of its login page, and a request log."""

    def __init__(self, app: Asgi, domain: str) -> None:
        self.app = app
        self.callback = f"https://auth.{domain}/callback"
        self.requests: list[dict[str, Any]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == "/_interop/requests":
            await self._send_log(send)
            return
        headers = dict(scope["headers"])
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        entry = {
            "method": scope["method"],
            "path": scope["path"],
            "authorization": authorization.partition(" ")[0] or None,
        }
        is_form = headers.get(b"content-type", b"").startswith(b"application/x-www-form-urlencoded")
        body = bytearray()

        async def receive_wrapper() -> Message:
            message = await receive()
            if is_form and message["type"] == "http.request":
                body.extend(message.get("body", b""))
            return message

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                if scope["path"] == "/authorize":
                    message["headers"] = [self._approved(*h) for h in message["headers"]]
                # The names of the form fields the app read, never their values.
                fields = sorted(parse_qs(body.decode("latin-1"), keep_blank_values=True))
                # Logged before the client can see the response, so a test reads it complete.
                self.requests.append({**entry, "form": fields, "status": message["status"]})
            await send(message)

        await self.app(scope, receive_wrapper, send_wrapper)

    def _approved(self, name: bytes, value: bytes) -> tuple[bytes, bytes]:
        """A ``Location`` to GitHub's login page becomes GitHub's redirect after approval."""
        if name.lower() != b"location" or not value.startswith(GITHUB_AUTHORIZE.encode()):
            return name, value
        query = parse_qs(urlsplit(value.decode("latin-1")).query)
        if query.get("redirect_uri") != [self.callback] or query.get("client_id") != [
            GITHUB_CLIENT_ID
        ]:
            return name, value  # not the request GitHub would approve: left for the test to see
        approved = urlencode({"code": GITHUB_CODE, "state": query["state"][0]})
        return name, f"{self.callback}?{approved}".encode("latin-1")

    async def _send_log(self, send: Send) -> None:
        body = json.dumps(self.requests).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _watch_stdin(loop: asyncio.AbstractEventLoop, server: uvicorn.Server) -> None:
    """Block on stdin until end-of-file, then ask uvicorn to shut down."""
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except (OSError, ValueError):
        pass
    loop.call_soon_threadsafe(setattr, server, "should_exit", True)


async def _serve(sock: socket.socket, args: argparse.Namespace) -> int:
    """Run uvicorn with TLS on the bound socket and announce readiness on stdout."""
    config = uvicorn.Config(
        build_app(args),
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=2,
        access_log=False,
        ssl_certfile=args.certfile,
        ssl_keyfile=args.keyfile,
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
    print(f"READY {sock.getsockname()[1]}", flush=True)
    await serving
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, bind 127.0.0.1:PORT, and serve until told to stop."""
    parser = argparse.ArgumentParser(description="The gateway's authorization server (app.py).")
    parser.add_argument("--domain", required=True, help="BASE_DOMAIN: the issuer is auth.DOMAIN")
    parser.add_argument("--redis-url", required=True, help="REDIS_URL, with its database")
    parser.add_argument("--certfile", required=True, help="PEM certificate chain for auth.DOMAIN")
    parser.add_argument("--keyfile", required=True, help="PEM private key of the certificate")
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: free)")
    parser.add_argument("--access-token-lifetime", type=int, default=3600)
    parser.add_argument(
        "--client-lifetime", type=int, default=7776000, help="seconds; 0: never expires"
    )
    parser.add_argument(
        "--watch-stdin", action="store_true", help="exit when stdin reaches end-of-file"
    )
    args = parser.parse_args(argv)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(128)
    sock.setblocking(False)
    return asyncio.run(_serve(sock, args))


if __name__ == "__main__":
    sys.exit(main())
