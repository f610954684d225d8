"""The server's signing key: RS256 ID tokens (OpenID Connect Core §2) and the JWK Set (RFC 7517).

Generating an RSA key takes tens of milliseconds, so one key is made per process, on first use,
and shared by every mock server in it; tests see a different key ID per process, never per
server.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from .._generated import JsonWebKeySet, converter

__all__ = ["SigningKey", "signing_key"]


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

    def sign(self, claims: dict[str, Any]) -> str:
        """A compact JWS of ``claims`` (RFC 7515 §7.1) with ``kid`` in the header."""
        return jwt.encode(
            claims, self._private_key, algorithm=self.algorithm, headers={"kid": self.key_id}
        )

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
