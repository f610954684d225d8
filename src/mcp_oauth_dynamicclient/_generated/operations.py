# Generated from spec/openapi.yaml by mcp-oauth-dynamicclient codegen. Do not edit.
"""Sans-I/O operations: build each endpoint's ``httpx.Request``, parse its ``httpx.Response``.

Nothing here sends: ``clients.py`` hands these functions to a sender
(``mcp_oauth_dynamicclient.runtime.SenderProtocol``), which calls ``build_*`` for each attempt
and ``parse_*`` on the response.
"""

from __future__ import annotations

import httpx

from mcp_oauth_dynamicclient import runtime
from mcp_oauth_dynamicclient.exceptions import (
    AuthorizationError,
    DiscoveryError,
    RegistrationError,
    TokenError,
)
from mcp_oauth_dynamicclient.runtime import ClientAuth

from .converter import converter
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


def build_get_authorization_server_metadata(url: str) -> httpx.Request:
    """Build the request of ``get_authorization_server_metadata``.

    Fetch authorization server metadata (RFC 8414 §3; OpenID Connect Discovery §4). The same
    document shape is served at `/.well-known/oauth-authorization-server[/path]` (RFC 8414 §3.1)
    and at `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4), so one
    operation reads both; the caller picks the URL. Safe to resend: a GET of a document (RFC
    8414 §3).
    """
    return runtime.build_request("GET", url)


def parse_get_authorization_server_metadata(
    response: httpx.Response,
) -> AuthorizationServerMetadata:
    """Parse the response of ``get_authorization_server_metadata``, or raise ``DiscoveryError``."""
    return runtime.parse_model(
        response,
        AuthorizationServerMetadata,
        converter,
        DiscoveryError,
        "get_authorization_server_metadata",
    )


def build_get_protected_resource_metadata(url: str) -> httpx.Request:
    """Build the request of ``get_protected_resource_metadata``.

    Fetch protected resource metadata (RFC 9728 §3). The URL is `/.well-known/oauth-protected-
    resource[/path]` (RFC 9728 §3.1) or the one a resource server named in the
    `resource_metadata` parameter of its `WWW-Authenticate` header (RFC 9728 §5.1). Safe to
    resend: a GET of a document (RFC 9728 §3).
    """
    return runtime.build_request("GET", url)


def parse_get_protected_resource_metadata(response: httpx.Response) -> ProtectedResourceMetadata:
    """Parse the response of ``get_protected_resource_metadata``, or raise ``DiscoveryError``."""
    return runtime.parse_model(
        response,
        ProtectedResourceMetadata,
        converter,
        DiscoveryError,
        "get_protected_resource_metadata",
    )


def build_get_jwks(url: str) -> httpx.Request:
    """Build the request of ``get_jwks``.

    Fetch the JSON Web Key Set named by `jwks_uri` (RFC 8414 §2, RFC 7517 §5). Safe to resend: a
    GET of a document (RFC 7517 §5).
    """
    return runtime.build_request("GET", url)


def parse_get_jwks(response: httpx.Response) -> JsonWebKeySet:
    """Parse the response of ``get_jwks``, or raise ``DiscoveryError``."""
    return runtime.parse_model(response, JsonWebKeySet, converter, DiscoveryError, "get_jwks")


def build_register_client(
    url: str, body: ClientMetadata, *, initial_access_token: str | None = None
) -> httpx.Request:
    """Build the request of ``register_client``.

    Register a client (RFC 7591 §3.1). Sends the client metadata as JSON. An initial access
    token (RFC 7591 §3) is sent as a Bearer token when the server requires one. Not resent once
    it may have reached the server: a second POST registers a second client (RFC 7591 §3.1).
    """
    return runtime.build_request(
        "POST", url, json_body=converter.unstructure(body), bearer=initial_access_token
    )


def parse_register_client(response: httpx.Response) -> ClientInformationResponse:
    """Parse the response of ``register_client``, or raise ``RegistrationError``."""
    return runtime.parse_model(
        response, ClientInformationResponse, converter, RegistrationError, "register_client"
    )


def build_read_client(url: str, *, registration_access_token: str) -> httpx.Request:
    """Build the request of ``read_client``.

    Read the current client configuration (RFC 7592 §2.1). Safe to resend: a read changes
    nothing (RFC 7592 §2.1).
    """
    return runtime.build_request("GET", url, bearer=registration_access_token)


def parse_read_client(response: httpx.Response) -> ClientInformationResponse:
    """Parse the response of ``read_client``, or raise ``RegistrationError``."""
    return runtime.parse_model(
        response, ClientInformationResponse, converter, RegistrationError, "read_client"
    )


def build_update_client(
    url: str, body: ClientUpdateRequest, *, registration_access_token: str
) -> httpx.Request:
    """Build the request of ``update_client``.

    Replace the client configuration (RFC 7592 §2.2). A full replacement: fields left out are
    treated by the server as null or empty, so the body must carry every value the client means
    to keep. The server may issue a new `registration_access_token` or `client_secret` in the
    response. Not resent once it may have reached the server: the server may have rotated the
    registration access token the request carries (RFC 7592 §2.2, §3).
    """
    return runtime.build_request(
        "PUT", url, json_body=converter.unstructure(body), bearer=registration_access_token
    )


def parse_update_client(response: httpx.Response) -> ClientInformationResponse:
    """Parse the response of ``update_client``, or raise ``RegistrationError``."""
    return runtime.parse_model(
        response, ClientInformationResponse, converter, RegistrationError, "update_client"
    )


def build_delete_client(url: str, *, registration_access_token: str) -> httpx.Request:
    """Build the request of ``delete_client``.

    Deprovision the client (RFC 7592 §2.3). Not resent once it may have reached the server: a
    resent DELETE of a deleted client is refused with 401 (RFC 7592 §2.3), hiding that the first
    one worked.
    """
    return runtime.build_request("DELETE", url, bearer=registration_access_token)


def parse_delete_client(response: httpx.Response) -> None:
    """Parse the response of ``delete_client``, or raise ``RegistrationError``."""
    runtime.parse_empty(response, RegistrationError, "delete_client")


def build_request_token(url: str, body: TokenRequest, *, client_auth: ClientAuth) -> httpx.Request:
    """Build the request of ``request_token``.

    Request an access token (RFC 6749 §4.1.3, §4.4.2, §6; RFC 8628 §3.4). One form-encoded
    request per grant type, told apart by `grant_type`. Client authentication follows RFC 6749
    §2.3 (or RFC 7523 §2.2 for JWT assertions). Not resent once it may have reached the server,
    except for client credentials: a code is used once and its reuse may revoke the tokens it
    gave (RFC 6749 §4.1.2), a refresh token may be rotated by the first request (RFC 6749 §6,
    RFC 9700 §4.14.2), and a device code poll keeps its own interval (RFC 8628 §3.5).
    """
    return runtime.build_request(
        "POST", url, form_body=converter.unstructure(body), client_auth=client_auth
    )


def parse_request_token(response: httpx.Response) -> TokenResponse:
    """Parse the response of ``request_token``, or raise ``TokenError``."""
    return runtime.parse_model(response, TokenResponse, converter, TokenError, "request_token")


def build_revoke_token(
    url: str, body: RevocationRequest, *, client_auth: ClientAuth
) -> httpx.Request:
    """Build the request of ``revoke_token``.

    Revoke a token (RFC 7009 §2.1). The server answers 200 whether or not the token was valid
    (RFC 7009 §2.2); the body is ignored. Safe to resend: revoking a revoked or unknown token
    succeeds (RFC 7009 §2.2).
    """
    return runtime.build_request(
        "POST", url, form_body=converter.unstructure(body), client_auth=client_auth
    )


def parse_revoke_token(response: httpx.Response) -> None:
    """Parse the response of ``revoke_token``, or raise ``TokenError``."""
    runtime.parse_empty(response, TokenError, "revoke_token")


def build_introspect_token(
    url: str, body: IntrospectionRequest, *, client_auth: ClientAuth
) -> httpx.Request:
    """Build the request of ``introspect_token``.

    Introspect a token (RFC 7662 §2.1). Safe to resend: introspection changes nothing (RFC 7662
    §2.1).
    """
    return runtime.build_request(
        "POST", url, form_body=converter.unstructure(body), client_auth=client_auth
    )


def parse_introspect_token(response: httpx.Response) -> IntrospectionResponse:
    """Parse the response of ``introspect_token``, or raise ``TokenError``."""
    return runtime.parse_model(
        response, IntrospectionResponse, converter, TokenError, "introspect_token"
    )


def build_request_device_authorization(
    url: str, body: DeviceAuthorizationRequest, *, client_auth: ClientAuth
) -> httpx.Request:
    """Build the request of ``request_device_authorization``.

    Start a device authorization (RFC 8628 §3.1). Not resent once it may have reached the
    server: each request starts another device authorization with its own codes (RFC 8628 §3.1).
    """
    return runtime.build_request(
        "POST", url, form_body=converter.unstructure(body), client_auth=client_auth
    )


def parse_request_device_authorization(response: httpx.Response) -> DeviceAuthorizationResponse:
    """Parse the response of ``request_device_authorization``, or raise ``AuthorizationError``."""
    return runtime.parse_model(
        response,
        DeviceAuthorizationResponse,
        converter,
        AuthorizationError,
        "request_device_authorization",
    )
