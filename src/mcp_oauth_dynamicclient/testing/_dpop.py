"""DPoP proofs, RFC 9449: what the token endpoint and ``/mcp`` check before binding or accepting.

A proof is the one ``DPoP`` header of a request (§4.1), a JWT that the server accepts when
(§4.3): its header has ``typ: dpop+jwt``, an asymmetric ``alg`` the ``dpop_signing_algs`` knob
lists (by default all of :data:`DPOP_ALGORITHMS`) and
a public ``jwk`` (no private members) whose key verifies the signature; its claims carry ``jti``,
``htm`` (the request method), ``htu`` (the request URL without query and fragment, scheme and
host compared case-insensitively), ``iat`` within :data:`MAX_AGE` seconds in the past or
:data:`MAX_SKEW` in the future on the server's clock, and a ``jti`` not seen in that window
(§11.1). At a resource it also carries ``ath``, base64url(SHA-256(access token)) (§4.2). With
the ``dpop_nonce`` knob its ``nonce`` must be the server's current one (§8, §9): else
``use_dpop_nonce``.

A valid proof yields the RFC 7638 SHA-256 thumbprint of its key (``jkt``), what a bound token
records in ``cnf`` (§6). Failures are :class:`~._http.OAuthProblem` s with the error code
``invalid_dpop_proof`` or ``use_dpop_nonce``; each endpoint answers them its way (400 at the
token endpoint, a 401 ``DPoP`` challenge at the resource, §7.1).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import jwt
from starlette.requests import Request

from ._context import Context
from ._http import OAuthProblem, json_object
from ._settings import DPOP_ALGORITHMS

__all__ = [
    "DPOP_ALGORITHMS",
    "MAX_AGE",
    "MAX_SKEW",
    "NONCE_HEADER",
    "PROOF_HEADER",
    "nonce_headers",
    "proof_of",
    "thumbprint",
    "verify_proof",
]

#: How old (seconds, on the server's clock) a proof's ``iat`` may be.
MAX_AGE = 300
#: How far in the future a proof's ``iat`` may be (clock skew).
MAX_SKEW = 60
PROOF_HEADER = "DPoP"
NONCE_HEADER = "DPoP-Nonce"
PROOF_TYP = "dpop+jwt"

#: The members of each key type's RFC 7638 §3.2 thumbprint input (in lexicographic order).
_THUMBPRINT_MEMBERS = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
}
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


def _invalid(description: str) -> OAuthProblem:
    return OAuthProblem("invalid_dpop_proof", description)


def b64url_sha256(text: str) -> str:
    """base64url(SHA-256(text)), unpadded."""
    digest = hashlib.sha256(text.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a public JWK: the base64url SHA-256 of the JSON of its
    required members only, sorted, without whitespace (§3).

    Raises:
        OAuthProblem: ``invalid_dpop_proof`` for a key type or members that do not fit.
    """
    members = _THUMBPRINT_MEMBERS.get(str(jwk.get("kty")))
    if members is None or not all(isinstance(jwk.get(m), str) for m in members):
        raise _invalid("the proof's jwk is not an RSA, EC or OKP public key")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return b64url_sha256(canonical)


def proof_of(request: Request) -> str | None:
    """The request's ``DPoP`` header, or None without one.

    Raises:
        OAuthProblem: ``invalid_dpop_proof`` when there is more than one (RFC 9449 §4.3 item 1).
    """
    values = request.headers.getlist(PROOF_HEADER)
    if not values:
        return None
    if len(values) > 1 or "," in values[0]:
        raise _invalid("a request carries one DPoP header")
    return values[0].strip()


def _same_url(a: str, b: str) -> bool:
    """RFC 9449 §4.3 item 9: ``htu`` against the request URL, no query or fragment, with the
    scheme and host compared case-insensitively and a default port equal to none (RFC 3986
    §6.2.2-§6.2.3)."""
    try:
        x, y = urlsplit(a), urlsplit(b)
        ports = (x.port, y.port)
    except ValueError:
        return False
    default = {"http": 80, "https": 443}

    def port(scheme: str, value: int | None) -> int | None:
        return default.get(scheme.lower()) if value is None else value

    return (
        x.scheme.lower() == y.scheme.lower()
        and (x.hostname or "") == (y.hostname or "")
        and port(x.scheme, ports[0]) == port(y.scheme, ports[1])
        and (x.path or "/") == (y.path or "/")
    )


def _key_and_claims(
    proof: str, algorithms: tuple[str, ...]
) -> tuple[Mapping[str, Any], dict[str, Any]]:
    """The proof's public JWK and its claims once the signature verifies (§4.3 items 2-7)."""
    try:
        header = jwt.get_unverified_header(proof)
    except jwt.PyJWTError:
        raise _invalid("the DPoP proof is not a JWT") from None
    if header.get("typ") != PROOF_TYP:
        raise _invalid(f"the DPoP proof's typ must be {PROOF_TYP}")
    algorithm = header.get("alg")
    if algorithm not in algorithms:
        raise _invalid(f"the DPoP proof's alg must be one of {' '.join(algorithms)}")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict):
        raise _invalid("the DPoP proof's header lacks the jwk")
    if _PRIVATE_MEMBERS & jwk.keys():
        raise _invalid("the DPoP proof's jwk must not hold a private key")
    try:
        key = jwt.PyJWK.from_dict(jwk, algorithm=algorithm)
        # The JWS layer only: the claims are checked below, by RFC 9449's rules, not PyJWT's.
        payload = jwt.api_jws.decode(proof, key.key, algorithms=[algorithm])
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
        raise _invalid("the DPoP proof's signature does not verify with its jwk") from None
    claims = json_object(payload)
    if claims is None:
        raise _invalid("the DPoP proof's payload is not a JSON object")
    for name in ("jti", "htm", "htu", "iat"):
        if name not in claims:
            raise _invalid(f"the DPoP proof lacks the {name} claim")
    return jwk, claims


def verify_proof(
    ctx: Context, request: Request, proof: str, *, access_token: str | None = None
) -> str:
    """Check a DPoP proof sent with ``request`` (RFC 9449 §4.3); its key's thumbprint.

    ``access_token`` is the token the request presents at a resource: the proof must then hash
    it in ``ath`` (§4.3 item 10, §7.1).

    Raises:
        OAuthProblem: ``invalid_dpop_proof``, or ``use_dpop_nonce`` when the ``dpop_nonce``
            knob is on and the proof lacks the current nonce (§8, §9).
    """
    jwk, claims = _key_and_claims(proof, ctx.settings.dpop_signing_algs)
    jkt = thumbprint(jwk)
    if claims["htm"] != request.method:
        raise _invalid("the DPoP proof's htm is not the request method")
    htu = claims["htu"]
    here = str(request.url.replace(query="", fragment=""))
    if not isinstance(htu, str) or not (
        _same_url(htu, here) or _same_url(htu, ctx.url(request.url.path))
    ):
        raise _invalid("the DPoP proof's htu is not the request URL")
    if access_token is not None:
        ath = claims.get("ath")
        expected = b64url_sha256(access_token)
        if not isinstance(ath, str) or not hmac.compare_digest(ath, expected):
            raise _invalid("the DPoP proof's ath is not the hash of the access token")
    now = ctx.clock.now()
    iat = claims["iat"]
    if isinstance(iat, bool) or not isinstance(iat, (int, float)) or not math.isfinite(iat):
        raise _invalid("the DPoP proof's iat must be a number")
    if not now - MAX_AGE <= iat <= now + MAX_SKEW:
        raise _invalid("the DPoP proof's iat is outside the accepted window")
    if ctx.settings.dpop_nonce:
        with ctx.state.lock:
            current = ctx.state.dpop_nonce
        if claims.get("nonce") != current:
            raise OAuthProblem(
                "use_dpop_nonce",
                "the DPoP proof must carry the server's nonce",
                headers={NONCE_HEADER: current},
            )
    jti = claims["jti"]
    if not isinstance(jti, str) or not jti:
        raise _invalid("the DPoP proof's jti must be a string")
    if not ctx.state.use_dpop_proof_id(jti, iat + MAX_AGE + MAX_SKEW, now):
        raise _invalid("the DPoP proof was already used (jti replayed)")
    return jkt


def nonce_headers(ctx: Context) -> dict[str, str]:
    """``DPoP-Nonce`` with the current nonce when the ``dpop_nonce`` knob is on (RFC 9449 §8:
    a server may send a fresh one with any answer), else nothing."""
    if not ctx.settings.dpop_nonce:
        return {}
    with ctx.state.lock:
        return {NONCE_HEADER: ctx.state.dpop_nonce}
