"""Client authentication with a signed JWT assertion: RFC 7523 §2.2 and §3, OIDC Core §9.

``private_key_jwt`` signs the assertion with the client's private key (its public half is in the
client's registered ``jwks`` or ``jwks_uri``); ``client_secret_jwt`` signs it with an HMAC keyed
by the client secret. Both implement the ``ClientAuth`` protocol of :mod:`.runtime`: ``apply``
adds ``client_assertion_type`` (RFC 7521 §4.2) and a fresh ``client_assertion`` to the form.

The assertion's claims (RFC 7523 §3, OIDC Core §9): ``iss`` and ``sub`` are the client ID;
``aud`` is ``audience`` when given, else the URL of the endpoint the request goes to; ``jti`` is
random and new for every request; ``iat`` is now and ``exp`` is ``lifetime`` seconds later.

On ``aud``: OIDC Core §9 suggests the token endpoint URL, but the IETF's update to RFC 7523
(draft-ietf-oauth-rfc7523bis) recommends the authorization server's issuer identifier as the
single audience, since an assertion aimed at an endpoint URL can be replayed by whoever runs
that URL. Pass ``audience=<issuer>`` when the server accepts it.

pyjwt (the ``[jwt]`` extra) is imported when an instance is created, never at module import;
without it construction raises :class:`ConfigurationError`. Keys and algorithms are checked at
construction too, so a bad configuration fails before any request. Neither the private key nor
the secret appears in a ``repr``.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any

import attrs

from ._jwt import ASYMMETRIC_ALGORITHMS, MIN_RSA_BITS, require_pyjwt
from .exceptions import ConfigurationError
from .runtime import FormValue, redact

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

__all__ = ["CLIENT_ASSERTION_TYPE", "ClientSecretJwt", "PrivateKeyJwt"]

#: RFC 7523 §2.2: the ``client_assertion_type`` of a JWT client assertion.
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

#: RFC 7518 §3.2: an HMAC key at least as long as the hash output.
_HMAC_KEY_BYTES = {"HS256": 32, "HS384": 48, "HS512": 64}

#: The cryptography curve name each ECDSA algorithm signs with (RFC 7518 §3.4, RFC 8812 §3.2).
_EC_CURVES = {
    "ES256": "secp256r1",
    "ES384": "secp384r1",
    "ES512": "secp521r1",
    "ES256K": "secp256k1",
}


def _check_lifetime(lifetime: int) -> None:
    if isinstance(lifetime, bool) or not isinstance(lifetime, int) or lifetime <= 0:
        raise ConfigurationError(f"lifetime must be a positive number of seconds, got {lifetime!r}")


def _add_assertion(
    form: dict[str, FormValue],
    *,
    client_id: str,
    audience: str,
    lifetime: int,
    key: Any,
    algorithm: str,
    key_id: str | None = None,
) -> None:
    """Put a new signed client assertion in ``form`` (RFC 7523 §2.2), with the claims of
    RFC 7523 §3 and OIDC Core §9 and a fresh ``jti``."""
    import jwt

    issued_at = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": secrets.token_urlsafe(32),
        "iat": issued_at,
        "exp": issued_at + lifetime,
    }
    headers = {"kid": key_id} if key_id is not None else None
    form["client_assertion_type"] = CLIENT_ASSERTION_TYPE
    form["client_assertion"] = jwt.encode(claims, key, algorithm=algorithm, headers=headers)


def _load_private_key(private_key: str | bytes | PrivateKeyTypes, algorithm: str) -> Any:
    """The private key as a cryptography object able to sign ``algorithm``.

    Raises:
        ConfigurationError: the key is not an unencrypted PEM private key or a cryptography
            private key of the family (and curve, and size) ``algorithm`` needs.
    """
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

    key: Any = private_key
    if isinstance(private_key, (str, bytes)):
        data = private_key.encode("utf-8") if isinstance(private_key, str) else private_key
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise ConfigurationError(
                "private_key is not an unencrypted PEM private key; load an encrypted key with "
                "cryptography and pass the key object"
            ) from None
    kty = ASYMMETRIC_ALGORITHMS[algorithm][0]
    if kty == "RSA":
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ConfigurationError(f"{algorithm} needs an RSA private key")
        if key.key_size < MIN_RSA_BITS:
            raise ConfigurationError(
                f"{algorithm} needs an RSA key of at least {MIN_RSA_BITS} bits (RFC 7518 §3.3)"
            )
    elif kty == "EC":
        curve = _EC_CURVES[algorithm]
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != curve:
            raise ConfigurationError(f"{algorithm} needs an EC private key on curve {curve}")
    elif not isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)):
        raise ConfigurationError(f"{algorithm} needs an Ed25519 or Ed448 private key")
    return key


@attrs.frozen
class PrivateKeyJwt:
    """``private_key_jwt``: a client assertion signed with the client's private key.

    RFC 7523 §2.2 and §3, OpenID Connect Core §9. ``algorithm`` is an asymmetric JWS algorithm
    (RS*, PS*, ES*, EdDSA); ``none`` and HS* are refused.

    Args:
        client_id: The client ID: the assertion's ``iss`` and ``sub``.
        private_key: A PEM private key (``str`` or ``bytes``, unencrypted) or a cryptography
            private key object.
        algorithm: The JWS ``alg``; ``RS256`` unless the server asks for another.
        key_id: The ``kid`` header, naming the key in the client's registered JWK Set.
        lifetime: Seconds from ``iat`` to ``exp``.
        audience: The ``aud`` claim; the endpoint URL the request goes to when ``None``.

    Raises:
        ConfigurationError: pyjwt is missing, or the algorithm, key or lifetime is unusable.
    """

    client_id: str
    private_key: str | bytes | PrivateKeyTypes = attrs.field(repr=redact)
    algorithm: str = "RS256"
    key_id: str | None = None
    lifetime: int = 60
    audience: str | None = None
    _signing_key: Any = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        require_pyjwt()
        if self.algorithm not in ASYMMETRIC_ALGORITHMS:
            supported = ", ".join(ASYMMETRIC_ALGORITHMS)
            raise ConfigurationError(
                f"private_key_jwt needs an asymmetric algorithm ({supported}), "
                f"got {self.algorithm!r}"
            )
        _check_lifetime(self.lifetime)
        key = _load_private_key(self.private_key, self.algorithm)
        object.__setattr__(self, "_signing_key", key)

    def apply(self, url: str, form: dict[str, FormValue], headers: dict[str, str]) -> None:
        """Add ``client_assertion_type`` and a new ``client_assertion`` for ``url``."""
        _add_assertion(
            form,
            client_id=self.client_id,
            audience=self.audience if self.audience is not None else url,
            lifetime=self.lifetime,
            key=self._signing_key,
            algorithm=self.algorithm,
            key_id=self.key_id,
        )


@attrs.frozen
class ClientSecretJwt:
    """``client_secret_jwt``: a client assertion with an HMAC keyed by the client secret.

    RFC 7523 §2.2 and §3, OpenID Connect Core §9. ``algorithm`` is HS256, HS384 or HS512, and
    the secret must be at least as long as the hash output (32, 48 or 64 bytes; RFC 7518 §3.2):
    a shorter one is refused rather than used, so prefer ``client_secret_basic`` then.

    Args:
        client_id: The client ID: the assertion's ``iss`` and ``sub``.
        client_secret: The client secret the server issued.
        algorithm: The JWS ``alg``.
        lifetime: Seconds from ``iat`` to ``exp``.
        audience: The ``aud`` claim; the endpoint URL the request goes to when ``None``.

    Raises:
        ConfigurationError: pyjwt is missing, or the algorithm, secret or lifetime is unusable.
    """

    client_id: str
    client_secret: str = attrs.field(repr=redact)
    algorithm: str = "HS256"
    lifetime: int = 60
    audience: str | None = None

    def __attrs_post_init__(self) -> None:
        require_pyjwt()
        minimum = _HMAC_KEY_BYTES.get(self.algorithm)
        if minimum is None:
            raise ConfigurationError(
                f"client_secret_jwt needs HS256, HS384 or HS512, got {self.algorithm!r}"
            )
        _check_lifetime(self.lifetime)
        if not isinstance(self.client_secret, str) or not self.client_secret:
            raise ConfigurationError("client_secret_jwt needs a non-empty client secret")
        if len(self.client_secret.encode("utf-8")) < minimum:
            raise ConfigurationError(
                f"the client secret is too short for {self.algorithm}: it needs at least "
                f"{minimum} bytes (RFC 7518 §3.2); use client_secret_basic instead"
            )

    def apply(self, url: str, form: dict[str, FormValue], headers: dict[str, str]) -> None:
        """Add ``client_assertion_type`` and a new ``client_assertion`` for ``url``."""
        _add_assertion(
            form,
            client_id=self.client_id,
            audience=self.audience if self.audience is not None else url,
            lifetime=self.lifetime,
            key=self.client_secret.encode("utf-8"),
            algorithm=self.algorithm,
        )
