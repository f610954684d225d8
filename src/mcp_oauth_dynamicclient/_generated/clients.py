# Generated from spec/openapi.yaml by mcp-oauth-dynamicclient codegen. Do not edit.
"""Endpoint clients: the same methods, blocking and asyncio.

Both classes are emitted from one macro. Each method hands its operation to the client's sender:
how to build the request and parse the response (``operations.py``), and whether it may be
resent (the spec's ``x-idempotent``).
"""

from __future__ import annotations

from functools import partial

import httpx

from mcp_oauth_dynamicclient import runtime
from mcp_oauth_dynamicclient.runtime import ClientAuth

from . import operations
from .models import (
    AuthorizationServerMetadata,
    ClientCredentialsTokenRequest,
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

    Each method takes the endpoint's full URL (from discovery or registration) and returns the
    parsed model. It hands the operation to ``sender`` (a ``runtime.SenderProtocol``) with
    the spec's word on whether the request may be resent (``x-idempotent``); the default sends
    once, and the library's ``SyncSender`` adds retries, a rate limit, metrics and
    logs. An error status or a malformed body raises the operation's exception from
    ``mcp_oauth_dynamicclient.exceptions``; a transport failure raises ``NetworkError``. The
    ``httpx.Client`` belongs to the caller and is never closed here.
    """

    def __init__(
        self,
        http_client: httpx.Client,
        *,
        sender: runtime.SenderProtocol | None = None,
    ) -> None:
        self.http_client = http_client
        self.sender = sender if sender is not None else runtime.DirectSender()

    def get_authorization_server_metadata(self, url: str) -> AuthorizationServerMetadata:
        """Fetch authorization server metadata (RFC 8414 §3; OpenID Connect Discovery §4).

        Raises:
            DiscoveryError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        return self.sender.send(
            self.http_client,
            "get_authorization_server_metadata",
            partial(operations.build_get_authorization_server_metadata, url),
            operations.parse_get_authorization_server_metadata,
            idempotent=True,
        )

    def get_protected_resource_metadata(self, url: str) -> ProtectedResourceMetadata:
        """Fetch protected resource metadata (RFC 9728 §3).

        Raises:
            DiscoveryError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        return self.sender.send(
            self.http_client,
            "get_protected_resource_metadata",
            partial(operations.build_get_protected_resource_metadata, url),
            operations.parse_get_protected_resource_metadata,
            idempotent=True,
        )

    def get_jwks(self, url: str) -> JsonWebKeySet:
        """Fetch the JSON Web Key Set named by `jwks_uri` (RFC 8414 §2, RFC 7517 §5).

        Raises:
            DiscoveryError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        return self.sender.send(
            self.http_client,
            "get_jwks",
            partial(operations.build_get_jwks, url),
            operations.parse_get_jwks,
            idempotent=True,
        )

    def register_client(
        self, url: str, body: ClientMetadata, *, initial_access_token: str | None = None
    ) -> ClientInformationResponse:
        """Register a client (RFC 7591 §3.1).

        Raises:
            RegistrationError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        return self.sender.send(
            self.http_client,
            "register_client",
            partial(
                operations.build_register_client,
                url,
                body,
                initial_access_token=initial_access_token,
            ),
            operations.parse_register_client,
            idempotent=False,
        )

    def read_client(self, url: str, *, registration_access_token: str) -> ClientInformationResponse:
        """Read the current client configuration (RFC 7592 §2.1).

        Raises:
            RegistrationError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        return self.sender.send(
            self.http_client,
            "read_client",
            partial(
                operations.build_read_client,
                url,
                registration_access_token=registration_access_token,
            ),
            operations.parse_read_client,
            idempotent=True,
        )

    def update_client(
        self, url: str, body: ClientUpdateRequest, *, registration_access_token: str
    ) -> ClientInformationResponse:
        """Replace the client configuration (RFC 7592 §2.2).

        Raises:
            RegistrationError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        return self.sender.send(
            self.http_client,
            "update_client",
            partial(
                operations.build_update_client,
                url,
                body,
                registration_access_token=registration_access_token,
            ),
            operations.parse_update_client,
            idempotent=False,
        )

    def delete_client(self, url: str, *, registration_access_token: str) -> None:
        """Deprovision the client (RFC 7592 §2.3).

        Raises:
            RegistrationError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        self.sender.send(
            self.http_client,
            "delete_client",
            partial(
                operations.build_delete_client,
                url,
                registration_access_token=registration_access_token,
            ),
            operations.parse_delete_client,
            idempotent=False,
        )

    def request_token(
        self, url: str, body: TokenRequest, *, client_auth: ClientAuth
    ) -> TokenResponse:
        """Request an access token (RFC 6749 §4.1.3, §4.4.2, §6; RFC 8628 §3.4).

        Raises:
            TokenError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        return self.sender.send(
            self.http_client,
            "request_token",
            partial(operations.build_request_token, url, body, client_auth=client_auth),
            operations.parse_request_token,
            idempotent=isinstance(body, (ClientCredentialsTokenRequest,)),
        )

    def revoke_token(self, url: str, body: RevocationRequest, *, client_auth: ClientAuth) -> None:
        """Revoke a token (RFC 7009 §2.1).

        Raises:
            TokenError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        self.sender.send(
            self.http_client,
            "revoke_token",
            partial(operations.build_revoke_token, url, body, client_auth=client_auth),
            operations.parse_revoke_token,
            idempotent=True,
        )

    def introspect_token(
        self, url: str, body: IntrospectionRequest, *, client_auth: ClientAuth
    ) -> IntrospectionResponse:
        """Introspect a token (RFC 7662 §2.1).

        Raises:
            TokenError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        return self.sender.send(
            self.http_client,
            "introspect_token",
            partial(operations.build_introspect_token, url, body, client_auth=client_auth),
            operations.parse_introspect_token,
            idempotent=True,
        )

    def request_device_authorization(
        self, url: str, body: DeviceAuthorizationRequest, *, client_auth: ClientAuth
    ) -> DeviceAuthorizationResponse:
        """Start a device authorization (RFC 8628 §3.1).

        Raises:
            AuthorizationError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        return self.sender.send(
            self.http_client,
            "request_device_authorization",
            partial(
                operations.build_request_device_authorization, url, body, client_auth=client_auth
            ),
            operations.parse_request_device_authorization,
            idempotent=False,
        )


class AsyncEndpointClient:
    """Asynchronous endpoint client.

    Generated for MCP OAuth 2.1 client wire contract.

    Each method takes the endpoint's full URL (from discovery or registration) and returns the
    parsed model. It hands the operation to ``sender`` (a ``runtime.AsyncSenderProtocol``) with
    the spec's word on whether the request may be resent (``x-idempotent``); the default sends
    once, and the library's ``AsyncSender`` adds retries, a rate limit, metrics and
    logs. An error status or a malformed body raises the operation's exception from
    ``mcp_oauth_dynamicclient.exceptions``; a transport failure raises ``NetworkError``. The
    ``httpx.AsyncClient`` belongs to the caller and is never closed here.
    """

    def __init__(
        self,
        http_client: httpx.AsyncClient,
        *,
        sender: runtime.AsyncSenderProtocol | None = None,
    ) -> None:
        self.http_client = http_client
        self.sender = sender if sender is not None else runtime.AsyncDirectSender()

    async def get_authorization_server_metadata(self, url: str) -> AuthorizationServerMetadata:
        """Fetch authorization server metadata (RFC 8414 §3; OpenID Connect Discovery §4).

        Raises:
            DiscoveryError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        return await self.sender.send(
            self.http_client,
            "get_authorization_server_metadata",
            partial(operations.build_get_authorization_server_metadata, url),
            operations.parse_get_authorization_server_metadata,
            idempotent=True,
        )

    async def get_protected_resource_metadata(self, url: str) -> ProtectedResourceMetadata:
        """Fetch protected resource metadata (RFC 9728 §3).

        Raises:
            DiscoveryError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        return await self.sender.send(
            self.http_client,
            "get_protected_resource_metadata",
            partial(operations.build_get_protected_resource_metadata, url),
            operations.parse_get_protected_resource_metadata,
            idempotent=True,
        )

    async def get_jwks(self, url: str) -> JsonWebKeySet:
        """Fetch the JSON Web Key Set named by `jwks_uri` (RFC 8414 §2, RFC 7517 §5).

        Raises:
            DiscoveryError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        return await self.sender.send(
            self.http_client,
            "get_jwks",
            partial(operations.build_get_jwks, url),
            operations.parse_get_jwks,
            idempotent=True,
        )

    async def register_client(
        self, url: str, body: ClientMetadata, *, initial_access_token: str | None = None
    ) -> ClientInformationResponse:
        """Register a client (RFC 7591 §3.1).

        Raises:
            RegistrationError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        return await self.sender.send(
            self.http_client,
            "register_client",
            partial(
                operations.build_register_client,
                url,
                body,
                initial_access_token=initial_access_token,
            ),
            operations.parse_register_client,
            idempotent=False,
        )

    async def read_client(
        self, url: str, *, registration_access_token: str
    ) -> ClientInformationResponse:
        """Read the current client configuration (RFC 7592 §2.1).

        Raises:
            RegistrationError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        return await self.sender.send(
            self.http_client,
            "read_client",
            partial(
                operations.build_read_client,
                url,
                registration_access_token=registration_access_token,
            ),
            operations.parse_read_client,
            idempotent=True,
        )

    async def update_client(
        self, url: str, body: ClientUpdateRequest, *, registration_access_token: str
    ) -> ClientInformationResponse:
        """Replace the client configuration (RFC 7592 §2.2).

        Raises:
            RegistrationError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        return await self.sender.send(
            self.http_client,
            "update_client",
            partial(
                operations.build_update_client,
                url,
                body,
                registration_access_token=registration_access_token,
            ),
            operations.parse_update_client,
            idempotent=False,
        )

    async def delete_client(self, url: str, *, registration_access_token: str) -> None:
        """Deprovision the client (RFC 7592 §2.3).

        Raises:
            RegistrationError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        await self.sender.send(
            self.http_client,
            "delete_client",
            partial(
                operations.build_delete_client,
                url,
                registration_access_token=registration_access_token,
            ),
            operations.parse_delete_client,
            idempotent=False,
        )

    async def request_token(
        self, url: str, body: TokenRequest, *, client_auth: ClientAuth
    ) -> TokenResponse:
        """Request an access token (RFC 6749 §4.1.3, §4.4.2, §6; RFC 8628 §3.4).

        Raises:
            TokenError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        return await self.sender.send(
            self.http_client,
            "request_token",
            partial(operations.build_request_token, url, body, client_auth=client_auth),
            operations.parse_request_token,
            idempotent=isinstance(body, (ClientCredentialsTokenRequest,)),
        )

    async def revoke_token(
        self, url: str, body: RevocationRequest, *, client_auth: ClientAuth
    ) -> None:
        """Revoke a token (RFC 7009 §2.1).

        Raises:
            TokenError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        await self.sender.send(
            self.http_client,
            "revoke_token",
            partial(operations.build_revoke_token, url, body, client_auth=client_auth),
            operations.parse_revoke_token,
            idempotent=True,
        )

    async def introspect_token(
        self, url: str, body: IntrospectionRequest, *, client_auth: ClientAuth
    ) -> IntrospectionResponse:
        """Introspect a token (RFC 7662 §2.1).

        Raises:
            TokenError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        return await self.sender.send(
            self.http_client,
            "introspect_token",
            partial(operations.build_introspect_token, url, body, client_auth=client_auth),
            operations.parse_introspect_token,
            idempotent=True,
        )

    async def request_device_authorization(
        self, url: str, body: DeviceAuthorizationRequest, *, client_auth: ClientAuth
    ) -> DeviceAuthorizationResponse:
        """Start a device authorization (RFC 8628 §3.1).

        Raises:
            AuthorizationError: the server answered with an error or a malformed body.
            NetworkError: the request did not complete.
        """
        return await self.sender.send(
            self.http_client,
            "request_device_authorization",
            partial(
                operations.build_request_device_authorization, url, body, client_auth=client_auth
            ),
            operations.parse_request_device_authorization,
            idempotent=False,
        )
