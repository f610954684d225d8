"""Authorization server discovery: where to look (RFC 8414 §3.1, MCP) and what to accept.

For an issuer with a path component the MCP authorization spec tries, in order, RFC 8414 with
the path appended, OpenID Connect Discovery with the path appended, then OpenID Connect
Discovery with the path prepended; without a path, the first two at the root.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from ._urls import require_secure_url, same_issuer
from .exceptions import DiscoveryError

if TYPE_CHECKING:
    from ._generated import AuthorizationServerMetadata

__all__ = ["check_metadata", "discovery_urls"]

_ENDPOINTS = (
    "authorization_endpoint",
    "token_endpoint",
    "registration_endpoint",
    "revocation_endpoint",
    "introspection_endpoint",
    "device_authorization_endpoint",
    "jwks_uri",
    "userinfo_endpoint",
)


def discovery_urls(issuer: str) -> list[str]:
    """The metadata URLs to try for ``issuer``, in order."""
    url = httpx.URL(issuer)
    origin = str(url.copy_with(path="/", query=None, fragment=None)).rstrip("/")
    path = url.path.rstrip("/")
    if not path:
        return [
            f"{origin}/.well-known/oauth-authorization-server",
            f"{origin}/.well-known/openid-configuration",
        ]
    return [
        f"{origin}/.well-known/oauth-authorization-server{path}",
        f"{origin}/.well-known/openid-configuration{path}",
        f"{origin}{path}/.well-known/openid-configuration",
    ]


def check_metadata(metadata: AuthorizationServerMetadata, issuer: str) -> None:
    """Refuse metadata for another issuer (RFC 8414 §3.3) or with insecure endpoint URLs."""
    if not same_issuer(metadata.issuer, issuer):
        hint = ""
        if metadata.issuer.rstrip("/") == issuer.rstrip("/"):
            hint = f"; if that is your server, configure it as {metadata.issuer!r}"
        raise DiscoveryError(
            f"the metadata names issuer {metadata.issuer!r}, not {issuer!r} (RFC 8414 §3.3 "
            f"compares issuers as exact strings); refusing it{hint}"
        )
    for name in _ENDPOINTS:
        value = getattr(metadata, name)
        if value is not None:
            require_secure_url(value, f"metadata {name}", error=DiscoveryError)
