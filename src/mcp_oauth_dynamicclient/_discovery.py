"""Discovery: where to look (RFC 9728 §3.1, RFC 8414 §3.1, MCP) and what to accept.

From an MCP server's URL (the protected resource) the client finds its authorization server in
the protected resource metadata (RFC 9728): at the URL a 401's ``resource_metadata`` names
(§5.1), else at ``/.well-known/oauth-protected-resource`` with the resource's path inserted,
then at the root (the MCP authorization spec's order). The document must be about this
resource (§3.3); its first ``authorization_servers`` entry is the issuer.

For an issuer with a path component the MCP authorization spec tries, in order, RFC 8414 with
the path appended, OpenID Connect Discovery with the path appended, then OpenID Connect
Discovery with the path prepended; without a path, the first two at the root.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from ._urls import require_issuer, require_secure_url, same_issuer
from .exceptions import DiscoveryError

if TYPE_CHECKING:
    from ._generated import AuthorizationServerMetadata, ProtectedResourceMetadata

__all__ = [
    "ENDPOINTS",
    "FALLBACK_PATHS",
    "absent",
    "check_metadata",
    "check_resource_metadata",
    "discovery_urls",
    "fallback_endpoints",
    "origin_of",
    "resource_metadata_urls",
]

PRM_PATH = "/.well-known/oauth-protected-resource"
FALLBACK_PATHS = {
    "authorization_endpoint": "/authorize",
    "token_endpoint": "/token",
    "registration_endpoint": "/register",
}
"""The MCP 2025-03-26 default endpoints of a server without metadata, at its origin."""

ENDPOINTS = (
    "authorization_endpoint",
    "token_endpoint",
    "registration_endpoint",
    "revocation_endpoint",
    "introspection_endpoint",
    "device_authorization_endpoint",
    "jwks_uri",
    "userinfo_endpoint",
)


def absent(error: DiscoveryError) -> bool:
    """Whether a failed fetch of a well-known document means "no document here", so the next
    URL of the discovery order is tried: a 4xx answer, or a body that is not the document (a
    catch-all HTML page). No answer, a 5xx or a 429 means the server is there but unwell or
    busy: discovery stops, rather than take a later URL for the answer."""
    status = error.status_code
    return status is not None and status < 500 and status != 429


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
    for name in ENDPOINTS:
        value = getattr(metadata, name)
        if value is not None:
            require_secure_url(value, f"metadata {name}", error=DiscoveryError)


def _origin_and_path(url: str) -> tuple[str, str]:
    parsed = httpx.URL(url)
    origin = str(parsed.copy_with(path="/", query=None, fragment=None)).rstrip("/")
    return origin, parsed.path.rstrip("/")


def resource_metadata_urls(resource: str) -> list[str]:
    """Where the metadata of ``resource`` may be, in the MCP order (RFC 9728 §3.1)."""
    origin, path = _origin_and_path(resource)
    root = f"{origin}{PRM_PATH}"
    return [f"{root}{path}", root] if path else [root]


def check_resource_metadata(
    metadata: ProtectedResourceMetadata, resource: str, *, at_root: bool
) -> str:
    """The issuer to use, once the metadata is found to be about ``resource`` (RFC 9728 §3.3).

    The document's ``resource`` must be the identifier its URL was built from: ``resource``
    itself, or, for the document at the root, the resource's origin. Compared as strings.

    Raises:
        DiscoveryError: it is about another resource, or names no authorization server.
    """
    origin, _ = _origin_and_path(resource)
    allowed = {resource} | ({origin, origin + "/"} if at_root else set())
    if metadata.resource not in allowed:
        raise DiscoveryError(
            f"the protected resource metadata is about {metadata.resource!r}, not "
            f"{resource!r} (RFC 9728 §3.3); refusing it"
        )
    servers = list(metadata.authorization_servers or ())
    if not servers:
        raise DiscoveryError(
            f"the protected resource metadata of {resource!r} names no authorization server "
            "(RFC 9728 §2 authorization_servers); configure auth_server"
        )
    issuer = servers[0]
    what = (
        f"the authorization server the protected resource metadata of {resource!r} names "
        "(RFC 9728 §2 authorization_servers; fix that metadata, or configure auth_server)"
    )
    require_issuer(issuer, what, error=DiscoveryError)
    return issuer


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: the authorization base URL of MCP 2025-03-26."""
    return _origin_and_path(url)[0]


def fallback_endpoints(issuer: str, configured: dict[str, str | None]) -> dict[str, str]:
    """Endpoints for a server that publishes no metadata: the configured ones, else the MCP
    2025-03-26 defaults at the issuer's origin ("Fallbacks for Servers without Metadata")."""
    origin = origin_of(issuer)
    return {
        name: configured.get(name) or f"{origin}{path}" for name, path in FALLBACK_PATHS.items()
    }
