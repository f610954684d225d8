"""The ``authorize`` step of a test: an authorization server that approves at once.

``OAuth2Client.httpx_auth(authorize=...)`` hands the authorization URL to a callable that
returns the callback URL the browser lands on. ``MockAuthServer`` (and the MCP conformance
suite's authorization server) approve a request without a person and redirect straight to the
callback, so following that one redirect is the whole step (RFC 6749 §4.1.1, §4.1.2).
"""

from __future__ import annotations

import httpx

from ..exceptions import AuthorizationError
from ..runtime import safe_url

__all__ = ["auto_approve"]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def auto_approve(authorization_url: str) -> str:
    """The callback URL an auto-approving authorization server redirects ``authorization_url`` to.

    Raises:
        AuthorizationError: the server answered with anything but a redirect.
    """
    response = httpx.get(authorization_url, follow_redirects=False, timeout=30)
    location = response.headers.get("location")
    if response.status_code not in _REDIRECTS or not location:
        raise AuthorizationError(
            f"{safe_url(authorization_url)} answered HTTP {response.status_code}, not a redirect "
            "to the callback: this server does not approve on its own",
            response=response,
        )
    return str(response.url.join(location))
