"""A strict OAuth 2.1 authorization server on a loopback port, for tests.

``MockAuthServer`` is a real HTTP server (Starlette served by uvicorn in a background thread) at
``http://127.0.0.1:PORT`` that implements, strictly, what an MCP client talks to:

- discovery: RFC 8414 metadata (also at ``/.well-known/openid-configuration``), RFC 9728
  protected resource metadata, the JWK Set;
- RFC 7591 registration and RFC 7592 management;
- ``/authorize`` (auto-approved by a test user, PKCE S256 only, RFC 9207 ``iss``), ``/token``
  (authorization code, refresh with rotation, client credentials, device code), RFC 7009
  revocation, RFC 7662 introspection, RFC 8628 device authorization;
- a Bearer-protected ``/mcp`` endpoint (RFC 6750, RFC 9728 ``resource_metadata``) that is a
  minimal MCP server on the Streamable HTTP transport (MCP 2025-11-25): ``initialize``,
  sessions, ``ping``, ``tools/list`` and ``tools/call`` of an ``echo`` tool, with per-tool
  scopes for step-up and a resource that can move to another authorization server;
- behind knobs: RFC 9068 JWT access tokens, DPoP (RFC 9449), the JWT-bearer grant (RFC 7523,
  ID-JAGs of SEP-990 included) and token exchange (RFC 8693), so one server can be an
  enterprise IdP for another.

Knobs (:class:`ServerSettings`), a :class:`Clock` to advance instead of sleeping, injected
:class:`Fault` s and the :class:`RequestLog` make client behaviour testable::

    with MockAuthServer(access_token_lifetime=60) as server:
        server.inject(Fault.server_error(503), path="/token", times=1)
        ...
        server.clock.advance(61)
        assert server.requests.count("/token", method="POST") == 2

The extra ``testing`` (``pip install mcp-oauth-dynamicclient[testing]``) brings Starlette and
uvicorn, and the server signs ID tokens and checks client assertions with PyJWT (``jwt``
extra); nothing outside this package imports them. ``auto_approve`` is the ``authorize`` step
of ``OAuth2Client.httpx_auth`` for such a server.
"""

try:
    import jwt as _jwt  # noqa: F401
    import starlette as _starlette  # noqa: F401
    import uvicorn as _uvicorn  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "mcp_oauth_dynamicclient.testing needs the 'testing' extra: "
        "pip install 'mcp-oauth-dynamicclient[testing,jwt]'"
    ) from exc

from ._approve import auto_approve
from ._clock import Clock
from ._faults import Fault, FaultKind, FaultRule
from ._recording import RecordedRequest, RequestLog
from ._server import MockAuthServer, SettingsKnobs
from ._settings import ServerSettings

__all__ = [
    "Clock",
    "Fault",
    "FaultKind",
    "FaultRule",
    "MockAuthServer",
    "RecordedRequest",
    "RequestLog",
    "ServerSettings",
    "SettingsKnobs",
    "auto_approve",
]
