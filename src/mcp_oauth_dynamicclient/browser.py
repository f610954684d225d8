"""Sign-in for desktop and CLI apps: the system browser and a loopback redirect (RFC 8252).

Two ways to use it. As the ``authorize`` step of the MCP ``httpx.Auth``, which signs in when
the server first asks for it::

    from mcp_oauth_dynamicclient import OAuth2Client
    from mcp_oauth_dynamicclient.browser import browser_authorizer, loopback_redirect_uri

    client = OAuth2Client(resource=mcp_url, redirect_uris=[loopback_redirect_uri()])
    http = httpx.AsyncClient(auth=client.httpx_auth(authorize=browser_authorizer()))

Or in one call, before anything else, with a fallback to the device flow (RFC 8628) where
there is no browser::

    token = await login(client)          # asyncio
    token = sync_login(sync_client)      # SyncOAuth2Client

The rules kept (loopback IP literal, ephemeral port, the URL checked before it is opened, one
callback answered, no secret on the page, a timeout) are listed in ``_loopback``.
"""

from ._async.loopback import login, reusable_redirect_uri, show_device_code
from ._loopback import (
    DEFAULT_TIMEOUT,
    BrowserAuthorizer,
    LoopbackCallback,
    NoBrowserError,
    browser_authorizer,
    browser_available,
    check_authorization_url,
    loopback_redirect_uri,
)
from ._sync.loopback import login as sync_login
from ._sync.loopback import reusable_redirect_uri as sync_reusable_redirect_uri

__all__ = [
    "DEFAULT_TIMEOUT",
    "BrowserAuthorizer",
    "LoopbackCallback",
    "NoBrowserError",
    "browser_authorizer",
    "browser_available",
    "check_authorization_url",
    "login",
    "loopback_redirect_uri",
    "reusable_redirect_uri",
    "show_device_code",
    "sync_login",
    "sync_reusable_redirect_uri",
]
