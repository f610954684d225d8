"""``WWW-Authenticate`` challenges (RFC 9110 §11.6.1), and the Bearer one (RFC 6750 §3, 9728 §5.1).

A resource that refuses a token says why in a challenge: ``error`` (``invalid_token``,
``insufficient_scope``), ``scope`` (what it needs), and ``resource_metadata`` (where its RFC 9728
metadata is, the first step of MCP discovery). The grammar::

    WWW-Authenticate = #challenge
    challenge        = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
    auth-param       = token BWS "=" BWS ( token / quoted-string )

Servers in the field bend it, and the parser takes what they send: several challenges in one
header or in several headers, scheme and parameter names in any case, parameters separated by
spaces without commas, unquoted values holding ``:`` or ``/`` (URLs), an unterminated quoted
string (read to the end), a parameter given twice (the first counts, as for a duplicated
callback parameter). It never raises: what it cannot read is skipped. A leaf module: it imports
nothing of the package.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

__all__ = [
    "BearerChallenge",
    "Challenge",
    "parse_bearer_challenge",
    "parse_resource_challenge",
    "parse_www_authenticate",
]

_SPACE = " \t"


class Challenge(NamedTuple):
    """One challenge: its scheme (lower case), its auth-params (names in lower case), or a
    token68 (the ``Basic``/``Negotiate`` form) when it has one instead."""

    scheme: str
    params: Mapping[str, str]
    token68: str | None = None


class BearerChallenge(NamedTuple):
    """A ``Bearer`` challenge (RFC 6750 §3) with the RFC 9728 §5.1 ``resource_metadata``."""

    error: str | None = None
    error_description: str | None = None
    error_uri: str | None = None
    scope: str | None = None
    resource_metadata: str | None = None
    realm: str | None = None
    params: Mapping[str, str] = {}
    scheme: str = "bearer"

    @property
    def scopes(self) -> list[str]:
        """The scope the resource asks for, split into its scope tokens (RFC 6749 §3.3)."""
        return self.scope.split() if self.scope else []


def parse_www_authenticate(value: str | Iterable[str]) -> list[Challenge]:
    """Every challenge in a ``WWW-Authenticate`` value, or in each of several header values."""
    values = [value] if isinstance(value, str) else list(value)
    challenges: list[Challenge] = []
    for item in values:
        challenges.extend(_Scanner(item).challenges())
    return challenges


def parse_bearer_challenge(value: str | Iterable[str]) -> BearerChallenge | None:
    """The first ``Bearer`` challenge of a ``WWW-Authenticate`` value (or values), or None."""
    for challenge in parse_www_authenticate(value):
        if challenge.scheme == "bearer":
            return _token_challenge(challenge)
    return None


def parse_resource_challenge(
    value: str | Iterable[str], *, prefer_dpop: bool = False
) -> BearerChallenge | None:
    """A protected resource's challenge: ``Bearer`` (RFC 6750 §3) or ``DPoP`` (RFC 9449 §7.1,
    same parameters plus ``algs``), read alike; ``scheme`` says which.

    The first challenge of the preferred scheme (``DPoP`` when ``prefer_dpop``, else
    ``Bearer``), else the first of the other; None when there is neither.
    """
    found: dict[str, Challenge] = {}
    for challenge in parse_www_authenticate(value):
        if challenge.scheme in ("bearer", "dpop"):
            found.setdefault(challenge.scheme, challenge)
    order = ("dpop", "bearer") if prefer_dpop else ("bearer", "dpop")
    for scheme in order:
        if scheme in found:
            return _token_challenge(found[scheme])
    return None


def _token_challenge(challenge: Challenge) -> BearerChallenge:
    params = challenge.params
    return BearerChallenge(
        error=params.get("error"),
        error_description=params.get("error_description"),
        error_uri=params.get("error_uri"),
        scope=params.get("scope"),
        resource_metadata=params.get("resource_metadata"),
        realm=params.get("realm"),
        params=dict(params),
        scheme=challenge.scheme,
    )


# Exported from the package: that is the module their reprs and pickles name.
Challenge.__module__ = BearerChallenge.__module__ = "mcp_oauth_dynamicclient"


class _Scanner:
    """A left-to-right reading of one header value; each step consumes at least a character."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def challenges(self) -> list[Challenge]:
        found: list[Challenge] = []
        scheme: str | None = None
        params: dict[str, str] = {}
        token68: str | None = None
        while self._skip(_SPACE + ","):
            token = self._token()
            if not token:  # a character no token holds: skip it
                self.at += 1
                continue
            self._skip(_SPACE)
            if self._peek() == "=" and scheme is not None:
                equals = self._run("=")
                self._skip(_SPACE)
                if self._peek() in ("", ","):  # "abc==" then the end: a token68
                    if not params and token68 is None:
                        token68 = token + equals
                    continue
                value = self._value()
                params.setdefault(token.lower(), value)
                continue
            if scheme is not None:
                found.append(Challenge(scheme, params, token68))
            scheme, params, token68 = token.lower(), {}, None
            if self._peek() not in ("", ",", "="):
                # A token68 right after the scheme: characters up to a comma or the end,
                # unless it reads "name=value" (then it is the first auth-param).
                mark = self.at
                candidate = self._token68()
                self._skip(_SPACE)
                if candidate and self._peek() in ("", ",") and "=" not in candidate.rstrip("="):
                    token68 = candidate
                else:
                    self.at = mark
        if scheme is not None:
            found.append(Challenge(scheme, params, token68))
        return found

    def _peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def _skip(self, characters: str) -> bool:
        """Skip ``characters``; whether anything is left."""
        while self.at < len(self.text) and self.text[self.at] in characters:
            self.at += 1
        return self.at < len(self.text)

    def _run(self, characters: str) -> str:
        start = self.at
        self._skip(characters)
        return self.text[start : self.at]

    def _token(self) -> str:
        """A token (RFC 9110 §5.6.2), leniently: anything but separators and spaces."""
        start = self.at
        while self.at < len(self.text) and self.text[self.at] not in ' \t,="\\':
            self.at += 1
        return self.text[start : self.at]

    def _token68(self) -> str:
        start = self.at
        while self.at < len(self.text) and self.text[self.at] not in " \t,":
            self.at += 1
        return self.text[start : self.at]

    def _value(self) -> str:
        """A quoted-string (backslash escapes; an unterminated one runs to the end) or a
        bare value up to a comma or a space (URLs included)."""
        if self._peek() != '"':
            return self._token68()
        self.at += 1
        out: list[str] = []
        while self.at < len(self.text):
            char = self.text[self.at]
            self.at += 1
            if char == '"':
                break
            if char == "\\" and self.at < len(self.text):
                char = self.text[self.at]
                self.at += 1
            out.append(char)
        return "".join(out)
