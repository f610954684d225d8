"""DPoP: sender-constrained tokens by proof of possession of a key (RFC 9449).

A client that uses DPoP holds an asymmetric key pair. With every token request and every
request to a protected resource it sends a ``DPoP`` header: a fresh JWT signed with that key
(the *proof*, §4.2) whose header carries the public key (``jwk``) and whose claims bind it to
this one request: ``htm`` (the method), ``htu`` (the URL without query and fragment), ``iat``,
a unique ``jti``, and, at a resource, ``ath`` (the SHA-256 of the access token, §4.2) and the
server's ``nonce`` when it asked for one (§8, §9). The authorization server binds the tokens it
issues to the key's RFC 7638 thumbprint (``cnf.jkt``, §6), says so with ``token_type: DPoP``,
and the resource accepts them only with ``Authorization: DPoP <token>`` and a proof by that key
(§7.1). A stolen DPoP token is useless without the private key.

The key is ES256 (P-256) unless the application gives its own. It is kept with the tokens it is
bound to (``TokenResponse.dpop_key``, the PKCS #8 PEM, never in a ``repr``), so a restarted
client still proves possession of the key its stored tokens, refresh tokens included (§5), are
bound to.

Nonces (§8, §9): a server that wants a nonce answers ``use_dpop_nonce`` with a ``DPoP-Nonce``
header; the request is sent again, once, with it. The last nonce of each server (origin) is
remembered for the next proofs, and replaced by any ``DPoP-Nonce`` a later answer carries.

pyjwt with cryptography (the ``[jwt]`` extra) is imported on first use.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from ._jwt import ASYMMETRIC_ALGORITHMS, require_pyjwt
from .exceptions import ConfigurationError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

    from .runtime import ClientAuth, FormValue

__all__ = [
    "DPOP_ALGORITHMS",
    "DPoPKey",
    "DPoPNonces",
    "ProofOfPossession",
    "access_token_hash",
    "http_uri",
]

#: The JWS algorithms a DPoP key may sign proofs with (RFC 9449 §4.2: asymmetric only).
DPOP_ALGORITHMS = tuple(ASYMMETRIC_ALGORITHMS)

#: RFC 7638 §3.2: the members of a public JWK its thumbprint is computed over, per key type.
_THUMBPRINT_MEMBERS = {
    "EC": ("crv", "kty", "x", "y"),
    "RSA": ("e", "kty", "n"),
    "OKP": ("crv", "kty", "x"),
}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def access_token_hash(access_token: str) -> str:
    """The ``ath`` claim: base64url of the SHA-256 of the access token's ASCII (RFC 9449 §4.2)."""
    return _b64url(hashlib.sha256(access_token.encode("ascii")).digest())


def http_uri(url: str) -> str:
    """The ``htu`` claim: the request's URL without its query and fragment (RFC 9449 §4.2)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def origin(url: str) -> str:
    """The server a nonce belongs to: scheme, host and port of ``url`` (RFC 6454 §4)."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


class DPoPKey:
    """A DPoP key pair: the private key signs proofs, the public JWK goes in their header.

    Build one with :meth:`generate` or :meth:`from_pem`. ``thumbprint`` is the RFC 7638
    SHA-256 thumbprint the server binds tokens to (``cnf.jkt``, RFC 9449 §6.1). The private
    key never appears in a ``repr``.

    Raises:
        ConfigurationError: pyjwt is missing, or the key cannot sign ``algorithm``.
    """

    __slots__ = ("_header", "_key", "_pem", "_signer", "algorithm", "public_jwk", "thumbprint")

    def __init__(self, private_key: PrivateKeyTypes, algorithm: str = "ES256") -> None:
        from ._client_auth_jwt import _load_private_key

        require_pyjwt()
        if algorithm not in ASYMMETRIC_ALGORITHMS:
            raise ConfigurationError(
                f"dpop_algorithm: a DPoP proof is signed with an asymmetric algorithm "
                f"({', '.join(DPOP_ALGORITHMS)}), got {algorithm!r} (RFC 9449 §4.2)"
            )
        self._key: Any = _load_private_key(private_key, algorithm)
        self.algorithm = algorithm
        self.public_jwk = _public_jwk(self._key)
        members = _THUMBPRINT_MEMBERS[self.public_jwk["kty"]]
        canonical = json.dumps(
            {name: self.public_jwk[name] for name in members}, separators=(",", ":")
        )
        self.thumbprint = _b64url(hashlib.sha256(canonical.encode("utf-8")).digest())
        self._pem: str | None = None
        # The JWS protected header is the same for every proof of this key: encoded once.
        header = {"alg": algorithm, "typ": "dpop+jwt", "jwk": self.public_jwk}
        self._header = _b64url(json.dumps(header, separators=(",", ":")).encode("utf-8"))
        from jwt.algorithms import get_default_algorithms

        self._signer: Any = get_default_algorithms()[algorithm]

    def __repr__(self) -> str:
        return f"DPoPKey(algorithm={self.algorithm!r}, thumbprint={self.thumbprint!r})"

    @classmethod
    def generate(cls, algorithm: str = "ES256") -> DPoPKey:
        """A new key for ``algorithm`` (ES256 by default: a P-256 key; RSA keys are 2048 bits)."""
        require_pyjwt()
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

        from ._client_auth_jwt import _EC_CURVES

        kty = ASYMMETRIC_ALGORITHMS.get(algorithm, ("",))[0]
        key: Any
        if kty == "EC":
            key = ec.generate_private_key(_curve(_EC_CURVES[algorithm]))
        elif kty == "RSA":
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        elif kty == "OKP":
            key = ed25519.Ed25519PrivateKey.generate()
        else:
            raise ConfigurationError(
                f"dpop_algorithm: expected one of {', '.join(DPOP_ALGORITHMS)}, got {algorithm!r}"
            )
        return cls(key, algorithm)

    @classmethod
    def from_pem(cls, pem: str | bytes, algorithm: str | None = None) -> DPoPKey:
        """The key of an unencrypted PEM private key; ``algorithm`` defaults to the key's
        family (ES256/ES384/ES512 by curve, RS256 for RSA, EdDSA for Ed25519)."""
        require_pyjwt()
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives import serialization

        data = pem.encode("utf-8") if isinstance(pem, str) else pem
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise ConfigurationError(
                "dpop_key is not an unencrypted PEM private key (PKCS #8 or traditional)"
            ) from None
        made = cls(key, algorithm or _default_algorithm(key))
        if isinstance(pem, str):
            made._pem = pem
        return made

    def to_pem(self) -> str:
        """The private key as unencrypted PKCS #8 PEM: what the token storage keeps."""
        if self._pem is None:
            from cryptography.hazmat.primitives import serialization

            self._pem = self._key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode("ascii")
        return self._pem

    def proof(
        self,
        method: str,
        url: str,
        *,
        access_token: str | None = None,
        nonce: str | None = None,
        now: float | None = None,
    ) -> str:
        """A new DPoP proof for one request (RFC 9449 §4.2): ``typ`` ``dpop+jwt``, the public
        ``jwk``, and claims ``jti`` (random, never reused), ``htm``, ``htu``, ``iat``, plus
        ``ath`` when an ``access_token`` goes with it and ``nonce`` when the server gave one."""
        claims: dict[str, Any] = {
            "jti": secrets.token_urlsafe(24),
            "htm": method.upper(),
            "htu": http_uri(url),
            "iat": int(time.time() if now is None else now),
        }
        if access_token is not None:
            claims["ath"] = access_token_hash(access_token)
        if nonce is not None:
            claims["nonce"] = nonce
        payload = _b64url(json.dumps(claims, separators=(",", ":")).encode("utf-8"))
        signing_input = f"{self._header}.{payload}"
        signature = self._signer.sign(signing_input.encode("ascii"), self._key)  # JWS form
        return f"{signing_input}.{_b64url(signature)}"


def _curve(name: str) -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec

    curves: dict[str, type[ec.EllipticCurve]] = {
        "secp256r1": ec.SECP256R1,
        "secp384r1": ec.SECP384R1,
        "secp521r1": ec.SECP521R1,
        "secp256k1": ec.SECP256K1,
    }
    return curves[name]()


def _default_algorithm(key: Any) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if isinstance(key, ec.EllipticCurvePrivateKey):
        return {"secp384r1": "ES384", "secp521r1": "ES512", "secp256k1": "ES256K"}.get(
            key.curve.name, "ES256"
        )
    if isinstance(key, rsa.RSAPrivateKey):
        return "RS256"
    return "EdDSA"


def _public_jwk(key: Any) -> dict[str, Any]:
    """The public half of ``key`` as a JWK (RFC 7517), without ``d`` or other private members."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

    public = key.public_key()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        jwk: dict[str, Any] = ECAlgorithm.to_jwk(public, as_dict=True)
    elif isinstance(key, rsa.RSAPrivateKey):
        jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
    else:
        jwk = OKPAlgorithm.to_jwk(public, as_dict=True)
    return {
        name: value for name, value in jwk.items() if name in ("kty", "crv", "x", "y", "n", "e")
    }


class DPoPNonces:
    """The last ``DPoP-Nonce`` each server (origin) gave (RFC 9449 §8, §9); thread-safe."""

    __slots__ = ("_lock", "_nonces")

    def __init__(self) -> None:
        self._nonces: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, url: str) -> str | None:
        """The nonce to put in a proof for a request to ``url``, if its server gave one."""
        return self._nonces.get(origin(url))

    def update(self, url: str, headers: Mapping[str, str]) -> str | None:
        """Remember the ``DPoP-Nonce`` of an answer from ``url``'s server; returns it (or None).

        A value that is not a nonce (RFC 9449 §8.1: 1*NQCHAR, printable ASCII without ``"``
        and ``\\``) is ignored rather than put in a signed proof.
        """
        value = headers.get("dpop-nonce")
        if not value or not all(0x21 <= ord(c) <= 0x7E and c not in '"\\' for c in value):
            return None
        with self._lock:
            self._nonces[origin(url)] = value
        return value


class ProofOfPossession:
    """Client authentication plus a DPoP proof: a token request's ``ClientAuth`` (see
    :mod:`.runtime`) that adds a new ``DPoP`` header to every attempt (RFC 9449 §5), with the
    server's last nonce (§8)."""

    __slots__ = ("clock", "inner", "key", "nonces")

    def __init__(
        self, inner: ClientAuth, key: DPoPKey, nonces: DPoPNonces, clock: Callable[[], float]
    ) -> None:
        self.inner, self.key, self.nonces, self.clock = inner, key, nonces, clock

    def apply(self, url: str, form: dict[str, FormValue], headers: dict[str, str]) -> None:
        """The client's credentials, then ``DPoP: <proof for POST url>``."""
        self.inner.apply(url, form, headers)
        nonce = self.nonces.get(url)
        headers["DPoP"] = self.key.proof("POST", url, nonce=nonce, now=self.clock())
