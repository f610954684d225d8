"""The Starlette application of one mock server: its routes behind the :class:`Gate`.

Unknown paths get a 404 and wrong methods a 405 (with ``Allow``), both as RFC 6749 §5.2-shaped
JSON; an endpoint bug gets a bare 500 JSON ``server_error`` (see :mod:`._gate`).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from ._authorize import authorize
from ._context import Context, Paths
from ._device import device_authorization_endpoint, device_page
from ._discovery import authorization_server_metadata, jwks, protected_resource_metadata
from ._faults import FaultSet
from ._gate import Gate
from ._introspection import introspect_endpoint
from ._recording import RequestLog
from ._registration import manage_client, register_client
from ._resource import mcp_endpoint
from ._revocation import revoke_endpoint
from ._token import token_endpoint

__all__ = ["build_app"]

Endpoint = Callable[[Context, Request], Awaitable[Response]]


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    headers = exc.headers if isinstance(exc, HTTPException) else None
    description = "no such endpoint" if status == 404 else "method not allowed"
    body = {"error": "invalid_request", "error_description": description}
    return JSONResponse(body, status_code=status, headers=headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": "server_error"}, status_code=500)


def build_app(ctx: Context, log: RequestLog, faults: FaultSet) -> ASGIApp:
    """The ASGI application serving ``ctx``."""

    def route(path: str, endpoint: Endpoint, *methods: str) -> Route:
        return Route(path, functools.partial(endpoint, ctx), methods=list(methods))

    routes = [
        route(Paths.AS_METADATA, authorization_server_metadata, "GET"),
        route(Paths.OIDC_METADATA, authorization_server_metadata, "GET"),
        route(Paths.PR_METADATA, protected_resource_metadata, "GET"),
        route(Paths.PR_METADATA_MCP, protected_resource_metadata, "GET"),
        route(Paths.JWKS, jwks, "GET"),
        route(Paths.REGISTER, register_client, "POST"),
        route(Paths.REGISTER + "/{client_id}", manage_client, "GET", "PUT", "DELETE"),
        route(Paths.AUTHORIZE, authorize, "GET"),
        route(Paths.TOKEN, token_endpoint, "POST"),
        route(Paths.REVOKE, revoke_endpoint, "POST"),
        route(Paths.INTROSPECT, introspect_endpoint, "POST"),
        route(Paths.DEVICE_AUTHORIZATION, device_authorization_endpoint, "POST"),
        route(Paths.DEVICE_VERIFICATION, device_page, "GET"),
        route(Paths.MCP, mcp_endpoint, "GET", "POST", "DELETE"),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )
    return Gate(app, ctx, log, faults)
