"""PKCE (RFC 7636) and the other random values of an authorization request.

OAuth 2.1 clients use the ``S256`` method only (RFC 7636 §4.2); ``plain`` is never produced.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from .exceptions import ValidationError

__all__ = ["code_challenge", "make_code_verifier", "make_nonce", "make_state", "same_secret"]

VERIFIER_LENGTH = 64
"""Characters in a code verifier: 64 unreserved characters carry 384 bits (RFC 7636 §7.1)."""
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_code_verifier() -> str:
    """A fresh code verifier, RFC 7636 §4.1: 43–128 characters of ``[A-Za-z0-9-._~]``.

    48 random bytes, base64url-encoded without padding, give 64 characters and 384 bits of
    entropy, above the 256 bits §7.1 recommends.
    """
    return _b64url(secrets.token_bytes(48))


def code_challenge(verifier: str) -> str:
    """``BASE64URL(SHA256(ASCII(code_verifier)))``, the S256 challenge of RFC 7636 §4.2.

    Raises:
        ValidationError: ``verifier`` is not 43-128 characters of ``[A-Za-z0-9-._~]`` (§4.1).
    """
    if not isinstance(verifier, str) or not _VERIFIER.fullmatch(verifier):
        raise ValidationError(
            "code_verifier: expected 43-128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 §4.1)"
        )
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def make_state() -> str:
    """An unguessable ``state`` value for CSRF protection (RFC 6749 §10.12), 256 bits."""
    return _b64url(secrets.token_bytes(32))


def make_nonce() -> str:
    """An OpenID Connect ``nonce`` (Core §3.1.2.1) binding the ID Token to this request."""
    return _b64url(secrets.token_bytes(32))


def same_secret(a: str, b: str) -> bool:
    """Compare two secrets (state values) in constant time.

    Any two strings compare, even ones holding lone surrogates (a ``state`` given by the
    caller need not be encodable; it is then simply not the state that was sent).
    """
    return hmac.compare_digest(
        a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass")
    )
