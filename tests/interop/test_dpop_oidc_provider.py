"""DPoP (RFC 9449, issue 15) against a third-party server: oidc-provider's ``dPoP`` feature.

The client's proofs are checked by oidc-provider's own implementation: DPoP-bound tokens from
the authorization code grant (a public client, whose refresh token is bound too, §5), the
refresh with the same key, client credentials, and the device flow; introspection shows the
binding (``cnf.jkt``, §6.2) to the key whose thumbprint the client's proofs carry. Both API
flavours.
"""

from __future__ import annotations

import hashlib
import json
from base64 import urlsafe_b64encode
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mcp_oauth_dynamicclient import TokenResponse
from tests.flavours import ClientProxy, Flavour, flavour
from tests.interop.oidc_provider_server import OidcProvider
from tests.interop.test_client_interop import oidc_callback, oidc_client

pytestmark = pytest.mark.interop


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest) -> Iterator[Flavour]:
    """Each test with both flavours, each client's HTTP exchanges logged."""
    with flavour(request.param, record_requests=True) as made:
        yield made


def _jkt(token: TokenResponse) -> str:
    """The RFC 7638 thumbprint of the key ``token`` is bound to (from the key the client kept)."""
    from mcp_oauth_dynamicclient._dpop import DPoPKey

    assert token.dpop_key is not None
    jwk = DPoPKey.from_pem(token.dpop_key).public_jwk
    members = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n")}[jwk["kty"]]
    canonical = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"))
    return urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def _dpop_client(api: Flavour, provider: OidcProvider, **settings: Any) -> ClientProxy:
    return oidc_client(api, provider, dpop=True, **settings)


def test_the_server_advertises_dpop(oidc_provider: OidcProvider) -> None:
    metadata = httpx.get(oidc_provider.issuer + "/.well-known/openid-configuration").json()
    assert "ES256" in metadata["dpop_signing_alg_values_supported"]


def test_code_grant_refresh_and_introspection_are_bound(
    api: Flavour, oidc_provider: OidcProvider
) -> None:
    client = _dpop_client(
        api,
        oidc_provider,
        token_endpoint_auth_method="none",
        grant_types=["authorization_code", "refresh_token"],
    )
    token: TokenResponse = client.exchange_code(oidc_callback(client, oidc_provider))
    assert token.token_type == "DPoP"
    assert token.refresh_token
    refreshed: TokenResponse = client.refresh_token()  # a bound refresh token: same key
    assert refreshed.token_type == "DPoP"
    assert refreshed.access_token != token.access_token
    assert _jkt(refreshed) == _jkt(token)
    assert [status for _, _, status in client.requests.to("/token")] == [200, 200]


def test_introspection_names_the_key(api: Flavour, oidc_provider: OidcProvider) -> None:
    client = _dpop_client(api, oidc_provider)  # confidential: client_secret_basic
    token: TokenResponse = client.exchange_code(oidc_callback(client, oidc_provider))
    assert token.token_type == "DPoP"
    info = client.introspect_token(token)
    assert info["active"] is True
    assert info["cnf"] == {"jkt": _jkt(token)}
    assert info["token_type"] == "DPoP"


def test_client_credentials_and_device_tokens_are_bound(
    api: Flavour, oidc_provider: OidcProvider
) -> None:
    client = _dpop_client(
        api,
        oidc_provider,
        grant_types=[
            "authorization_code",
            "client_credentials",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code",
        ],
    )
    token: TokenResponse = client.get_token("mcp:read")
    assert token.token_type == "DPoP"
    device = client.start_device_authorization("mcp:read")
    oidc_provider.approve_device(device.user_code)
    device_token: TokenResponse = client.poll_device_authorization(device.device_code)
    assert device_token.token_type == "DPoP"
    assert _jkt(device_token) == _jkt(token)  # one key per client
