"""Browser sign-in with a loopback redirect (RFC 8252; issue 14, "Interactive login").

The "browser" is a real HTTP client: it GETs the authorization URL from MockAuthServer and
follows the redirect to the loopback listener, as a browser would, either as ``open_url`` or as
the program ``webbrowser`` starts (the ``BROWSER`` variable, no shell). Success and error pages,
the timeout, a stray request on the port, URLs refused before anything is opened, the device
flow when there is no browser, and the ``authorize`` step of the MCP ``httpx.Auth``.
"""

from __future__ import annotations

import socket
import sys
import webbrowser
from pathlib import Path
from typing import Any

import httpx
import pytest

from mcp_oauth_dynamicclient import (
    AuthorizationError,
    ConfigurationError,
    OAuth2Client,
    SyncOAuth2Client,
)
from mcp_oauth_dynamicclient._sync import client as sync_client
from mcp_oauth_dynamicclient.browser import (
    LoopbackCallback,
    NoBrowserError,
    browser_authorizer,
    check_authorization_url,
    login,
    loopback_redirect_uri,
    sync_login,
    sync_reusable_redirect_uri,
)
from mcp_oauth_dynamicclient.storage import SyncMemoryStorage
from mcp_oauth_dynamicclient.testing import MockAuthServer

ACCEPT = {"Accept": "application/json, text/event-stream"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"},
    },
}


class Browser:
    """Opens a URL the way a browser does: GET, follow redirects, keep the page shown."""

    def __init__(self) -> None:
        self.opened: list[str] = []
        self.pages: list[httpx.Response] = []

    def __call__(self, url: str) -> bool:
        self.opened.append(url)
        self.pages.append(httpx.get(url, follow_redirects=True, timeout=10))
        return True


def _client(server: MockAuthServer, **settings: Any) -> SyncOAuth2Client:
    settings.setdefault("redirect_uris", [loopback_redirect_uri()])
    return SyncOAuth2Client(server.url, client_name="Desktop App", **settings)


@pytest.fixture
def no_browser(monkeypatch: pytest.MonkeyPatch) -> None:
    """``webbrowser`` finds no browser (as on a server or over SSH)."""
    monkeypatch.setattr(webbrowser, "_tryorder", [])
    monkeypatch.setattr(webbrowser, "_browsers", {})


@pytest.fixture
def instant(monkeypatch: pytest.MonkeyPatch, server: MockAuthServer) -> None:
    """Device polling waits move the server's clock instead of sleeping."""

    def sleep(seconds: float) -> None:
        server.clock.advance(seconds)

    monkeypatch.setattr(sync_client, "sync_sleep", sleep)


# --------------------------------------------------------------------------------- success


def test_login_signs_in_in_the_browser_and_shows_a_page_without_secrets(
    server: MockAuthServer,
) -> None:
    browser = Browser()
    opened: list[str] = []
    with _client(server) as client:
        token = sync_login(client, open_url=browser, on_open=opened.append)
        assert client.access_token() == token.access_token
    assert opened == browser.opened
    (page,) = browser.pages
    assert page.status_code == 200
    assert str(page.url).startswith(client.config.redirect_uris[0])
    assert "Signed in" in page.text
    code = page.url.params["code"]
    assert code not in page.text
    assert page.url.params["state"] not in page.text
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in page.headers["content-security-policy"]


def test_the_redirect_uri_is_the_loopback_ip_on_an_ephemeral_port() -> None:
    uri = httpx.URL(loopback_redirect_uri())
    assert (uri.scheme, uri.host, uri.path) == ("http", "127.0.0.1", "/callback")
    assert uri.port is not None
    assert uri.port > 1024
    assert loopback_redirect_uri(8765, "/cb") == "http://127.0.0.1:8765/cb"


@pytest.mark.anyio
async def test_the_asyncio_login_runs_the_browser_off_the_event_loop(
    server: MockAuthServer,
) -> None:
    browser = Browser()
    async with OAuth2Client(
        server.url, client_name="Desktop App", redirect_uris=[loopback_redirect_uri()]
    ) as client:
        token = await login(client, open_url=browser)
        assert await client.access_token() == token.access_token
    assert browser.pages[0].status_code == 200


def test_the_real_webbrowser_module_starts_the_browser_program_without_a_shell(
    server: MockAuthServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``BROWSER`` names a program; ``webbrowser`` runs it with the URL as one argument."""
    marker = tmp_path / "visited"
    script = tmp_path / "browser.py"
    script.write_text(
        "import sys, httpx\n"
        "page = httpx.get(sys.argv[1], follow_redirects=True, timeout=10)\n"
        f"open({str(marker)!r}, 'w').write(str(page.status_code) + ' ' + page.text)\n"
    )
    monkeypatch.setenv("BROWSER", f"{sys.executable} {script} %s")
    monkeypatch.setattr(webbrowser, "_tryorder", None)  # read BROWSER again
    monkeypatch.setattr(webbrowser, "_browsers", {})
    with _client(server) as client:
        token = sync_login(client, timeout=30)
        assert client.access_token() == token.access_token
    assert marker.read_text().startswith("200 ")
    assert "Signed in" in marker.read_text()


def test_a_reused_port_keeps_one_registration(server: MockAuthServer) -> None:
    storage = SyncMemoryStorage()
    with _client(server, storage=storage) as first:
        sync_login(first, open_url=Browser())
    uri = sync_reusable_redirect_uri(storage, server.issuer)
    assert uri == first.config.redirect_uris[0]
    with _client(server, storage=storage, redirect_uris=[uri]) as again:
        sync_login(again, open_url=Browser())
    assert server.requests.count("/register") == 1


def test_the_listener_takes_the_ipv6_loopback_too() -> None:
    with socket.socket(socket.AF_INET6) as probe:
        probe.bind(("::1", 0))
        port = probe.getsockname()[1]
    uri = f"http://[::1]:{port}/callback"
    with LoopbackCallback(uri, state="s" * 43) as listener:
        assert httpx.get(f"{uri}?state={'s' * 43}&code=c").status_code == 200
        assert listener.wait(5) == f"{uri}?state={'s' * 43}&code=c"
    for refused in ("http://192.0.2.1:8080/callback", "http://127.0.0.1:0/callback"):
        with pytest.raises(ConfigurationError, match="not http on a loopback address"):
            LoopbackCallback(refused, state="s" * 43)


def test_a_port_in_use_is_not_reused(server: MockAuthServer) -> None:
    storage = SyncMemoryStorage()
    with _client(server, storage=storage) as first:
        sync_login(first, open_url=Browser())
    taken = first.config.redirect_uris[0]
    state = "x" * 43
    with LoopbackCallback(taken, state=state):  # another program listens there now
        fresh = sync_reusable_redirect_uri(storage, server.issuer)
        assert fresh != taken
        assert fresh.startswith("http://127.0.0.1:")
        with pytest.raises(AuthorizationError, match="another program uses the port"):
            LoopbackCallback(taken, state=state)


# ----------------------------------------------------------------------------------- errors


def test_a_denied_sign_in_shows_an_error_page_and_raises(server: MockAuthServer) -> None:
    server.settings.deny_authorization = True
    browser = Browser()
    with _client(server) as client, pytest.raises(AuthorizationError) as caught:
        sync_login(client, open_url=browser)
    assert caught.value.error_code == "access_denied"
    (page,) = browser.pages
    assert page.status_code == 400
    assert "Sign-in failed" in page.text
    assert "access_denied" in page.text
    assert "the test user denied" not in page.text  # the server's description is not echoed


def test_no_callback_within_the_timeout_raises_and_frees_the_port(
    server: MockAuthServer,
) -> None:
    left: list[float] = []
    with _client(server) as client:
        url = client.get_authorization_url()
        authorize = browser_authorizer(timeout=1.5, open_url=lambda _: True, on_pending=left.append)
        with pytest.raises(AuthorizationError, match=r"no sign-in callback within 1\.5 seconds"):
            authorize(url)
        port = httpx.URL(client.config.redirect_uris[0]).port
    assert left
    assert all(0 < seconds < 1.5 for seconds in left)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/callback")


def test_a_stray_request_on_the_port_neither_ends_nor_hijacks_the_wait(
    server: MockAuthServer,
) -> None:
    stray: list[httpx.Response] = []

    def browser(url: str) -> bool:
        redirect = check_authorization_url(url)[0]
        stray.append(httpx.get(f"{redirect}?code=injected&state=forged"))
        stray.append(httpx.get(redirect.replace("/callback", "/favicon.ico")))
        return Browser()(url)

    with _client(server) as client:
        token = sync_login(client, open_url=browser)
        assert client.access_token() == token.access_token
    assert [response.status_code for response in stray] == [400, 404]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://auth.example.com/authorize?state=s", "plain http is allowed only on loopback"),
        ("file:///etc/passwd", "must be https"),
        ("javascript:alert(1)", "must be https"),
        (
            "https://auth.example.com/authorize?state=s&redirect_uri=https://app.example.com/cb",
            "does not redirect to a loopback URI",
        ),
        (
            "https://auth.example.com/authorize?redirect_uri=http://127.0.0.1:9/callback",
            "carries no state",
        ),
    ],
)
def test_an_unsafe_url_is_refused_before_anything_is_opened(url: str, message: str) -> None:
    opened: list[str] = []
    with pytest.raises(AuthorizationError, match=message) as caught:
        browser_authorizer(open_url=opened.append)(url)
    assert opened == []
    assert "state=s" not in str(caught.value)  # the query is never shown


def test_no_browser_raises_a_typed_error(server: MockAuthServer, no_browser: None) -> None:
    with _client(server) as client:
        url = client.get_authorization_url()
        with pytest.raises(NoBrowserError, match="no web browser found"):
            browser_authorizer()(url)


def test_a_browser_that_will_not_start_raises_a_typed_error(server: MockAuthServer) -> None:
    with _client(server) as client:
        url = client.get_authorization_url()
        with pytest.raises(NoBrowserError, match="could not be started"):
            browser_authorizer(open_url=lambda _: False)(url)


# ----------------------------------------------------------------------- device flow fallback


def test_without_a_browser_login_falls_back_to_the_device_flow(
    server: MockAuthServer, no_browser: None, instant: None
) -> None:
    shown: list[str] = []

    def on_code(device: Any) -> None:
        shown.append(device.user_code)
        server.approve(device.user_code)

    with _client(server) as client:
        token = sync_login(client, on_code=on_code)
        assert client.access_token() == token.access_token
    assert len(shown) == 1
    assert server.requests.count("/authorize") == 0


def test_device_true_uses_the_device_flow_and_prints_the_code_by_default(
    server: MockAuthServer, instant: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with _client(server, redirect_uris=[]) as client:
        token = sync_login(client, device=True, on_pending=lambda _: server.approve())
        assert client.access_token() == token.access_token
    assert "enter the code" in capsys.readouterr().err


# ---------------------------------------------------------------- the MCP httpx.Auth's step


def test_the_browser_authorizer_is_the_authorize_step_of_the_mcp_auth(
    server: MockAuthServer,
) -> None:
    browser = Browser()
    client = SyncOAuth2Client(
        resource=server.resource_url,
        client_name="MCP Desktop",
        redirect_uris=[loopback_redirect_uri()],
    )
    auth = client.httpx_auth(authorize=browser_authorizer(open_url=browser))
    with client, httpx.Client(auth=auth) as http:
        response = http.post(server.resource_url, json=INITIALIZE, headers=ACCEPT)
    assert response.status_code == 200
    assert len(browser.pages) == 1
    assert browser.pages[0].status_code == 200


@pytest.mark.anyio
async def test_the_browser_authorizer_serves_the_asyncio_mcp_auth(server: MockAuthServer) -> None:
    browser = Browser()
    client = OAuth2Client(
        resource=server.resource_url,
        client_name="MCP Desktop",
        redirect_uris=[loopback_redirect_uri()],
    )
    auth = client.httpx_auth(authorize=browser_authorizer(open_url=browser))
    async with client, httpx.AsyncClient(auth=auth) as http:
        response = await http.post(server.resource_url, json=INITIALIZE, headers=ACCEPT)
    assert response.status_code == 200
    assert len(browser.pages) == 1
