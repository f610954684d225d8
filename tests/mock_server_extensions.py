"""Helpers of the ``tests/test_mock_server_*`` tests: an httpx client, DPoP proofs, JWT checks."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

__all__ = ["DPoPKey", "b64url_sha256", "unverified"]


def b64url_sha256(text: str) -> str:
    """base64url(SHA-256(text)) without padding: ``ath`` (RFC 9449 §4.2) and ``jkt``."""
    digest = hashlib.sha256(text.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of a JWT, unverified."""
    return jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})


class DPoPKey:
    """A client's DPoP key pair that signs proofs (RFC 9449 §4.2)."""

    def __init__(self, algorithm: str = "ES256") -> None:
        self.algorithm = algorithm
        self.private_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
        if algorithm.startswith("ES"):
            self.private_key = ec.generate_private_key(ec.SECP256R1())
            jwk = jwt.algorithms.ECAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
            members = {k: jwk[k] for k in ("crv", "kty", "x", "y")}
        else:
            self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
            members = {k: jwk[k] for k in ("e", "kty", "n")}
        self.jwk: dict[str, Any] = jwk
        canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
        digest = hashlib.sha256(canonical.encode()).digest()
        #: The RFC 7638 SHA-256 thumbprint of the public key.
        self.jkt = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def proof(
        self,
        method: str,
        url: str,
        *,
        access_token: str | None = None,
        nonce: str | None = None,
        iat: float | None = None,
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """A DPoP proof for ``method url`` (``ath`` when ``access_token`` is given)."""
        body: dict[str, Any] = {
            "jti": secrets.token_urlsafe(12),
            "htm": method,
            "htu": url,
            "iat": int(time.time() if iat is None else iat),
        }
        if access_token is not None:
            body["ath"] = b64url_sha256(access_token)
        if nonce is not None:
            body["nonce"] = nonce
        body.update(claims)
        header = {"typ": "dpop+jwt", "jwk": self.jwk, **(headers or {})}
        return jwt.encode(body, self.private_key, algorithm=self.algorithm, headers=header)
