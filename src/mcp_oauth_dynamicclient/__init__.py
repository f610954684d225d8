"""OAuth 2.1 client for MCP applications.

Discovers an authorization server (RFC 8414, RFC 9728), registers itself (RFC 7591), manages that
registration (RFC 7592), and obtains tokens with PKCE (RFC 7636) or the device flow (RFC 8628).

The high-level ``OAuth2Client`` is being built on the generated endpoint clients in
``_generated/``; the exception hierarchy below is already the public one.
"""

from importlib import metadata as _metadata

from .exceptions import (
    AuthorizationError,
    ConfigurationError,
    DiscoveryError,
    NetworkError,
    OAuth2Error,
    RegistrationError,
    TokenError,
    ValidationError,
)

try:
    __version__ = _metadata.version("mcp-oauth-dynamicclient")
except _metadata.PackageNotFoundError:  # pragma: no cover - a source tree, not installed
    __version__ = "0.0.0"

__all__ = [
    "AuthorizationError",
    "ConfigurationError",
    "DiscoveryError",
    "NetworkError",
    "OAuth2Error",
    "RegistrationError",
    "TokenError",
    "ValidationError",
    "__version__",
]
