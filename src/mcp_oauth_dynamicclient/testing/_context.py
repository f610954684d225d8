"""What every endpoint of one mock server shares: its issuer URL, settings, clock, state, key.

The endpoint paths are fixed; their absolute URLs hang off the issuer (``http://127.0.0.1:PORT``),
which is known once the server's socket is bound.
"""

from __future__ import annotations

import asyncio

import attrs

from ._clock import Clock
from ._keys import SigningKey
from ._settings import ServerSettings
from ._state import ServerState

__all__ = ["Context", "Paths"]


class Paths:
    """The server's endpoint paths."""

    AS_METADATA = "/.well-known/oauth-authorization-server"
    OIDC_METADATA = "/.well-known/openid-configuration"
    PR_METADATA = "/.well-known/oauth-protected-resource"
    PR_METADATA_MCP = "/.well-known/oauth-protected-resource/mcp"
    JWKS = "/jwks"
    REGISTER = "/register"
    AUTHORIZE = "/authorize"
    TOKEN = "/token"
    REVOKE = "/revoke"
    INTROSPECT = "/introspect"
    DEVICE_AUTHORIZATION = "/device_authorization"
    DEVICE_VERIFICATION = "/device"
    MCP = "/mcp"


@attrs.define(eq=False)
class Context:
    """The shared pieces of one server, handed to every endpoint."""

    issuer: str
    settings: ServerSettings
    clock: Clock
    state: ServerState
    key: SigningKey
    #: Open connections by peer address, for the dropped-connection fault.
    transports: dict[tuple[str, int], asyncio.Transport] = attrs.field(factory=dict)
    #: Exceptions raised by endpoint code (each answered with a 500); empty in a healthy run.
    errors: list[BaseException] = attrs.field(factory=list)
    #: Set by the runner when the server is shutting down; cuts injected latency short.
    stopping: asyncio.Event | None = None

    def url(self, path: str) -> str:
        """The absolute URL of one of the server's paths."""
        return self.issuer + path

    @property
    def resource(self) -> str:
        """The resource identifier of the protected ``/mcp`` endpoint (RFC 8707, RFC 9728)."""
        return self.url(Paths.MCP)

    def served_resources(self) -> frozenset[str]:
        """Resource identifiers tokens may be issued for (RFC 8707 §2)."""
        return frozenset({self.resource, self.issuer, self.issuer + "/", *self.settings.resources})

    def endpoint_urls(self, path: str) -> frozenset[str]:
        """Audiences a client assertion sent to ``path`` may name (RFC 7523 §3 item 3)."""
        return frozenset({self.issuer, self.url(Paths.TOKEN), self.url(path)})
