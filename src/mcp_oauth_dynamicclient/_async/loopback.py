"""``login``: sign a person in, in one call, in the system browser or with the device flow.

The browser way is RFC 8252's (see ``_loopback``): an authorization URL with PKCE for the
client's loopback redirect URI, opened in the system browser, its callback received on the
loopback port and exchanged for tokens. Where there is no browser (a server, a container, an
SSH session: ``webbrowser`` finds none) or when asked, the device flow (RFC 8628) signs the
person in instead, with a code to enter on another device. The blocking ``login`` of
``SyncOAuth2Client`` is generated from this file.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from .._concurrency import async_to_thread
from .._keys import registration_key
from .._loopback import (
    CALLBACK_PATH,
    DEFAULT_TIMEOUT,
    BrowserAuthorizer,
    NoBrowserError,
    OpenUrl,
    browser_available,
    loopback_port,
    loopback_redirect_uri,
    port_is_free,
)
from ..exceptions import ConfigurationError

if TYPE_CHECKING:
    from .._models import DeviceAuthorization, TokenResponse
    from .client import OAuth2Client
    from .storage import TokenStorage

__all__ = ["login", "reusable_redirect_uri"]


def show_device_code(device: DeviceAuthorization) -> None:
    """Tell the person at the terminal where to go and what to type (RFC 8628 §3.3)."""
    where = device.verification_uri_complete or device.verification_uri
    print(
        f"To sign in, open {where} and enter the code {device.user_code}",
        file=sys.stderr,
        flush=True,
    )


async def login(
    client: OAuth2Client,
    *,
    scope: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    device: bool = False,
    open_url: OpenUrl | None = None,
    on_open: Callable[[str], object] | None = None,
    on_code: Callable[[DeviceAuthorization], object] | None = None,
    on_pending: Callable[[float], object] | None = None,
) -> TokenResponse:
    """Sign the user in and return the token (it is stored in the client's storage).

    In the browser (RFC 8252) when the client has a loopback redirect URI
    (``redirect_uris=[loopback_redirect_uri()]``) and a browser can be opened (or
    ``open_url`` is given); else, or with ``device=True``, with the device flow (RFC 8628),
    whose code goes to ``on_code`` (printed on stderr by default). ``on_pending`` gets the
    seconds left while waiting, in either flow; ``on_open`` the URL opened in the browser.

    Raises:
        AuthorizationError: the user denied, the wait timed out, or the server refused.
        ConfigurationError: no way to sign in: no loopback redirect URI and no device flow.
    """
    redirect_uri = _loopback_uri(client)
    if not device and redirect_uri is not None and (open_url or browser_available()):
        authorizer = BrowserAuthorizer(
            timeout=timeout, open_url=open_url, on_open=on_open, on_pending=on_pending
        )
        url = await client.get_authorization_url(scope, redirect_uri=redirect_uri)
        try:
            callback = await async_to_thread(authorizer, url)
        except NoBrowserError:
            pass  # webbrowser found one, which would not start: the device flow it is
        else:
            return await client.exchange_code(callback)
    if not device and (await client.discover()).device_authorization_endpoint is None:
        raise ConfigurationError(
            "login: no browser sign-in (no browser, or no loopback redirect URI: build the "
            "client with redirect_uris=[loopback_redirect_uri()]) and the server has no "
            "device flow"
        )
    return await client.device_login(
        on_code or show_device_code, scope=scope, timeout=timeout, on_pending=on_pending
    )


def _loopback_uri(client: OAuth2Client) -> str | None:
    """The client's first loopback redirect URI with a port (RFC 8252 §7.3), if any."""
    return next((uri for uri in client.config.redirect_uris if loopback_port(uri)), None)


async def reusable_redirect_uri(
    storage: TokenStorage, issuer: str, path: str = CALLBACK_PATH
) -> str:
    """A loopback redirect URI for a client of ``issuer`` kept in ``storage``: the one its
    stored registration has, while that port is free, else one on a new ephemeral port.

    RFC 8252 §7.3 has the server accept any port of a registered loopback URI; a server that
    compares redirect URIs exactly (as many do) would otherwise make each sign-in register a
    new client. Reusing the port keeps one registration for as long as the port stays free.
    """
    stored = await storage.retrieve_token(registration_key(issuer))
    uris = stored.get("redirect_uris") if isinstance(stored, dict) else None
    for uri in uris if isinstance(uris, list) else []:
        port = loopback_port(uri) if isinstance(uri, str) else None
        if port is not None and port_is_free(port):
            return str(uri)
    return loopback_redirect_uri(0, path)
