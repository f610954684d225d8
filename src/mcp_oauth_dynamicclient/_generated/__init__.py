# Generated from spec/openapi.yaml by mcp-oauth-dynamicclient codegen. Do not edit.
"""Typed models and endpoint clients.

Generated for MCP OAuth 2.1 client wire contract.
"""

from .clients import AsyncEndpointClient, EndpointClient
from .converter import converter
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
    OAuthErrorResponse,
    ProtectedResourceMetadata,
    RefreshTokenRequest,
    RevocationRequest,
    TokenRequest,
    TokenResponse,
)

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
    "OAuthErrorResponse",
    "ProtectedResourceMetadata",
    "RefreshTokenRequest",
    "RevocationRequest",
    "TokenRequest",
    "TokenResponse",
    "converter",
]
