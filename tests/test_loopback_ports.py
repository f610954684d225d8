"""RFC 8252 §7.3: a loopback IP redirect URI matches whatever port the native app takes.

Against MockAuthServer, sync and async: a client registered with one port authorizes with
another, and a client configured with another port reuses the stored registration; the rule
is for http loopback IP literals only (not ``localhost``, RFC 8252 §8.3; not https).
"""

from __future__ import annotations

import pytest

from mcp_oauth_dynamicclient._urls import redirect_matches
from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.clients import REDIRECT, follow, make
from tests.flavours import Flavour


@pytest.mark.parametrize(
    ("requested", "registered", "matches"),
    [
        ("http://127.0.0.1:8080/callback", "http://127.0.0.1:8080/callback", True),
        ("http://127.0.0.1:54321/callback", "http://127.0.0.1:8080/callback", True),
        ("http://127.0.0.1:54321/callback", "http://127.0.0.1/callback", True),
        ("http://[::1]:4000/cb", "http://[::1]/cb", True),
        ("http://127.0.0.1:54321/other", "http://127.0.0.1:8080/callback", False),
        ("http://127.0.0.2:54321/callback", "http://127.0.0.1:8080/callback", False),
        ("http://localhost:54321/callback", "http://localhost:8080/callback", False),
        ("https://127.0.0.1:54321/callback", "https://127.0.0.1:8080/callback", False),
        ("http://10.0.0.1:54321/callback", "http://10.0.0.1:8080/callback", False),
        ("http://127.0.0.1:54321/callback?a=1", "http://127.0.0.1:8080/callback", False),
        ("http://127.0.0.1:99999/callback", "http://127.0.0.1:8080/callback", False),
    ],
)
def test_only_the_port_of_a_loopback_ip_may_differ(
    requested: str, registered: str, matches: bool
) -> None:
    assert redirect_matches(requested, registered) is matches


def test_a_loopback_client_authorizes_on_another_port(api: Flavour, server: MockAuthServer) -> None:
    client = make(api, server)  # registered with http://127.0.0.1:8080/callback
    client.register()
    url = client.get_authorization_url(redirect_uri="http://127.0.0.1:54321/callback")
    callback = follow(url)
    assert callback.startswith("http://127.0.0.1:54321/callback?")
    assert client.exchange_code(callback).access_token

    # Another run takes another port: the stored registration still fits.
    again = make(api, server, storage=client.storage, redirect_uris=["http://127.0.0.1:9/callback"])
    assert again.register().client_id == client.register().client_id
    assert server.requests.count("/register") == 1
    assert REDIRECT in again.register().redirect_uris
