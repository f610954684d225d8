"""ID token and JWT access token validation, and JWT client assertions (RFC 7523)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from mcp_oauth_dynamicclient import runtime
from mcp_oauth_dynamicclient._client_auth_jwt import (
    CLIENT_ASSERTION_TYPE,
    ClientSecretJwt,
    PrivateKeyJwt,
)
from mcp_oauth_dynamicclient._generated import JsonWebKeySet, converter
from mcp_oauth_dynamicclient._jwt import (
    is_jwt,
    validate_id_token,
    validate_jwt_access_token,
)
from mcp_oauth_dynamicclient.exceptions import AuthorizationError, ConfigurationError, TokenError
from tests.keys import private_pem, public_pem

ISSUER = "https://as.example"
CLIENT_ID = "client-1"
RESOURCE = "https://mcp.example/mcp"
NONCE = "n-0S6_WzA2Mj"
NOW = 1_700_000_000.0
ALGORITHMS = ["RS256", "PS256", "ES256", "ES384", "EdDSA"]
TOKEN_URL = "https://as.example/token"
DROP = object()  # a claim value meaning "leave this claim out"


# ------------------------------------------------------------------------------ keys
# rsa_key and ec_key come from conftest.py.


@pytest.fixture(scope="module")
def other_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec384_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP384R1())


@pytest.fixture(scope="module")
def ed_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def rsa_jwk(key: rsa.RSAPrivateKey, **members: Any) -> dict[str, Any]:
    return {**RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), **members}


def ec_jwk(key: ec.EllipticCurvePrivateKey, **members: Any) -> dict[str, Any]:
    return {**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), **members}


def ed_jwk(key: ed25519.Ed25519PrivateKey, **members: Any) -> dict[str, Any]:
    return {**OKPAlgorithm.to_jwk(key.public_key(), as_dict=True), **members}


def jwk_set(*keys: dict[str, Any]) -> JsonWebKeySet:
    """A JWK Set as the client gets it: the JSON structured by the generated converter."""
    return converter.structure({"keys": list(keys)}, JsonWebKeySet)


@pytest.fixture(scope="module")
def jwks(rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey) -> JsonWebKeySet:
    return jwk_set(
        rsa_jwk(rsa_key, kid="rsa-1", use="sig", alg="RS256"),
        ec_jwk(ec_key, kid="ec-1", use="sig"),
    )


# ---------------------------------------------------------------------------- tokens


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: Any) -> str:
    return b64(json.dumps(value).encode())


def with_claims(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    claims = {**base, **overrides}
    return {name: value for name, value in claims.items() if value is not DROP}


def id_claims(**overrides: Any) -> dict[str, Any]:
    base = {
        "iss": ISSUER,
        "sub": "user-1",
        "aud": CLIENT_ID,
        "exp": NOW + 300,
        "iat": NOW - 10,
        "nonce": NONCE,
    }
    return with_claims(base, overrides)


def at_claims(**overrides: Any) -> dict[str, Any]:
    base = {
        "iss": ISSUER,
        "sub": "user-1",
        "aud": RESOURCE,
        "client_id": CLIENT_ID,
        "jti": "at-1",
        "exp": NOW + 300,
        "iat": NOW - 10,
        "scope": "mcp:read",
    }
    return with_claims(base, overrides)


def sign(
    claims: dict[str, Any],
    key: Any,
    alg: str = "RS256",
    *,
    kid: str | None = "rsa-1",
    **header: Any,
) -> str:
    """A token signed by pyjwt; ``typ=None`` leaves the typ header out."""
    headers: dict[str, Any] = {**header}
    if kid is not None:
        headers["kid"] = kid
    return jwt.encode(claims, key, algorithm=alg, headers=headers)


def sign_raw(payload: bytes, key: Any, alg: str = "RS256", kid: str = "rsa-1") -> str:
    """A token whose claims segment is exactly ``payload`` (for JSON pyjwt would not emit)."""
    return jwt.PyJWS().encode(payload, key, algorithm=alg, headers={"kid": kid})


def rsa_signed(header: dict[str, Any], claims: dict[str, Any], key: rsa.RSAPrivateKey) -> str:
    """An RS256 token built by hand, for headers pyjwt would refuse to write."""
    signing_input = f"{b64json(header)}.{b64json(claims)}"
    signature = RSAAlgorithm(RSAAlgorithm.SHA256).sign(signing_input.encode(), key)
    return f"{signing_input}.{b64(signature)}"


def check_id(token: str, jwks: JsonWebKeySet, **options: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "issuer": ISSUER,
        "client_id": CLIENT_ID,
        "nonce": NONCE,
        "algorithms": ALGORITHMS,
        "leeway": 30,
        "now": NOW,
        **options,
    }
    return validate_id_token(token, jwks=jwks, **params)


def check_at(token: str, jwks: JsonWebKeySet, **options: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "issuer": ISSUER,
        "audience": RESOURCE,
        "algorithms": ALGORITHMS,
        "leeway": 30,
        "now": NOW,
        **options,
    }
    return validate_jwt_access_token(token, jwks=jwks, **params)


def refused_id(token: str, jwks: JsonWebKeySet, match: str, **options: Any) -> None:
    with pytest.raises(AuthorizationError, match=match) as info:
        check_id(token, jwks, **options)
    assert info.value.error_code == "invalid_id_token"
    assert str(info.value).startswith("ID token refused: ")
    if token:
        assert token not in str(info.value)
        assert token.split(".")[0] not in str(info.value)


def refused_at(token: str, jwks: JsonWebKeySet, match: str, **options: Any) -> None:
    with pytest.raises(TokenError, match=match) as info:
        check_at(token, jwks, **options)
    assert info.value.error_code == "invalid_token"
    assert token not in str(info.value)


# ------------------------------------------------------------------ ID token: accepted


def test_id_token_accepted_returns_claims(rsa_key: rsa.RSAPrivateKey, jwks: JsonWebKeySet) -> None:
    claims = check_id(sign(id_claims(), rsa_key), jwks)
    assert claims == id_claims()


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256", "ES384", "EdDSA"])
def test_id_token_without_kid_uses_the_only_able_key(
    alg: str,
    rsa_key: rsa.RSAPrivateKey,
    ec_key: ec.EllipticCurvePrivateKey,
    ec384_key: ec.EllipticCurvePrivateKey,
    ed_key: ed25519.Ed25519PrivateKey,
) -> None:
    mixed = jwk_set(rsa_jwk(rsa_key), ec_jwk(ec_key), ec_jwk(ec384_key), ed_jwk(ed_key))
    key = {"ES256": ec_key, "ES384": ec384_key, "EdDSA": ed_key}.get(alg, rsa_key)
    token = sign(id_claims(), key, alg, kid=None)
    assert check_id(token, mixed)["sub"] == "user-1"


def test_id_token_kid_picks_among_several_keys(
    rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey
) -> None:
    keys = jwk_set(rsa_jwk(rsa_key, kid="old"), rsa_jwk(other_rsa_key, kid="new"))
    assert check_id(sign(id_claims(), other_rsa_key, kid="new"), keys)["iss"] == ISSUER


def test_id_token_private_members_in_the_jwks_are_ignored(rsa_key: rsa.RSAPrivateKey) -> None:
    leaked = {**RSAAlgorithm.to_jwk(rsa_key, as_dict=True), "kid": "rsa-1"}
    del leaked["key_ops"]  # ["sign"]: it would rightly make the key unusable for verifying
    assert "d" in leaked
    assert check_id(sign(id_claims(), rsa_key), jwk_set(leaked))["sub"] == "user-1"


def test_id_token_default_now_is_the_current_time(
    rsa_key: rsa.RSAPrivateKey, jwks: JsonWebKeySet
) -> None:
    current = time.time()
    fresh = sign(id_claims(exp=current + 300, iat=current), rsa_key)
    assert check_id(fresh, jwks, now=None)["sub"] == "user-1"
    stale = sign(id_claims(), rsa_key)  # expired in 2023
    refused_id(stale, jwks, "expired", now=None)


def test_id_token_leeway_tolerates_skew(rsa_key: rsa.RSAPrivateKey, jwks: JsonWebKeySet) -> None:
    skewed = id_claims(exp=NOW - 20, iat=NOW + 20, nbf=NOW + 20)
    assert check_id(sign(skewed, rsa_key), jwks, leeway=30)["sub"] == "user-1"
    refused_id(sign(skewed, rsa_key), jwks, "expired", leeway=0)


def test_id_token_with_azp_and_several_audiences(
    rsa_key: rsa.RSAPrivateKey, jwks: JsonWebKeySet
) -> None:
    claims = id_claims(aud=[CLIENT_ID, "other"], azp=CLIENT_ID)
    assert check_id(sign(claims, rsa_key), jwks)["azp"] == CLIENT_ID


def test_id_token_without_nonce_when_none_was_sent(
    rsa_key: rsa.RSAPrivateKey, jwks: JsonWebKeySet
) -> None:
    token = sign(id_claims(nonce=DROP), rsa_key)
    assert "nonce" not in check_id(token, jwks, nonce=None)


def test_id_token_from_a_refresh_may_omit_the_nonce(
    rsa_key: rsa.RSAPrivateKey, jwks: JsonWebKeySet
) -> None:
    token = sign(id_claims(nonce=DROP), rsa_key)
    assert check_id(token, jwks, require_nonce=False)["sub"] == "user-1"
    different = sign(id_claims(nonce="another"), rsa_key)
    refused_id(different, jwks, "nonce claim does not match", require_nonce=False)


# ---------------------------------------------------------- ID token: signature, keys


def test_id_token_signed_by_another_key(
    other_rsa_key: rsa.RSAPrivateKey, jwks: JsonWebKeySet
) -> None:
    token = sign(id_claims(), other_rsa_key)
    refused_id(token, jwks, r"signature does not verify with the JWK Set key 'rsa-1'")


def test_id_token_with_altered_claims(rsa_key: rsa.RSAPrivateKey, jwks: JsonWebKeySet) -> None:
    header, _, signature = sign(id_claims(), rsa_key).split(".")
    forged = f"{header}.{b64json(id_claims(sub='admin'))}.{signature}"
    refused_id(forged, jwks, "signature does not verify")


def test_id_token_embedded_jwk_header_is_not_trusted(
    other_rsa_key: rsa.RSAPrivateKey, jwks: JsonWebKeySet
) -> None:
    embedded = RSAAlgorithm.to_jwk(other_rsa_key.public_key(), as_dict=True)
    token = sign(id_claims(), other_rsa_key, jwk=embedded, jku="https://evil.example/jwks")
    refused_id(token, jwks, "signature does not verify")


def test_id_token_unknown_kid(rsa_key: rsa.RSAPrivateKey, jwks: JsonWebKeySet) -> None:
    refused_id(sign(id_claims(), rsa_key, kid="rotated"), jwks, "no key in the JWK Set has kid")


def test_id_token_kid_not_a_string(rsa_key: rsa.RSAPrivateKey, jwks: JsonWebKeySet) -> None:
    token = rsa_signed({"alg": "RS256", "kid": 7}, id_claims(), rsa_key)
    refused_id(token, jwks, "kid is not a string")


def test_id_token_without_kid_and_several_able_keys(
    rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey
) -> None:
    keys = jwk_set(rsa_jwk(rsa_key), rsa_jwk(other_rsa_key))
    refused_id(sign(id_claims(), rsa_key, kid=None), keys, "no kid and several JWK Set keys")


def test_id_token_without_kid_and_no_able_key(
    rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    keys = jwk_set(ec_jwk(ec_key))
    refused_id(sign(id_claims(), rsa_key, kid=None), keys, "no key that can verify RS256")


@pytest.mark.parametrize(
    "members",
    [{"use": "enc"}, {"key_ops": ["encrypt"]}, {"alg": "RS512"}],
    ids=["use-enc", "key-ops-encrypt", "other-alg"],
)
def test_id_token_key_not_meant_for_this_signature(
    members: dict[str, Any], rsa_key: rsa.RSAPrivateKey
) -> None:
    keys = jwk_set(rsa_jwk(rsa_key, kid="rsa-1", **members))
    refused_id(sign(id_claims(), rsa_key), keys, "'rsa-1' cannot verify RS256 signatures")


def test_id_token_kid_names_a_key_of_another_type(
    rsa_key: rsa.RSAPrivateKey, jwks: JsonWebKeySet
) -> None:
    # The header claims RS256 but its kid names the EC key.
    refused_id(sign(id_claims(), rsa_key, kid="ec-1"), jwks, "'ec-1' cannot verify RS256")


def test_id_token_ec_key_on_another_curve(
    ec_key: ec.EllipticCurvePrivateKey, ec384_key: ec.EllipticCurvePrivateKey
) -> None:
    keys = jwk_set(ec_jwk(ec384_key, kid="ec-1"))
    refused_id(sign(id_claims(), ec_key, "ES256", kid="ec-1"), keys, "cannot verify ES256")


def test_id_token_several_keys_share_the_kid(
    rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey
) -> None:
    keys = jwk_set(rsa_jwk(rsa_key, kid="k"), rsa_jwk(other_rsa_key, kid="k"))
    refused_id(sign(id_claims(), rsa_key, kid="k"), keys, "several JWK Set keys have kid 'k'")


def test_id_token_short_rsa_key_refused() -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    token = rsa_signed({"alg": "RS256", "kid": "weak"}, id_claims(), weak)
    refused_id(token, jwk_set(rsa_jwk(weak, kid="weak")), "shorter than 2048 bits")


def test_id_token_jwk_without_key_material(rsa_key: rsa.RSAPrivateKey) -> None:
    keys = jwk_set({"kty": "RSA", "kid": "rsa-1", "e": "AQAB"})
    refused_id(sign(id_claims(), rsa_key), keys, "'rsa-1' is not a valid RSA public key")


# ---------------------------------------------------------------- ID token: algorithms


def test_id_token_alg_not_in_allowlist(
    ec_key: ec.EllipticCurvePrivateKey, jwks: JsonWebKeySet
) -> None:
    token = sign(id_claims(), ec_key, "ES256", kid="ec-1")
    refused_id(
        token,
        jwks,
        r"alg 'ES256' is not among the allowed algorithms \(RS256\)",
        algorithms=["RS256"],
    )


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_id_token_alg_none_refused_even_if_allowed(alg: str, jwks: JsonWebKeySet) -> None:
    token = f"{b64json({'alg': alg, 'kid': 'rsa-1'})}.{b64json(id_claims())}."
    refused_id(token, jwks, r"alg none\) are never accepted", algorithms=[alg, "RS256"])


def test_id_token_hmac_over_the_public_key_refused(
    rsa_key: rsa.RSAPrivateKey, jwks: JsonWebKeySet
) -> None:
    """The key-confusion attack: HS256 keyed with the public key the verifier holds."""
    header = b64json({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"})
    body = b64json(id_claims(sub="admin"))
    mac = hmac.new(public_pem(rsa_key), f"{header}.{body}".encode(), hashlib.sha256).digest()
    token = f"{header}.{body}.{b64(mac)}"
    refused_id(token, jwks, "alg 'HS256' is symmetric", algorithms=["HS256", "RS256"])


def test_id_token_unsupported_alg(jwks: JsonWebKeySet) -> None:
    token = f"{b64json({'alg': 'RSA-OAEP', 'kid': 'rsa-1'})}.{b64json(id_claims())}.AAAA"
    refused_id(token, jwks, "'RSA-OAEP' is not supported", algorithms=["RSA-OAEP"])


def test_id_token_without_alg(jwks: JsonWebKeySet) -> None:
    token = f"{b64json({'kid': 'rsa-1'})}.{b64json(id_claims())}.AAAA"
    refused_id(token, jwks, "the header has no alg")


def test_id_token_crit_header_refused(rsa_key: rsa.RSAPrivateKey, jwks: JsonWebKeySet) -> None:
    header = {"alg": "RS256", "kid": "rsa-1", "crit": ["exp-ext"], "exp-ext": True}
    token = rsa_signed(header, id_claims(), rsa_key)
    refused_id(token, jwks, r"critical extensions \(crit\)")


def test_id_token_typed_as_access_token_refused(
    rsa_key: rsa.RSAPrivateKey, jwks: JsonWebKeySet
) -> None:
    refused_id(sign(id_claims(), rsa_key, typ="at+jwt"), jwks, "typ 'at\\+jwt' marks a JWT")
    refused_id(sign(id_claims(), rsa_key, typ="application/logout+jwt"), jwks, "not an ID token")
    assert check_id(sign(id_claims(), rsa_key, typ=None), jwks)["sub"] == "user-1"


# -------------------------------------------------------------------- ID token: claims


@pytest.mark.parametrize(
    ("iss", "match"),
    [
        ("https://evil.example", "iss claim 'https://evil.example' is not the issuer"),
        (ISSUER + "/", "is not the issuer"),
        (DROP, "the iss claim is missing"),
        (42, "iss claim is not a non-empty string"),
    ],
)
def test_id_token_wrong_issuer(
    iss: Any, match: str, rsa_key: rsa.RSAPrivateKey, jwks: JsonWebKeySet
) -> None:
    token = rsa_signed({"alg": "RS256", "kid": "rsa-1"}, id_claims(iss=iss), rsa_key)
    refused_id(token, jwks, match)


@pytest.mark.parametrize(
    ("claims", "match"),
    [
        ({"aud": "someone-else"}, "aud claim does not contain the client ID 'client-1'"),
        ({"aud": ["a", "b"]}, "does not contain the client ID"),
        ({"aud": DROP}, "the aud claim is missing"),
        ({"aud": 12}, "not a string or an array of strings"),
        ({"aud": []}, "not a string or an array of strings"),
        ({"aud": [CLIENT_ID, 3]}, "not a string or an array of strings"),
        ({"aud": [CLIENT_ID, "other"]}, "several audiences and no azp claim"),
        ({"aud": [CLIENT_ID, "other"], "azp": "other"}, "azp claim is not the client ID"),
        ({"azp": "other"}, "azp claim is not the client ID"),
    ],
)
def test_id_token_wrong_audience(
    claims: dict[str, Any], match: str, rsa_key: rsa.RSAPrivateKey, jwks: JsonWebKeySet
) -> None:
    refused_id(sign(id_claims(**claims), rsa_key), jwks, match)


@pytest.mark.parametrize(
    ("claims", "match"),
    [
        ({"exp": NOW - 31}, "the token expired 31s ago"),
        ({"exp": DROP}, "the exp claim is missing"),
        ({"exp": str(int(NOW + 300))}, "the exp claim is not a number"),
        ({"exp": True}, "the exp claim is not a number"),
        ({"iat": DROP}, "the iat claim is missing"),
        ({"iat": NOW + 31}, "the iat claim is 31s in the future"),
        ({"nbf": NOW + 60}, r"not valid for another 60s \(nbf\)"),
    ],
)
def test_id_token_times(
    claims: dict[str, Any], match: str, rsa_key: rsa.RSAPrivateKey, jwks: JsonWebKeySet
) -> None:
    refused_id(sign(id_claims(**claims), rsa_key), jwks, match)


def test_id_token_infinite_expiry_refused(rsa_key: rsa.RSAPrivateKey, jwks: JsonWebKeySet) -> None:
    payload = json.dumps(id_claims(exp=float("inf"))).encode()
    assert b"Infinity" in payload
    refused_id(sign_raw(payload, rsa_key), jwks, "claims set is not valid JSON")


def test_id_token_duplicate_claims_refused(rsa_key: rsa.RSAPrivateKey, jwks: JsonWebKeySet) -> None:
    payload = json.dumps(id_claims())[:-1] + ', "sub": "admin"}'
    refused_id(sign_raw(payload.encode(), rsa_key), jwks, "duplicate member 'sub'")


@pytest.mark.parametrize(
    ("sent", "claims", "match"),
    [
        (NONCE, {"nonce": "n-other"}, "nonce claim does not match the nonce sent"),
        (NONCE, {"nonce": NONCE + "x"}, "nonce claim does not match"),
        (NONCE, {"nonce": 12}, "nonce claim does not match"),
        (NONCE, {"nonce": DROP}, "the nonce claim is missing"),
        (None, {}, "has a nonce claim but no nonce was sent"),
    ],
)
def test_id_token_nonce(
    sent: str | None,
    claims: dict[str, Any],
    match: str,
    rsa_key: rsa.RSAPrivateKey,
    jwks: JsonWebKeySet,
) -> None:
    refused_id(sign(id_claims(**claims), rsa_key), jwks, match, nonce=sent)


def test_id_token_nonce_value_not_in_message(
    rsa_key: rsa.RSAPrivateKey, jwks: JsonWebKeySet
) -> None:
    with pytest.raises(AuthorizationError) as info:
        check_id(sign(id_claims(nonce="attacker-nonce"), rsa_key), jwks)
    assert NONCE not in str(info.value)
    assert "attacker-nonce" not in str(info.value)


@pytest.mark.parametrize("sub", [DROP, "", 5])
def test_id_token_without_subject(
    sub: Any, rsa_key: rsa.RSAPrivateKey, jwks: JsonWebKeySet
) -> None:
    refused_id(sign(id_claims(sub=sub), rsa_key), jwks, "the sub claim")


# ----------------------------------------------------------------- ID token: malformed


def malformed_tokens() -> Iterator[Any]:
    header, body = b64json({"alg": "RS256", "kid": "rsa-1"}), b64json(id_claims())
    yield pytest.param("", "expected three dot-separated segments, got 1", id="empty")
    yield pytest.param("opaque-token", "got 1", id="opaque")
    yield pytest.param(f"{header}.{body}", "got 2", id="two-segments")
    yield pytest.param(f"{header}.{body}.AAAA.AAAA", "got 4", id="four-segments")
    yield pytest.param(f"{header}.{body}.AAAA.AAAA.AAAA", "got 5", id="jwe")
    yield pytest.param(f"{header}+/.{body}.AAAA", "header is not base64url", id="b64-alphabet")
    yield pytest.param(f"{header}=.{body}.AAAA", "header is not base64url", id="b64-padding")
    yield pytest.param(f"{header}A.{body}.AAAA", "header is not", id="b64-length")
    yield pytest.param(f"{b64(b'{alg')}.{body}.AAAA", "header is not valid JSON", id="header-json")
    not_utf8 = b64(b"\xff\xfe")
    yield pytest.param(f"{not_utf8}.{body}.AAAA", "header is not valid JSON", id="utf8")
    yield pytest.param(f"{b64json(['RS256'])}.{body}.AAAA", "header is not a JSON object", id="arr")
    yield pytest.param(f"{header}.{b64(b'nope')}.AAAA", "claims set is not valid JSON", id="body")
    yield pytest.param(f"{header}.{b64json(3)}.AAAA", "claims set is not a JSON object", id="num")
    yield pytest.param(f"{header}.{body}.A$A", "signature is not base64url", id="signature")


@pytest.mark.parametrize(("token", "match"), list(malformed_tokens()))
def test_id_token_malformed(token: str, match: str, jwks: JsonWebKeySet) -> None:
    refused_id(token, jwks, match)


def test_id_token_not_a_string(jwks: JsonWebKeySet) -> None:
    with pytest.raises(AuthorizationError, match="expected a string, got bytes"):
        check_id(b"a.b.c", jwks)  # type: ignore[arg-type]


# ------------------------------------------------------------------------ access tokens


@pytest.mark.parametrize("typ", ["at+jwt", "application/at+jwt", "AT+JWT", "Application/At+JWT"])
def test_access_token_accepted(typ: str, rsa_key: rsa.RSAPrivateKey, jwks: JsonWebKeySet) -> None:
    result = check_at(sign(at_claims(), rsa_key, typ=typ), jwks)
    assert result == {**at_claims(), "active": True}


def test_access_token_es256_without_audience_check(
    ec_key: ec.EllipticCurvePrivateKey, jwks: JsonWebKeySet
) -> None:
    token = sign(
        at_claims(aud=["https://elsewhere.example"]), ec_key, "ES256", kid="ec-1", typ="at+jwt"
    )
    assert check_at(token, jwks, audience=None)["aud"] == ["https://elsewhere.example"]


@pytest.mark.parametrize("typ", [None, "JWT", "jwt", "id_token+jwt", 7])
def test_access_token_wrong_typ(typ: Any, rsa_key: rsa.RSAPrivateKey, jwks: JsonWebKeySet) -> None:
    refused_at(sign(at_claims(), rsa_key, typ=typ), jwks, r"expected at\+jwt")


@pytest.mark.parametrize("claim", ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"])
def test_access_token_missing_claim(
    claim: str, rsa_key: rsa.RSAPrivateKey, jwks: JsonWebKeySet
) -> None:
    token = sign(at_claims(**{claim: DROP}), rsa_key, typ="at+jwt")
    refused_at(token, jwks, f"the {claim} claim is missing")


@pytest.mark.parametrize(
    ("claims", "match"),
    [
        ({"aud": "https://other.example/mcp"}, "aud claim does not contain 'https://mcp.example"),
        ({"aud": [ISSUER]}, "aud claim does not contain"),
        ({"iss": "https://evil.example"}, "is not the issuer"),
        ({"exp": NOW - 60}, "the token expired 60s ago"),
        ({"client_id": 3}, "client_id claim is not a non-empty string"),
        ({"jti": ""}, "jti claim is not a non-empty string"),
    ],
)
def test_access_token_wrong_claims(
    claims: dict[str, Any], match: str, rsa_key: rsa.RSAPrivateKey, jwks: JsonWebKeySet
) -> None:
    refused_at(sign(at_claims(**claims), rsa_key, typ="at+jwt"), jwks, match)


def test_access_token_signature_and_algorithms(
    rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey, jwks: JsonWebKeySet
) -> None:
    refused_at(sign(at_claims(), other_rsa_key, typ="at+jwt"), jwks, "signature does not verify")
    unsigned = f"{b64json({'alg': 'none', 'typ': 'at+jwt'})}.{b64json(at_claims())}."
    refused_at(unsigned, jwks, r"alg none\)", algorithms=["none", "RS256"])
    header = b64json({"alg": "HS256", "typ": "at+jwt", "kid": "rsa-1"})
    body = b64json(at_claims())
    mac = hmac.new(public_pem(rsa_key), f"{header}.{body}".encode(), hashlib.sha256).digest()
    refused_at(f"{header}.{body}.{b64(mac)}", jwks, "symmetric", algorithms=["HS256"])
    refused_at("a.b", jwks, "three dot-separated segments")


# -------------------------------------------------------------------------------- is_jwt


def test_is_jwt(rsa_key: rsa.RSAPrivateKey) -> None:
    assert is_jwt(sign(id_claims(), rsa_key))
    assert is_jwt(f"{b64json({'alg': 'none'})}.{b64json({})}.")
    assert not is_jwt("2YotnFZFEjr1zCsicMWpAA")
    assert not is_jwt("a.b.c")
    assert not is_jwt(f"{b64json({'typ': 'JWT'})}.e30.")  # no alg
    assert not is_jwt(f"{b64json({'alg': 5})}.e30.")
    assert not is_jwt(f"{b64json(['alg'])}.e30.")
    assert not is_jwt(f"{b64json({'alg': 'RS256'})}.e30")
    assert not is_jwt(None)  # type: ignore[arg-type]


# --------------------------------------------------------------------- pyjwt is optional


def test_importing_the_modules_does_not_import_pyjwt() -> None:
    code = (
        "import sys\n"
        "import mcp_oauth_dynamicclient._jwt, mcp_oauth_dynamicclient._client_auth_jwt\n"
        "loaded = sorted(m for m in ('jwt', 'cryptography') if m in sys.modules)\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_missing_pyjwt_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, rsa_key: rsa.RSAPrivateKey, jwks: JsonWebKeySet
) -> None:
    token = sign(id_claims(), rsa_key)
    access_token = sign(at_claims(), rsa_key, typ="at+jwt")
    monkeypatch.setitem(sys.modules, "jwt", None)
    hint = r'pip install "mcp-oauth-dynamicclient\[jwt\]"'
    with pytest.raises(ConfigurationError, match=hint):
        check_id(token, jwks)
    with pytest.raises(ConfigurationError, match=hint):
        check_at(access_token, jwks)
    with pytest.raises(ConfigurationError, match=hint):
        check_id("not-a-jwt", jwks)
    with pytest.raises(ConfigurationError, match=hint):
        PrivateKeyJwt(CLIENT_ID, private_pem(rsa_key))
    with pytest.raises(ConfigurationError, match=hint):
        ClientSecretJwt(CLIENT_ID, "s" * 32)


def test_pyjwt_without_cryptography_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, rsa_key: rsa.RSAPrivateKey, jwks: JsonWebKeySet
) -> None:
    monkeypatch.setattr(jwt.algorithms, "has_crypto", False)
    with pytest.raises(ConfigurationError, match=r"with cryptography: pip install"):
        check_id(sign(id_claims(), rsa_key), jwks)


# -------------------------------------------------------------------- client assertions


def applied(auth: PrivateKeyJwt | ClientSecretJwt, url: str = TOKEN_URL) -> dict[str, Any]:
    form: dict[str, runtime.FormValue] = {"grant_type": "client_credentials"}
    headers: dict[str, str] = {}
    auth.apply(url, form, headers)
    assert headers == {}
    assert form["grant_type"] == "client_credentials"
    assert form["client_assertion_type"] == CLIENT_ASSERTION_TYPE
    return form


def test_private_key_jwt_claims(rsa_key: rsa.RSAPrivateKey) -> None:
    auth = PrivateKeyJwt(CLIENT_ID, private_pem(rsa_key), key_id="client-key", lifetime=120)
    before = int(time.time())
    form = applied(auth)
    after = int(time.time())
    assertion = form["client_assertion"]
    assert isinstance(assertion, str)
    header = jwt.get_unverified_header(assertion)
    assert header["alg"] == "RS256"
    assert header["kid"] == "client-key"
    claims = jwt.decode(
        assertion, rsa_key.public_key(), algorithms=["RS256"], audience=TOKEN_URL, issuer=CLIENT_ID
    )
    assert set(claims) == {"iss", "sub", "aud", "jti", "iat", "exp"}
    assert claims["iss"] == claims["sub"] == CLIENT_ID
    assert claims["aud"] == TOKEN_URL
    assert before <= claims["iat"] <= after
    assert claims["exp"] == claims["iat"] + 120
    assert isinstance(claims["jti"], str)
    assert len(claims["jti"]) >= 32


def test_private_key_jwt_jti_is_new_each_time(ec_key: ec.EllipticCurvePrivateKey) -> None:
    auth = PrivateKeyJwt(CLIENT_ID, ec_key, algorithm="ES256")
    first, second = applied(auth), applied(auth)
    assert first["client_assertion"] != second["client_assertion"]
    jtis = {
        jwt.decode(
            str(form["client_assertion"]),
            ec_key.public_key(),
            algorithms=["ES256"],
            audience=TOKEN_URL,
        )["jti"]
        for form in (first, second)
    }
    assert len(jtis) == 2
    assert "kid" not in jwt.get_unverified_header(str(first["client_assertion"]))


def test_private_key_jwt_audience_follows_the_url_or_the_setting(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    public = rsa_key.public_key()
    auth = PrivateKeyJwt(CLIENT_ID, private_pem(rsa_key).encode(), algorithm="PS256")
    form = applied(auth, "https://as.example/revoke")
    decoded = jwt.decode(
        str(form["client_assertion"]),
        public,
        algorithms=["PS256"],
        audience="https://as.example/revoke",
    )
    assert decoded["aud"] == "https://as.example/revoke"
    pinned = PrivateKeyJwt(CLIENT_ID, rsa_key, audience=ISSUER)
    form = applied(pinned, "https://as.example/revoke")
    decoded = jwt.decode(
        str(form["client_assertion"]), public, algorithms=["RS256"], audience=ISSUER
    )
    assert decoded["aud"] == ISSUER


def test_private_key_jwt_eddsa(ed_key: ed25519.Ed25519PrivateKey) -> None:
    form = applied(PrivateKeyJwt(CLIENT_ID, ed_key, algorithm="EdDSA"))
    claims = jwt.decode(
        str(form["client_assertion"]), ed_key.public_key(), algorithms=["EdDSA"], audience=TOKEN_URL
    )
    assert claims["sub"] == CLIENT_ID


def test_private_key_jwt_through_build_request(rsa_key: rsa.RSAPrivateKey) -> None:
    auth = PrivateKeyJwt(CLIENT_ID, rsa_key)
    request = runtime.build_request(
        "POST",
        "https://as.example/token?tenant=a#frag",
        form_body={"grant_type": "client_credentials"},
        client_auth=auth,
    )
    assert isinstance(request, httpx.Request)
    form = parse_qs(request.content.decode())
    assert form["client_assertion_type"] == [CLIENT_ASSERTION_TYPE]
    claims = jwt.decode(
        form["client_assertion"][0], rsa_key.public_key(), algorithms=["RS256"], audience=TOKEN_URL
    )
    assert claims["aud"] == TOKEN_URL  # no query, no fragment
    assert "Authorization" not in request.headers


def test_private_key_jwt_repr_hides_the_key(rsa_key: rsa.RSAPrivateKey) -> None:
    pem = private_pem(rsa_key)
    auth = PrivateKeyJwt(CLIENT_ID, pem, key_id="k1")
    text = repr(auth)
    assert "private_key='***'" in text
    assert "PRIVATE KEY" not in text
    assert pem.splitlines()[1] not in text
    assert "k1" in text
    assert "RSAPrivateKey" not in repr(PrivateKeyJwt(CLIENT_ID, rsa_key))


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"algorithm": "none"}, "needs an asymmetric algorithm"),
        ({"algorithm": "HS256"}, "needs an asymmetric algorithm"),
        ({"algorithm": "RS1"}, "got 'RS1'"),
        ({"algorithm": "ES256"}, "ES256 needs an EC private key on curve secp256r1"),
        ({"lifetime": 0}, "lifetime must be a positive number of seconds"),
        ({"lifetime": True}, "lifetime must be"),
    ],
)
def test_private_key_jwt_refused_settings(
    options: dict[str, Any], match: str, rsa_key: rsa.RSAPrivateKey
) -> None:
    with pytest.raises(ConfigurationError, match=match):
        PrivateKeyJwt(CLIENT_ID, rsa_key, **options)


def test_private_key_jwt_refused_keys(
    rsa_key: rsa.RSAPrivateKey, ec384_key: ec.EllipticCurvePrivateKey
) -> None:
    with pytest.raises(ConfigurationError, match="not an unencrypted PEM private key"):
        PrivateKeyJwt(CLIENT_ID, public_pem(rsa_key))
    with pytest.raises(ConfigurationError, match="not an unencrypted PEM private key"):
        PrivateKeyJwt(CLIENT_ID, "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    with pytest.raises(ConfigurationError, match="RS256 needs an RSA private key"):
        PrivateKeyJwt(CLIENT_ID, ec384_key)
    with pytest.raises(ConfigurationError, match="needs an RSA private key"):
        PrivateKeyJwt(CLIENT_ID, rsa_key.public_key())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="ES256 needs an EC private key"):
        PrivateKeyJwt(CLIENT_ID, ec384_key, algorithm="ES256")
    with pytest.raises(ConfigurationError, match="Ed25519 or Ed448"):
        PrivateKeyJwt(CLIENT_ID, rsa_key, algorithm="EdDSA")
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(ConfigurationError, match=r"at least 2048 bits \(RFC 7518 §3.3\)"):
        PrivateKeyJwt(CLIENT_ID, weak)


@pytest.mark.parametrize(("alg", "digest"), [("HS256", 32), ("HS384", 48), ("HS512", 64)])
def test_client_secret_jwt_claims(alg: str, digest: int) -> None:
    secret = "s3cr3t-" + "x" * digest
    auth = ClientSecretJwt(CLIENT_ID, secret, algorithm=alg, lifetime=30)
    form = applied(auth)
    claims = jwt.decode(
        str(form["client_assertion"]),
        secret,
        algorithms=[alg],
        audience=TOKEN_URL,
        issuer=CLIENT_ID,
    )
    assert claims["sub"] == CLIENT_ID
    assert claims["exp"] == claims["iat"] + 30
    assert jwt.get_unverified_header(str(form["client_assertion"]))["alg"] == alg
    second = applied(auth)
    assert (
        jwt.decode(str(second["client_assertion"]), secret, algorithms=[alg], audience=TOKEN_URL)[
            "jti"
        ]
        != claims["jti"]
    )


def test_client_secret_jwt_audience_setting() -> None:
    secret = "k" * 32
    form = applied(ClientSecretJwt(CLIENT_ID, secret, audience=ISSUER))
    claims = jwt.decode(
        str(form["client_assertion"]), secret, algorithms=["HS256"], audience=ISSUER
    )
    assert claims["aud"] == ISSUER


def test_client_secret_jwt_repr_hides_the_secret() -> None:
    secret = "very-secret-value-" + "z" * 20
    text = repr(ClientSecretJwt(CLIENT_ID, secret))
    assert secret not in text
    assert "client_secret='***'" in text


@pytest.mark.parametrize(
    ("secret", "options", "match"),
    [
        ("k" * 32, {"algorithm": "RS256"}, "needs HS256, HS384 or HS512, got 'RS256'"),
        ("k" * 32, {"algorithm": "none"}, "got 'none'"),
        ("k" * 31, {}, r"too short for HS256: it needs at least 32 bytes \(RFC 7518 §3.2\)"),
        ("k" * 40, {"algorithm": "HS512"}, "at least 64 bytes"),
        ("", {}, "non-empty client secret"),
        ("k" * 32, {"lifetime": -5}, "lifetime must be a positive"),
    ],
)
def test_client_secret_jwt_refused_settings(
    secret: str, options: dict[str, Any], match: str
) -> None:
    with pytest.raises(ConfigurationError, match=match) as info:
        ClientSecretJwt(CLIENT_ID, secret, **options)
    if secret:
        assert secret not in str(info.value)
