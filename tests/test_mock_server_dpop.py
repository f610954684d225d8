"""MockAuthServer's DPoP, RFC 9449 (issue 15): metadata, bound tokens at the token endpoint
(every grant, refresh tokens of public clients, nonces) and proofs at ``/mcp``, over raw httpx
with proofs built by PyJWT."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from mcp_oauth_dynamicclient._www_authenticate import parse_www_authenticate
from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.mock_server_extensions import DPoPKey, unverified
from tests.testing.mock_flows import (
    REDIRECT_URI,
    basic_header,
    confidential_client,
    exchange,
    get_code,
    introspect,
    pkce,
    public_client,
    refresh,
)

ALGS = ["ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"]


@pytest.fixture
def server() -> Iterator[MockAuthServer]:
    """A server with DPoP on; it must end the test without internal errors."""
    with MockAuthServer(dpop=True) as mock:
        yield mock
    assert mock.errors == []


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as client:
        yield client


@pytest.fixture(scope="module")
def key() -> DPoPKey:
    return DPoPKey("ES256")


def token_url(server: MockAuthServer) -> str:
    return server.url + "/token"


def code_flow(
    http: httpx.Client,
    server: MockAuthServer,
    client_id: str,
    key: DPoPKey | None,
    **proof_claims: Any,
) -> httpx.Response:
    """The authorization code flow of a public client, the exchange carrying a proof by ``key``."""
    headers = {} if key is None else {"DPoP": key.proof("POST", token_url(server), **proof_claims)}
    return http.post(token_url(server), data=code_form(http, server, client_id), headers=headers)


def code_form(
    http: httpx.Client, server: MockAuthServer, client_id: str, **params: str
) -> dict[str, str]:
    """The form of a public client's code exchange, for a fresh code (``params`` go to
    ``/authorize``)."""
    verifier, challenge = pkce()
    return {
        "grant_type": "authorization_code",
        "code": get_code(http, server, client_id, challenge, **params),
        "code_verifier": verifier,
        "redirect_uri": REDIRECT_URI,
        "client_id": client_id,
    }


def bound_tokens(http: httpx.Client, server: MockAuthServer, key: DPoPKey) -> dict[str, Any]:
    response = code_flow(http, server, public_client(server), key)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def call(
    http: httpx.Client,
    server: MockAuthServer,
    token: str,
    key: DPoPKey | None,
    *,
    scheme: str = "DPoP",
    proof: str | None = None,
    **proof_claims: Any,
) -> httpx.Response:
    """``GET /mcp`` with ``token`` under ``scheme`` and (unless ``key`` is None) a proof."""
    headers = {"Authorization": f"{scheme} {token}"}
    if proof is None and key is not None:
        proof = key.proof("GET", server.resource_url, access_token=token, **proof_claims)
    if proof is not None:
        headers["DPoP"] = proof
    return http.get(server.resource_url, headers=headers)


def challenges(response: httpx.Response) -> dict[str, dict[str, str]]:
    """The ``WWW-Authenticate`` challenges by scheme (``DPoP``, ``Bearer``)."""
    found = parse_www_authenticate(response.headers.get_list("www-authenticate"))
    names = {"dpop": "DPoP", "bearer": "Bearer"}
    return {names[c.scheme.lower()]: dict(c.params) for c in found}


# ----------------------------------------------------------------------------- metadata


def test_metadata_advertises_dpop_only_when_on(http: httpx.Client) -> None:
    with MockAuthServer() as plain:
        assert "dpop_signing_alg_values_supported" not in http.get(plain.metadata_url).json()
        prm = http.get(plain.url + "/.well-known/oauth-protected-resource/mcp").json()
        assert "dpop_signing_alg_values_supported" not in prm
    with MockAuthServer(dpop=True) as server:
        metadata = http.get(server.metadata_url).json()
        assert metadata["dpop_signing_alg_values_supported"] == ALGS
        prm = http.get(server.url + "/.well-known/oauth-protected-resource/mcp").json()
        assert prm["dpop_signing_alg_values_supported"] == ALGS
        assert "dpop_bound_access_tokens_required" not in prm
        server.settings.dpop_required = True
        prm = http.get(server.url + "/.well-known/oauth-protected-resource/mcp").json()
        assert prm["dpop_bound_access_tokens_required"] is True


# ------------------------------------------------------------------------- token endpoint


def test_a_proof_binds_the_token_to_its_key(
    server: MockAuthServer, http: httpx.Client, key: DPoPKey
) -> None:
    body = bound_tokens(http, server, key)
    assert body["token_type"] == "DPoP"
    info = introspect(http, server, body["access_token"])
    assert info["token_type"] == "DPoP"
    assert info["cnf"] == {"jkt": key.jkt}
    assert introspect(http, server, body["refresh_token"])["cnf"] == {"jkt": key.jkt}
    proof = server.requests.last("/token").dpop
    assert proof is not None
    assert server.requests.last("/token").dpop_claims["htu"] == token_url(server)  # type: ignore[index]
    assert server.requests.last("/token").dpop_header["jwk"] == key.jwk  # type: ignore[index]


def test_a_jwt_access_token_carries_cnf(http: httpx.Client, key: DPoPKey) -> None:
    with MockAuthServer(dpop=True, access_token_format="jwt") as server:
        token = bound_tokens(http, server, key)["access_token"]
        assert unverified(token)[1]["cnf"] == {"jkt": key.jkt}
        assert call(http, server, token, key).status_code == 200


def test_rsa_proofs_bind_too(server: MockAuthServer, http: httpx.Client) -> None:
    rsa_key = DPoPKey("PS256")
    body = bound_tokens(http, server, rsa_key)
    assert introspect(http, server, body["access_token"])["cnf"] == {"jkt": rsa_key.jkt}
    assert call(http, server, body["access_token"], rsa_key).status_code == 200


def test_without_a_proof_the_token_is_bearer(server: MockAuthServer, http: httpx.Client) -> None:
    response = code_flow(http, server, public_client(server), None)
    assert response.json()["token_type"] == "Bearer"
    info = introspect(http, server, response.json()["access_token"])
    assert info["token_type"] == "Bearer"
    assert "cnf" not in info


def test_with_dpop_off_a_proof_is_ignored(http: httpx.Client, key: DPoPKey) -> None:
    with MockAuthServer() as server:
        response = code_flow(http, server, public_client(server), key)
        assert response.json()["token_type"] == "Bearer"
        assert "cnf" not in introspect(http, server, response.json()["access_token"])
        assert server.requests.last("/token").dpop is not None


def test_client_credentials_are_bound_by_a_proof(
    server: MockAuthServer, http: httpx.Client, key: DPoPKey
) -> None:
    client_id, secret = confidential_client(server)
    headers = {**basic_header(client_id, secret), "DPoP": key.proof("POST", token_url(server))}
    response = http.post(
        token_url(server), data={"grant_type": "client_credentials"}, headers=headers
    )
    assert response.json()["token_type"] == "DPoP"
    assert call(http, server, response.json()["access_token"], key).status_code == 200


def test_a_public_clients_refresh_token_is_bound_to_the_key(
    server: MockAuthServer, http: httpx.Client, key: DPoPKey
) -> None:
    client_id = public_client(server)
    body = code_flow(http, server, client_id, key).json()
    missing = refresh(http, server, client_id, body["refresh_token"])
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_dpop_proof"
    other = DPoPKey("ES256")
    stolen = http.post(
        token_url(server),
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
        | {"client_id": client_id},
        headers={"DPoP": other.proof("POST", token_url(server))},
    )
    assert stolen.status_code == 400
    assert stolen.json()["error"] == "invalid_grant"
    renewed = http.post(
        token_url(server),
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
        | {"client_id": client_id},
        headers={"DPoP": key.proof("POST", token_url(server))},
    )
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["token_type"] == "DPoP"
    assert introspect(http, server, renewed.json()["refresh_token"])["cnf"] == {"jkt": key.jkt}
    assert call(http, server, renewed.json()["access_token"], key).status_code == 200


def test_a_confidential_clients_refresh_token_is_not_bound(
    server: MockAuthServer, http: httpx.Client, key: DPoPKey
) -> None:
    client_id, secret = confidential_client(server)
    verifier, challenge = pkce()
    code = get_code(http, server, client_id, challenge)
    headers = {**basic_header(client_id, secret), "DPoP": key.proof("POST", token_url(server))}
    body = exchange(http, server, client_id, code, verifier, headers=headers).json()
    assert body["token_type"] == "DPoP"
    assert "cnf" not in introspect(http, server, body["refresh_token"])
    renewed = http.post(
        token_url(server),
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        headers=basic_header(client_id, secret),
    )
    assert renewed.json()["token_type"] == "Bearer"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"headers": {"typ": "JWT"}}, "typ"),
        ({"htm": "GET"}, "htm"),
        ({"htu": "http://127.0.0.1:1/token"}, "htu"),
        ({"iat": 1_000_000_000}, "iat"),
        ({"iat": 4_000_000_000}, "iat"),
        ({"jti": 7}, "jti"),
    ],
)
def test_bad_proofs_are_invalid_dpop_proof(
    server: MockAuthServer,
    http: httpx.Client,
    key: DPoPKey,
    change: dict[str, Any],
    reason: str,
) -> None:
    response = code_flow(http, server, public_client(server), key, **change)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_dpop_proof"
    assert reason in response.json()["error_description"]


def test_malformed_proofs_are_invalid_dpop_proof(
    server: MockAuthServer, http: httpx.Client, key: DPoPKey
) -> None:
    claims = {"jti": "j1", "htm": "POST", "htu": token_url(server), "iat": int(server.clock.now())}
    hmac_proof = jwt.encode(
        claims, "a-shared-secret-of-32-bytes-or-more!", "HS256", headers={"typ": "dpop+jwt"}
    )
    assert isinstance(key.private_key, ec.EllipticCurvePrivateKey)
    private = jwt.algorithms.ECAlgorithm.to_jwk(key.private_key, as_dict=True)
    with_private = key.proof("POST", token_url(server), headers={"jwk": private})
    no_jwk = jwt.encode(claims, key.private_key, "ES256", headers={"typ": "dpop+jwt"})
    foreign = DPoPKey("ES256")
    wrong_key = key.proof("POST", token_url(server), headers={"jwk": foreign.jwk})
    no_jti = jwt.encode(
        {k: v for k, v in claims.items() if k != "jti"},
        key.private_key,
        "ES256",
        headers={"typ": "dpop+jwt", "jwk": key.jwk},
    )
    client_id, secret = confidential_client(server)
    for proof in ("not-a-jwt", hmac_proof, with_private, no_jwk, wrong_key, no_jti):
        response = http.post(
            token_url(server),
            data={"grant_type": "client_credentials"},
            headers={**basic_header(client_id, secret), "DPoP": proof},
        )
        assert response.status_code == 400, proof
        assert response.json()["error"] == "invalid_dpop_proof"
    two = [("DPoP", key.proof("POST", token_url(server))), ("DPoP", key.proof("POST", "x"))]
    response = http.post(
        token_url(server),
        data={"grant_type": "client_credentials"},
        headers=[*basic_header(client_id, secret).items(), *two],
    )
    assert response.json()["error"] == "invalid_dpop_proof"


def test_a_replayed_proof_is_refused(
    server: MockAuthServer, http: httpx.Client, key: DPoPKey
) -> None:
    client_id, secret = confidential_client(server)
    headers = {**basic_header(client_id, secret), "DPoP": key.proof("POST", token_url(server))}
    form = {"grant_type": "client_credentials"}
    assert http.post(token_url(server), data=form, headers=headers).status_code == 200
    replay = http.post(token_url(server), data=form, headers=headers)
    assert replay.status_code == 400
    assert "replayed" in replay.json()["error_description"]


def test_proof_age_follows_the_server_clock(
    server: MockAuthServer, http: httpx.Client, key: DPoPKey
) -> None:
    client_id, secret = confidential_client(server)
    headers = {**basic_header(client_id, secret), "DPoP": key.proof("POST", token_url(server))}
    server.clock.advance(301)
    response = http.post(
        token_url(server), data={"grant_type": "client_credentials"}, headers=headers
    )
    assert response.json()["error"] == "invalid_dpop_proof"


def test_dpop_required_refuses_requests_without_a_proof(http: httpx.Client, key: DPoPKey) -> None:
    with MockAuthServer(dpop_required=True) as server:
        client_id = public_client(server)
        response = code_flow(http, server, client_id, None)
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_dpop_proof"
        token = bound_tokens(http, server, key)["access_token"]
        assert call(http, server, token, key).status_code == 200
        bearer = server.issue_token(client_id).access_token
        refused = call(http, server, bearer, None, scheme="Bearer")
        assert refused.status_code == 401
        assert challenges(refused) == {
            "DPoP": {
                "error": "invalid_token",
                "error_description": "the access token must be sent with DPoP and a proof",
                "algs": " ".join(ALGS),
                "resource_metadata": server.url + "/.well-known/oauth-protected-resource/mcp",
            }
        }
        assert server.errors == []


# ---------------------------------------------------------------------------------- nonces


def test_the_token_endpoint_asks_for_a_nonce(http: httpx.Client, key: DPoPKey) -> None:
    with MockAuthServer(dpop_nonce=True) as server:
        form = code_form(http, server, public_client(server))
        first = http.post(
            token_url(server), data=form, headers={"DPoP": key.proof("POST", token_url(server))}
        )
        assert first.status_code == 400
        assert first.json()["error"] == "use_dpop_nonce"
        nonce = first.headers["DPoP-Nonce"]
        assert nonce == server.dpop_nonce
        proof = key.proof("POST", token_url(server), nonce=nonce)
        second = http.post(token_url(server), data=form, headers={"DPoP": proof})
        assert second.status_code == 200, second.text
        assert second.headers["DPoP-Nonce"] == nonce
        token = second.json()["access_token"]
        assert call(http, server, token, key, nonce=nonce).status_code == 200

        fresh = server.rotate_dpop_nonce()
        assert fresh != nonce
        stale = call(http, server, token, key, nonce=nonce)
        assert stale.status_code == 401
        assert stale.headers["DPoP-Nonce"] == fresh
        assert challenges(stale)["DPoP"]["error"] == "use_dpop_nonce"
        assert "error" not in challenges(stale)["Bearer"]
        ok = call(http, server, token, key, nonce=fresh)
        assert ok.status_code == 200
        assert ok.headers["DPoP-Nonce"] == fresh


# -------------------------------------------------------------------------------- resource


def test_the_resource_challenge_offers_dpop_and_bearer(
    server: MockAuthServer, http: httpx.Client
) -> None:
    response = http.get(server.resource_url)
    assert response.status_code == 401
    metadata = server.url + "/.well-known/oauth-protected-resource/mcp"
    assert response.headers.get_list("www-authenticate")[0].startswith("DPoP ")
    assert challenges(response) == {
        "DPoP": {"algs": " ".join(ALGS), "resource_metadata": metadata, "scope": "mcp:read"},
        "Bearer": {"resource_metadata": metadata, "scope": "mcp:read"},
    }


def test_the_default_challenge_is_bearer_only(http: httpx.Client) -> None:
    with MockAuthServer() as server:
        response = http.get(server.resource_url)
        assert response.headers.get_list("www-authenticate") == [
            f'Bearer resource_metadata="{server.url}/.well-known/oauth-protected-resource/mcp", '
            'scope="mcp:read"'
        ]
        refused = http.get(server.resource_url, headers={"Authorization": "DPoP abc"})
        assert refused.status_code == 400


def test_a_bound_token_needs_its_proof(
    server: MockAuthServer, http: httpx.Client, key: DPoPKey
) -> None:
    token = bound_tokens(http, server, key)["access_token"]
    ok = call(http, server, token, key)
    assert ok.status_code == 200
    assert ok.json()["sub"] == "test-user"
    assert server.requests.last("/mcp").authorization_scheme == "DPoP"

    as_bearer = call(http, server, token, None, scheme="Bearer")
    assert as_bearer.status_code == 401
    assert challenges(as_bearer)["DPoP"]["error"] == "invalid_token"
    assert "error" not in challenges(as_bearer)["Bearer"]

    other = DPoPKey("ES256")
    wrong_key = call(http, server, token, other)
    assert challenges(wrong_key)["DPoP"]["error"] == "invalid_token"

    cases: list[tuple[str | None, str]] = [
        (None, "a DPoP proof is required"),
        (key.proof("GET", server.resource_url), "ath"),
        (key.proof("GET", server.resource_url, access_token="other"), "ath"),
        (key.proof("POST", server.resource_url, access_token=token), "htm"),
        (key.proof("GET", server.url + "/token", access_token=token), "htu"),
    ]
    for proof, reason in cases:
        headers = {"Authorization": f"DPoP {token}"} | ({"DPoP": proof} if proof else {})
        response = http.get(server.resource_url, headers=headers)
        assert response.status_code == 401
        dpop = challenges(response)["DPoP"]
        assert dpop["error"] == "invalid_dpop_proof"
        assert reason in dpop["error_description"]


def test_a_proof_url_ignores_the_query(
    server: MockAuthServer, http: httpx.Client, key: DPoPKey
) -> None:
    token = bound_tokens(http, server, key)["access_token"]
    proof = key.proof("GET", server.resource_url, access_token=token)
    response = http.get(
        server.resource_url + "?x=1", headers={"Authorization": f"DPoP {token}", "DPoP": proof}
    )
    assert response.status_code == 200


def test_an_unbound_token_sent_as_dpop_is_refused(
    server: MockAuthServer, http: httpx.Client, key: DPoPKey
) -> None:
    token = server.issue_token(public_client(server)).access_token
    assert call(http, server, token, None, scheme="Bearer").status_code == 200
    response = call(http, server, token, key)
    assert response.status_code == 401
    assert challenges(response)["DPoP"]["error"] == "invalid_token"


def test_insufficient_scope_answers_on_the_dpop_challenge(http: httpx.Client, key: DPoPKey) -> None:
    with MockAuthServer(dpop=True, required_scope="mcp:write") as server:
        client_id = public_client(server)
        body = code_flow(http, server, client_id, key).json()
        assert body["scope"] == "mcp:read mcp:write"
        narrowed = http.post(
            token_url(server),
            data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
            | {"client_id": client_id, "scope": "mcp:read"},
            headers={"DPoP": key.proof("POST", token_url(server))},
        ).json()
        response = call(http, server, narrowed["access_token"], key)
        assert response.status_code == 403
        assert challenges(response)["DPoP"]["error"] == "insufficient_scope"
        assert challenges(response)["DPoP"]["scope"] == "mcp:write"
        assert server.errors == []


def test_issue_token_can_bind_to_a_key(
    server: MockAuthServer, http: httpx.Client, key: DPoPKey
) -> None:
    client_id = public_client(server)
    minted = server.issue_token(client_id, dpop_jkt=key.jkt, refresh=True)
    assert minted.token_type == "DPoP"
    assert call(http, server, minted.access_token, key).status_code == 200
    assert call(http, server, minted.access_token, DPoPKey()).status_code == 401
    assert minted.refresh_token is not None
    assert introspect(http, server, minted.refresh_token)["cnf"] == {"jkt": key.jkt}


def test_dpop_signing_algs_narrow_what_is_accepted(http: httpx.Client, key: DPoPKey) -> None:
    with MockAuthServer(dpop=True, dpop_signing_algs=["PS256"]) as server:
        assert http.get(server.metadata_url).json()["dpop_signing_alg_values_supported"] == [
            "PS256"
        ]
        refused = code_flow(http, server, public_client(server), key)
        assert refused.json()["error"] == "invalid_dpop_proof"
        assert refused.json()["error_description"] == "the DPoP proof's alg must be one of PS256"
        assert challenges(http.get(server.resource_url))["DPoP"]["algs"] == "PS256"
        assert bound_tokens(http, server, DPoPKey("PS256"))["token_type"] == "DPoP"
        with pytest.raises(ValueError, match="dpop_signing_algs"):
            server.settings.dpop_signing_algs = ("HS256",)


def test_dpop_jkt_binds_the_authorization_code(
    server: MockAuthServer, http: httpx.Client, key: DPoPKey
) -> None:
    client_id = public_client(server)

    def bound_code_exchange(proof_key: DPoPKey | None) -> httpx.Response:
        form = code_form(http, server, client_id, dpop_jkt=key.jkt)
        headers = {} if proof_key is None else {"DPoP": proof_key.proof("POST", token_url(server))}
        return http.post(token_url(server), data=form, headers=headers)

    assert bound_code_exchange(None).json()["error"] == "invalid_dpop_proof"
    assert bound_code_exchange(DPoPKey()).json()["error"] == "invalid_grant"
    assert bound_code_exchange(key).json()["token_type"] == "DPoP"
    _, challenge = pkce()
    response = http.get(
        server.url + "/authorize",
        params={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "dpop_jkt": "short",
        },
    )
    assert "error=invalid_request" in response.headers["location"]
