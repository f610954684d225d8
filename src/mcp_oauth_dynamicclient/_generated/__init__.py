# Generated from spec/openapi.yaml by mcp-oauth-dynamicclient codegen. Do not edit.
"""Typed models and endpoint clients.

Generated for MCP OAuth 2.1 client wire contract.

The names below load on first use (PEP 562): building the attrs classes of ``models`` costs a
few milliseconds, which a program that imports this package but has not called a server yet
should not pay. ``from ... import Name`` and attribute access work as usual.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcp_oauth_dynamicclient.runtime import lazy_getattr

from .converter import converter

if TYPE_CHECKING:
    from . import clients as clients
    from . import models as models
    from . import operations as operations
    from .clients import AsyncEndpointClient, EndpointClient
    from .models import (
        AuthorizationCodeTokenRequest,
        AuthorizationErrorResponse,
        AuthorizationRequest,
        AuthorizationResponse,
        AuthorizationServerMetadata,
        ClientCredentialsTokenRequest,
        ClientInformationResponse,
        ClientMetadata,
        ClientRegistrationErrorResponse,
        ClientUpdateRequest,
        DeviceAuthorizationRequest,
        DeviceAuthorizationResponse,
        DeviceCodeTokenRequest,
        IntrospectionRequest,
        IntrospectionResponse,
        JsonWebKey,
        JsonWebKeySet,
        JwtBearerTokenRequest,
        OAuthErrorResponse,
        ProtectedResourceMetadata,
        RefreshTokenRequest,
        RevocationRequest,
        TokenExchangeRequest,
        TokenRequest,
        TokenResponse,
    )

_SUBMODULES = ("clients", "models", "operations")
if not TYPE_CHECKING:  # type checkers see the imports above, so a misspelt name is an error
    __getattr__ = lazy_getattr(
        globals(),
        {
            **{name: f".{name}" for name in _SUBMODULES},
            "AsyncEndpointClient": ".clients",
            "EndpointClient": ".clients",
            "AuthorizationCodeTokenRequest": ".models",
            "AuthorizationErrorResponse": ".models",
            "AuthorizationRequest": ".models",
            "AuthorizationResponse": ".models",
            "AuthorizationServerMetadata": ".models",
            "ClientCredentialsTokenRequest": ".models",
            "ClientInformationResponse": ".models",
            "ClientMetadata": ".models",
            "ClientRegistrationErrorResponse": ".models",
            "ClientUpdateRequest": ".models",
            "DeviceAuthorizationRequest": ".models",
            "DeviceAuthorizationResponse": ".models",
            "DeviceCodeTokenRequest": ".models",
            "IntrospectionRequest": ".models",
            "IntrospectionResponse": ".models",
            "JsonWebKey": ".models",
            "JsonWebKeySet": ".models",
            "JwtBearerTokenRequest": ".models",
            "OAuthErrorResponse": ".models",
            "ProtectedResourceMetadata": ".models",
            "RefreshTokenRequest": ".models",
            "RevocationRequest": ".models",
            "TokenExchangeRequest": ".models",
            "TokenRequest": ".models",
            "TokenResponse": ".models",
        },
    )


def __dir__() -> list[str]:
    return sorted({*__all__, *_SUBMODULES})


__all__ = [
    "AsyncEndpointClient",
    "AuthorizationCodeTokenRequest",
    "AuthorizationErrorResponse",
    "AuthorizationRequest",
    "AuthorizationResponse",
    "AuthorizationServerMetadata",
    "ClientCredentialsTokenRequest",
    "ClientInformationResponse",
    "ClientMetadata",
    "ClientRegistrationErrorResponse",
    "ClientUpdateRequest",
    "DeviceAuthorizationRequest",
    "DeviceAuthorizationResponse",
    "DeviceCodeTokenRequest",
    "EndpointClient",
    "IntrospectionRequest",
    "IntrospectionResponse",
    "JsonWebKey",
    "JsonWebKeySet",
    "JwtBearerTokenRequest",
    "OAuthErrorResponse",
    "ProtectedResourceMetadata",
    "RefreshTokenRequest",
    "RevocationRequest",
    "TokenExchangeRequest",
    "TokenRequest",
    "TokenResponse",
    "converter",
]
