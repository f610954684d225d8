"""OAuth 2.1 client for MCP applications.

Discovers an authorization server (RFC 8414), registers itself (RFC 7591), manages that
registration (RFC 7592), obtains tokens with PKCE (RFC 7636) or the device flow (RFC 8628),
refreshes, revokes and introspects them, and calls protected resources (RFC 6750).

``OAuth2Client`` is the asyncio client; ``SyncOAuth2Client`` has the same methods, blocking.
Both retry per a ``RetryConfig`` and pace their requests per a ``RateLimit`` when given them,
through an ``AsyncSender`` / ``SyncSender``, which endpoint clients regenerated from a server's
spec take too. ``mcp_oauth_dynamicclient.runtime`` is the module generated code imports.
"""

from typing import TYPE_CHECKING, Any

from ._lazy import lazy_getattr
from .exceptions import (
    AuthorizationError,
    CodeExchangeError,
    ConfigurationError,
    DeadlineExceeded,
    DiscoveryError,
    NetworkError,
    OAuth2Error,
    RateLimitExceeded,
    RegistrationError,
    ResponseTooLarge,
    StorageError,
    TokenError,
    ValidationError,
)

if TYPE_CHECKING:
    from ._async.client import OAuth2Client
    from ._async.sender import AsyncSender
    from ._async.token_manager import TokenManager
    from ._config import OAuth2Config
    from ._logging import JsonFormatter
    from ._models import ClientRegistration, DeviceAuthorization, TokenResponse
    from ._ratelimit import RateLimit
    from ._retry import RetryConfig
    from ._sync.client import SyncOAuth2Client
    from ._sync.sender import SyncSender
    from ._sync.token_manager import SyncTokenManager
    from ._www_authenticate import (
        BearerChallenge,
        Challenge,
        parse_bearer_challenge,
        parse_www_authenticate,
    )

    __version__: str
else:  # type checkers see only the imports above, so a misspelt name is an error for them
    # Loaded on first use (PEP 562): a program that uses only the asyncio client never imports
    # the blocking one, and the other way round.
    _lazy_getattr = lazy_getattr(
        globals(),
        {
            "OAuth2Client": "._async.client",
            "SyncOAuth2Client": "._sync.client",
            "AsyncSender": "._async.sender",
            "SyncSender": "._sync.sender",
            "TokenManager": "._async.token_manager",
            "SyncTokenManager": "._sync.token_manager",
            "OAuth2Config": "._config",
            "ClientRegistration": "._models",
            "DeviceAuthorization": "._models",
            "TokenResponse": "._models",
            "RetryConfig": "._retry",
            "JsonFormatter": "._logging",
            "RateLimit": "._ratelimit",
            "BearerChallenge": "._www_authenticate",
            "Challenge": "._www_authenticate",
            "parse_bearer_challenge": "._www_authenticate",
            "parse_www_authenticate": "._www_authenticate",
        },
    )

    def __getattr__(name: str) -> Any:
        """The public classes, imported on first use; ``__version__`` from the metadata."""
        if name == "__version__":
            from importlib import metadata

            try:
                return metadata.version("mcp-oauth-dynamicclient")
            except metadata.PackageNotFoundError:  # pragma: no cover - a source tree
                return "0.0.0"
        return _lazy_getattr(name)


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "AsyncSender",
    "AuthorizationError",
    "BearerChallenge",
    "Challenge",
    "ClientRegistration",
    "CodeExchangeError",
    "ConfigurationError",
    "DeadlineExceeded",
    "DeviceAuthorization",
    "DiscoveryError",
    "JsonFormatter",
    "NetworkError",
    "OAuth2Client",
    "OAuth2Config",
    "OAuth2Error",
    "RateLimit",
    "RateLimitExceeded",
    "RegistrationError",
    "ResponseTooLarge",
    "RetryConfig",
    "StorageError",
    "SyncOAuth2Client",
    "SyncSender",
    "SyncTokenManager",
    "TokenError",
    "TokenManager",
    "TokenResponse",
    "ValidationError",
    "__version__",
    "parse_bearer_challenge",
    "parse_www_authenticate",
]
