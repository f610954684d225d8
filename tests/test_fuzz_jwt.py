"""Fuzz JWT validation: ID tokens and RFC 9068 access tokens (issue 12, item 16).

A token and the JWK Set it is checked against both come from the server. Garbage (any text,
three segments of anything, JSON nested thousands deep in the header), near-valid tokens (a
real signature over claims and headers with a few members changed: huge and non-finite
numbers, wrong types, foreign ``typ``, ``alg`` ``none``) and near-valid JWK Sets (a real key
with members replaced) all end in the documented error: ``AuthorizationError`` for an ID
token, ``TokenError`` for an access token. ``is_jwt`` and ``peek_claims`` never raise.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given, settings
from hypothesis import strategies as st
from jwt.algorithms import ECAlgorithm, RSAAlgorithm, get_default_algorithms

from mcp_oauth_dynamicclient._generated import JsonWebKeySet, converter
from mcp_oauth_dynamicclient._jwt import (
    is_jwt,
    peek_claims,
    validate_id_token,
    validate_jwt_access_token,
)
from mcp_oauth_dynamicclient.exceptions import AuthorizationError, TokenError
from tests.fuzzing import FUZZ, HUGE_NUMBERS, json_values, only_ours

ISSUER = "https://as.example"
CLIENT_ID = "client-1"
NOW = 1_700_000_000
ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: Any) -> str:
    return b64(json.dumps(value).encode())


@pytest.fixture(scope="module")
def keys(
    rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey
) -> dict[str, dict[str, Any]]:
    return {
        "rsa-1": {
            **RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True),
            "kid": "rsa-1",
            "use": "sig",
        },
        "ec-1": {**ECAlgorithm.to_jwk(ec_key.public_key(), as_dict=True), "kid": "ec-1"},
    }


@pytest.fixture(scope="module")
def jwks(keys: dict[str, dict[str, Any]]) -> JsonWebKeySet:
    return converter.structure({"keys": list(keys.values())}, JsonWebKeySet)


def validate_both(token: str, jwks: JsonWebKeySet) -> None:
    with only_ours(AuthorizationError):
        claims = validate_id_token(
            token,
            jwks=jwks,
            issuer=ISSUER,
            client_id=CLIENT_ID,
            nonce="n-1",
            algorithms=ALGORITHMS,
            leeway=60,
            now=NOW,
        )
        assert claims["iss"] == ISSUER
    with only_ours(TokenError):
        claims = validate_jwt_access_token(
            token,
            jwks=jwks,
            issuer=ISSUER,
            audience="https://mcp.example",
            algorithms=ALGORITHMS,
            leeway=60,
            now=NOW,
        )
        assert claims["active"] is True
    assert is_jwt(token) in (True, False)
    assert isinstance(peek_claims(token), dict)


# ----------------------------------------------------------------------------- garbage

SEGMENT = st.one_of(
    st.text(max_size=20),
    st.binary(max_size=40).map(b64),
    json_values.map(b64json),
    st.integers(min_value=200, max_value=20_000).map(lambda n: b64(b"[" * n + b"]" * n)),
    st.sampled_from([b64(b'{"alg":"ES256"}'), b64(b"\xff\xfe"), "", "=", "a", "abcde"]),
)


@FUZZ
@given(token=st.text(max_size=80) | st.lists(SEGMENT, min_size=1, max_size=4).map(".".join))
def test_garbage_tokens_are_refused(token: str, jwks: JsonWebKeySet) -> None:
    validate_both(token, jwks)


# ---------------------------------------------------------------------- near-valid tokens

HEADER_VALUES = {
    "alg": st.sampled_from(["ES256"] * 4 + ["RS256"] * 3 + ["PS256", "none", "HS256", "EdDSA", ""]),
    "kid": st.sampled_from(["ec-1", "rsa-1", "unknown"]),
    "typ": st.sampled_from(["JWT", "at+jwt", "application/at+jwt", "logout+jwt", "at+JWT"]),
}
_MORE: list[dict[str, Any]] = [{}] * 8 + [
    {"crit": ["exp"]},
    {"jku": "https://evil.example/jwks"},
    {"jwk": {"kty": "oct"}},
]
MORE_HEADER = st.sampled_from(_MORE)
CLAIM_VALUES = {
    "iss": st.sampled_from([ISSUER] * 5 + [ISSUER + "/", "", "https://evil.example"]),
    "sub": st.sampled_from(["user-1"] * 5 + [""]),
    "aud": st.sampled_from(
        [CLIENT_ID, [CLIENT_ID], [CLIENT_ID, "https://mcp.example"], "https://mcp.example"]
    ),
    "azp": st.sampled_from([CLIENT_ID] * 3 + ["other"]),
    "exp": st.integers(min_value=NOW - 100, max_value=NOW + 1000),
    "iat": st.integers(min_value=NOW - 1000, max_value=NOW + 100),
    "nbf": st.integers(min_value=NOW - 1000, max_value=NOW + 100),
    "nonce": st.sampled_from(["n-1"] * 3 + ["n-2"]),
    "client_id": st.just(CLIENT_ID),
    "jti": st.text(min_size=1, max_size=8),
}


def near_valid(
    values: dict[str, st.SearchStrategy[Any]], required: tuple[str, ...]
) -> st.SearchStrategy[dict[str, Any]]:
    """An object with the ``required`` members of ``values`` and maybe others, each a value
    from ``values``; then up to two replaced by any JSON value (big numbers and NaN included)
    and maybe one removed."""
    base = st.fixed_dictionaries(
        {name: values[name] for name in required},
        optional={name: values[name] for name in values if name not in required},
    )
    names = st.sampled_from(sorted(values))
    count = st.sampled_from([0, 0, 0, 1, 1, 2])  # most tokens get past the first check
    replaced = count.flatmap(
        lambda n: st.lists(st.tuples(names, json_values | HUGE_NUMBERS), min_size=n, max_size=n)
    )
    removed = st.sampled_from([[], [], [], None]).flatmap(
        lambda none: st.lists(names, min_size=1, max_size=1) if none is None else st.just([])
    )

    def mutate(
        value: dict[str, Any], changes: list[tuple[str, Any]], drop: list[str]
    ) -> dict[str, Any]:
        value = {**value, **dict(changes)}
        for name in drop:
            value.pop(name, None)
        return value

    return st.builds(mutate, base, replaced, removed)


@st.composite
def signed_tokens(draw: st.DrawFn, keys: dict[str, Any], private: dict[str, Any]) -> str:
    """A token over a near-valid header and claims, signed with the key its header names when
    that key can make that signature, else with random bytes."""
    header = {**draw(near_valid(HEADER_VALUES, ("alg", "kid"))), **draw(MORE_HEADER)}
    alg, kid = header.get("alg"), header.get("kid")
    if isinstance(alg, str) and isinstance(kid, str) and draw(st.sampled_from([1, 1, 0])):
        # Mostly the key that can make the signature alg names, so the claims get checked.
        kid = header["kid"] = {"ES256": "ec-1", "RS256": "rsa-1", "PS256": "rsa-1"}.get(alg, kid)
    claims = draw(near_valid(CLAIM_VALUES, ("iss", "sub", "aud", "exp", "iat", "nonce")))
    signing_input = f"{b64json(header)}.{b64json(claims)}".encode()
    algorithms = get_default_algorithms()
    if alg in ("ES256", "RS256", "PS256") and isinstance(kid, str) and kid in private:
        key = private[kid]
        kind = "EC" if isinstance(key, ec.EllipticCurvePrivateKey) else "RSA"
        if kind == keys[kid]["kty"] and (alg == "ES256") == (kind == "EC"):
            signature = algorithms[alg].sign(signing_input, key)
            return f"{signing_input.decode()}.{b64(signature)}"
    return f"{signing_input.decode()}.{b64(draw(st.binary(max_size=80)))}"


@FUZZ
@given(data=st.data())
def test_near_valid_tokens_pass_or_raise_the_documented_error(
    data: st.DataObject,
    keys: dict[str, dict[str, Any]],
    jwks: JsonWebKeySet,
    rsa_key: rsa.RSAPrivateKey,
    ec_key: ec.EllipticCurvePrivateKey,
) -> None:
    token = data.draw(signed_tokens(keys, {"rsa-1": rsa_key, "ec-1": ec_key}), label="token")
    validate_both(token, jwks)


# --------------------------------------------------------------------- near-valid key sets

KEY_MEMBERS = st.sampled_from(["n", "e", "x", "y", "crv", "d"])


@st.composite
def key_sets(draw: st.DrawFn, keys: dict[str, dict[str, Any]]) -> JsonWebKeySet:
    """The server's keys with key-type members replaced by anything, and typed members by
    other valid values (so the set always structures, and the fuzzing reaches the keys)."""
    made = []
    for jwk in keys.values():
        changed = dict(jwk)
        for name in draw(st.lists(KEY_MEMBERS, max_size=3)):
            changed[name] = draw(
                st.sampled_from([["P-256"], {"crv": "P-256"}, None, 65537, True, ""])
                | json_values
                | HUGE_NUMBERS
                | st.binary(max_size=300).map(b64)
            )
        changed["kty"] = draw(st.sampled_from([jwk["kty"], "RSA", "EC", "OKP", "oct", ""]))
        if draw(st.booleans()):
            changed["alg"] = draw(st.sampled_from(["ES256", "RS256", "none"]))
        if draw(st.booleans()):
            changed["key_ops"] = draw(st.lists(st.sampled_from(["verify", "sign"]), max_size=2))
        made.append(changed)
    return converter.structure({"keys": made}, JsonWebKeySet)


@settings(FUZZ, max_examples=300)
@given(data=st.data())
def test_near_valid_key_sets_verify_or_refuse(
    data: st.DataObject,
    keys: dict[str, dict[str, Any]],
    rsa_key: rsa.RSAPrivateKey,
    ec_key: ec.EllipticCurvePrivateKey,
) -> None:
    jwks = data.draw(key_sets(keys), label="jwks")
    token = data.draw(signed_tokens(keys, {"rsa-1": rsa_key, "ec-1": ec_key}), label="token")
    validate_both(token, jwks)
