"""Validating signed JWTs: OpenID Connect ID tokens and RFC 9068 JWT access tokens.

Both are JWS compact serializations (RFC 7515 §7.1) signed with a key the server publishes in
its JWK Set (RFC 7517 §5). Validation runs in a fixed order, and claims are only looked at once
the signature holds:

1. The token is parsed strictly: three base64url segments (RFC 7515 §2, no padding), a header
   and a claims set that are JSON objects with unique member names (RFC 7519 §4), no ``NaN``
   or ``Infinity``, nested no deeper than ``_json.MAX_DEPTH``.
2. The header: ``alg`` must be in the caller's allowlist *and* asymmetric. ``none`` and the
   ``HS*`` family are refused even when listed: a token checked against a public JWK Set must
   be signed with the matching private key, and accepting an HMAC over the public key is the
   classic key-confusion attack (RFC 8725 §2.1, §3.1). A ``crit`` header is refused, since no
   extension is understood here (RFC 7515 §4.1.11). ``typ`` keeps an access token from passing
   as an ID token and the reverse (RFC 8725 §3.11, RFC 9068 §4).
3. The key comes only from the JWK Set given, never from the token's ``jwk``, ``jku``,
   ``x5u`` or ``x5c`` header: the key whose ``kid`` matches, or, when the header has no
   ``kid``, the one key able to verify ``alg`` (OpenID Connect Core §10.1). A key is able when
   its ``kty`` (and ``crv``) fit ``alg`` and its ``use``, ``key_ops`` and ``alg`` members, when
   present, allow signature verification with that algorithm. RSA keys shorter than 2048 bits
   are refused (RFC 7518 §3.3).
4. The claims, each check naming what failed.

pyjwt (the ``[jwt]`` extra) does the cryptography and is imported only when a token is
verified, so the package imports without it; using these functions without it raises
:class:`ConfigurationError`. Every validation failure raises :class:`AuthorizationError` (ID
tokens, ``error_code="invalid_id_token"``) or :class:`TokenError` (access tokens,
``error_code="invalid_token"``); messages never contain the token.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
import re
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from ._json import loads
from .exceptions import AuthorizationError, ConfigurationError, TokenError

if TYPE_CHECKING:
    from ._generated.models import JsonWebKey, JsonWebKeySet

__all__ = [
    "ASYMMETRIC_ALGORITHMS",
    "INSTALL_HINT",
    "MIN_RSA_BITS",
    "is_jwt",
    "require_pyjwt",
    "validate_id_token",
    "validate_jwt_access_token",
]

INSTALL_HINT = 'pip install "mcp-oauth-dynamicclient[jwt]"'

#: The JWS algorithms accepted for tokens verified against a JWK Set (RFC 7518 §3.1, RFC 8037
#: §3.1), each with the ``kty`` and, for curves, the ``crv`` values of a key that can verify it.
ASYMMETRIC_ALGORITHMS: dict[str, tuple[str, frozenset[str]]] = {
    "RS256": ("RSA", frozenset()),
    "RS384": ("RSA", frozenset()),
    "RS512": ("RSA", frozenset()),
    "PS256": ("RSA", frozenset()),
    "PS384": ("RSA", frozenset()),
    "PS512": ("RSA", frozenset()),
    "ES256": ("EC", frozenset({"P-256"})),
    "ES384": ("EC", frozenset({"P-384"})),
    "ES512": ("EC", frozenset({"P-521"})),
    "ES256K": ("EC", frozenset({"secp256k1"})),
    "EdDSA": ("OKP", frozenset({"Ed25519", "Ed448"})),
}

#: The public members of each key type (RFC 7518 §6.2.1, §6.3.1; RFC 8037 §2). Only these reach
#: pyjwt, so a JWK Set that wrongly publishes private members still yields a public key.
_PUBLIC_MEMBERS = {"RSA": ("n", "e"), "EC": ("crv", "x", "y"), "OKP": ("crv", "x")}

#: RFC 7518 §3.3: RSA keys of at least 2048 bits.
MIN_RSA_BITS = 2048
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})
_ACCESS_TOKEN_CLAIMS = ("sub", "client_id", "jti")


def require_pyjwt() -> None:
    """Check that pyjwt and cryptography are installed (the ``[jwt]`` extra).

    Raises:
        ConfigurationError: either is missing; the message says what to install.
    """
    try:
        import jwt.algorithms
    except ImportError:
        raise ConfigurationError(f"JWT support needs PyJWT: {INSTALL_HINT}") from None
    if not jwt.algorithms.has_crypto:
        message = f"JWT signatures need PyJWT with cryptography: {INSTALL_HINT}"
        raise ConfigurationError(message)


class _Refused(Exception):
    """A validation step failed; the public functions turn it into the typed error."""


class _Jws(NamedTuple):
    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes


def _show(value: object) -> str:
    """A received value for a message: its ``repr``, cut short (it is attacker-controlled)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ------------------------------------------------------------------------------ parsing


def _b64decode(segment: str, name: str) -> bytes:
    """Strict base64url without padding (RFC 7515 §2, Appendix C)."""
    if not _B64URL.fullmatch(segment) or len(segment) % 4 == 1:
        raise _Refused(f"the {name} is not base64url")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise _Refused(f"the {name} is not base64url") from None


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate member {key!r}")
        result[key] = value
    return result


def _json_object(data: bytes, name: str) -> dict[str, Any]:
    try:
        # loads refuses NaN, Infinity and nesting past _json.MAX_DEPTH itself.
        value = loads(data.decode("utf-8"), object_pairs_hook=_unique_members)
    except ValueError as exc:  # UnicodeDecodeError, JSONDecodeError, JsonTooDeep
        raise _Refused(f"the {name} is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise _Refused(f"the {name} is not a JSON object")
    return value


def _parse(token: object) -> _Jws:
    """Split a JWS compact serialization (RFC 7515 §7.1) into its parts."""
    if not isinstance(token, str):
        raise _Refused(f"expected a string, got {type(token).__name__}")
    segments = token.split(".")
    if len(segments) != 3:
        raise _Refused(f"expected three dot-separated segments, got {len(segments)}")
    header_b64, claims_b64, signature_b64 = segments
    header = _json_object(_b64decode(header_b64, "header"), "header")
    claims = _json_object(_b64decode(claims_b64, "claims set"), "claims set")
    signature = _b64decode(signature_b64, "signature")
    signing_input = f"{header_b64}.{claims_b64}".encode("ascii")
    return _Jws(header, claims, signing_input, signature)


def peek_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT this client already validated, read without checking anything.

    For reading back what an earlier, verified token said (the ``nonce`` of the ID Token a
    refreshed one must match); never for deciding whether to trust a token. ``{}`` when the
    token cannot be read.
    """
    try:
        return _parse(token).claims
    except _Refused:
        return {}


def is_jwt(token: str) -> bool:
    """Whether ``token`` looks like a JWS-compact JWT (RFC 7519 §7.2) rather than an opaque token.

    True when it has three base64url segments and the first decodes to a JSON object with an
    ``alg`` member. Nothing is verified; pyjwt is not needed.
    """
    if not isinstance(token, str):
        return False
    segments = token.split(".")
    if len(segments) != 3:
        return False
    try:
        header = _json_object(_b64decode(segments[0], "header"), "header")
    except _Refused:
        return False
    return isinstance(header.get("alg"), str)


# --------------------------------------------------------------------------- signatures


def _algorithm(header: dict[str, Any], algorithms: Sequence[str]) -> str:
    """The header's ``alg``, if the caller allows it and it is asymmetric (RFC 8725 §3.1)."""
    alg = header.get("alg")
    if not isinstance(alg, str) or not alg:
        raise _Refused("the header has no alg")
    if alg.lower() == "none":
        raise _Refused("unsigned tokens (alg none) are never accepted")
    if alg.upper().startswith("HS"):
        raise _Refused(
            f"alg {_show(alg)} is symmetric; a token verified with the server's JWK Set must "
            "use an asymmetric algorithm"
        )
    if alg not in algorithms:
        allowed = ", ".join(algorithms) or "none"
        raise _Refused(f"alg {_show(alg)} is not among the allowed algorithms ({allowed})")
    if alg not in ASYMMETRIC_ALGORITHMS:
        raise _Refused(f"alg {_show(alg)} is not supported")
    return alg


def _can_verify(key: JsonWebKey, alg: str) -> bool:
    """Whether ``key`` may verify an ``alg`` signature (RFC 7517 §4.2-§4.4, RFC 7518 §6)."""
    kty, curves = ASYMMETRIC_ALGORITHMS[alg]
    crv = key.extra.get("crv")  # a key-type member, kept as the server sent it: any JSON
    if key.kty != kty or (curves and not (isinstance(crv, str) and crv in curves)):
        return False
    if key.use is not None and key.use != "sig":
        return False
    if key.key_ops is not None and "verify" not in key.key_ops:
        return False
    return key.alg is None or key.alg == alg


def _select_key(header: dict[str, Any], jwks: JsonWebKeySet, alg: str) -> JsonWebKey:
    """The JWK Set key for this token: by ``kid``, else the only able one (OIDC Core §10.1)."""
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise _Refused("the header's kid is not a string")
    if kid is not None:
        named = [key for key in jwks.keys if key.kid == kid]
        if not named:
            raise _Refused(f"no key in the JWK Set has kid {_show(kid)}")
        able = [key for key in named if _can_verify(key, alg)]
        if not able:
            raise _Refused(f"the JWK Set key {_show(kid)} cannot verify {alg} signatures")
        if len(able) > 1:
            raise _Refused(f"several JWK Set keys have kid {_show(kid)}")
        return able[0]
    able = [key for key in jwks.keys if _can_verify(key, alg)]
    if not able:
        raise _Refused(f"the JWK Set has no key that can verify {alg} signatures")
    if len(able) > 1:
        raise _Refused(f"the header has no kid and several JWK Set keys can verify {alg}")
    return able[0]


def _verify_signature(jws: _Jws, key: JsonWebKey, alg: str) -> None:
    """Check the signature with ``key``; pyjwt builds the key and does the arithmetic."""
    import jwt

    name = f"the JWK Set key {_show(key.kid)}" if key.kid is not None else "the JWK Set key"
    data: dict[str, Any] = {"kty": key.kty}
    for member in _PUBLIC_MEMBERS[key.kty]:
        if member in key.extra:
            data[member] = key.extra[member]
    try:
        public = jwt.PyJWK(data, algorithm=alg)
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
        raise _Refused(f"{name} is not a valid {key.kty} public key") from None
    if key.kty == "RSA" and public.key.key_size < MIN_RSA_BITS:
        raise _Refused(f"{name} is shorter than {MIN_RSA_BITS} bits")
    try:
        valid = public.Algorithm.verify(jws.signing_input, public.key, jws.signature)
    except (jwt.PyJWTError, ValueError, TypeError):
        valid = False
    if not valid:
        raise _Refused(f"the signature does not verify with {name}")


def _verified(
    token: str,
    jwks: JsonWebKeySet,
    algorithms: Sequence[str],
    check_typ: Callable[[object], None],
) -> dict[str, Any]:
    """Parse, check the header and the signature; return the claims set."""
    require_pyjwt()  # first, so a missing extra is reported whatever the token
    jws = _parse(token)
    alg = _algorithm(jws.header, algorithms)
    if "crit" in jws.header:
        raise _Refused("the header lists critical extensions (crit), none of which is supported")
    check_typ(jws.header.get("typ"))
    _verify_signature(jws, _select_key(jws.header, jwks, alg), alg)
    return jws.claims


# ------------------------------------------------------------------------------- claims


def _string_claim(claims: dict[str, Any], name: str) -> str:
    value = claims.get(name)
    if value is None:
        raise _Refused(f"the {name} claim is missing")
    if not isinstance(value, str) or not value:
        raise _Refused(f"the {name} claim is not a non-empty string")
    return value


def _number_claim(claims: dict[str, Any], name: str) -> float | None:
    """A NumericDate claim (RFC 7519 §2): a JSON number, never a boolean or a string."""
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Refused(f"the {name} claim is not a number")
    try:
        number = float(value)
    except OverflowError:  # an integer past 1e308: JSON has no limit, a float has
        number = math.inf
    if not math.isfinite(number):
        raise _Refused(f"the {name} claim is not a finite number")
    return number


def _required_number_claim(claims: dict[str, Any], name: str) -> float:
    value = _number_claim(claims, name)
    if value is None:
        raise _Refused(f"the {name} claim is missing")
    return value


def _check_issuer(claims: dict[str, Any], issuer: str) -> None:
    """``iss`` must equal the expected issuer exactly (OIDC Core §3.1.3.7 step 2, RFC 9068 §4)."""
    if _string_claim(claims, "iss") != issuer:
        raise _Refused(f"the iss claim {_show(claims['iss'])} is not the issuer {issuer!r}")


def _audiences(claims: dict[str, Any]) -> list[str]:
    """The ``aud`` claim as a list: a string or an array of strings (RFC 7519 §4.1.3)."""
    aud = claims.get("aud")
    if aud is None:
        raise _Refused("the aud claim is missing")
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list) and aud and all(isinstance(item, str) for item in aud):
        return aud
    raise _Refused("the aud claim is not a string or an array of strings")


def _check_times(claims: dict[str, Any], now: float, leeway: float) -> None:
    """``exp`` and ``iat`` required, ``nbf`` honoured, each with ``leeway`` (RFC 7519 §4.1.4-6).

    An ``iat`` further in the future than the leeway is refused too: the server's clock or the
    token is wrong (OIDC Core §3.1.3.7 step 10 lets the client bound ``iat``).
    """
    exp = _required_number_claim(claims, "exp")
    iat = _required_number_claim(claims, "iat")
    nbf = _number_claim(claims, "nbf")
    if now >= exp + leeway:
        raise _Refused(f"the token expired {now - exp:.0f}s ago")
    if iat > now + leeway:
        raise _Refused(f"the iat claim is {iat - now:.0f}s in the future")
    if nbf is not None and nbf > now + leeway:
        raise _Refused(f"the token is not valid for another {nbf - now:.0f}s (nbf)")


# ----------------------------------------------------------------------------- ID tokens


def _id_token_typ(typ: object) -> None:
    """An ID token is not explicitly typed; a ``+jwt`` type names another kind of JWT.

    ``at+jwt`` (RFC 9068 §2.1), ``logout+jwt``, ``secevent+jwt`` and the like are refused, so a
    token meant for something else is never taken as an ID token (RFC 8725 §3.11).
    """
    if typ is None:
        return
    if not isinstance(typ, str):
        raise _Refused("the header's typ is not a string")
    if typ.lower().removeprefix("application/").endswith("+jwt"):
        raise _Refused(f"the header's typ {_show(typ)} marks a JWT that is not an ID token")


def validate_id_token(
    id_token: str,
    *,
    jwks: JsonWebKeySet,
    issuer: str,
    client_id: str,
    nonce: str | None,
    algorithms: Sequence[str],
    leeway: float,
    now: float | None = None,
    require_nonce: bool = True,
) -> dict[str, Any]:
    """Validate an ID token (OpenID Connect Core §3.1.3.7, §2) and return its claims.

    Beyond the checks of this module's docstring:

    - ``iss`` equals ``issuer`` exactly; ``sub`` is a non-empty string (OIDC Core §2).
    - ``aud`` contains ``client_id``. With several audiences ``azp`` is required, and whenever
      ``azp`` is present it must equal ``client_id`` (§3.1.3.7 steps 3-5).
    - ``exp`` is in the future and ``iat`` present, both with ``leeway`` seconds of slack.
    - ``nonce`` (§3.1.3.7 step 11, compared in constant time): when one was sent, the token
      must carry it. When none was sent (``nonce=None``), a token carrying one is refused: it
      was issued for another request. A token from a refresh (§12.2) may omit the nonce of
      the original authentication; pass that nonce with ``require_nonce=False`` to accept its
      absence while still refusing a different one.

    ``at_hash``, ``auth_time``/``max_age`` and ``acr`` are left to the caller.

    Args:
        id_token: The compact JWS from the token response.
        jwks: The authorization server's JWK Set (its ``jwks_uri``).
        issuer: The issuer identifier from the server's metadata.
        client_id: This client's ID.
        nonce: The nonce sent in the authorization request, or ``None`` if none was sent.
        algorithms: Allowed ``alg`` values; ``none`` and ``HS*`` are refused even if listed.
        leeway: Seconds of clock skew tolerated on ``exp``, ``iat`` and ``nbf``.
        now: The current time as a Unix timestamp; ``time.time()`` when omitted.
        require_nonce: Whether a sent ``nonce`` must be present in the token.

    Raises:
        AuthorizationError: ``error_code="invalid_id_token"``; the message names the check.
        ConfigurationError: pyjwt is not installed.
    """
    try:
        claims = _verified(id_token, jwks, algorithms, _id_token_typ)
        _check_issuer(claims, issuer)
        _string_claim(claims, "sub")
        audiences = _audiences(claims)
        if client_id not in audiences:
            raise _Refused(f"the aud claim does not contain the client ID {client_id!r}")
        azp = claims.get("azp")
        if len(audiences) > 1 and azp is None:
            raise _Refused("the token has several audiences and no azp claim")
        if azp is not None and azp != client_id:
            raise _Refused(f"the azp claim is not the client ID {client_id!r}")
        _check_times(claims, time.time() if now is None else now, leeway)
        _check_nonce(claims.get("nonce"), nonce, require_nonce=require_nonce)
    except _Refused as exc:
        message = f"ID token refused: {exc}"
        raise AuthorizationError(message, error_code="invalid_id_token") from None
    return claims


def _check_nonce(received: object, sent: str | None, *, require_nonce: bool) -> None:
    if sent is None:
        if received is not None:
            raise _Refused("the token has a nonce claim but no nonce was sent")
        return
    if received is None:
        if require_nonce:
            raise _Refused("the nonce claim is missing")
        return
    if not isinstance(received, str) or not hmac.compare_digest(
        received.encode("utf-8"), sent.encode("utf-8")
    ):
        raise _Refused("the nonce claim does not match the nonce sent")


# ------------------------------------------------------------------------- access tokens


def _access_token_typ(typ: object) -> None:
    """RFC 9068 §4: the header ``typ`` must be ``at+jwt`` (media types compare case-blind)."""
    if not isinstance(typ, str) or typ.lower() not in _ACCESS_TOKEN_TYPES:
        found = "no typ" if typ is None else f"typ {_show(typ)}"
        raise _Refused(f"the header has {found}, expected at+jwt (RFC 9068 §2.1)")


def validate_jwt_access_token(
    token: str,
    *,
    jwks: JsonWebKeySet,
    issuer: str,
    audience: str | None,
    algorithms: Sequence[str],
    leeway: float,
    now: float | None = None,
) -> dict[str, Any]:
    """Validate a JWT access token (RFC 9068 §4) and return it as an introspection response.

    Beyond the checks of this module's docstring: the header ``typ`` is ``at+jwt`` or
    ``application/at+jwt``; ``iss`` equals ``issuer``; the claims RFC 9068 §2.2 requires are
    present (``iss``, ``exp``, ``aud``, ``sub``, ``client_id``, ``iat``, ``jti``); ``aud``
    contains ``audience`` when one is given; ``exp``, ``iat`` and ``nbf`` hold with ``leeway``.

    Returns:
        The claims with ``"active": True`` added, shaped like an RFC 7662 §2.2 response.

    Raises:
        TokenError: ``error_code="invalid_token"``; the message names the check.
        ConfigurationError: pyjwt is not installed.
    """
    try:
        claims = _verified(token, jwks, algorithms, _access_token_typ)
        _check_issuer(claims, issuer)
        audiences = _audiences(claims)
        if audience is not None and audience not in audiences:
            raise _Refused(f"the aud claim does not contain {audience!r}")
        for name in _ACCESS_TOKEN_CLAIMS:
            _string_claim(claims, name)
        _check_times(claims, time.time() if now is None else now, leeway)
    except _Refused as exc:
        raise TokenError(f"access token refused: {exc}", error_code="invalid_token") from None
    return {**claims, "active": True}
