"""What every endpoint of one mock server shares: its issuer URL, settings, clock, state, key.

The endpoint paths are fixed; their absolute URLs hang off the issuer (``http://127.0.0.1:PORT``),
which is known once the server's socket is bound.

Every started server's context is known by issuer in this process (weakly), so that a resource
"moved" to another ``MockAuthServer`` (the ``authorization_servers`` knob) can check that
server's tokens, and that server accepts the moved resource as an RFC 8707 resource indicator.
"""

from __future__ import annotations

import asyncio
import threading
import weakref

import attrs

from ._clock import Clock
from ._keys import SigningKey
from ._settings import ServerSettings
from ._state import ServerState

__all__ = ["Context", "Paths", "register_context"]

_CONTEXTS: weakref.WeakValueDictionary[str, Context] = weakref.WeakValueDictionary()
_CONTEXTS_LOCK = threading.Lock()


def register_context(ctx: Context) -> None:
    """Make ``ctx`` known to the other servers of this process by its issuer."""
    with _CONTEXTS_LOCK:
        _CONTEXTS[ctx.issuer] = ctx


def _known_contexts() -> list[Context]:
    with _CONTEXTS_LOCK:
        return list(_CONTEXTS.values())


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
        """Resource identifiers tokens may be issued for (RFC 8707 §2): this server's, the
        configured ones, and the ``/mcp`` of every server here that moved to this one."""
        moved = [
            other.resource
            for other in _known_contexts()
            if other is not self and self.issuer in _issuers(other.authorization_servers)
        ]
        return frozenset(
            {self.resource, self.issuer, self.issuer + "/", *self.settings.resources, *moved}
        )

    @property
    def authorization_servers(self) -> tuple[str, ...]:
        """The issuers whose tokens ``/mcp`` accepts, as its RFC 9728 §2 metadata names them."""
        configured = self.settings.authorization_servers
        return (self.issuer,) if configured is None else configured

    def token_issuers(self) -> list[Context]:
        """The running servers of this process among :attr:`authorization_servers`."""
        names = _issuers(self.authorization_servers)
        if names == {self.issuer}:
            return [self]
        found = {ctx.issuer: ctx for ctx in _known_contexts() if ctx.issuer in names}
        if self.issuer in names:
            found[self.issuer] = self
        return list(found.values())

    def endpoint_urls(self, path: str) -> frozenset[str]:
        """Audiences a client assertion sent to ``path`` may name (RFC 7523 §3 item 3)."""
        return frozenset({self.issuer, self.url(Paths.TOKEN), self.url(path)})


def _issuers(urls: tuple[str, ...]) -> set[str]:
    """Issuer URLs compared without a trailing slash (the mock's issuers have none)."""
    return {url.rstrip("/") for url in urls}
