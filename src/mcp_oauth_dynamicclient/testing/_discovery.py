"""Discovery documents: RFC 8414 metadata, RFC 9728 protected resource metadata, the JWK Set.

The authorization server metadata (RFC 8414 §2, §3) is served at
``/.well-known/oauth-authorization-server`` and, identical, at
``/.well-known/openid-configuration`` (OpenID Connect Discovery 1.0 §4). It advertises PKCE
``S256`` only (RFC 7636, OAuth 2.1), the RFC 9207 ``iss`` response parameter, registration,
revocation, introspection and device endpoints, and the supported grants and client
authentication methods. The protected resource metadata of ``/mcp`` (RFC 9728 §3) is served at
``/.well-known/oauth-protected-resource/mcp`` (path inserted, §3.1); the origin's own at
``/.well-known/oauth-protected-resource``, each naming the resource it was fetched for (§3.3).
Knobs change that: ``root_resource_metadata`` makes the origin's URL serve the ``/mcp``
metadata (or nothing), ``serve_resource_metadata=False`` serves none (404), and
``authorization_servers`` / ``resource_scopes`` replace the members of the same name. With
DPoP on, both documents list ``dpop_signing_alg_values_supported`` (RFC 9449 §5.1, RFC 9728
§2), and ``dpop_required`` adds ``dpop_bound_access_tokens_required`` to the resource's.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .._generated import AuthorizationServerMetadata, ProtectedResourceMetadata
from ._client_authn import ASSERTION_ALGORITHMS
from ._client_metadata import AUTH_METHODS, supported_grant_types
from ._context import Context, Paths
from ._http import model_response
from ._scopes import supported_scopes

__all__ = ["authorization_server_metadata", "jwks", "protected_resource_metadata"]


def _dpop_metadata(ctx: Context) -> dict[str, Any]:
    """RFC 9449 §5.1 ``dpop_signing_alg_values_supported`` when DPoP is on."""
    if not ctx.settings.dpop_enabled:
        return {}
    return {"dpop_signing_alg_values_supported": list(ctx.settings.dpop_signing_algs)}


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
        grant_types_supported=list(supported_grant_types(ctx)),
        token_endpoint_auth_methods_supported=list(ctx.settings.token_endpoint_auth_methods),
        token_endpoint_auth_signing_alg_values_supported=list(ASSERTION_ALGORITHMS),
        revocation_endpoint=ctx.url(Paths.REVOKE),
        revocation_endpoint_auth_methods_supported=list(AUTH_METHODS),
        introspection_endpoint=ctx.url(Paths.INTROSPECT),
        introspection_endpoint_auth_methods_supported=list(AUTH_METHODS),
        code_challenge_methods_supported=["S256"],
        device_authorization_endpoint=ctx.url(Paths.DEVICE_AUTHORIZATION),
        authorization_response_iss_parameter_supported=ctx.settings.authorization_response_iss,
        id_token_signing_alg_values_supported=[ctx.key.algorithm],
        subject_types_supported=["public"],
        extra=_dpop_metadata(ctx),
    )


def resource_metadata(ctx: Context, resource: str) -> ProtectedResourceMetadata:
    """The RFC 9728 §2 metadata of ``resource``."""
    scopes = ctx.settings.resource_scopes
    dpop = ctx.settings.dpop_enabled
    if scopes is None:
        scopes = ctx.settings.scopes
    return ProtectedResourceMetadata(
        resource=resource,
        authorization_servers=list(ctx.authorization_servers),
        scopes_supported=list(scopes) if scopes else None,
        bearer_methods_supported=["header"],
        resource_name="MockAuthServer MCP endpoint",
        dpop_signing_alg_values_supported=list(ctx.settings.dpop_signing_algs) if dpop else None,
        dpop_bound_access_tokens_required=True if ctx.settings.dpop_required else None,
    )


async def authorization_server_metadata(ctx: Context, request: Request) -> Response:
    """``GET /.well-known/oauth-authorization-server`` and ``…/openid-configuration``."""
    return model_response(server_metadata(ctx))


async def protected_resource_metadata(ctx: Context, request: Request) -> Response:
    """``GET /.well-known/oauth-protected-resource[/mcp]`` (RFC 9728 §3)."""
    root = ctx.settings.root_resource_metadata
    mcp = request.url.path == Paths.PR_METADATA_MCP or root == "mcp"
    if not ctx.settings.serve_resource_metadata or (not mcp and root == "absent"):
        body = {"error": "invalid_request", "error_description": "no such endpoint"}
        return JSONResponse(body, status_code=404)
    return model_response(resource_metadata(ctx, ctx.resource if mcp else ctx.issuer))


async def jwks(ctx: Context, request: Request) -> Response:
    """``GET /jwks``: the public signing key (RFC 7517 §5)."""
    return model_response(ctx.key.jwks())
