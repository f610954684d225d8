"""The client's DPoP (RFC 9449, issue 15) against MockAuthServer, sync and async.

Proofs at the token endpoint for every grant (code, refresh, client credentials, device), the
``DPoP`` scheme with a fresh proof and ``ath`` at the resource, both nonce dances (§8, §9),
the key kept with the token (a restart keeps the binding, the refresh proves the same key),
``dpop="auto"`` following the resource's challenge, and the settings' errors.
"""

from __future__ import annotations

import asyncio
import hashlib
from base64 import urlsafe_b64encode
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from mcp_oauth_dynamicclient import (
    ConfigurationError,
    OAuth2Client,
    SyncOAuth2Client,
    TokenError,
)
from mcp_oauth_dynamicclient.storage import SyncFileStorage, SyncMemoryStorage
from mcp_oauth_dynamicclient.testing import MockAuthServer, RecordedRequest, auto_approve
from tests.clients import REDIRECT, authorize, make
from tests.flavours import Flavour
from tests.scripted_server import Reply, ScriptedServer
from tests.test_mcp_auth import INITIALIZE, AsyncMcp, SyncMcp

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": INITIALIZE}


def _settings(server: MockAuthServer, **more: Any) -> dict[str, Any]:
    return {
        "resource": server.resource_url,
        "client_name": "DPoP App",
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "none",
        **more,
    }


def _header(proof: str | None) -> dict[str, Any]:
    assert proof is not None, "no DPoP proof"
    return jwt.get_unverified_header(proof)


def _thumbprint(proof: str | None) -> str:
    jwk = _header(proof)["jwk"]
    members = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n")}[jwk["kty"]]
    canonical = "{" + ",".join(f'"{name}":"{jwk[name]}"' for name in members) + "}"
    digest = hashlib.sha256(canonical.encode()).digest()
    return urlsafe_b64encode(digest).rstrip(b"=").decode()


def _ath(token: str) -> str:
    return urlsafe_b64encode(hashlib.sha256(token.encode()).digest()).rstrip(b"=").decode()


def _resource_requests(server: MockAuthServer) -> list[RecordedRequest]:
    return [r for r in server.requests if r.path == "/mcp" and r.authorization_scheme]


def _check_resource_proofs(server: MockAuthServer) -> None:
    """Every authorized /mcp request: DPoP scheme, a proof of its own (jti), htm, htu, ath."""
    seen = _resource_requests(server)
    assert seen
    jtis = set()
    for request in seen:
        assert request.authorization_scheme == "DPoP"
        claims = request.dpop_claims
        assert claims is not None
        token = request.headers["authorization"].split(" ", 1)[1]
        assert claims["htm"] == "POST"
        assert claims["htu"] == server.resource_url
        assert claims["ath"] == _ath(token)
        jtis.add(claims["jti"])
    assert len(jtis) == len(seen)


# ----------------------------------------------------------------- the MCP flow (httpx_auth)


def test_sync_a_resource_that_wants_dpop_gets_dpop_bound_tokens() -> None:
    with MockAuthServer(dpop_required=True) as server:
        with (
            SyncOAuth2Client(**_settings(server)) as client,
            httpx.Client(auth=client.httpx_auth(authorize=auto_approve)) as http,
        ):
            mcp = SyncMcp(http, server.resource_url)
            assert mcp.call("initialize", INITIALIZE).status_code == 200
            echoed = mcp.call("tools/call", {"name": "echo", "arguments": {"text": "hi"}})
            assert echoed.status_code == 200, echoed.text
            token = client.current_token()
        assert token is not None
        assert token.token_type == "DPoP"
        assert "BEGIN PRIVATE KEY" not in repr(token)
        (token_request,) = server.requests.filter("/token")
        assert token_request.dpop_claims is not None
        assert token_request.dpop_claims["htu"] == server.url + "/token"
        assert "ath" not in token_request.dpop_claims
        _check_resource_proofs(server)
        # Every proof is by the key the token is bound to.
        keys = {_thumbprint(r.dpop) for r in server.requests if r.dpop is not None}
        assert len(keys) == 1
        assert server.errors == []


def test_async_dpop_with_nonces_at_the_token_endpoint_and_the_resource() -> None:
    async def run(server: MockAuthServer) -> None:
        async with (
            OAuth2Client(**_settings(server)) as client,
            httpx.AsyncClient(auth=client.httpx_auth(authorize=auto_approve)) as http,
        ):
            mcp = AsyncMcp(http, server.resource_url)
            assert (await mcp.call("initialize", INITIALIZE)).status_code == 200
            server.rotate_dpop_nonce()  # the next request meets use_dpop_nonce again
            assert (await mcp.call("ping")).status_code == 200

    with MockAuthServer(dpop_required=True, dpop_nonce=True) as server:
        asyncio.run(run(server))
        tokens = [
            (r.status, (r.dpop_claims or {}).get("nonce")) for r in server.requests.filter("/token")
        ]
        # §8: refused without the nonce, then sent again with it, once.
        assert [status for status, _ in tokens] == [400, 200]
        assert tokens[0][1] is None
        assert tokens[1][1] is not None
        statuses = [r.status for r in _resource_requests(server)]
        # One server, one nonce: the token endpoint's goes to the resource at once; after the
        # rotation, §9's use_dpop_nonce is answered once with the new one.
        assert statuses == [200, 401, 200]
        assert server.errors == []


def test_a_server_nonce_not_answered_twice_for_one_request() -> None:
    """A resource that says use_dpop_nonce again after the retry is not asked a third time."""
    with MockAuthServer(dpop_required=True, dpop_nonce=True) as server:
        with (
            SyncOAuth2Client(**_settings(server)) as client,
            httpx.Client(auth=client.httpx_auth(authorize=auto_approve)) as http,
        ):
            mcp = SyncMcp(http, server.resource_url)
            assert mcp.call("initialize", INITIALIZE).status_code == 200
            server.rotate_dpop_nonce()
            server.requests.clear()
            assert mcp.call("ping").status_code == 200
        assert len(_resource_requests(server)) == 2  # the 401 and the retry


def test_auto_stays_bearer_when_the_resource_does_not_ask() -> None:
    with MockAuthServer() as server:  # no DPoP anywhere
        with (
            SyncOAuth2Client(**_settings(server)) as client,
            httpx.Client(auth=client.httpx_auth(authorize=auto_approve)) as http,
        ):
            assert (
                SyncMcp(http, server.resource_url).call("initialize", INITIALIZE).status_code == 200
            )
            token = client.current_token()
        assert token is not None
        assert token.token_type.lower() == "bearer"
        assert token.dpop_key is None
        assert all(r.dpop is None for r in server.requests)


def test_dpop_off_refuses_a_server_that_requires_it() -> None:
    with MockAuthServer(dpop_required=True) as server:
        with (
            SyncOAuth2Client(**_settings(server, dpop=False)) as client,
            httpx.Client(auth=client.httpx_auth(authorize=auto_approve)) as http,
            pytest.raises(TokenError) as caught,
        ):
            SyncMcp(http, server.resource_url).call("initialize", INITIALIZE)
        assert caught.value.error_code == "invalid_dpop_proof"


def test_a_restart_keeps_the_binding_and_the_refresh_proves_the_same_key(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    with MockAuthServer(dpop_required=True) as server:
        with (
            SyncOAuth2Client(**_settings(server), storage=SyncFileStorage(path)) as first,
            httpx.Client(auth=first.httpx_auth(authorize=auto_approve)) as http,
        ):
            assert (
                SyncMcp(http, server.resource_url).call("initialize", INITIALIZE).status_code == 200
            )
        assert "BEGIN PRIVATE KEY" in path.read_text()  # the key is kept with its token
        bound = {_thumbprint(r.dpop) for r in server.requests if r.dpop is not None}

        def refuse(url: str) -> str:
            raise AssertionError("no authorization should be needed")

        server.requests.clear()
        with (
            SyncOAuth2Client(
                **_settings(server), storage=SyncFileStorage(path), clock=server.clock.now
            ) as again,
            httpx.Client(auth=again.httpx_auth(authorize=refuse)) as http,
        ):
            assert (
                SyncMcp(http, server.resource_url).call("initialize", INITIALIZE).status_code == 200
            )
            server.clock.advance(server.settings.access_token_lifetime + 1)
            assert (
                SyncMcp(http, server.resource_url).call("initialize", INITIALIZE).status_code == 200
            )
        refreshes = [
            r for r in server.requests.filter("/token") if r.param("grant_type") == "refresh_token"
        ]
        assert [r.status for r in refreshes] == [200]
        assert {_thumbprint(r.dpop) for r in server.requests if r.dpop is not None} == bound
        assert server.errors == []


# --------------------------------------------------------- every grant, both flavours (api)


def test_authorization_code_refresh_and_authenticated_request(api: Flavour) -> None:
    with MockAuthServer(dpop=True) as server:
        client = make(api, server, dpop=True, token_endpoint_auth_method="none")
        token = authorize(client)
        assert token.token_type == "DPoP"
        assert token.dpop_key is not None
        response = client.authenticated_request("POST", server.resource_url, json=_INITIALIZE)
        assert response.status_code == 200, response.text
        server.clock.advance(3600)
        fresh = client.access_token()  # refreshed with a proof by the same key
        assert fresh != token.access_token
        (refresh,) = [
            r for r in server.requests.filter("/token") if r.param("grant_type") == "refresh_token"
        ]
        (code,) = [
            r
            for r in server.requests.filter("/token")
            if r.param("grant_type") == "authorization_code"
        ]
        assert _thumbprint(refresh.dpop) == _thumbprint(code.dpop)
        _check_resource_proofs(server)
        assert server.errors == []


def test_authenticated_request_answers_the_resource_nonce(api: Flavour) -> None:
    with MockAuthServer(dpop_nonce=True) as server:
        client = make(api, server, dpop=True, token_endpoint_auth_method="none")
        authorize(client)
        server.rotate_dpop_nonce()  # the token endpoint's nonce is stale now
        server.requests.clear()
        response = client.authenticated_request("POST", server.resource_url, json=_INITIALIZE)
        assert response.status_code == 200, response.text
        assert [r.status for r in server.requests.filter("/mcp")] == [401, 200]


def test_client_credentials_and_device_tokens_are_bound(api: Flavour) -> None:
    with MockAuthServer(dpop=True) as server:
        client = make(api, server, dpop=True)
        token = client.get_token()
        assert token.token_type == "DPoP"
        device = client.start_device_authorization()
        server.approve(device.user_code)
        device_token = client.poll_device_authorization(device.device_code)
        assert device_token.token_type == "DPoP"
        grants = [r.param("grant_type") for r in server.requests.filter("/token")]
        assert grants == ["client_credentials", DEVICE_GRANT]
        assert all(r.dpop is not None for r in server.requests.filter("/token"))


def test_a_configured_rsa_key_signs_rs256_proofs(api: Flavour, rsa_key: rsa.RSAPrivateKey) -> None:
    pem = rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    with MockAuthServer(dpop=True) as server:
        client = make(api, server, dpop=True, dpop_key=pem, token_endpoint_auth_method="none")
        authorize(client)
        (request,) = server.requests.filter("/token")
        assert _header(request.dpop)["alg"] == "RS256"
        assert "d" not in _header(request.dpop)["jwk"]


def test_the_key_algorithm_follows_what_the_server_accepts(api: Flavour) -> None:
    with MockAuthServer(dpop=True, dpop_signing_algs=["ES384"]) as server:
        client = make(api, server, dpop=True, token_endpoint_auth_method="none")
        authorize(client)
        (request,) = server.requests.filter("/token")
        assert _header(request.dpop)["alg"] == "ES384"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"dpop": "yes"}, "dpop: expected True, False or 'auto'"),
        ({"dpop_algorithm": "HS256"}, "dpop_algorithm"),
        ({"dpop_key": "not a key"}, "dpop_key is not an unencrypted PEM private key"),
        ({"dpop_key": "__EC__", "dpop_algorithm": "RS256"}, "RS256 needs an RSA private key"),
    ],
)
def test_bad_dpop_settings_fail_at_construction(settings: dict[str, Any], message: str) -> None:
    if settings.get("dpop_key") == "__EC__":
        key = ec.generate_private_key(ec.SECP256R1())
        settings["dpop_key"] = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
    with pytest.raises(ConfigurationError, match=message) as caught:
        SyncOAuth2Client("https://as.example.com", storage=SyncMemoryStorage(), **settings)
    assert "BEGIN" not in str(caught.value)


# ------------------------------------------------------------------- what a server may not do


def _metadata(url: str, **more: Any) -> Reply:
    return Reply.json(
        {
            "issuer": url,
            "authorization_endpoint": f"{url}/authorize",
            "token_endpoint": f"{url}/token",
            "code_challenge_methods_supported": ["S256"],
            **more,
        }
    )


@pytest.mark.parametrize("token_type", ["DPoP", "N_A", "mac"])
def test_a_token_type_not_asked_for_is_refused(
    api: Flavour, scripted: ScriptedServer, token_type: str
) -> None:
    """DPoP only when a proof was sent (RFC 9449 §5), N_A only from a token exchange."""
    url = scripted.url
    scripted.reply(
        _metadata(url),
        Reply.json({"access_token": "t", "token_type": token_type, "expires_in": 60}),
    )
    client = api.client(auth_server=url, client_id="c", client_secret="s", dpop=False)
    with pytest.raises(TokenError, match=f"{token_type!r} token; expected Bearer"):
        client.get_token()
    assert client.current_token() is None


def test_use_dpop_nonce_is_retried_once_only(api: Flavour, scripted: ScriptedServer) -> None:
    url = scripted.url
    refusal = Reply.json({"error": "use_dpop_nonce"}, 400, **{"DPoP-Nonce": "n-1"})
    again = Reply.json({"error": "use_dpop_nonce"}, 400, **{"DPoP-Nonce": "n-2"})
    scripted.reply(_metadata(url, dpop_signing_alg_values_supported=["ES256"]), refusal, again)
    client = api.client(auth_server=url, client_id="c", client_secret="s", dpop=True)
    with pytest.raises(TokenError) as caught:
        client.get_token()
    assert caught.value.error_code == "use_dpop_nonce"
    proofs = [r.headers["dpop"] for r in scripted.received if r.path == "/token"]
    assert len(proofs) == 2  # the first, and one retry with the nonce given
    assert "nonce" not in jwt.decode(proofs[0], options={"verify_signature": False})
    assert jwt.decode(proofs[1], options={"verify_signature": False})["nonce"] == "n-1"


@pytest.mark.parametrize("nonce", ['bad"quote', "sp ace", "\\back", ""])
def test_a_nonce_that_is_not_one_is_not_signed(
    api: Flavour, scripted: ScriptedServer, nonce: str
) -> None:
    """RFC 9449 §8.1: 1*NQCHAR; anything else is not put into a proof, nor retried for."""
    url = scripted.url
    refusal = Reply.json({"error": "use_dpop_nonce"}, 400, **{"DPoP-Nonce": nonce})
    scripted.reply(_metadata(url, dpop_signing_alg_values_supported=["ES256"]), refusal)
    client = api.client(auth_server=url, client_id="c", client_secret="s", dpop=True)
    with pytest.raises(TokenError):
        client.get_token()
    assert len([r for r in scripted.received if r.path == "/token"]) == 1


def test_a_token_exchange_answer_without_issued_token_type_is_refused(
    api: Flavour, scripted: ScriptedServer
) -> None:
    """RFC 8693 §2.2.1: ``issued_token_type`` is required; without it nothing says what came."""
    url = scripted.url
    scripted.reply(
        _metadata(url),
        Reply.json({"access_token": "t", "token_type": "Bearer", "expires_in": 60}),
    )
    client = api.client(auth_server=url, client_id="c", client_secret="s")
    with pytest.raises(TokenError, match="issued_token_type"):
        client.token_exchange("subject", "urn:ietf:params:oauth:token-type:access_token")
