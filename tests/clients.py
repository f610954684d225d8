"""Client helpers shared by the client tests: a client of a MockAuthServer, and the browser step.

``make`` builds a client of either flavour on the server's clock; ``authorize`` runs
authorization code + PKCE end to end, with ``follow`` standing in for the browser.
"""

from __future__ import annotations

from typing import Any

import httpx

from mcp_oauth_dynamicclient import TokenResponse
from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.flavours import ClientProxy, Flavour

__all__ = ["REDIRECT", "authorize", "follow", "make"]

REDIRECT = "http://127.0.0.1:8080/callback"


def make(api: Flavour, server: MockAuthServer, **settings: Any) -> ClientProxy:
    """A client of ``server`` sharing its clock, so expiry is tested without sleeping."""
    options: dict[str, Any] = {
        "client_name": "Test App",
        "redirect_uris": [REDIRECT],
        "resource": server.resource_url,
        "clock": server.clock.now,
    }
    return api.client(auth_server=server.url, **{**options, **settings})


def follow(auth_url: str) -> str:
    """What a browser does: the mock server approves at once and redirects to the callback."""
    response = httpx.get(auth_url)
    assert response.status_code == 302, response.text
    location: str = response.headers["location"]
    return location


def authorize(client: ClientProxy, **params: Any) -> TokenResponse:
    """Authorization code + PKCE, end to end."""
    callback = follow(client.get_authorization_url(**params))
    token: TokenResponse = client.exchange_code(callback)
    return token
