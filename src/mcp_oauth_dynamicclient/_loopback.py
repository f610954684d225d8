"""Sign-in in the system browser with a loopback redirect, for desktop and CLI apps (RFC 8252).

A native app cannot keep a secret, nor receive a redirect on a public host, so it listens on
the loopback interface for the one redirect the authorization server sends the browser back
with (RFC 8252 §7.3), and opens the authorization request in the system browser, never in an
embedded one (RFC 8252 §8.12). The rules this module keeps:

- The redirect URI is ``http://127.0.0.1:<port>/callback``: the loopback IP literal, not
  ``localhost``, which a resolver or firewall may send elsewhere (RFC 8252 §8.3); plain http,
  since the traffic never leaves the host (§8.3); on a port the operating system picks
  (port 0), which the authorization server must accept at request time (§7.3).
- The authorization URL is checked before anything is opened: https, or http on a loopback
  host (OAuth 2.1 §1.5); its ``redirect_uri`` must be such a loopback URI and its ``state``
  present. The URL is given to :mod:`webbrowser` as one argument: no shell sees it.
- The listener answers exactly one callback, the one carrying the request's ``state``
  (compared in constant time, RFC 6749 §10.12); anything else on the port gets a 404 or 400
  and the wait goes on, so a stray local request can neither end the sign-in nor inject a code.
  The page shown says whether sign-in worked and never contains the code, the state or the
  server's description of an error (reflected text on a page is XSS waiting to happen).
- No callback within ``timeout`` seconds raises ``AuthorizationError``; no browser to open
  raises :class:`NoBrowserError`, on which a caller falls back to the device flow (RFC 8628).

Everything here blocks: the listener is stdlib ``http.server`` in a daemon thread. The asyncio
client runs :class:`BrowserAuthorizer` off its event loop (``OAuth2Auth`` does so for any
blocking ``authorize``); ``login`` in ``_async/loopback.py`` is the one-call flow.
"""

from __future__ import annotations

import html
import http.server
import socket
import threading
import time
import webbrowser
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

import httpx

from ._pkce import same_secret
from ._public import public
from ._urls import is_loopback
from .exceptions import AuthorizationError, ConfigurationError
from .runtime import safe_url

__all__ = [
    "DEFAULT_TIMEOUT",
    "BrowserAuthorizer",
    "LoopbackCallback",
    "NoBrowserError",
    "browser_authorizer",
    "browser_available",
    "check_authorization_url",
    "loopback_redirect_uri",
    "port_is_free",
]

DEFAULT_TIMEOUT = 300.0
"""Seconds to wait for the browser to come back: long enough to type a password and a code."""

LOOPBACK_HOST = "127.0.0.1"
CALLBACK_PATH = "/callback"

OpenUrl = Callable[[str], object]
"""Opens a URL for the user; a false return (``webbrowser.open``'s "could not") is a failure."""


@public("mcp_oauth_dynamicclient.browser")
class NoBrowserError(AuthorizationError):
    """There is no browser to open the authorization URL in (a server, an SSH session, a
    container): sign in with the device flow instead (RFC 8628)."""


def loopback_redirect_uri(port: int = 0, path: str = CALLBACK_PATH) -> str:
    """``http://127.0.0.1:<port><path>``; port 0 asks the operating system for a free one.

    The port is free when this returns; :class:`LoopbackCallback` binds it again when the
    authorization starts, so another program could take it in between (it then fails with a
    clear error and a new port is picked on the next try).
    """
    if port == 0:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((LOOPBACK_HOST, 0))
            port = probe.getsockname()[1]
    return f"http://{LOOPBACK_HOST}:{port}{path}"


def _exclusive(sock: socket.socket) -> None:
    """Let ``sock`` bind a port another program does not listen on, even one whose last
    connections are in TIME_WAIT (the previous sign-in's), but never share a listened one.

    POSIX ``SO_REUSEADDR`` does exactly that; on Windows it would let two listeners share the
    port, so there ``SO_EXCLUSIVEADDRUSE`` is set instead.
    """
    exclusive = getattr(socket, "SO_EXCLUSIVEADDRUSE", None)
    if exclusive is not None:  # pragma: no cover - Windows
        sock.setsockopt(socket.SOL_SOCKET, exclusive, 1)
    else:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)


def port_is_free(port: int, host: str = LOOPBACK_HOST) -> bool:
    """Whether a listener could bind ``host:port`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        _exclusive(probe)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def loopback_port(uri: str) -> int | None:
    """The port of an ``http`` loopback redirect URI with an explicit port, else None."""
    try:
        parsed = httpx.URL(uri)
    except (httpx.InvalidURL, TypeError):
        return None
    if parsed.scheme != "http" or not is_loopback(parsed.host) or not parsed.port:
        return None  # no port, or 0: the browser could not be sent back to it
    return parsed.port


def check_authorization_url(url: str) -> tuple[str, str]:
    """The loopback ``redirect_uri`` and the ``state`` of an authorization URL that is safe
    to open (module docstring), checked before anything is opened or bound.

    Raises:
        AuthorizationError: the URL is not https (or http on loopback), or its redirect URI
            is not a loopback one with a port, or it carries no state.
    """
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        raise AuthorizationError("the authorization URL is not a valid URL") from None
    shown = safe_url(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise AuthorizationError(
            f"refusing to open {shown}: an authorization URL must be https (OAuth 2.1 §1.5)"
        )
    if parsed.scheme == "http" and not is_loopback(parsed.host):
        raise AuthorizationError(
            f"refusing to open {shown}: plain http is allowed only on loopback (OAuth 2.1 §1.5)"
        )
    query = parse_qs(urlsplit(url).query)
    redirect_uri = _single(query, "redirect_uri")
    state = _single(query, "state")
    if redirect_uri is None or loopback_port(redirect_uri) is None:
        raise AuthorizationError(
            f"{shown} does not redirect to a loopback URI with a port "
            "(http://127.0.0.1:<port>/callback, RFC 8252 §7.3): the browser could not come "
            "back to this program; build the client with redirect_uris=[loopback_redirect_uri()]"
        )
    if not state:
        raise AuthorizationError(
            f"{shown} carries no state: its callback could not be told from a forged one "
            "(RFC 6749 §10.12)"
        )
    return redirect_uri, state


def _single(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name, [])
    return values[0] if len(values) == 1 else None


def browser_available() -> bool:
    """Whether :mod:`webbrowser` has a browser to open (honours the ``BROWSER`` variable)."""
    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True


def open_in_browser(url: str) -> bool:
    """Open ``url`` in the system browser (no shell: the URL is one argument).

    Raises:
        NoBrowserError: there is no browser to open it in.
    """
    try:
        browser = webbrowser.get()
    except webbrowser.Error as exc:
        raise NoBrowserError(
            "no web browser found to sign in with (set BROWSER, or use the device flow)"
        ) from exc
    return browser.open(url)


# ------------------------------------------------------------------------------ the pages

_PAGE = (
    "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{title}</title>"
    "<style>body{{font-family:system-ui,sans-serif;margin:4em auto;max-width:32em;"
    "color:#222}}h1{{font-size:1.4em}}</style></head>"
    "<body><h1>{title}</h1><p>{text}</p></body></html>"
)
_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Referrer-Policy": "no-referrer",  # the callback URL holds the code: never pass it on
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
}


def page(title: str, text: str) -> bytes:
    """A small HTML page; both strings are escaped."""
    return _PAGE.format(title=html.escape(title), text=html.escape(text)).encode()


SUCCESS_PAGE = page(
    "Signed in", "You are signed in. You can close this tab and return to the application."
)


def error_page(error: str) -> bytes:
    """The page for an authorization error (RFC 6749 §4.1.2.1): the error code, only when it
    is a well-formed one, and no description (it is the server's, or an attacker's, text)."""
    known = error if error.isascii() and error.replace("_", "").isalnum() else "error"
    return page(
        "Sign-in failed",
        f"The authorization server answered {known}. Return to the application for details.",
    )


# --------------------------------------------------------------------------- the listener


class _Server(http.server.HTTPServer):
    """One listener; ``callback`` is set by the first request that carries ``state``."""

    def __init__(self, address: tuple[str, int], path: str, state: str) -> None:
        self.path = path
        self.state = state
        self.callback: str | None = None
        self.arrived = threading.Event()
        host = address[0]
        if ":" in host:  # [::1]
            self.address_family = socket.AF_INET6
            host = f"[{host}]"
        super().__init__(address, _Handler)
        self.origin = f"http://{host}:{self.socket.getsockname()[1]}"

    def server_bind(self) -> None:
        _exclusive(self.socket)
        self.socket.bind(self.server_address)
        self.server_address = self.socket.getsockname()


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection: nothing held open

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != self.server.path:
            self._answer(404, page("Not found", "This is not the sign-in callback."))
            return
        query = parse_qs(parts.query)
        state = _single(query, "state")
        if (
            self.server.arrived.is_set()
            or state is None
            or not same_secret(state, self.server.state)
        ):
            self._answer(400, page("Unexpected request", "This is not the awaited sign-in."))
            return
        error = _single(query, "error")
        self.server.callback = f"{self.server.origin}{self.path}"
        self.server.arrived.set()
        if error is None:
            self._answer(200, SUCCESS_PAGE)
        else:
            self._answer(400, error_page(error))

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        for name, value in _HEADERS.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the request line holds the authorization code."""


@public("mcp_oauth_dynamicclient.browser")
class LoopbackCallback:
    """A listener on the loopback redirect URI that waits for one authorization callback.

    Binds at construction (so a busy port fails at once) and serves in a daemon thread until
    :meth:`close` (or the end of a ``with`` block). :meth:`wait` returns the callback URL,
    whole, for ``exchange_code``; an error callback (``error=access_denied``) is returned too,
    and ``exchange_code`` raises the server's error from it.
    """

    def __init__(self, redirect_uri: str, *, state: str) -> None:
        port = loopback_port(redirect_uri)
        if port is None:
            raise ConfigurationError(
                f"redirect URI {redirect_uri!r} is not http on a loopback address with a "
                "port (RFC 8252 §7.3)"
            )
        parsed = httpx.URL(redirect_uri)
        host = parsed.host
        if host == "localhost":  # RFC 8252 §8.3: listen where the browser will connect
            host = LOOPBACK_HOST
        self.redirect_uri = redirect_uri
        try:
            self._server = _Server((host, port), parsed.path or "/", state)
        except OSError as exc:
            raise AuthorizationError(
                f"cannot listen on {host}:{port} for the sign-in callback ({exc.strerror}): "
                "another program uses the port; try again (a new port is picked)"
            ) from exc
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()

    def __repr__(self) -> str:
        return f"LoopbackCallback({self.redirect_uri!r})"

    def wait(
        self,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        on_pending: Callable[[float], object] | None = None,
    ) -> str:
        """The callback URL, once the browser is sent back; ``on_pending`` is called about
        once a second with the seconds left.

        Raises:
            AuthorizationError: no callback came within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if self._server.arrived.wait(min(max(left, 0.0), 1.0)):
                assert self._server.callback is not None
                return self._server.callback
            left = deadline - time.monotonic()
            if left <= 0:
                raise AuthorizationError(
                    f"no sign-in callback within {timeout:g} seconds: the browser was not "
                    "sent back to this program; sign in again (or use the device flow)"
                )
            if on_pending is not None:
                on_pending(left)

    def close(self) -> None:
        """Stop listening (idempotent)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@public("mcp_oauth_dynamicclient.browser")
class BrowserAuthorizer:
    """The ``authorize`` step of a person at a desktop: open the authorization URL in the
    system browser and return the callback URL it is sent back to (RFC 8252).

    ``client.httpx_auth(authorize=browser_authorizer())`` (either client flavour: the asyncio
    one runs it off the event loop). ``open_url`` replaces the browser (a test's headless
    one); ``on_open`` is told the URL once it is opened (to print it for a user whose browser
    did not come up); ``on_pending`` gets the seconds left about once a second.

    Raises (when called):
        AuthorizationError: the URL is unsafe to open, the port is taken, or the timeout
            passed; :class:`NoBrowserError` when there is no browser.
    """

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        open_url: OpenUrl | None = None,
        on_open: Callable[[str], object] | None = None,
        on_pending: Callable[[float], object] | None = None,
    ) -> None:
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise ConfigurationError(f"timeout: expected seconds > 0, got {timeout!r}")
        self.timeout = float(timeout)
        self.open_url = open_url
        self.on_open = on_open
        self.on_pending = on_pending

    def __repr__(self) -> str:
        return f"BrowserAuthorizer(timeout={self.timeout:g})"

    def __call__(self, authorization_url: str) -> str:
        """Open ``authorization_url`` and return the callback URL the browser comes back to."""
        redirect_uri, state = check_authorization_url(authorization_url)
        with LoopbackCallback(redirect_uri, state=state) as callback:
            opened = (self.open_url or open_in_browser)(authorization_url)
            if opened is False:
                raise NoBrowserError(
                    "the web browser could not be started to sign in (set BROWSER, or use "
                    "the device flow)"
                )
            if self.on_open is not None:
                self.on_open(authorization_url)
            return callback.wait(self.timeout, on_pending=self.on_pending)


def browser_authorizer(
    *,
    timeout: float = DEFAULT_TIMEOUT,
    open_url: OpenUrl | None = None,
    on_open: Callable[[str], object] | None = None,
    on_pending: Callable[[float], object] | None = None,
) -> BrowserAuthorizer:
    """The ``authorize`` step that signs in in the system browser: see :class:`BrowserAuthorizer`.

    The client must redirect to a loopback URI with a port::

        client = OAuth2Client(resource=url, redirect_uris=[loopback_redirect_uri()])
        httpx.AsyncClient(auth=client.httpx_auth(authorize=browser_authorizer()))
    """
    return BrowserAuthorizer(
        timeout=timeout, open_url=open_url, on_open=on_open, on_pending=on_pending
    )
