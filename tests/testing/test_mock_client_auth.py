"""Client authentication at the token endpoint: RFC 6749 §2.3.1 Basic with form-encoded
credentials, ``client_secret_post``, ``none``, and RFC 7523 ``private_key_jwt``."""

from __future__ import annotations

import base64
import secrets
import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from mcp_oauth_dynamicclient._client_auth import ClientSecretBasic, ClientSecretPost
from mcp_oauth_dynamicclient._generated import ClientCredentialsTokenRequest, EndpointClient
from mcp_oauth_dynamicclient.exceptions import TokenError
from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.testing.mock_flows import JsonHost, basic_header, confidential_client, public_client

CC = {"grant_type": "client_credentials"}
TRICKY_SECRET = "p:a+s%s w/ö=rd&"
TRICKY_ID = "client:id+é"


def _token(http: httpx.Client, server: MockAuthServer, **kwargs: Any) -> httpx.Response:
    return http.post(server.url + "/token", **kwargs)


def _assert_invalid_client(response: httpx.Response, *, basic: bool) -> None:
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    if basic:
        assert response.headers["www-authenticate"].startswith("Basic ")
    else:
        assert "www-authenticate" not in response.headers


def test_basic_credentials_are_form_decoded(server: MockAuthServer, http: httpx.Client) -> None:
    server.create_client(
        {"grant_types": ["client_credentials"]}, client_id=TRICKY_ID, client_secret=TRICKY_SECRET
    )
    by_hand = _token(http, server, data=CC, headers=basic_header(TRICKY_ID, TRICKY_SECRET))
    assert by_hand.status_code == 200, by_hand.text
    token = EndpointClient(http).request_token(
        server.url + "/token",
        ClientCredentialsTokenRequest(),
        client_auth=ClientSecretBasic(TRICKY_ID, TRICKY_SECRET),
    )
    assert token.access_token


def test_basic_credentials_that_were_not_form_encoded_fail(
    server: MockAuthServer, http: httpx.Client
) -> None:
    server.create_client(
        {"grant_types": ["client_credentials"]}, client_id="plain", client_secret="a+b"
    )
    raw = base64.b64encode(b"plain:a+b").decode()  # '+' decodes to a space
    response = _token(http, server, data=CC, headers={"Authorization": f"Basic {raw}"})
    _assert_invalid_client(response, basic=True)


@pytest.mark.parametrize(
    "header",
    ["Basic !!!not-base64", "Basic " + base64.b64encode(b"no-colon").decode(), "Basic"],
)
def test_malformed_basic_credentials_are_invalid_client(
    server: MockAuthServer, http: httpx.Client, header: str
) -> None:
    response = _token(http, server, data=CC, headers={"Authorization": header})
    _assert_invalid_client(response, basic=True)


def test_wrong_secret_with_basic_gets_a_basic_challenge(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id, _ = confidential_client(server)
    response = _token(http, server, data=CC, headers=basic_header(client_id, "wrong"))
    _assert_invalid_client(response, basic=True)
    unknown = _token(http, server, data=CC, headers=basic_header("nobody", "x"))
    _assert_invalid_client(unknown, basic=True)


def test_client_secret_post(server: MockAuthServer, http: httpx.Client) -> None:
    client_id, secret = confidential_client(server, token_endpoint_auth_method="client_secret_post")
    token = EndpointClient(http).request_token(
        server.url + "/token",
        ClientCredentialsTokenRequest(),
        client_auth=ClientSecretPost(client_id, secret),
    )
    assert token.access_token
    wrong = _token(http, server, data={**CC, "client_id": client_id, "client_secret": "no"})
    _assert_invalid_client(wrong, basic=False)


def test_a_client_must_use_its_registered_method(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id, secret = confidential_client(server)  # client_secret_basic
    as_post = _token(http, server, data={**CC, "client_id": client_id, "client_secret": secret})
    _assert_invalid_client(as_post, basic=False)
    as_public = _token(http, server, data={**CC, "client_id": client_id})
    _assert_invalid_client(as_public, basic=False)
    public_id = public_client(server)
    public_with_secret = _token(http, server, data=CC, headers=basic_header(public_id, "anything"))
    _assert_invalid_client(public_with_secret, basic=True)


def test_two_authentication_methods_at_once_are_invalid_request(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id, secret = confidential_client(server)
    response = _token(
        http,
        server,
        data={**CC, "client_id": client_id, "client_secret": secret},
        headers=basic_header(client_id, secret),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_body_client_id_must_match_the_basic_one(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id, secret = confidential_client(server)
    response = _token(
        http, server, data={**CC, "client_id": "other"}, headers=basic_header(client_id, secret)
    )
    _assert_invalid_client(response, basic=True)


def test_no_client_authentication_is_invalid_client(
    server: MockAuthServer, http: httpx.Client
) -> None:
    _assert_invalid_client(_token(http, server, data=CC), basic=False)


def test_a_bearer_header_is_not_client_authentication(
    server: MockAuthServer, http: httpx.Client
) -> None:
    response = _token(http, server, data=CC, headers={"Authorization": "Bearer abc"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_credentials_in_the_query_string_are_refused(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id, secret = confidential_client(server)
    response = http.post(
        server.url + "/token",
        params={"client_secret": secret},
        data=CC,
        headers=basic_header(client_id, secret),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_an_expired_client_secret_stops_working(http: httpx.Client) -> None:
    with MockAuthServer(client_secret_lifetime=60) as server:
        client_id, secret = confidential_client(server)
        assert _token(http, server, data=CC, headers=basic_header(client_id, secret)).is_success
        server.clock.advance(60)
        expired = _token(http, server, data=CC, headers=basic_header(client_id, secret))
        _assert_invalid_client(expired, basic=True)
        assert "expired" in expired.json()["error_description"]


# ------------------------------------------------------------------- private_key_jwt

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _ec_key() -> tuple[ec.EllipticCurvePrivateKey, dict[str, Any]]:
    key = ec.generate_private_key(ec.SECP256R1())
    public: dict[str, Any] = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return key, {**public, "kid": "k1", "alg": "ES256", "use": "sig"}


class JwtClient:
    """A ``private_key_jwt`` client registered with an EC key."""

    def __init__(self, server: MockAuthServer, *, jwks_uri: str | None = None) -> None:
        self.key, self.jwk = _ec_key()
        keys: dict[str, Any] = (
            {"jwks_uri": jwks_uri} if jwks_uri else {"jwks": {"keys": [self.jwk]}}
        )
        info = server.create_client(
            {
                "grant_types": ["client_credentials"],
                "token_endpoint_auth_method": "private_key_jwt",
                **keys,
            }
        )
        self.client_id = info.client_id
        self.server = server

    def assertion(self, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.server.url + "/token",
            "iat": now,
            "exp": now + 60,
            "jti": secrets.token_urlsafe(8),
        }
        claims.update(overrides)
        for name, value in claims.items():  # "now+600": seconds from now
            if isinstance(value, str) and value.startswith("now"):
                claims[name] = now + int(value[3:])
        claims = {name: value for name, value in claims.items() if value is not None}
        return jwt.encode(claims, self.key, algorithm="ES256", headers={"kid": "k1"})

    def form(self, assertion: str) -> dict[str, str]:
        return {**CC, "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}


def test_private_key_jwt_authenticates(server: MockAuthServer, http: httpx.Client) -> None:
    client = JwtClient(server)
    for audience in (server.url + "/token", server.url):
        response = _token(http, server, data=client.form(client.assertion(aud=audience)))
        assert response.status_code == 200, response.text


def test_private_key_jwt_with_keys_from_jwks_uri(
    server: MockAuthServer, http: httpx.Client, json_host: JsonHost
) -> None:
    client = JwtClient(server, jwks_uri=json_host.url + "/jwks")
    json_host.document = {"keys": [client.jwk]}
    response = _token(http, server, data=client.form(client.assertion()))
    assert response.status_code == 200, response.text
    assert json_host.paths == ["/jwks"]
    json_host.document = None
    _assert_invalid_client(_token(http, server, data=client.form(client.assertion())), basic=False)


@pytest.mark.parametrize(
    "overrides",
    [
        {"aud": "https://elsewhere.example/token"},
        {"iss": "someone-else"},
        {"jti": None},
        {"exp": None},
        {"exp": "now-5"},
        {"nbf": "now+600"},  # relative to when the test runs, not to when it was collected
    ],
)
def test_bad_assertions_are_invalid_client(
    server: MockAuthServer, http: httpx.Client, overrides: dict[str, Any]
) -> None:
    client = JwtClient(server)
    response = _token(http, server, data=client.form(client.assertion(**overrides)))
    _assert_invalid_client(response, basic=False)


def test_an_assertion_is_single_use(server: MockAuthServer, http: httpx.Client) -> None:
    client = JwtClient(server)
    assertion = client.assertion()
    assert _token(http, server, data=client.form(assertion)).status_code == 200
    _assert_invalid_client(_token(http, server, data=client.form(assertion)), basic=False)


def test_assertion_expiry_follows_the_server_clock(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client = JwtClient(server)
    server.clock.advance(61)
    _assert_invalid_client(_token(http, server, data=client.form(client.assertion())), basic=False)


def test_assertion_signed_with_another_key_or_a_shared_secret_fails(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client = JwtClient(server)
    impostor = JwtClient(server)
    forged = impostor.assertion(iss=client.client_id, sub=client.client_id)
    _assert_invalid_client(_token(http, server, data=client.form(forged)), basic=False)
    claims = jwt.decode(client.assertion(), options={"verify_signature": False})
    hmac_signed = jwt.encode(claims, "a-shared-secret-that-is-long-enough!", algorithm="HS256")
    _assert_invalid_client(_token(http, server, data=client.form(hmac_signed)), basic=False)
    _assert_invalid_client(_token(http, server, data=client.form("not.a.jwt")), basic=False)


def test_assertion_type_and_assertion_are_required(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client = JwtClient(server)
    wrong_type = {**client.form(client.assertion()), "client_assertion_type": "saml"}
    _assert_invalid_client(_token(http, server, data=wrong_type), basic=False)
    no_assertion = {**CC, "client_assertion_type": ASSERTION_TYPE}
    response = _token(http, server, data=no_assertion)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_a_secret_client_cannot_use_an_assertion(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client = JwtClient(server)
    client_id, _ = confidential_client(server)
    assertion = client.assertion(iss=client_id, sub=client_id)
    _assert_invalid_client(_token(http, server, data=client.form(assertion)), basic=False)


def test_token_error_carries_the_code_through_the_generated_client(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id, _ = confidential_client(server)
    with pytest.raises(TokenError) as raised:
        EndpointClient(http).request_token(
            server.url + "/token",
            ClientCredentialsTokenRequest(),
            client_auth=ClientSecretBasic(client_id, "wrong"),
        )
    assert raised.value.error_code == "invalid_client"
    assert raised.value.status_code == 401
