"""OAuth 2.1 client for MCP applications.

Discovers an authorization server (RFC 8414), registers itself (RFC 7591), manages that
registration (RFC 7592), obtains tokens with PKCE (RFC 7636) or the device flow (RFC 8628),
refreshes, revokes and introspects them, and calls protected resources (RFC 6750).

``OAuth2Client`` is the asyncio client; ``SyncOAuth2Client`` has the same methods, blocking.
"""

from importlib import metadata as _metadata

from ._async.client import OAuth2Client
from ._config import OAuth2Config
from ._models import ClientRegistration, DeviceAuthorization, TokenResponse
from ._sync.client import SyncOAuth2Client
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
    "ClientRegistration",
    "ConfigurationError",
    "DeviceAuthorization",
    "DiscoveryError",
    "NetworkError",
    "OAuth2Client",
    "OAuth2Config",
    "OAuth2Error",
    "RegistrationError",
    "SyncOAuth2Client",
    "TokenError",
    "TokenResponse",
    "ValidationError",
    "__version__",
]
