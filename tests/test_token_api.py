"""What people use every day (issue 14, "The library API"), against MockAuthServer, sync and async.

``access_token()`` / ``current_token()`` / ``logout()``; client credentials held while valid and
fetched anew when expired; ``authenticated_request`` with nothing stored registers nothing;
the device flow registers ``refresh_token``, reports progress and runs in one call; errors
that say what to do; a narrower grant warned about; no output unless logging is configured.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from typing import Any

import pytest

from mcp_oauth_dynamicclient import TokenError
from mcp_oauth_dynamicclient._async import client as async_client
from mcp_oauth_dynamicclient._sync import client as sync_client
from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.clients import follow, make
from tests.flavours import Flavour
from tests.scripted_server import Reply, ScriptedServer

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def instant(monkeypatch: pytest.MonkeyPatch, server: MockAuthServer) -> list[float]:
    """Device polling waits move the server's clock instead of sleeping."""
    seen: list[float] = []

    def sleep(seconds: float) -> None:
        seen.append(seconds)
        server.clock.advance(seconds)

    async def async_sleep(seconds: float) -> None:
        sleep(seconds)

    monkeypatch.setattr(sync_client, "sync_sleep", sleep)
    monkeypatch.setattr(async_client, "async_sleep", async_sleep)
    return seen


# ------------------------------------------------------------------ access_token / current_token


def test_access_token_is_the_stored_one_refreshed_when_due(
    api: Flavour, server: MockAuthServer
) -> None:
    client = make(api, server)
    token = client.exchange_code(follow(client.get_authorization_url()))
    assert client.access_token() == token.access_token
    assert client.current_token().access_token == token.access_token
    server.clock.advance(3600)  # expired: the next call refreshes it
    fresh = client.access_token()
    assert fresh != token.access_token
    assert server.requests.count("/token") == 2
    assert client.current_token().access_token == fresh


def test_a_restarted_client_reads_the_storage_and_registers_nothing(
    api: Flavour, server: MockAuthServer
) -> None:
    first = make(api, server)
    token = first.exchange_code(follow(first.get_authorization_url()))
    again = make(api, server, storage=first.storage)
    assert again.current_token() is None  # nothing read yet: no network, no storage
    assert again.access_token() == token.access_token
    assert again.current_token().access_token == token.access_token
    assert server.requests.count("/register") == 1


def test_nothing_stored_raises_before_registering(api: Flavour, server: MockAuthServer) -> None:
    client = make(api, server)
    with pytest.raises(TokenError, match="authorize with exchange_code"):
        client.access_token()
    with pytest.raises(TokenError, match="authorize with exchange_code"):
        client.authenticated_request("GET", server.resource_url)
    assert server.requests.count("/register") == 0
    assert client.current_token() is None


# ------------------------------------------------------------------ logout


def test_logout_revokes_refresh_token_first_and_forgets(
    api: Flavour, server: MockAuthServer
) -> None:
    client = make(api, server)
    token = client.exchange_code(follow(client.get_authorization_url()))
    client.get_authorization_url()  # a pending request, forgotten too
    assert client.logout() is True
    revoked = [r.param("token_type_hint") for r in server.requests.filter("/revoke")]
    assert revoked == ["refresh_token", "access_token"]
    keys = client.storage_proxy().list_tokens()
    assert not [k for k in keys if k.startswith(("token:", "pending:"))]
    assert [k for k in keys if k.startswith("registration:")]  # the client stays registered
    assert client.current_token() is None
    with pytest.raises(TokenError):
        client.access_token()
    assert client.introspect_token(token.access_token)["active"] is False


def test_logout_with_nothing_stored_is_harmless(api: Flavour, server: MockAuthServer) -> None:
    assert make(api, server).logout() is True
    assert server.requests.count("/revoke") == 0


# ------------------------------------------------------------------ client credentials


def test_client_credentials_are_held_while_valid_and_fetched_anew(
    api: Flavour, server: MockAuthServer
) -> None:
    client = make(api, server, redirect_uris=[])
    first = client.get_token(scope="mcp:read")
    assert first.refresh_token is None
    assert first.grant_type == "client_credentials"
    assert client.get_token(scope="mcp:read").access_token == first.access_token
    assert client.get_token().access_token == first.access_token  # no scope: any will do
    assert server.requests.count("/token") == 1
    assert client.get_token(scope="mcp:read", force=True).access_token != first.access_token

    server.clock.advance(3600)  # expired: fetched anew by the same grant, not "authorize"
    response = client.authenticated_request("GET", server.resource_url)
    assert response.status_code == 200
    assert server.requests.count("/token") == 3
    assert server.requests.last("/token").param("grant_type") == "client_credentials"
    server.clock.advance(3600)
    assert client.access_token() != first.access_token
    assert server.requests.count("/token") == 4


# ------------------------------------------------------------------ the device flow


def test_a_device_client_registers_refresh_token(api: Flavour, server: MockAuthServer) -> None:
    client = make(api, server, redirect_uris=[], token_endpoint_auth_method="none")
    grants = set(client.register().grant_types)
    assert {DEVICE_GRANT, "refresh_token"} <= grants


def test_device_login_shows_the_code_reports_progress_and_signs_in(
    api: Flavour, server: MockAuthServer, instant: list[float]
) -> None:
    server.settings.device_interval = 5
    client = make(api, server, redirect_uris=[], token_endpoint_auth_method="none")
    shown: list[str] = []
    left: list[float] = []

    def on_code(device: Any) -> None:
        shown.append(device.user_code)

    def on_pending(seconds_left: float) -> None:
        left.append(seconds_left)
        if len(left) == 2:
            server.approve(shown[0])

    token = client.device_login(on_code, on_pending=on_pending)
    assert token.refresh_token is not None  # the refresh grant was registered
    assert len(shown) == 1
    assert len(left) == 2
    assert left[0] > left[1] > 0
    assert client.access_token() == token.access_token


# ------------------------------------------------------------------ errors that say what to do


def test_a_refused_refresh_says_to_sign_in_again(api: Flavour, server: MockAuthServer) -> None:
    server.settings.refresh_token_lifetime = 600
    client = make(api, server)
    client.exchange_code(follow(client.get_authorization_url()))
    server.clock.advance(3600)  # both expired: the refresh is refused
    with pytest.raises(TokenError, match="sign in again") as caught:
        client.access_token()
    assert caught.value.error_code == "invalid_grant"
    with pytest.raises(TokenError, match="authorize"):  # and the dead token is gone
        client.access_token()


def test_a_narrower_grant_is_a_warning_and_on_the_token(
    api: Flavour, scripted: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="mcp_oauth_dynamicclient")
    url = scripted.url
    scripted.reply(
        Reply.json(
            {
                "issuer": url,
                "authorization_endpoint": f"{url}/authorize",
                "token_endpoint": f"{url}/token",
                "code_challenge_methods_supported": ["S256"],
            }
        ),
        Reply.json(
            {"access_token": "t", "token_type": "Bearer", "expires_in": 60, "scope": "mcp:read"}
        ),
    )
    client = api.client(auth_server=url, client_id="c", client_secret="s")
    token = client.get_token(scope="mcp:read mcp:write")
    assert token.scope == "mcp:read"  # visible on the token
    (warning,) = [r for r in caplog.records if getattr(r, "event", None) == "scope_narrowed"]
    assert warning.levelno == logging.WARNING
    assert "without mcp:write" in warning.getMessage()


def test_nothing_is_printed_unless_logging_is_configured() -> None:
    code = (
        "import logging, mcp_oauth_dynamicclient._logging as l\n"
        "logging.getLogger('mcp_oauth_dynamicclient.client').warning('should not print')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0
    assert done.stderr == ""
