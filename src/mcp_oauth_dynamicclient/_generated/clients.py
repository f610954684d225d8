# Generated from spec/openapi.yaml by mcp-oauth-dynamicclient codegen. Do not edit.
"""Endpoint clients: the same methods, blocking and asyncio.

Both classes are emitted from one macro; each method builds its request and parses its response
with ``operations.py`` and only sends here.
"""

from __future__ import annotations

import httpx

from mcp_oauth_dynamicclient import _wire
from mcp_oauth_dynamicclient._wire import ClientAuth

from . import operations
from .models import (
    AuthorizationServerMetadata,
    ClientInformationResponse,
    ClientMetadata,
    ClientUpdateRequest,
    DeviceAuthorizationRequest,
    DeviceAuthorizationResponse,
    IntrospectionRequest,
    IntrospectionResponse,
    JsonWebKeySet,
    ProtectedResourceMetadata,
    RevocationRequest,
    TokenRequest,
    TokenResponse,
)


class EndpointClient:
    """Synchronous endpoint client.

    Generated for MCP OAuth 2.1 client wire contract.

    Each method takes the endpoint's full URL (from discovery or registration), sends one
    request with the injected ``httpx.Client`` and returns the parsed model. An error
    status or a malformed body raises the operation's exception from
    ``mcp_oauth_dynamicclient.exceptions``; a transport failure raises ``NetworkError``. The
    ``httpx.Client`` belongs to the caller and is never closed here.
    """

    def __init__(self, http_client: httpx.Client) -> None:
        self.http_client = http_client

    def get_authorization_server_metadata(self, url: str) -> AuthorizationServerMetadata:
        """Fetch authorization server metadata (RFC 8414 §3; OpenID Connect Discovery §4).

        Raises:
            DiscoveryError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        request = operations.build_get_authorization_server_metadata(url)
        with _wire.send_errors("get_authorization_server_metadata", request):
            response = self.http_client.send(request)
        return operations.parse_get_authorization_server_metadata(response)

    def get_protected_resource_metadata(self, url: str) -> ProtectedResourceMetadata:
        """Fetch protected resource metadata (RFC 9728 §3).

        Raises:
            DiscoveryError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        request = operations.build_get_protected_resource_metadata(url)
        with _wire.send_errors("get_protected_resource_metadata", request):
            response = self.http_client.send(request)
        return operations.parse_get_protected_resource_metadata(response)

    def get_jwks(self, url: str) -> JsonWebKeySet:
        """Fetch the JSON Web Key Set named by `jwks_uri` (RFC 8414 §2, RFC 7517 §5).

        Raises:
            DiscoveryError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        request = operations.build_get_jwks(url)
        with _wire.send_errors("get_jwks", request):
            response = self.http_client.send(request)
        return operations.parse_get_jwks(response)

    def register_client(
        self, url: str, body: ClientMetadata, *, initial_access_token: str | None = None
    ) -> ClientInformationResponse:
        """Register a client (RFC 7591 §3.1).

        Raises:
            RegistrationError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        request = operations.build_register_client(
            url, body, initial_access_token=initial_access_token
        )
        with _wire.send_errors("register_client", request):
            response = self.http_client.send(request)
        return operations.parse_register_client(response)

    def read_client(self, url: str, *, registration_access_token: str) -> ClientInformationResponse:
        """Read the current client configuration (RFC 7592 §2.1).

        Raises:
            RegistrationError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        request = operations.build_read_client(
            url, registration_access_token=registration_access_token
        )
        with _wire.send_errors("read_client", request):
            response = self.http_client.send(request)
        return operations.parse_read_client(response)

    def update_client(
        self, url: str, body: ClientUpdateRequest, *, registration_access_token: str
    ) -> ClientInformationResponse:
        """Replace the client configuration (RFC 7592 §2.2).

        Raises:
            RegistrationError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        request = operations.build_update_client(
            url, body, registration_access_token=registration_access_token
        )
        with _wire.send_errors("update_client", request):
            response = self.http_client.send(request)
        return operations.parse_update_client(response)

    def delete_client(self, url: str, *, registration_access_token: str) -> None:
        """Deprovision the client (RFC 7592 §2.3).

        Raises:
            RegistrationError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        request = operations.build_delete_client(
            url, registration_access_token=registration_access_token
        )
        with _wire.send_errors("delete_client", request):
            response = self.http_client.send(request)
        operations.parse_delete_client(response)

    def request_token(
        self, url: str, body: TokenRequest, *, client_auth: ClientAuth
    ) -> TokenResponse:
        """Request an access token (RFC 6749 §4.1.3, §4.4.2, §6; RFC 8628 §3.4).

        Raises:
            TokenError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        request = operations.build_request_token(url, body, client_auth=client_auth)
        with _wire.send_errors("request_token", request):
            response = self.http_client.send(request)
        return operations.parse_request_token(response)

    def revoke_token(self, url: str, body: RevocationRequest, *, client_auth: ClientAuth) -> None:
        """Revoke a token (RFC 7009 §2.1).

        Raises:
            TokenError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        request = operations.build_revoke_token(url, body, client_auth=client_auth)
        with _wire.send_errors("revoke_token", request):
            response = self.http_client.send(request)
        operations.parse_revoke_token(response)

    def introspect_token(
        self, url: str, body: IntrospectionRequest, *, client_auth: ClientAuth
    ) -> IntrospectionResponse:
        """Introspect a token (RFC 7662 §2.1).

        Raises:
            TokenError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        request = operations.build_introspect_token(url, body, client_auth=client_auth)
        with _wire.send_errors("introspect_token", request):
            response = self.http_client.send(request)
        return operations.parse_introspect_token(response)

    def request_device_authorization(
        self, url: str, body: DeviceAuthorizationRequest, *, client_auth: ClientAuth
    ) -> DeviceAuthorizationResponse:
        """Start a device authorization (RFC 8628 §3.1).

        Raises:
            AuthorizationError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        request = operations.build_request_device_authorization(url, body, client_auth=client_auth)
        with _wire.send_errors("request_device_authorization", request):
            response = self.http_client.send(request)
        return operations.parse_request_device_authorization(response)


class AsyncEndpointClient:
    """Asynchronous endpoint client.

    Generated for MCP OAuth 2.1 client wire contract.

    Each method takes the endpoint's full URL (from discovery or registration), sends one
    request with the injected ``httpx.AsyncClient`` and returns the parsed model. An error
    status or a malformed body raises the operation's exception from
    ``mcp_oauth_dynamicclient.exceptions``; a transport failure raises ``NetworkError``. The
    ``httpx.AsyncClient`` belongs to the caller and is never closed here.
    """

    def __init__(self, http_client: httpx.AsyncClient) -> None:
        self.http_client = http_client

    async def get_authorization_server_metadata(self, url: str) -> AuthorizationServerMetadata:
        """Fetch authorization server metadata (RFC 8414 §3; OpenID Connect Discovery §4).

        Raises:
            DiscoveryError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        request = operations.build_get_authorization_server_metadata(url)
        with _wire.send_errors("get_authorization_server_metadata", request):
            response = await self.http_client.send(request)
        return operations.parse_get_authorization_server_metadata(response)

    async def get_protected_resource_metadata(self, url: str) -> ProtectedResourceMetadata:
        """Fetch protected resource metadata (RFC 9728 §3).

        Raises:
            DiscoveryError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        request = operations.build_get_protected_resource_metadata(url)
        with _wire.send_errors("get_protected_resource_metadata", request):
            response = await self.http_client.send(request)
        return operations.parse_get_protected_resource_metadata(response)

    async def get_jwks(self, url: str) -> JsonWebKeySet:
        """Fetch the JSON Web Key Set named by `jwks_uri` (RFC 8414 §2, RFC 7517 §5).

        Raises:
            DiscoveryError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        request = operations.build_get_jwks(url)
        with _wire.send_errors("get_jwks", request):
            response = await self.http_client.send(request)
        return operations.parse_get_jwks(response)

    async def register_client(
        self, url: str, body: ClientMetadata, *, initial_access_token: str | None = None
    ) -> ClientInformationResponse:
        """Register a client (RFC 7591 §3.1).

        Raises:
            RegistrationError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        request = operations.build_register_client(
            url, body, initial_access_token=initial_access_token
        )
        with _wire.send_errors("register_client", request):
            response = await self.http_client.send(request)
        return operations.parse_register_client(response)

    async def read_client(
        self, url: str, *, registration_access_token: str
    ) -> ClientInformationResponse:
        """Read the current client configuration (RFC 7592 §2.1).

        Raises:
            RegistrationError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        request = operations.build_read_client(
            url, registration_access_token=registration_access_token
        )
        with _wire.send_errors("read_client", request):
            response = await self.http_client.send(request)
        return operations.parse_read_client(response)

    async def update_client(
        self, url: str, body: ClientUpdateRequest, *, registration_access_token: str
    ) -> ClientInformationResponse:
        """Replace the client configuration (RFC 7592 §2.2).

        Raises:
            RegistrationError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        request = operations.build_update_client(
            url, body, registration_access_token=registration_access_token
        )
        with _wire.send_errors("update_client", request):
            response = await self.http_client.send(request)
        return operations.parse_update_client(response)

    async def delete_client(self, url: str, *, registration_access_token: str) -> None:
        """Deprovision the client (RFC 7592 §2.3).

        Raises:
            RegistrationError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        request = operations.build_delete_client(
            url, registration_access_token=registration_access_token
        )
        with _wire.send_errors("delete_client", request):
            response = await self.http_client.send(request)
        operations.parse_delete_client(response)

    async def request_token(
        self, url: str, body: TokenRequest, *, client_auth: ClientAuth
    ) -> TokenResponse:
        """Request an access token (RFC 6749 §4.1.3, §4.4.2, §6; RFC 8628 §3.4).

        Raises:
            TokenError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        request = operations.build_request_token(url, body, client_auth=client_auth)
        with _wire.send_errors("request_token", request):
            response = await self.http_client.send(request)
        return operations.parse_request_token(response)

    async def revoke_token(
        self, url: str, body: RevocationRequest, *, client_auth: ClientAuth
    ) -> None:
        """Revoke a token (RFC 7009 §2.1).

        Raises:
            TokenError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        request = operations.build_revoke_token(url, body, client_auth=client_auth)
        with _wire.send_errors("revoke_token", request):
            response = await self.http_client.send(request)
        operations.parse_revoke_token(response)

    async def introspect_token(
        self, url: str, body: IntrospectionRequest, *, client_auth: ClientAuth
    ) -> IntrospectionResponse:
        """Introspect a token (RFC 7662 §2.1).

        Raises:
            TokenError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        request = operations.build_introspect_token(url, body, client_auth=client_auth)
        with _wire.send_errors("introspect_token", request):
            response = await self.http_client.send(request)
        return operations.parse_introspect_token(response)

    async def request_device_authorization(
        self, url: str, body: DeviceAuthorizationRequest, *, client_auth: ClientAuth
    ) -> DeviceAuthorizationResponse:
        """Start a device authorization (RFC 8628 §3.1).

        Raises:
            AuthorizationError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        request = operations.build_request_device_authorization(url, body, client_auth=client_auth)
        with _wire.send_errors("request_device_authorization", request):
            response = await self.http_client.send(request)
        return operations.parse_request_device_authorization(response)
