"""Run the third-party ``oidc-provider`` authorization server for the interop tests.

The server lives in ``tests/interop/oidc_provider`` (``server.mjs``, npm package
``oidc-provider`` pinned in ``package.json``/``package-lock.json``). This module starts it as a
child process on 127.0.0.1, waits for its ``READY <issuer>`` line and stops it again, and it
drives the parts of the server that would normally need a person in a browser:

* :func:`authorize` follows the redirects of an authorization request (login and consent are
  completed by the server's headless ``/interaction/<uid>`` route) and returns the final
  redirect to the client's ``redirect_uri``;
* :meth:`OidcProvider.approve_device` / :meth:`OidcProvider.deny_device` script the device
  flow's user pages (``/device``) with httpx.

Only the standard library and httpx are used; the tests import this file as
``tests.interop.oidc_provider_server``.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import IO, Literal
from urllib.parse import urljoin, urlsplit

import httpx

SERVER_DIR = Path(__file__).resolve().parent / "oidc_provider"
"""Folder with ``server.mjs``, ``package.json`` and ``package-lock.json``."""

TEST_ACCOUNT_ID = "test-user"
"""Account that the headless interaction logs in when the request has no ``login_hint``."""

DENY_LOGIN_HINT = "deny"
"""``login_hint`` value that makes the headless interaction answer ``access_denied``."""

NPM_CI_TIMEOUT = 300.0
STOP_TIMEOUT = 5.0
MAX_AUTHORIZE_HOPS = 10


class OidcProviderError(RuntimeError):
    """The server could not be installed or started, or a scripted page flow went wrong."""


# --------------------------------------------------------------------------------------------
# Installation
# --------------------------------------------------------------------------------------------


def _pinned_version() -> str:
    """Return the exact ``oidc-provider`` version pinned in ``package.json``."""
    package = json.loads((SERVER_DIR / "package.json").read_text(encoding="utf-8"))
    version = package["dependencies"]["oidc-provider"]
    if not isinstance(version, str):
        raise OidcProviderError(f"unexpected oidc-provider pin in package.json: {version!r}")
    return version


def _installed_version() -> str | None:
    """Return the ``oidc-provider`` version in ``node_modules``, or None if it is not there."""
    manifest = SERVER_DIR / "node_modules" / "oidc-provider" / "package.json"
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    version = data.get("version")
    return version if isinstance(version, str) else None


def ensure_installed() -> None:
    """Run ``npm ci`` in the server folder unless the pinned version is already installed.

    A lock file serialises concurrent callers (for example pytest-xdist workers).
    """
    if _installed_version() == _pinned_version():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise OidcProviderError("npm is not on PATH: install Node.js 20+ to run the interop tests")
    with _install_lock():
        if _installed_version() == _pinned_version():
            return
        try:
            result = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=SERVER_DIR,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=NPM_CI_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise OidcProviderError(f"npm ci did not finish within {NPM_CI_TIMEOUT}s") from exc
        if result.returncode != 0:
            raise OidcProviderError(
                f"npm ci failed in {SERVER_DIR} (exit {result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}"
            )
    if _installed_version() != _pinned_version():
        raise OidcProviderError("npm ci finished but oidc-provider is still not installed")


@contextlib.contextmanager
def _install_lock() -> Iterator[None]:
    """Hold an exclusive lock on ``.install.lock`` (POSIX only; elsewhere a no-op)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(SERVER_DIR / ".install.lock", "w", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --------------------------------------------------------------------------------------------
# Headless browser steps
# --------------------------------------------------------------------------------------------


def authorize(client: httpx.Client, authorize_url: str) -> str:
    """Follow an authorization request headlessly and return the final redirect URL.

    Each hop is requested with ``follow_redirects=False`` on *client* (so its cookie jar carries
    the provider's session and interaction cookies) until a redirect leaves the authorization
    server, i.e. points anywhere except ``/auth...`` or ``/interaction/...`` on the server's
    origin. That target (``redirect_uri?code=...&state=...&iss=...`` or ``?error=...``) is
    returned without being requested, so the client's redirect URI needs no listener.

    Raises:
        OidcProviderError: the server answered with something other than a redirect (for
            example its HTML error page for an unknown ``client_id`` or ``redirect_uri``), or
            there were more than ``MAX_AUTHORIZE_HOPS`` hops.

    """
    server = urlsplit(authorize_url)
    url = authorize_url
    for _ in range(MAX_AUTHORIZE_HOPS):
        response = client.get(url, follow_redirects=False)
        if not response.is_redirect:
            raise OidcProviderError(
                f"GET {url} answered {response.status_code} instead of a redirect:\n"
                f"{response.text[:2000]}"
            )
        target = urljoin(url, response.headers["location"])
        parts = urlsplit(target)
        on_server = (parts.scheme, parts.netloc) == (server.scheme, server.netloc)
        if not on_server or not (
            parts.path.startswith("/auth") or parts.path.startswith("/interaction/")
        ):
            return target
        url = target
    raise OidcProviderError(f"more than {MAX_AUTHORIZE_HOPS} redirects from {authorize_url}")


@dataclass
class _Form:
    """One ``<form>`` of a page: its id, action and the values of its ``<input>`` fields."""

    form_id: str | None
    action: str | None
    fields: dict[str, str] = field(default_factory=dict)


class _PageParser(HTMLParser):
    """Collect the forms and the ``data-page``/``data-error`` markers of a server page."""

    def __init__(self) -> None:
        super().__init__()
        self.page: str | None = None
        self.error: str | None = None
        self.forms: list[_Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "body":
            self.page = attributes.get("data-page")
            self.error = attributes.get("data-error")
        elif tag == "form":
            self.forms.append(_Form(attributes.get("id"), attributes.get("action")))
        elif tag == "input" and self.forms:
            name = attributes.get("name")
            if name is not None:
                self.forms[-1].fields[name] = attributes.get("value") or ""


def _parse_page(response: httpx.Response) -> _PageParser:
    parser = _PageParser()
    parser.feed(response.text)
    parser.close()
    return parser


def _device_decision(issuer: str, user_code: str, *, approve: bool) -> None:
    """Play the person at ``/device``: enter *user_code*, then confirm or abort.

    Steps (one fresh cookie jar, so one fresh browser session):
    1. ``GET /device``: the code input page with its ``xsrf`` field;
    2. ``POST /device`` with ``xsrf`` and ``user_code``: the confirmation page;
    3. ``POST /device`` with that page's fields plus ``confirm=yes`` (approve: the server then
       sends the browser through the headless ``/interaction/<uid>`` route, which logs in
       ``test-user`` and grants the requested scopes, and ends on the success page) or with
       ``abort=yes`` instead (deny: the device code gets ``access_denied``).
    """
    verification = f"{issuer}/device"
    with httpx.Client(follow_redirects=True, timeout=10.0) as browser:
        start = browser.get(verification)
        start.raise_for_status()
        input_page = _parse_page(start)
        if input_page.page != "device-input" or not input_page.forms:
            raise OidcProviderError(f"unexpected page at {verification}: {start.text[:500]}")
        fields = dict(input_page.forms[0].fields)
        fields["user_code"] = user_code

        confirm = browser.post(verification, data=fields)
        confirm_page = _parse_page(confirm)
        if confirm_page.page != "device-confirm" or not confirm_page.forms:
            raise OidcProviderError(
                f"user code {user_code!r} was not accepted "
                f"(page={confirm_page.page!r}, error={confirm_page.error!r})"
            )
        decision = dict(confirm_page.forms[0].fields)
        if not approve:
            decision.pop("confirm", None)
            decision["abort"] = "yes"

        final = browser.post(verification, data=decision)
        final_page = _parse_page(final)
        expected = ("device-success", None) if approve else ("device-input", "aborted")
        if (final_page.page, final_page.error) != expected:
            raise OidcProviderError(
                f"device {'approval' if approve else 'denial'} of {user_code!r} ended on "
                f"page={final_page.page!r} error={final_page.error!r} "
                f"(HTTP {final.status_code}): {final.text[:500]}"
            )


# --------------------------------------------------------------------------------------------
# The running server
# --------------------------------------------------------------------------------------------


@dataclass
class OidcProvider:
    """A running ``oidc-provider`` test server (see :func:`run_oidc_provider`)."""

    issuer: str
    """Issuer identifier, e.g. ``http://127.0.0.1:41234`` (never a trailing slash)."""
    default_resource: str
    """Resource indicator used when a request names none (``<issuer>/mcp`` by default)."""
    process: subprocess.Popen[str]
    _stderr: collections.deque[str]

    def url(self, path: str) -> str:
        """Return the absolute URL of *path* on this server (``path`` starts with ``/``)."""
        if not path.startswith("/"):
            path = "/" + path
        return self.issuer + path

    def authorize(self, client: httpx.Client, authorize_url: str) -> str:
        """Follow *authorize_url* headlessly; see the module-level :func:`authorize`."""
        return authorize(client, authorize_url)

    def approve_device(self, user_code: str) -> None:
        """Approve a device authorization's *user_code* as ``test-user`` (grants all scopes)."""
        _device_decision(self.issuer, user_code, approve=True)

    def deny_device(self, user_code: str) -> None:
        """Refuse a device authorization's *user_code* (polling then gets ``access_denied``)."""
        _device_decision(self.issuer, user_code, approve=False)

    def stderr(self) -> str:
        """Return the last lines the server wrote to stderr (warnings, logged grant errors)."""
        return "".join(self._stderr)


def _pump_to_queue(pipe: IO[str], lines: queue.Queue[str | None]) -> None:
    """Copy lines from *pipe* into *lines*, then a ``None`` at EOF (runs in a daemon thread)."""
    for line in iter(pipe.readline, ""):
        lines.put(line)
    lines.put(None)


def _pump_to_deque(pipe: IO[str], lines: collections.deque[str]) -> None:
    """Copy lines from *pipe* into the bounded *lines* until EOF (runs in a daemon thread)."""
    for line in iter(pipe.readline, ""):
        lines.append(line)


def _stop(process: subprocess.Popen[str]) -> None:
    """Close stdin (the server exits on EOF), then SIGTERM, then SIGKILL, each bounded."""
    if process.stdin is not None:
        with contextlib.suppress(OSError):
            process.stdin.close()
    try:
        process.wait(timeout=STOP_TIMEOUT)
        return
    except subprocess.TimeoutExpired:
        pass
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


@contextlib.contextmanager
def run_oidc_provider(
    *,
    port: int = 0,
    issuer: str | None = None,
    default_resource: str | None = None,
    device_interval: int | None = None,
    access_token_format: Literal["opaque", "jwt"] = "opaque",
    interactions: Literal["headless", "pages"] = "headless",
    startup_timeout: float = 30.0,
    max_lifetime: int = 3600,
) -> Iterator[OidcProvider]:
    """Install (``npm ci`` if needed), start, and finally stop the oidc-provider test server.

    Args:
        port: TCP port on 127.0.0.1. ``0`` (default) lets the server bind a free port itself
            and report it in its READY line, which avoids the race of picking a port here.
        issuer: issuer identifier; defaults to ``http://127.0.0.1:<port>``.
        default_resource: resource indicator for requests without ``resource``; defaults to
            ``<issuer>/mcp``.
        device_interval: if set, the device authorization response carries
            ``interval=<device_interval>`` (the server itself never sends one, so clients
            poll every 5 s by RFC 8628's default).
        access_token_format: ``"opaque"`` (default; such access tokens can be introspected
            and revoked) or ``"jwt"`` (RFC 9068 ``at+jwt`` signed with the key in ``/jwks``;
            oidc-provider refuses to introspect those).
        interactions: ``"headless"`` (default; :func:`authorize` completes login and consent
            without a page) or ``"pages"`` (oidc-provider's own interactive login form and
            consent page, for a real browser; :func:`authorize` cannot get through those).
        startup_timeout: seconds to wait for the READY line.
        max_lifetime: the server exits by itself after this many seconds (safety net).

    Yields:
        The running server. On exit the process is stopped (stdin EOF, SIGTERM, SIGKILL).

    """
    ensure_installed()
    node = shutil.which("node")
    if node is None:
        raise OidcProviderError("node is not on PATH: install Node.js 20+ to run the interop tests")

    command = [
        node,
        "server.mjs",
        f"--port={port}",
        f"--max-lifetime={max_lifetime}",
        f"--access-token-format={access_token_format}",
        f"--interactions={interactions}",
    ]
    if issuer is not None:
        command.append(f"--issuer={issuer}")
    if default_resource is not None:
        command.append(f"--default-resource={default_resource}")
    if device_interval is not None:
        command.append(f"--device-interval={device_interval}")
    env = {key: value for key, value in os.environ.items() if not key.startswith("OIDC_PROVIDER_")}
    env["NO_COLOR"] = "1"

    process = subprocess.Popen(
        command,
        cwd=SERVER_DIR,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        bufsize=1,
    )
    stdout_lines: queue.Queue[str | None] = queue.Queue()
    stderr_lines: collections.deque[str] = collections.deque(maxlen=500)
    assert process.stdout is not None
    assert process.stderr is not None
    threads = [
        threading.Thread(target=_pump_to_queue, args=(process.stdout, stdout_lines), daemon=True),
        threading.Thread(target=_pump_to_deque, args=(process.stderr, stderr_lines), daemon=True),
    ]
    for thread in threads:
        thread.start()

    try:
        ready_issuer = _wait_for_ready(process, stdout_lines, stderr_lines, startup_timeout)
        yield OidcProvider(
            issuer=ready_issuer,
            default_resource=default_resource or f"{ready_issuer}/mcp",
            process=process,
            _stderr=stderr_lines,
        )
    finally:
        _stop(process)
        for thread in threads:
            thread.join(timeout=STOP_TIMEOUT)
        for pipe in (process.stdout, process.stderr):
            with contextlib.suppress(OSError):
                pipe.close()


def _wait_for_ready(
    process: subprocess.Popen[str],
    stdout_lines: queue.Queue[str | None],
    stderr_lines: collections.deque[str],
    timeout: float,
) -> str:
    """Return the issuer from the server's ``READY <issuer>`` line or raise with its stderr."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            reason = f"no READY line within {timeout}s"
            break
        try:
            line = stdout_lines.get(timeout=min(remaining, 0.5))
        except queue.Empty:
            if process.poll() is not None:
                reason = f"exited with code {process.returncode} before READY"
                break
            continue
        if line is None:
            process.wait(timeout=STOP_TIMEOUT)
            reason = f"closed stdout (exit code {process.returncode}) before READY"
            break
        if line.startswith("READY "):
            return line.removeprefix("READY ").strip().rstrip("/")
    time.sleep(0.1)  # let the stderr thread catch the last lines
    raise OidcProviderError(f"oidc-provider test server {reason}. stderr:\n{''.join(stderr_lines)}")
