"""The public surface: what ``import mcp_oauth_dynamicclient`` offers, and nothing by accident."""

from __future__ import annotations

import mcp_oauth_dynamicclient
from mcp_oauth_dynamicclient import exceptions

EXPECTED = {
    "AuthorizationError",
    "ClientRegistration",
    "DeviceAuthorization",
    "OAuth2Client",
    "OAuth2Config",
    "RateLimit",
    "RetryConfig",
    "JsonFormatter",
    "SyncOAuth2Client",
    "SyncTokenManager",
    "TokenManager",
    "TokenResponse",
    "ConfigurationError",
    "DiscoveryError",
    "NetworkError",
    "OAuth2Error",
    "RegistrationError",
    "StorageError",
    "TokenError",
    "ValidationError",
    "__version__",
}


def test_exported_names_are_exactly_the_curated_ones() -> None:
    assert set(mcp_oauth_dynamicclient.__all__) == EXPECTED
    for name in mcp_oauth_dynamicclient.__all__:
        assert hasattr(mcp_oauth_dynamicclient, name)


def test_public_names_are_not_private_modules() -> None:
    public = {n for n in dir(mcp_oauth_dynamicclient) if not n.startswith("_")}
    assert public - EXPECTED <= {"exceptions", "storage", "testing"}


def test_every_exception_derives_from_the_base_and_is_exported() -> None:
    for name in exceptions.__all__:
        cls = getattr(exceptions, name)
        assert issubclass(cls, exceptions.OAuth2Error)
        assert getattr(mcp_oauth_dynamicclient, name) is cls


def test_errors_carry_the_oauth_fields_and_a_safe_repr() -> None:
    error = exceptions.TokenError(
        "request_token failed with HTTP 400: invalid_grant",
        error_code="invalid_grant",
        error_description="expired",
        status_code=400,
    )
    assert (error.error_code, error.error_description, error.status_code) == (
        "invalid_grant",
        "expired",
        400,
    )
    assert repr(error) == (
        "TokenError('request_token failed with HTTP 400: invalid_grant', "
        "error_code='invalid_grant', status_code=400)"
    )
