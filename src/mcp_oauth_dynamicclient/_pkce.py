"""PKCE (RFC 7636) and the other random values of an authorization request.

OAuth 2.1 clients use the ``S256`` method only (RFC 7636 §4.2); ``plain`` is never produced.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = ["code_challenge", "make_code_verifier", "make_nonce", "make_state", "same_secret"]

VERIFIER_LENGTH = 64
"""Characters in a code verifier: 64 unreserved characters carry 384 bits (RFC 7636 §7.1)."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_code_verifier() -> str:
    """A fresh code verifier, RFC 7636 §4.1: 43–128 characters of ``[A-Za-z0-9-._~]``.

    48 random bytes, base64url-encoded without padding, give 64 characters and 384 bits of
    entropy, above the 256 bits §7.1 recommends.
    """
    return _b64url(secrets.token_bytes(48))


def code_challenge(verifier: str) -> str:
    """``BASE64URL(SHA256(ASCII(code_verifier)))``, the S256 challenge of RFC 7636 §4.2."""
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def make_state() -> str:
    """An unguessable ``state`` value for CSRF protection (RFC 6749 §10.12), 256 bits."""
    return _b64url(secrets.token_bytes(32))


def make_nonce() -> str:
    """An OpenID Connect ``nonce`` (Core §3.1.2.1) binding the ID Token to this request."""
    return _b64url(secrets.token_bytes(32))


def same_secret(a: str, b: str) -> bool:
    """Compare two secrets (state values) in constant time."""
    return hmac.compare_digest(a.encode(), b.encode())
