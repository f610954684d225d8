"""Discovery documents: RFC 8414 metadata, RFC 9728 protected resource metadata, the JWK Set.

The authorization server metadata (RFC 8414 §2, §3) is served at
``/.well-known/oauth-authorization-server`` and, identical, at
``/.well-known/openid-configuration`` (OpenID Connect Discovery 1.0 §4). It advertises PKCE
``S256`` only (RFC 7636, OAuth 2.1), the RFC 9207 ``iss`` response parameter, registration,
revocation, introspection and device endpoints, and the supported grants and client
authentication methods. The protected resource metadata of ``/mcp`` (RFC 9728 §3) is served at
``/.well-known/oauth-protected-resource/mcp`` (path inserted, §3.1); the origin's own at
``/.well-known/oauth-protected-resource``, each naming the resource it was fetched for (§3.3).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .._generated import AuthorizationServerMetadata, ProtectedResourceMetadata
from ._client_authn import ASSERTION_ALGORITHMS
from ._client_metadata import AUTH_METHODS, GRANT_TYPES
from ._context import Context, Paths
from ._http import model_response
from ._scopes import supported_scopes

__all__ = ["authorization_server_metadata", "jwks", "protected_resource_metadata"]


def server_metadata(ctx: Context) -> AuthorizationServerMetadata:
    """The RFC 8414 §2 metadata of this server."""
    return AuthorizationServerMetadata(
        issuer=ctx.issuer,
        authorization_endpoint=ctx.url(Paths.AUTHORIZE),
        token_endpoint=ctx.url(Paths.TOKEN),
        jwks_uri=ctx.url(Paths.JWKS),
        registration_endpoint=ctx.url(Paths.REGISTER),
        scopes_supported=list(supported_scopes(ctx)),
        response_types_supported=["code"],
        response_modes_supported=["query"],
        grant_types_supported=list(GRANT_TYPES),
        token_endpoint_auth_methods_supported=list(AUTH_METHODS),
        token_endpoint_auth_signing_alg_values_supported=list(ASSERTION_ALGORITHMS),
        revocation_endpoint=ctx.url(Paths.REVOKE),
        revocation_endpoint_auth_methods_supported=list(AUTH_METHODS),
        introspection_endpoint=ctx.url(Paths.INTROSPECT),
        introspection_endpoint_auth_methods_supported=list(AUTH_METHODS),
        code_challenge_methods_supported=["S256"],
        device_authorization_endpoint=ctx.url(Paths.DEVICE_AUTHORIZATION),
        authorization_response_iss_parameter_supported=True,
        id_token_signing_alg_values_supported=[ctx.key.algorithm],
        subject_types_supported=["public"],
    )


def resource_metadata(ctx: Context, resource: str) -> ProtectedResourceMetadata:
    """The RFC 9728 §2 metadata of ``resource``."""
    return ProtectedResourceMetadata(
        resource=resource,
        authorization_servers=[ctx.issuer],
        scopes_supported=list(ctx.settings.scopes),
        bearer_methods_supported=["header"],
        resource_name="MockAuthServer MCP endpoint",
    )


async def authorization_server_metadata(ctx: Context, request: Request) -> Response:
    """``GET /.well-known/oauth-authorization-server`` and ``…/openid-configuration``."""
    return model_response(server_metadata(ctx))


async def protected_resource_metadata(ctx: Context, request: Request) -> Response:
    """``GET /.well-known/oauth-protected-resource[/mcp]`` (RFC 9728 §3)."""
    mcp = request.url.path == Paths.PR_METADATA_MCP
    return model_response(resource_metadata(ctx, ctx.resource if mcp else ctx.issuer))


async def jwks(ctx: Context, request: Request) -> Response:
    """``GET /jwks``: the public signing key (RFC 7517 §5)."""
    return model_response(ctx.key.jwks())
