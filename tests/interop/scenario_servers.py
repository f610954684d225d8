"""Adapters that let one list of RFC scenarios run against several authorization servers.

``test_rfc_scenarios.py`` drives :class:`MockAuthServer`, ``oidc-provider`` 9.13.3 and the MCP
Python SDK's authorization server with the same plain-httpx scenarios. Everything that differs
between the servers lives here, behind the :class:`ServerUnderTest` protocol:

* the endpoints, read from the server's RFC 8414 metadata (never hard-coded paths);
* the headless user agent of ``/authorize`` (the mock redirects at once, oidc-provider runs a
  login and a consent interaction, the SDK app a consent hop);
* the user's side of the device flow, and how "waiting one polling interval" is done;
* :class:`Capabilities`: what a server does not do at all, or does against the RFCs. They are
  static, so that the test module can build each scenario's parameter list at collection time
  (a scenario that does not apply to a server is not generated for it, rather than skipped).

Only the standard library, httpx and the two interop helpers are used, plus
:mod:`mcp_oauth_dynamicclient.testing` for the mock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Final, Protocol
from urllib.parse import urljoin, urlsplit

import httpx

from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.interop.mcp_sdk_server import McpSdkServer
from tests.interop.oidc_provider_server import OidcProvider

__all__ = [
    "CAPABILITIES",
    "SERVER_NAMES",
    "Capabilities",
    "McpSdkTarget",
    "MockTarget",
    "OidcProviderTarget",
    "ServerUnderTest",
    "discover",
    "endpoint",
    "resource_status",
    "servers_with",
]

Json = dict[str, Any]

RFC8414_PATH: Final = "/.well-known/oauth-authorization-server"
OIDC_DISCOVERY_PATH: Final = "/.well-known/openid-configuration"
MAX_HOPS: Final = 10

MCP_ACCEPT: Final = "application/json, text/event-stream"
MCP_INITIALIZE: Final[Json] = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "rfc-scenarios", "version": "0"},
    },
}


@dataclass(frozen=True)
class Capabilities:
    """What a server supports (True) or does not do, or does against the RFCs (False).

    A scenario that needs a False capability is not generated for that server.
    """

    openid_configuration: bool
    """Also serves OpenID Connect Discovery 1.0 ``/.well-known/openid-configuration``."""
    registration_management: bool
    """RFC 7592 client configuration endpoint (read, update, delete)."""
    iss_parameter: bool
    """RFC 9207 ``iss`` in authorization responses."""
    introspection: bool
    """RFC 7662 token introspection."""
    client_credentials: bool
    """RFC 6749 §4.4 client credentials grant."""
    client_credentials_confidential_only: bool
    """Refuses the client credentials grant to public clients (RFC 6749 §4.4: "MUST only be
    used by confidential clients"); oidc-provider issues a token to a ``none`` client."""
    device_flow: bool
    """RFC 8628 device authorization grant."""
    jwks: bool
    """A ``jwks_uri`` with the server's signing keys (RFC 8414 §2, RFC 7517)."""
    protected_resource: bool
    """A Bearer-protected resource at :attr:`ServerUnderTest.default_resource` (RFC 6750)."""
    rejects_fragment_redirect_uri: bool
    """Registration refuses a redirect URI with a fragment (RFC 6749 §3.1.2, RFC 7591 §3.2.2)."""
    basic_auth_challenge: bool
    """A failed HTTP Basic client authentication carries ``WWW-Authenticate`` (RFC 6749 §5.2)."""
    public_client_revocation: bool
    """A public client revokes with ``client_id`` alone (RFC 7009 §2.1, RFC 6749 §2.3)."""
    refuses_foreign_revocation: bool
    """A confidential client revoking another client's token gets an error response (RFC 7009
    §2.1: "the request is refused and the client is informed of the error")."""
    token_error_codes: bool
    """The token endpoint answers RFC 6749 §5.2's codes: ``unsupported_grant_type`` for an
    unknown grant, ``invalid_grant`` for a ``redirect_uri`` differing from the authorization
    request's, ``invalid_request`` for a repeated parameter or two client authentication
    methods."""
    resource_at_token: bool
    """The token endpoint honours RFC 8707 §2.2 ``resource`` (the MCP SDK ignores it)."""


CAPABILITIES: Final[Mapping[str, Capabilities]] = {
    "mock": Capabilities(
        openid_configuration=True,
        registration_management=True,
        iss_parameter=True,
        introspection=True,
        client_credentials=True,
        client_credentials_confidential_only=True,
        device_flow=True,
        jwks=True,
        protected_resource=True,
        rejects_fragment_redirect_uri=True,
        basic_auth_challenge=True,
        public_client_revocation=True,
        refuses_foreign_revocation=True,
        token_error_codes=True,
        resource_at_token=True,
    ),
    # OIDC_PROVIDER.md: everything is enabled; its resource server is not part of the setup.
    # It grants client credentials to public clients (found by test_rfc_scenarios.py).
    "oidc-provider": Capabilities(
        openid_configuration=True,
        registration_management=True,
        iss_parameter=True,
        introspection=True,
        client_credentials=True,
        client_credentials_confidential_only=False,
        device_flow=True,
        jwks=True,
        protected_resource=False,
        rejects_fragment_redirect_uri=True,
        basic_auth_challenge=True,
        public_client_revocation=True,
        refuses_foreign_revocation=True,
        token_error_codes=True,
        resource_at_token=True,
    ),
    # MCP_SDK.md: no RFC 7592, no iss, no introspection, no client credentials or device grant,
    # no JWKS; it registers redirect URIs with fragments, sends no WWW-Authenticate with a 401
    # invalid_client, /revoke demands a client_secret form field even from public clients and
    # answers 200 to a client revoking another client's token,
    # /token answers invalid_request for an unknown grant type and a redirect_uri mismatch,
    # ignores repeated parameters and a second client authentication method, and ignores
    # RFC 8707 resource parameters.
    "mcp-sdk": Capabilities(
        openid_configuration=False,
        registration_management=False,
        iss_parameter=False,
        introspection=False,
        client_credentials=False,
        client_credentials_confidential_only=False,
        device_flow=False,
        jwks=False,
        protected_resource=True,
        rejects_fragment_redirect_uri=False,
        basic_auth_challenge=False,
        public_client_revocation=False,
        refuses_foreign_revocation=False,
        token_error_codes=False,
        resource_at_token=False,
    ),
}

SERVER_NAMES: Final = tuple(CAPABILITIES)
_FLAGS: Final = frozenset(f.name for f in fields(Capabilities))


def servers_with(*flags: str) -> list[str]:
    """The names of the servers that have every capability in ``flags`` (all when none)."""
    unknown = set(flags) - _FLAGS
    if unknown:
        raise ValueError(f"unknown capabilities: {sorted(unknown)}")
    return [name for name, caps in CAPABILITIES.items() if all(getattr(caps, f) for f in flags)]


def discover(base_url: str) -> Json:
    """Fetch the server's metadata: RFC 8414 §3 first, then OpenID Connect Discovery 1.0 §4.

    ``base_url`` is an issuer without a path, so both well-known URLs are simply appended.
    """
    with httpx.Client(timeout=10.0) as http:
        for path in (RFC8414_PATH, OIDC_DISCOVERY_PATH):
            response = http.get(base_url + path)
            if response.status_code == 200:
                metadata = response.json()
                assert isinstance(metadata, dict), metadata
                return metadata
    raise AssertionError(f"{base_url} serves neither {RFC8414_PATH} nor {OIDC_DISCOVERY_PATH}")


class ServerUnderTest(Protocol):
    """What the scenarios need to know about, and do with, one authorization server."""

    @property
    def name(self) -> str:
        """The parameter id: ``mock``, ``oidc-provider`` or ``mcp-sdk``."""

    @property
    def caps(self) -> Capabilities:
        """:data:`CAPABILITIES` of this server."""

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``, the URL the server was started on."""

    @property
    def metadata(self) -> Json:
        """The server's RFC 8414 metadata, fetched once at start."""

    @property
    def default_resource(self) -> str:
        """The RFC 8707 resource indicator the scenarios ask tokens for."""

    def authorize(self, client: httpx.Client, url: str) -> str:
        """Play the user agent on ``url`` (an authorization request); return the URL of the
        final redirect to the client's ``redirect_uri``, without requesting it."""

    def approve_device(self, user_code: str) -> None:
        """Approve a pending device authorization as the user (RFC 8628 §3.3)."""

    def deny_device(self, user_code: str) -> None:
        """Deny a pending device authorization as the user (RFC 8628 §3.3)."""

    def let_poll_interval_pass(self, seconds: float) -> None:
        """Make ``seconds`` pass, as the server measures device polling intervals."""


def endpoint(target: ServerUnderTest, name: str) -> str:
    """The absolute URL of metadata member ``name`` (e.g. ``token_endpoint``)."""
    url = target.metadata.get(name)
    assert isinstance(url, str), f"{target.name} advertises no {name}"
    return url


def _follow_on_origin(client: httpx.Client, url: str) -> str:
    """Follow redirects while they stay on ``url``'s origin; return the first that leaves it."""
    origin = urlsplit(url)[:2]
    for _ in range(MAX_HOPS):
        response = client.get(url, follow_redirects=False)
        assert response.is_redirect, f"GET {url}: {response.status_code} {response.text[:500]}"
        target = urljoin(url, response.headers["location"])
        if urlsplit(target)[:2] != origin:
            return target
        url = target
    raise AssertionError(f"more than {MAX_HOPS} redirects from {url}")


@dataclass(eq=False)
class MockTarget:
    """:class:`MockAuthServer`: ``/authorize`` approves at once, the clock is advanceable."""

    server: MockAuthServer
    metadata: Json
    name: str = "mock"

    @classmethod
    def start(cls, server: MockAuthServer) -> MockTarget:
        """Wrap a running mock server."""
        return cls(server, discover(server.url))

    @property
    def caps(self) -> Capabilities:
        return CAPABILITIES[self.name]

    @property
    def base_url(self) -> str:
        return self.server.url

    @property
    def default_resource(self) -> str:
        return self.server.resource_url

    def authorize(self, client: httpx.Client, url: str) -> str:
        # One hop: the test user approves every valid request.
        response = client.get(url, follow_redirects=False)
        assert response.is_redirect, f"GET {url}: {response.status_code} {response.text[:500]}"
        return urljoin(url, response.headers["location"])

    def approve_device(self, user_code: str) -> None:
        self.server.approve(user_code)

    def deny_device(self, user_code: str) -> None:
        self.server.deny(user_code)

    def let_poll_interval_pass(self, seconds: float) -> None:
        # The mock measures polling intervals on its Clock: advance it instead of sleeping.
        self.server.clock.advance(seconds)


@dataclass(eq=False)
class OidcProviderTarget:
    """``oidc-provider`` 9.13.3 (OIDC_PROVIDER.md): headless login and consent interactions."""

    server: OidcProvider
    metadata: Json
    name: str = "oidc-provider"

    @classmethod
    def start(cls, server: OidcProvider) -> OidcProviderTarget:
        """Wrap a running oidc-provider."""
        return cls(server, discover(server.issuer))

    @property
    def caps(self) -> Capabilities:
        return CAPABILITIES[self.name]

    @property
    def base_url(self) -> str:
        return self.server.issuer

    @property
    def default_resource(self) -> str:
        return self.server.default_resource

    def authorize(self, client: httpx.Client, url: str) -> str:
        return self.server.authorize(client, url)

    def approve_device(self, user_code: str) -> None:
        self.server.approve_device(user_code)

    def deny_device(self, user_code: str) -> None:
        self.server.deny_device(user_code)

    def let_poll_interval_pass(self, seconds: float) -> None:
        # oidc-provider enforces no polling interval and never answers slow_down
        # (OIDC_PROVIDER.md, "Device poll interval"), so an early poll is answered as a late one
        # would be; not sleeping keeps the scenarios fast.
        return


@dataclass(eq=False)
class McpSdkTarget:
    """The MCP Python SDK's authorization server (MCP_SDK.md): ``/authorize`` → ``/consent``."""

    server: McpSdkServer
    metadata: Json
    name: str = "mcp-sdk"

    @classmethod
    def start(cls, server: McpSdkServer) -> McpSdkTarget:
        """Wrap a running MCP SDK server."""
        return cls(server, discover(server.base_url))

    @property
    def caps(self) -> Capabilities:
        return CAPABILITIES[self.name]

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def default_resource(self) -> str:
        return self.server.mcp_url

    def authorize(self, client: httpx.Client, url: str) -> str:
        return _follow_on_origin(client, url)

    def approve_device(self, user_code: str) -> None:
        raise NotImplementedError("the MCP SDK has no device flow")

    def deny_device(self, user_code: str) -> None:
        raise NotImplementedError("the MCP SDK has no device flow")

    def let_poll_interval_pass(self, seconds: float) -> None:
        raise NotImplementedError("the MCP SDK has no device flow")


def resource_status(target: ServerUnderTest, http: httpx.Client, access_token: str) -> int:
    """The status of an MCP ``initialize`` POSTed with ``access_token`` to the protected resource.

    200 means the token was accepted; 401 that it was refused (RFC 6750 §3.1 ``invalid_token``).
    """
    assert target.caps.protected_resource, f"{target.name} has no protected resource"
    response = http.post(
        target.default_resource,
        json=MCP_INITIALIZE,
        headers={"Accept": MCP_ACCEPT, "Authorization": f"Bearer {access_token}"},
    )
    return response.status_code
