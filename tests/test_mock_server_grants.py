"""MockAuthServer's extension grants (issue 15): JWT-bearer (RFC 7523 §2.1), token exchange
(RFC 8693), and the ID-JAG flow of SEP-990 with one mock server as the enterprise IdP and another
as the MCP authorization server; raw httpx, assertions signed with PyJWT."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.keys import public_jwk, public_pem
from tests.mock_server_extensions import DPoPKey, unverified
from tests.testing.mock_flows import basic_header, call_mcp, introspect

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_JAG = "urn:ietf:params:oauth:token-type:id-jag"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
ISSUER = "https://workload.example"


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as client:
        yield client


@pytest.fixture
def server(ec_key: ec.EllipticCurvePrivateKey) -> Iterator[MockAuthServer]:
    """An authorization server trusting ``ISSUER``'s EC key (as a PEM)."""
    with MockAuthServer(jwt_bearer_issuers={ISSUER: public_pem_ec(ec_key)}) as mock:
        yield mock
    assert mock.errors == []


@pytest.fixture
def idp() -> Iterator[MockAuthServer]:
    """An enterprise IdP: token exchange on."""
    with MockAuthServer(token_exchange=True) as mock:
        yield mock
    assert mock.errors == []


def public_pem_ec(key: ec.EllipticCurvePrivateKey) -> str:
    """The SubjectPublicKeyInfo PEM of an EC key's public half."""
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def assertion(
    server: MockAuthServer,
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
    *,
    algorithm: str = "ES256",
    headers: dict[str, Any] | None = None,
    drop: tuple[str, ...] = (),
    **claims: Any,
) -> str:
    now = int(server.clock.now())
    body: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "workload-7",
        "aud": server.issuer,
        "exp": now + 60,
        "iat": now,
        "jti": secrets.token_urlsafe(8),
        **claims,
    }
    for name in drop:
        body.pop(name)
    return jwt.encode(body, key, algorithm=algorithm, headers=headers)


def client_for(server: MockAuthServer, grant: str, *, public: bool, **fields: Any) -> str:
    metadata = {"grant_types": [grant], "token_endpoint_auth_method": "none" if public else None}
    info = server.create_client({k: v for k, v in (metadata | fields).items() if v is not None})
    return info.client_id


def bearer_grant(
    http: httpx.Client,
    server: MockAuthServer,
    client_id: str,
    jwt_assertion: str | None,
    headers: dict[str, str] | None = None,
    **form: str,
) -> httpx.Response:
    data = {"grant_type": JWT_BEARER, "client_id": client_id, **form}
    if jwt_assertion is not None:
        data["assertion"] = jwt_assertion
    return http.post(server.url + "/token", data=data, headers=headers or {})


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["error"], body.get("error_description", "")


# ------------------------------------------------------------------------------ JWT-bearer


def test_the_grant_is_advertised_and_registrable_only_when_served(
    server: MockAuthServer, http: httpx.Client
) -> None:
    assert JWT_BEARER in http.get(server.metadata_url).json()["grant_types_supported"]
    assert TOKEN_EXCHANGE not in http.get(server.metadata_url).json()["grant_types_supported"]
    client_for(server, JWT_BEARER, public=True)
    with MockAuthServer() as plain:
        assert JWT_BEARER not in http.get(plain.metadata_url).json()["grant_types_supported"]
        with pytest.raises(ValueError, match="unsupported grant_types"):
            client_for(plain, JWT_BEARER, public=True)


def test_a_trusted_assertion_gets_an_access_token(
    server: MockAuthServer, http: httpx.Client, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    client_id = client_for(server, JWT_BEARER, public=True)
    response = bearer_grant(http, server, client_id, assertion(server, ec_key), scope="mcp:read")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "mcp:read"
    assert "refresh_token" not in body
    info = introspect(http, server, body["access_token"])
    assert info["sub"] == "workload-7"
    assert info["client_id"] == client_id
    assert call_mcp(http, server, body["access_token"]).json()["sub"] == "workload-7"


def test_a_jwks_issuer_and_a_confidential_client(
    http: httpx.Client, rsa_key: rsa.RSAPrivateKey
) -> None:
    jwks = {"keys": [public_jwk(rsa_key, "k1")]}
    with MockAuthServer(jwt_bearer_issuers={ISSUER: jwks}) as server:
        info = server.create_client({"grant_types": [JWT_BEARER]})
        assert info.client_secret is not None
        signed = assertion(server, rsa_key, algorithm="RS256", headers={"kid": "k1"})
        response = http.post(
            server.url + "/token",
            data={"grant_type": JWT_BEARER, "assertion": signed, "resource": server.resource_url},
            headers=basic_header(info.client_id, info.client_secret),
        )
        assert response.status_code == 200, response.text
        assert introspect(http, server, response.json()["access_token"])["aud"] == (
            server.resource_url
        )
        wrong_secret = http.post(
            server.url + "/token",
            data={"grant_type": JWT_BEARER, "assertion": signed},
            headers=basic_header(info.client_id, "nope"),
        )
        assert wrong_secret.status_code == 401
        assert server.errors == []


def test_bad_assertions_are_invalid_grant(
    server: MockAuthServer,
    http: httpx.Client,
    ec_key: ec.EllipticCurvePrivateKey,
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    client_id = client_for(server, JWT_BEARER, public=True)
    other = ec.generate_private_key(ec.SECP256R1())
    now = int(server.clock.now())
    cases = {
        "not a JWT": "abc.def",
        "iss": assertion(server, ec_key, iss="https://stranger.example"),
        "signature": assertion(server, other),
        "aud": assertion(server, ec_key, aud="https://elsewhere.example"),
        "lacks the exp": assertion(server, ec_key, drop=("exp",)),
        "expired": assertion(server, ec_key, exp=now - 1),
        "nbf": assertion(server, ec_key, nbf=now + 100),
        "lacks the sub": assertion(server, ec_key, drop=("sub",)),
        "asymmetric": jwt.encode(
            {"iss": ISSUER, "sub": "x", "aud": server.issuer, "exp": now + 60},
            "a-shared-secret-of-32-bytes-or-more!",
            "HS256",
        ),
    }
    for reason, signed in cases.items():
        response = bearer_grant(http, server, client_id, signed)
        status, error, description = error_of(response)
        assert (status, error) == (400, "invalid_grant"), reason
        assert reason in description, (reason, description)
    missing = bearer_grant(http, server, client_id, None)
    assert error_of(missing)[:2] == (400, "invalid_request")
    token_endpoint_aud = assertion(server, ec_key, aud=[server.url + "/token"])
    assert bearer_grant(http, server, client_id, token_endpoint_aud).status_code == 200


def test_an_assertion_is_used_once(
    server: MockAuthServer, http: httpx.Client, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    client_id = client_for(server, JWT_BEARER, public=True)
    signed = assertion(server, ec_key)
    assert bearer_grant(http, server, client_id, signed).status_code == 200
    replay = bearer_grant(http, server, client_id, signed)
    assert error_of(replay)[1:] == ("invalid_grant", "the assertion's jti was already used")


def test_expiry_follows_the_server_clock(
    server: MockAuthServer, http: httpx.Client, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    client_id = client_for(server, JWT_BEARER, public=True)
    signed = assertion(server, ec_key)
    server.clock.advance(61)
    assert error_of(bearer_grant(http, server, client_id, signed))[2] == "the assertion has expired"


def test_a_client_that_did_not_register_the_grant_is_unauthorized(
    server: MockAuthServer, http: httpx.Client, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    client_id = client_for(server, "client_credentials", public=False)
    info = server.get_client(client_id)
    assert info is not None
    assert info.client_secret is not None
    response = http.post(
        server.url + "/token",
        data={"grant_type": JWT_BEARER, "assertion": assertion(server, ec_key)},
        headers=basic_header(client_id, info.client_secret),
    )
    assert error_of(response)[1] == "unauthorized_client"


def test_grant_scope_errors_refuse_chosen_scopes(
    server: MockAuthServer, http: httpx.Client, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    server.settings.grant_scope_errors = {"mcp:write": "unauthorized_client"}
    client_id = client_for(server, JWT_BEARER, public=True)
    refused = bearer_grant(http, server, client_id, assertion(server, ec_key), scope="mcp:write")
    assert error_of(refused)[:2] == (400, "unauthorized_client")
    fine = bearer_grant(http, server, client_id, assertion(server, ec_key), scope="mcp:read")
    assert fine.status_code == 200
    unknown = bearer_grant(http, server, client_id, assertion(server, ec_key), scope="nope")
    assert error_of(unknown)[1] == "invalid_scope"
    with pytest.raises(ValueError, match="grant_scope_errors"):
        server.settings.grant_scope_errors = {"mcp:read": "server_error"}


def test_a_dpop_proof_binds_the_grants_token(
    http: httpx.Client, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    key = DPoPKey()
    with MockAuthServer(dpop=True, jwt_bearer_issuers={ISSUER: public_pem_ec(ec_key)}) as server:
        client_id = client_for(server, JWT_BEARER, public=True)
        proof = {"DPoP": key.proof("POST", server.url + "/token")}
        response = bearer_grant(http, server, client_id, assertion(server, ec_key), proof)
        assert response.json()["token_type"] == "DPoP"
        assert introspect(http, server, response.json()["access_token"])["cnf"] == {"jkt": key.jkt}


def test_a_knob_is_validated(rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(ValueError, match="not a PEM public key"):
        MockAuthServer(jwt_bearer_issuers={ISSUER: "-----BEGIN nonsense"})
    private = jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key, as_dict=True)
    with pytest.raises(ValueError, match="private key"):
        MockAuthServer(jwt_bearer_issuers={ISSUER: {"keys": [private]}})
    with pytest.raises(ValueError, match="issuer URL"):
        MockAuthServer(jwt_bearer_issuers={"not a url": public_pem(rsa_key).decode()})


# --------------------------------------------------------------------- token exchange, ID-JAG


def exchange(
    http: httpx.Client, server: MockAuthServer, client_id: str, **form: str
) -> httpx.Response:
    data = {"grant_type": TOKEN_EXCHANGE, "client_id": client_id, **form}
    return http.post(server.url + "/token", data=data)


def test_the_id_jag_flow_across_two_servers(idp: MockAuthServer, http: httpx.Client) -> None:
    idp_client = client_for(idp, TOKEN_EXCHANGE, public=True)
    with MockAuthServer(jwt_bearer_issuers={idp.url: idp.jwks}) as mcp_as:
        assert TOKEN_EXCHANGE in http.get(idp.metadata_url).json()["grant_types_supported"]
        mcp_as.create_client(
            {"grant_types": [JWT_BEARER], "token_endpoint_auth_method": "none"},
            client_id=idp_client,
        )
        id_token = idp.issue_id_token(audience=idp_client, sub="alice")
        jag_request = {
            "subject_token": id_token,
            "subject_token_type": ID_TOKEN,
            "requested_token_type": ID_JAG,
            "audience": mcp_as.issuer,
            "scope": "mcp:read",
        }
        response = exchange(http, idp, idp_client, **jag_request, resource=mcp_as.resource_url)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["issued_token_type"] == ID_JAG
        assert body["token_type"] == "N_A"
        assert body["expires_in"] == 300
        header, claims = unverified(body["access_token"])
        assert header["typ"] == "oauth-id-jag+jwt"
        assert claims["iss"] == idp.issuer
        assert claims["aud"] == mcp_as.issuer
        assert claims["sub"] == "alice"
        assert claims["client_id"] == idp_client
        assert claims["resource"] == mcp_as.resource_url
        assert claims["scope"] == "mcp:read"
        assert claims["exp"] == claims["iat"] + 300
        assert claims["jti"]
        key = jwt.PyJWKSet.from_dict(idp.jwks).keys[0]
        jwt.decode(body["access_token"], key.key, algorithms=["RS256"], audience=mcp_as.issuer)

        granted = bearer_grant(http, mcp_as, idp_client, body["access_token"])
        assert granted.status_code == 200, granted.text
        token = granted.json()["access_token"]
        assert granted.json()["scope"] == "mcp:read"
        info = introspect(http, mcp_as, token)
        assert (info["sub"], info["aud"]) == ("alice", mcp_as.resource_url)
        assert call_mcp(http, mcp_as, token).status_code == 200

        more = exchange(http, idp, idp_client, **jag_request).json()["access_token"]
        wider = bearer_grant(http, mcp_as, idp_client, more, scope="mcp:read mcp:write")
        assert error_of(wider)[1] == "invalid_scope"

        stranger = mcp_as.create_client(
            {"grant_types": [JWT_BEARER], "token_endpoint_auth_method": "none"}
        ).client_id
        stolen = bearer_grant(http, mcp_as, stranger, more)
        assert error_of(stolen)[1:] == (
            "invalid_grant",
            "the ID-JAG was issued to another client (client_id)",
        )
        assert mcp_as.errors == []


def test_an_access_token_exchanged_for_another(idp: MockAuthServer, http: httpx.Client) -> None:
    client_id = client_for(idp, TOKEN_EXCHANGE, public=True)
    subject = idp.issue_token(client_id, scope="mcp:read mcp:write").access_token
    response = exchange(
        http,
        idp,
        client_id,
        subject_token=subject,
        subject_token_type=ACCESS_TOKEN,
        scope="mcp:read",
        resource=idp.resource_url,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["issued_token_type"] == ACCESS_TOKEN
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "mcp:read"
    assert introspect(http, idp, body["access_token"])["aud"] == idp.resource_url
    wider = exchange(
        http,
        idp,
        client_id,
        subject_token=idp.issue_token(client_id, scope="mcp:read").access_token,
        subject_token_type=ACCESS_TOKEN,
        scope="mcp:write",
    )
    assert error_of(wider)[1] == "invalid_scope"


def test_an_actor_token_names_the_actor(idp: MockAuthServer, http: httpx.Client) -> None:
    client_id = client_for(idp, TOKEN_EXCHANGE, public=True)
    response = exchange(
        http,
        idp,
        client_id,
        subject_token=idp.issue_id_token(audience=client_id, sub="alice"),
        subject_token_type=ID_TOKEN,
        actor_token=idp.issue_token(client_id, subject="agent-1").access_token,
        actor_token_type=ACCESS_TOKEN,
        requested_token_type=ID_JAG,
        audience="https://as.example",
    )
    assert response.status_code == 200, response.text
    assert unverified(response.json()["access_token"])[1]["act"] == {"sub": "agent-1"}


def test_token_exchange_errors(idp: MockAuthServer, http: httpx.Client) -> None:
    client_id = client_for(idp, TOKEN_EXCHANGE, public=True)
    id_token = idp.issue_id_token(audience=client_id)
    with MockAuthServer() as elsewhere:
        foreign = elsewhere.issue_id_token(audience=client_id)
    good = {"subject_token": id_token, "subject_token_type": ID_TOKEN}
    jag = {**good, "requested_token_type": ID_JAG, "audience": "https://as.example"}
    cases: list[tuple[dict[str, str], str, str]] = [
        ({"subject_token_type": ID_TOKEN}, "invalid_request", "subject_token is missing"),
        ({"subject_token": id_token}, "invalid_request", "subject_token_type is missing"),
        ({**good, "subject_token_type": "urn:x"}, "invalid_request", "subject_token_type"),
        ({**good, "subject_token": "abc"}, "invalid_grant", "not an ID token"),
        ({**good, "subject_token": foreign}, "invalid_grant", "another server"),
        (
            {**good, "subject_token": idp.issue_id_token(audience="someone-else")},
            "invalid_grant",
            "another client",
        ),
        (
            {**good, "subject_token": idp.issue_id_token(audience=client_id, lifetime=0)},
            "invalid_grant",
            "expired",
        ),
        (
            {"subject_token": "abc", "subject_token_type": ACCESS_TOKEN},
            "invalid_grant",
            "not an active access token",
        ),
        ({**good, "requested_token_type": "urn:x"}, "invalid_request", "requested_token_type"),
        ({**good, "requested_token_type": ID_JAG}, "invalid_request", "one audience"),
        ({**jag, "resource": "not-absolute"}, "invalid_target", "absolute URI"),
        ({**good, "resource": "https://unknown.example/"}, "invalid_target", "does not serve"),
        ({**good, "actor_token": id_token}, "invalid_request", "actor_token_type"),
        (
            {**good, "actor_token": "abc", "actor_token_type": ID_TOKEN},
            "invalid_grant",
            "actor_token",
        ),
    ]
    for form, error, reason in cases:
        response = exchange(http, idp, client_id, **form)
        assert response.status_code == 400, form
        assert response.json()["error"] == error, (form, response.json())
        assert reason in response.json()["error_description"], (form, response.json())
    idp.settings.grant_scope_errors = {"mcp:admin": "invalid_target"}
    refused = exchange(http, idp, client_id, **jag, scope="mcp:admin")
    assert error_of(refused)[1] == "invalid_target"
    idp.settings.token_exchange = False
    off = exchange(http, idp, client_id, **good)
    assert error_of(off)[1] == "unsupported_grant_type"


def test_issue_id_token_shape(idp: MockAuthServer) -> None:
    token = idp.issue_id_token(audience="c1", sub="bob", lifetime=10, nonce="n")
    header, claims = unverified(token)
    assert header["kid"] == idp.jwks["keys"][0]["kid"]
    assert claims["iss"] == idp.issuer
    assert (claims["sub"], claims["aud"], claims["nonce"]) == ("bob", "c1", "n")
    assert claims["exp"] == claims["iat"] + 10
