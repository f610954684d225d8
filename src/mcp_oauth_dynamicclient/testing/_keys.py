"""The server's signing key: RS256 ID tokens (OpenID Connect Core §2), RFC 9068 JWT access
tokens, ID-JAGs, and the JWK Set (RFC 7517).

Generating an RSA key takes tens of milliseconds, so one key is made per process, on first use,
and shared by every mock server in it; tests see a different key ID per process, never per
server.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Mapping
from typing import Any

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from .._generated import JsonWebKeySet, converter

__all__ = ["SigningKey", "TrustedKeys", "public_keys", "signing_key"]

_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "k"})


class SigningKey:
    """An RSA key pair with a key ID (the RFC 7638 thumbprint of its public JWK)."""

    algorithm = "RS256"

    def __init__(self, private_key: rsa.RSAPrivateKey) -> None:
        self._private_key = private_key
        public: dict[str, Any] = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
        members = json.dumps(
            {"e": public["e"], "kty": "RSA", "n": public["n"]}, separators=(",", ":")
        )
        digest = hashlib.sha256(members.encode()).digest()
        self.key_id = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        self._public_jwk = {
            "kty": "RSA",
            "use": "sig",
            "alg": self.algorithm,
            "kid": self.key_id,
            "n": public["n"],
            "e": public["e"],
        }

    def jwks(self) -> JsonWebKeySet:
        """The public JWK Set served at ``jwks_uri`` (RFC 8414 §2, RFC 7517 §5)."""
        return converter.structure({"keys": [self._public_jwk]}, JsonWebKeySet)

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        """The public half, to verify what :meth:`sign` signed."""
        return self._private_key.public_key()

    def public_jwks(self) -> dict[str, Any]:
        """The JWK Set as a plain JSON object (a copy)."""
        return {"keys": [dict(self._public_jwk)]}

    def sign(self, claims: dict[str, Any], *, typ: str | None = None) -> str:
        """A compact JWS of ``claims`` (RFC 7515 §7.1) with ``kid`` (and ``typ``, RFC 7515
        §4.1.9, when given) in the header."""
        headers = {"kid": self.key_id} if typ is None else {"kid": self.key_id, "typ": typ}
        return jwt.encode(claims, self._private_key, algorithm=self.algorithm, headers=headers)

    def verify(self, token: str, *, typ: str | None = None) -> dict[str, Any]:
        """The claims of a JWS this key signed (any ``exp`` is left to the caller).

        Raises:
            jwt.PyJWTError: a bad signature, another ``typ`` or a malformed token.
        """
        header = jwt.get_unverified_header(token)
        if header.get("typ") != typ and not (typ is None and header.get("typ") == "JWT"):
            raise jwt.InvalidTokenError(f"the token's typ is not {typ}")
        claims: dict[str, Any] = jwt.decode(
            token,
            self.public_key,
            algorithms=[self.algorithm],
            options={"verify_exp": False, "verify_aud": False, "verify_iat": False},
        )
        return claims

    @staticmethod
    def token_hash(token: str) -> str:
        """``at_hash`` of OpenID Connect Core §3.1.3.6: the left half of SHA-256, base64url."""
        digest = hashlib.sha256(token.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


_lock = threading.Lock()
_key: list[SigningKey] = []


def signing_key() -> SigningKey:
    """The process-wide signing key, generated on first call."""
    with _lock:
        if not _key:
            _key.append(SigningKey(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
        return _key[0]


#: A trusted issuer's public keys as a knob takes them: a JWK Set object or a PEM public key.
TrustedKeys = Mapping[str, Any] | str


def public_keys(value: TrustedKeys) -> list[tuple[str | None, Any]]:
    """The ``(kid, key)`` pairs of a JWK Set (RFC 7517 §5) or a PEM public key, to verify JWTs.

    Raises:
        ValueError: the value holds no usable public key, or a private one.
    """
    if isinstance(value, str):
        try:
            key = serialization.load_pem_public_key(value.encode())
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise ValueError("not a PEM public key") from None
        return [(None, key)]
    keys = value.get("keys") if isinstance(value, Mapping) else None
    if not isinstance(keys, list) or not keys:
        raise ValueError("not a JWK Set with keys")
    if any(isinstance(k, Mapping) and _PRIVATE_MEMBERS & k.keys() for k in keys):
        raise ValueError("the JWK Set holds a private key")
    try:
        parsed = jwt.PyJWKSet.from_dict(dict(value)).keys
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
        raise ValueError("the JWK Set holds no usable public key") from None
    return [(k.key_id, k.key) for k in parsed]
