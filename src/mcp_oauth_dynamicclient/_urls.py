"""URL rules: https everywhere except loopback (OAuth 2.1 §1.5, RFC 8252 §7.3, RFC 8414 §2).

An authorization server, a resource server that receives a bearer token and a redirect URI
must use https; plain http is allowed only for a loopback host, where traffic never leaves the
machine. Redirect URIs carry no fragment (RFC 6749 §3.1.2).
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

import httpx

from .exceptions import ConfigurationError, OAuth2Error, ValidationError

__all__ = [
    "is_loopback",
    "redirect_matches",
    "refuse_redirects",
    "require_bearer_url",
    "require_issuer",
    "require_port",
    "require_secure_url",
    "same_issuer",
]


def is_loopback(host: str) -> bool:
    """Whether ``host`` is ``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def redirect_matches(requested: str, registered: str) -> bool:
    """Whether ``requested`` is the ``registered`` redirect URI: the same string, or, for an
    http loopback IP literal, the same but for the port (RFC 8252 §7.3: a native app takes an
    ephemeral port at the time of the request, and servers accept any)."""
    if requested == registered:
        return True
    try:
        asked, known = urlsplit(requested), urlsplit(registered)
        if asked.scheme != "http" or known.scheme != "http" or asked.hostname is None:
            return False
        ipaddress.ip_address(asked.hostname)  # an IP literal, not "localhost" (§8.3)
        asked.port, known.port  # noqa: B018 - a bad port is no match
    except ValueError:
        return False
    return (
        is_loopback(asked.hostname)
        and (asked.hostname, asked.path, asked.query) == (known.hostname, known.path, known.query)
        and not asked.fragment
        and not known.fragment
    )


def require_secure_url(
    url: str,
    what: str,
    *,
    error: type[OAuth2Error] = ConfigurationError,
    allow_fragment: bool = False,
    allow_query: bool = True,
) -> httpx.URL:
    """Parse ``url`` and require https (or http on loopback); raise ``error`` naming ``what``."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        raise error(f"{what} is not a valid URL: {url!r}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise error(f"{what} must be an absolute https URL, got {url!r}")
    if parsed.scheme == "http" and not is_loopback(parsed.host):
        raise error(f"{what} must use https (http is allowed only on loopback), got {url!r}")
    require_port(parsed, what, error=error)
    if parsed.fragment and not allow_fragment:
        raise error(f"{what} must not have a fragment, got {url!r}")
    if parsed.query and not allow_query:
        raise error(f"{what} must not have a query, got {url!r}")
    return parsed


def require_issuer(
    url: str, what: str, *, error: type[OAuth2Error] = ConfigurationError
) -> httpx.URL:
    """An issuer identifier (RFC 8414 §2): a URL under :func:`require_secure_url`'s rules with
    no query and no fragment component, not even an empty one (a ``?`` or ``#`` always starts
    one, RFC 3986 §3); raise ``error`` naming ``what``."""
    parsed = require_secure_url(url, what, error=error, allow_fragment=True)
    head, hash_mark, _ = url.partition("#")  # a "?" after the "#" is the fragment's
    for part, present in (("query", "?" in head), ("fragment", hash_mark == "#")):
        if present:
            raise error(
                f"{what} must not have a {part}: an issuer identifier has neither a query nor "
                f"a fragment (RFC 8414 §2), got {url!r}"
            )
    return parsed


def require_port(
    url: httpx.URL, what: str, *, error: type[OAuth2Error] = ValidationError
) -> httpx.URL:
    """Refuse a port no TCP connection has: ports are 1 to 65535 (RFC 9293 §3.1).

    httpx takes any integer after the colon; ``:99999`` then connects, from a blocking client,
    to port 34463 (99999 modulo 2**16), and from an asyncio one raises ``OverflowError``.
    """
    port = url.port
    if port is not None and not 0 < port <= 65535:
        raise error(f"{what}: port {port} is not a TCP port (1-65535)")
    return url


_BEARER_ORIGINS: set[str] = set()
"""``http://`` origins already found to be loopback; bounded, since it is process-wide."""
_BEARER_URLS: set[str] = set()
"""Whole ``http://`` URLs already found to be loopback: most clients call one or two."""
_BEARER_ORIGINS_MAX = 256


def require_bearer_url(url: str) -> None:
    """Refuse to send a bearer token (RFC 6750 §5.3) to an http URL that is not loopback.

    On the hot path of every authenticated request, so an https URL is accepted from its
    prefix alone (httpx parses it when sending) and an http URL's host is judged once per
    origin: the text before the first ``/`` after ``http://`` holds the whole authority (it
    ends at the first ``/``, ``?`` or ``#``), so equal texts name the same host.
    """
    if url.startswith("https://") or url in _BEARER_URLS:
        return
    if url.startswith("http://"):
        end = url.find("/", 7)
        origin = url if end < 0 else url[:end]
        if origin in _BEARER_ORIGINS:
            return
        host = _hostname(url)
        if host is not None and is_loopback(host):
            if len(_BEARER_ORIGINS) >= _BEARER_ORIGINS_MAX:
                _BEARER_ORIGINS.clear()
                _BEARER_URLS.clear()
            _BEARER_ORIGINS.add(origin)
            _BEARER_URLS.add(url)
            return
    raise ValidationError(
        f"a bearer token is only sent over https (or http on loopback), not to {url!r}"
    )


def _hostname(url: str) -> str | None:
    """The host of ``url``, or None when it has none or cannot be read (``http://[::1``)."""
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def refuse_redirects(options: dict[str, Any]) -> None:
    """Take ``follow_redirects`` out of an authenticated request's httpx options; refuse True.

    A request that carries a bearer token goes to the URL its caller gave, once that URL passed
    :func:`require_bearer_url`, and nowhere else (RFC 6750 §5.3, RFC 9700 §4.11): a redirect
    names a URL nobody checked, and httpx would resend the token to it when it is on the same
    origin. The 3xx response is returned instead; its ``Location`` is the caller's to judge.
    """
    if options.pop("follow_redirects", None):
        raise ValidationError(
            "authenticated_request does not follow redirects (follow_redirects=True): a "
            "redirect would send the bearer token to a URL nobody checked (RFC 6750 §5.3). "
            "The 3xx response is returned: read its Location header, and call again with that "
            "URL if you trust it"
        )


def same_issuer(a: str, b: str) -> bool:
    """Issuer identifiers compared as RFC 8414 §3.3 and RFC 9207 §2.4 ask: as strings.

    No normalisation at all: ``https://as.example`` and ``https://as.example/`` are two issuers
    (a mix-up defence must not let one stand for the other).
    """
    return a == b


def require_redirect_uri(uri: str) -> str:
    """A redirect URI as RFC 6749 §3.1.2 and RFC 8252 §7.3 allow; raise ``ValidationError``."""
    require_secure_url(uri, f"redirect URI {uri!r}", error=ValidationError)
    return uri
