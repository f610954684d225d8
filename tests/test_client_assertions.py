"""private_key_jwt (RFC 7523 §2.2) end to end: OAuth2Client against MockAuthServer.

The client registers its public key (RFC 7591 ``jwks``), gets no secret, and authenticates every
token, introspection and revocation request with a fresh signed assertion that the server checks
against the registered key. ``client_secret_jwt`` runs against oidc-provider in
``tests/interop`` (the mock does not offer it).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from mcp_oauth_dynamicclient import TokenError
from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.clients import authorize, make
from tests.flavours import ClientProxy, Flavour
from tests.keys import private_pem as pem
from tests.keys import public_jwk

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def key_client(
    api: Flavour,
    server: MockAuthServer,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    *,
    registered: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | None = None,
    alg: str = "RS256",
) -> ClientProxy:
    """A private_key_jwt client signing with ``key``, registering ``registered`` (or ``key``)."""
    return make(
        api,
        server,
        token_endpoint_auth_method="private_key_jwt",
        private_key=pem(key),
        private_key_id="key-1",
        client_assertion_algorithm=alg,
        jwks={"keys": [public_jwk(registered or key, "key-1")]},
    )


def sent_assertions(server: MockAuthServer) -> list[str]:
    """The client assertions the server received, each checked to be the only credential."""
    found = []
    for record in server.requests:
        form = record.form or {}
        if "client_assertion" in form:
            assert form["client_assertion_type"] == [ASSERTION_TYPE]
            assert "client_secret" not in form
            assert "authorization" not in {h.lower() for h in record.headers}
            found += form["client_assertion"]
    return found


def assertions(server: MockAuthServer) -> list[dict[str, Any]]:
    """The claims of the assertions the server received (it checked the signatures)."""
    return [jwt.decode(a, options={"verify_signature": False}) for a in sent_assertions(server)]


@pytest.mark.parametrize(("kind", "alg"), [("rsa", "RS256"), ("ec", "ES256")])
def test_private_key_jwt_lifecycle(
    api: Flavour,
    server: MockAuthServer,
    rsa_key: rsa.RSAPrivateKey,
    ec_key: ec.EllipticCurvePrivateKey,
    kind: str,
    alg: str,
) -> None:
    client = key_client(api, server, rsa_key if kind == "rsa" else ec_key, alg=alg)
    registration = client.register()
    assert registration.token_endpoint_auth_method == "private_key_jwt"
    assert registration.client_secret is None
    assert server.requests.last("/register").json["jwks"]["keys"][0]["kid"] == "key-1"

    token = authorize(client, scope="mcp:read")
    refreshed = client.refresh_token()
    assert refreshed.access_token != token.access_token
    assert client.introspect_token(refreshed)["active"] is True
    issued = client.get_token()
    assert client.authenticated_request("GET", server.resource_url).status_code == 200
    assert client.revoke_token(refreshed) is True
    assert client.introspect_token(refreshed)["active"] is False
    assert client.introspect_token(issued)["active"] is True

    seen = assertions(server)
    # code exchange, refresh, 3 introspections, client credentials, revocation
    assert len(seen) == 7
    assert len({claims["jti"] for claims in seen}) == 7  # a fresh assertion every time
    for claims in seen:
        assert claims["iss"] == claims["sub"] == registration.client_id
        assert claims["exp"] > claims["iat"]
    first = server.requests.filter("/token", method="POST")[0]
    header = jwt.get_unverified_header((first.form or {})["client_assertion"][0])
    assert (header["alg"], header["kid"]) == (alg, "key-1")


def test_a_key_the_server_does_not_know_is_invalid_client(
    api: Flavour, server: MockAuthServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    client = key_client(api, server, other, registered=rsa_key)  # signs with an unknown key
    client.register()
    with pytest.raises(TokenError) as caught:
        client.get_token()
    assert caught.value.error_code == "invalid_client"
    assert caught.value.status_code == 401
    text = f"{caught.value} {caught.value!r}"
    sent = sent_assertions(server)
    # invalid_client may mean the registration is gone: the client registers once more, tries
    # once more, and gives up (issue 4).
    assert len(sent) == 2
    assert server.requests.count("/register", method="POST") == 2
    for assertion in sent:
        assert assertion not in text


def test_the_private_key_never_leaves_the_process(
    api: Flavour, server: MockAuthServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    key_pem = pem(rsa_key)
    client = key_client(api, server, rsa_key)
    client.register()
    client.get_token()
    body = b"".join(record.body for record in server.requests).decode()
    secret_part = "".join(key_pem.splitlines()[1:-1])
    assert secret_part[:64] not in body.replace("\\n", "")
    assert "PRIVATE KEY" not in body
    private_numbers = rsa_key.private_numbers()
    stored = json.dumps(
        [client.storage_proxy().retrieve_token(k) for k in client.storage_proxy().list_tokens()]
    )
    assert "PRIVATE KEY" not in stored
    assert str(private_numbers.d) not in stored
    assert key_pem not in repr(client.config)


def test_no_assertion_or_key_in_any_log_record(
    api: Flavour,
    server: MockAuthServer,
    rsa_key: rsa.RSAPrivateKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 6's leak check for what the main leak test (test_logging.py) does not send."""
    caplog.set_level(logging.DEBUG)
    client = key_client(api, server, rsa_key)
    client.register()
    authorize(client)
    client.refresh_token()
    client.get_token()
    sent = sent_assertions(server)
    assert len(sent) == 3
    secrets = [*sent, "".join(pem(rsa_key).splitlines()[1:-1])[:64]]
    records = [r for r in caplog.records if not r.name.startswith(("uvicorn", "starlette"))]
    assert any(r.name.startswith("httpcore") for r in records)
    assert any(r.name == "mcp_oauth_dynamicclient.client" for r in records)
    for record in records:
        text = f"{record.getMessage()} {record.args!r} {vars(record)!r}"
        for secret in secrets:
            assert secret not in text, record.name
