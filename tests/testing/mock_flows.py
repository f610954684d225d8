"""Small helpers the MockAuthServer tests share: PKCE, client set-up, one authorization."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlsplit

import httpx

from mcp_oauth_dynamicclient.testing import MockAuthServer

REDIRECT_URI = "http://127.0.0.1:8765/callback"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def pkce() -> tuple[str, str]:
    """A code verifier and its S256 challenge (RFC 7636 §4.1-§4.2)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def basic_header(client_id: str, secret: str) -> dict[str, str]:
    """``Authorization: Basic`` built by RFC 6749 §2.3.1 (form-encode, then base64)."""
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def public_client(server: MockAuthServer, **metadata: Any) -> str:
    """A registered public client (``none``) with the auth code, refresh and device grants."""
    fields: dict[str, Any] = {
        "redirect_uris": [REDIRECT_URI],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token", DEVICE_GRANT],
        **metadata,
    }
    return server.create_client(fields).client_id


def confidential_client(server: MockAuthServer, **metadata: Any) -> tuple[str, str]:
    """A registered ``client_secret_basic`` client with every grant; (client_id, secret)."""
    fields: dict[str, Any] = {
        "redirect_uris": [REDIRECT_URI],
        "grant_types": ["authorization_code", "refresh_token", "client_credentials", DEVICE_GRANT],
        **metadata,
    }
    info = server.create_client(fields)
    assert info.client_secret is not None
    return info.client_id, info.client_secret


def authorize(
    http: httpx.Client, server: MockAuthServer, client_id: str, challenge: str, /, **params: str
) -> httpx.Response:
    """``GET /authorize`` with a valid request, overridden or extended by ``params``."""
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "st-123",
        **params,
    }
    return http.get(server.url + "/authorize", params={k: v for k, v in query.items() if v})


def redirect_params(response: httpx.Response) -> dict[str, str]:
    """The query parameters of a 302's ``Location`` (each given once)."""
    assert response.status_code == 302, response.text
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert all(len(values) == 1 for values in query.values())
    return {name: values[0] for name, values in query.items()}


def get_code(
    http: httpx.Client, server: MockAuthServer, client_id: str, challenge: str, /, **params: str
) -> str:
    """An authorization code for a valid request."""
    return redirect_params(authorize(http, server, client_id, challenge, **params))["code"]


def exchange(
    http: httpx.Client,
    server: MockAuthServer,
    client_id: str,
    code: str,
    verifier: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: str,
) -> httpx.Response:
    """``POST /token`` for the authorization code grant; a public client unless ``headers``."""
    form = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
    form["redirect_uri"] = REDIRECT_URI
    if headers is None:
        form["client_id"] = client_id
    form.update(extra)
    return http.post(server.url + "/token", data=form, headers=headers or {})


def tokens_for(
    http: httpx.Client, server: MockAuthServer, client_id: str, /, **params: str
) -> dict[str, Any]:
    """Run the whole authorization code flow for a public client; the token response."""
    verifier, challenge = pkce()
    code = get_code(http, server, client_id, challenge, **params)
    response = exchange(http, server, client_id, code, verifier)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def refresh(
    http: httpx.Client, server: MockAuthServer, client_id: str, refresh_token: str, **extra: str
) -> httpx.Response:
    """``POST /token`` for the refresh grant by a public client."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
    return http.post(server.url + "/token", data={**form, **extra})


def introspect(http: httpx.Client, server: MockAuthServer, token: str) -> dict[str, Any]:
    """RFC 7662 introspection by a throwaway confidential client."""
    client_id, secret = confidential_client(server)
    response = http.post(
        server.url + "/introspect", data={"token": token}, headers=basic_header(client_id, secret)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def call_mcp(http: httpx.Client, server: MockAuthServer, token: str) -> httpx.Response:
    """``GET /mcp`` with a Bearer token."""
    return http.get(server.resource_url, headers={"Authorization": f"Bearer {token}"})


class JsonHost:
    """A plain loopback HTTP server answering every GET with :attr:`document` (500 when None),
    standing in for a client's ``jwks_uri``."""

    def __init__(self) -> None:
        self.document: dict[str, Any] | None = None
        self.paths: list[str] = []
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host.paths.append(self.path)
                body = json.dumps(host.document).encode() if host.document is not None else b""
                self.send_response(200 if host.document is not None else 500)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,))

    def __enter__(self) -> JsonHost:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)
