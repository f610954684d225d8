"""The MCP auth's default ``authorize`` step (issue 14): in a program run at a terminal with a
browser, ``client.httpx_auth()`` with no ``authorize`` signs in in the system browser through a
loopback redirect (RFC 8252), so connecting takes two lines; elsewhere it says what to pass.

The "browser" is a real program named by ``BROWSER`` (as :mod:`webbrowser` reads it): it follows
MockAuthServer's redirect to the client's loopback callback, as a person's browser would.
"""

from __future__ import annotations

import asyncio
import io
import sys
import webbrowser
from pathlib import Path

import httpx
import pytest

from mcp_oauth_dynamicclient import AuthorizationError, OAuth2Client, SyncOAuth2Client
from mcp_oauth_dynamicclient.storage import SyncMemoryStorage
from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.test_mcp_auth import INITIALIZE, AsyncMcp, SyncMcp

BROWSER = """#!{python}
import sys, httpx
with open({log!r}, "a") as log:
    log.write(sys.argv[1] + "\\n")
approved = httpx.get(sys.argv[1])  # MockAuthServer approves at once: a 302 to the callback
httpx.get(approved.headers["location"])
"""


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A terminal on stdin and a ``BROWSER`` that follows the sign-in; the log of URLs opened."""
    log = tmp_path / "opened.txt"
    script = tmp_path / "browser.py"
    script.write_text(BROWSER.format(python=sys.executable, log=str(log)))
    script.chmod(0o755)
    monkeypatch.setenv("BROWSER", str(script))
    monkeypatch.setattr(webbrowser, "_tryorder", None)  # read BROWSER again
    monkeypatch.setattr(webbrowser, "_browsers", {})
    monkeypatch.setattr(sys, "stdin", Terminal())
    return log


def test_two_lines_connect_in_the_browser(browser: Path) -> None:
    with MockAuthServer() as server:
        storage = SyncMemoryStorage()
        with (
            SyncOAuth2Client(resource=server.resource_url, storage=storage) as client,
            httpx.Client(auth=client.httpx_auth()) as http,
        ):
            assert (
                SyncMcp(http, server.resource_url).call("initialize", INITIALIZE).status_code == 200
            )
            (uri,) = client.config.redirect_uris
        assert uri.startswith("http://127.0.0.1:")
        assert uri.endswith("/callback")
        (opened,) = browser.read_text().splitlines()
        assert opened.startswith(server.url + "/authorize?")
        (registration,) = server.requests.filter("/register")
        assert registration.json["redirect_uris"] == [uri]
        # The next run reuses the registration and its port (while free): no new client.
        with (
            SyncOAuth2Client(resource=server.resource_url, storage=storage) as again,
            httpx.Client(auth=again.httpx_auth()) as http,
        ):
            again.logout()
            assert (
                SyncMcp(http, server.resource_url).call("initialize", INITIALIZE).status_code == 200
            )
            assert again.config.redirect_uris == (uri,)
        assert server.requests.count("/register") == 1
        assert len(browser.read_text().splitlines()) == 2


def test_async_two_lines_connect_in_the_browser(browser: Path) -> None:
    async def run(server: MockAuthServer) -> int:
        async with (
            OAuth2Client(resource=server.resource_url) as client,
            httpx.AsyncClient(auth=client.httpx_auth()) as http,
        ):
            return (
                await AsyncMcp(http, server.resource_url).call("initialize", INITIALIZE)
            ).status_code

    with MockAuthServer() as server:
        assert asyncio.run(run(server)) == 200
        assert server.requests.count("/authorize") == 1


def test_no_terminal_no_default(browser: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO())  # a service: stdin is not a terminal
    with MockAuthServer() as server:
        with (
            SyncOAuth2Client(resource=server.resource_url) as client,
            httpx.Client(auth=client.httpx_auth()) as http,
            pytest.raises(AuthorizationError, match="browser_authorizer"),
        ):
            SyncMcp(http, server.resource_url).call("initialize", INITIALIZE)
        assert server.requests.count("/authorize") == 0
        assert not browser.exists()


def test_redirect_uris_that_are_not_loopback_are_not_replaced(browser: Path) -> None:
    with MockAuthServer() as server:
        with (
            SyncOAuth2Client(
                resource=server.resource_url, redirect_uris=["https://app.example/callback"]
            ) as client,
            httpx.Client(auth=client.httpx_auth()) as http,
            pytest.raises(AuthorizationError, match="loopback redirect URI"),
        ):
            SyncMcp(http, server.resource_url).call("initialize", INITIALIZE)
        assert not browser.exists()
