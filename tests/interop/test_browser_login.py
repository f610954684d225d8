"""``mcp-oauth login`` end to end in a real browser: headless Chromium driven by Playwright.

The CLI runs in this process (click's ``CliRunner``), as a person would type
``mcp-oauth login <issuer> --auth-server``. Its "system browser" is Debian's ``chromium``
package, driven by Playwright (launched with ``executable_path``: Playwright's own browser
download is not used). The CLI opens the authorization URL with ``webbrowser.get().open(url)``;
the ``webbrowser`` controller registered here hands the URL to a Playwright thread, which goes
through oidc-provider's own interactive pages (``run_oidc_provider(interactions="pages")``, its
``devInteractions`` login form and consent page: any login and password are accepted), is
redirected to the CLI's loopback listener (``http://127.0.0.1:<ephemeral port>/callback``), and
takes a screenshot of the success page there. The CLI exchanges the code, stores the token and
``mcp-oauth token`` prints it.

The screenshots are kept in ``tests/interop/artifacts/`` (git-ignored):
``browser-login-success.png`` (and ``-login``/``-consent`` for the pages before it).
Chromium is required, not optional: ``.ci/run`` installs it (``apt-get install chromium``).
"""

from __future__ import annotations

import json
import queue
import re
import shutil
import threading
import webbrowser
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from mcp_oauth_dynamicclient.cli._app import cli
from tests.interop.oidc_provider_server import OidcProvider, run_oidc_provider

pytestmark = pytest.mark.interop

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
"""Where the screenshots are kept (``.gitignore`` there ignores them)."""

SUCCESS_SCREENSHOT = ARTIFACTS / "browser-login-success.png"
LOGIN_SCREENSHOT = ARTIFACTS / "browser-login-login.png"
CONSENT_SCREENSHOT = ARTIFACTS / "browser-login-consent.png"

STEP_TIMEOUT_MS = 15_000
SCOPE = "mcp:read mcp:write"
CALLBACK_URL = re.compile(r"^http://127\.0\.0\.1:\d+/callback\?")


def chromium_path() -> str:
    """The system Chromium (Debian's ``chromium`` package); a clear failure without it."""
    for name in ("chromium", "chromium-browser"):
        if found := shutil.which(name):
            return found
    pytest.fail(
        "chromium is not installed: the browser login test needs Debian's `chromium` package "
        "(.ci/run installs it: apt-get install -y chromium)",
        pytrace=False,
    )


@dataclass
class BrowserRun:
    """What the Playwright thread saw: the pages' titles and texts, and any error."""

    login_title: str = ""
    consent_text: str = ""
    callback_url: str = ""
    success_title: str = ""
    success_text: str = ""
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


class PlaywrightBrowser(webbrowser.BaseBrowser):
    """A ``webbrowser`` controller whose ``open`` hands the URL to a Playwright thread.

    Playwright's sync API belongs to the thread that started it, so one thread launches
    Chromium, waits for the URL, signs in and consents on oidc-provider's pages, and takes the
    screenshots; ``open`` only queues the URL and returns at once (as a real browser launch
    does), so the CLI starts waiting on its loopback listener.
    """

    def __init__(self, executable: str) -> None:
        super().__init__("playwright-chromium")
        self.executable = executable
        self.urls: queue.Queue[str | None] = queue.Queue()
        self.opened: list[str] = []
        self.run = BrowserRun()
        self.thread = threading.Thread(target=self._drive, name="playwright", daemon=True)
        self.thread.start()

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
        self.opened.append(url)
        self.urls.put(url)
        return True

    def close(self) -> None:
        self.urls.put(None)  # no-op when a URL was already taken
        self.thread.join(timeout=30)

    def _drive(self) -> None:
        try:
            self._sign_in()
        except BaseException as exc:  # reported by the test, with the CLI's output
            self.run.error = exc
        finally:
            self.run.done.set()

    def _sign_in(self) -> None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=self.executable,
                headless=True,
                chromium_sandbox=False,  # the CI runs as root: Chromium needs --no-sandbox
                args=["--no-sandbox", "--disable-dev-shm-usage"],
            )
            try:
                url = self.urls.get(timeout=60)
                if url is None:
                    return
                page = browser.new_page(viewport={"width": 800, "height": 500})
                page.set_default_timeout(STEP_TIMEOUT_MS)
                page.goto(url)

                # oidc-provider's login form (devInteractions): any login and password.
                page.wait_for_selector("input[name=login]")
                self.run.login_title = page.title()
                page.fill("input[name=login]", "alice@example.com")
                page.fill("input[name=password]", "correct horse battery staple")
                page.screenshot(path=LOGIN_SCREENSHOT)
                page.click("button[type=submit]")

                # Its consent page: "Continue" grants the scopes and the resource asked for.
                page.wait_for_selector("input[name=prompt][value=consent]", state="attached")
                self.run.consent_text = page.inner_text("body")
                page.screenshot(path=CONSENT_SCREENSHOT)
                page.click("button[type=submit]")

                # Back at the CLI's loopback listener, which shows its success page.
                page.wait_for_url(CALLBACK_URL)
                page.wait_for_selector("h1")
                self.run.callback_url = page.url
                self.run.success_title = page.title()
                self.run.success_text = page.inner_text("body")
                page.screenshot(path=SUCCESS_SCREENSHOT, full_page=True)
            finally:
                browser.close()


@pytest.fixture(scope="module")
def provider_with_pages() -> Iterator[OidcProvider]:
    """oidc-provider with its own interactive login and consent pages (not the headless route)."""
    with run_oidc_provider(interactions="pages") as server:
        yield server


@pytest.fixture
def chromium(monkeypatch: pytest.MonkeyPatch) -> Iterator[PlaywrightBrowser]:
    """The only browser ``webbrowser.get()`` knows: headless Chromium through Playwright."""
    controller = PlaywrightBrowser(chromium_path())
    monkeypatch.setattr(webbrowser, "_tryorder", [controller.name])
    monkeypatch.setattr(webbrowser, "_browsers", {controller.name: [None, controller]})
    yield controller
    controller.close()


def test_cli_browser_login_through_oidc_provider_pages_in_headless_chromium(
    provider_with_pages: OidcProvider,
    chromium: PlaywrightBrowser,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    record_property: Callable[[str, object], None],
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    SUCCESS_SCREENSHOT.unlink(missing_ok=True)
    tokens = tmp_path / "data" / "tokens.json"
    monkeypatch.setenv("MCP_OAUTH_TOKENS", str(tokens))
    issuer = provider_with_pages.issuer
    runner = CliRunner()

    # oidc-provider grants only the scopes asked for, and answers access_denied ("no scope
    # was granted") to a request that names none: ask for the MCP scopes, as a user would.
    login = runner.invoke(
        cli,
        ["--plain", "login", issuer, "--auth-server", "--scope", SCOPE, "--timeout", "60"],
        catch_exceptions=False,
    )
    chromium.run.done.wait(timeout=30)
    browser_run = chromium.run
    assert browser_run.error is None, (
        f"the browser did not get through: {browser_run.error!r}\nCLI output:\n{login.output}\n"
        f"oidc-provider stderr:\n{provider_with_pages.stderr()}"
    )
    assert login.exit_code == 0, (
        login.output,
        browser_run.callback_url,
        provider_with_pages.stderr(),
    )
    assert f"Signed in to {issuer}" in login.output

    # The browser went to this server's /auth, signed in on its login page, consented, and
    # came back to the CLI's loopback callback with a code, where the success page showed.
    assert len(chromium.opened) == 1
    assert chromium.opened[0].startswith(f"{issuer}/auth?")
    assert "Sign-in" in browser_run.login_title
    assert "Continue" in browser_run.consent_text
    assert "code=" in browser_run.callback_url, browser_run.callback_url
    assert browser_run.success_title == "Signed in"
    assert "You are signed in" in browser_run.success_text

    # The token came back: stored (0600) and printed by `mcp-oauth token`.
    assert tokens.is_file()
    assert tokens.stat().st_mode & 0o777 == 0o600
    printed = runner.invoke(cli, ["--plain", "token", "--json"], catch_exceptions=False)
    assert printed.exit_code == 0, printed.output
    fields = json.loads(printed.output)
    assert fields["access_token"]
    assert fields["access_token"] in tokens.read_text()
    assert fields["token_type"].lower() in ("bearer", "dpop")
    assert set(fields["scope"].split()) == set(SCOPE.split())

    # The screenshot of the success page is the test's artifact.
    assert SUCCESS_SCREENSHOT.is_file()
    assert SUCCESS_SCREENSHOT.read_bytes().startswith(b"\x89PNG")
    record_property("screenshot", str(SUCCESS_SCREENSHOT))
    print(f"success page screenshot: {SUCCESS_SCREENSHOT}")
