"""The authorization code callback (RFC 6749 §4.1.2, §4.1.2.1; RFC 9207 §2).

``exchange_code`` takes a bare code or the whole callback URL; this module reads the latter.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import attrs

from .exceptions import ValidationError
from .runtime import redact

__all__ = ["Callback", "parse_callback"]


@attrs.frozen
class Callback:
    """What came back to the redirect URI."""

    code: str | None = attrs.field(default=None, repr=redact)
    state: str | None = attrs.field(default=None, repr=redact)
    iss: str | None = None
    error: str | None = None
    error_description: str | None = None
    error_uri: str | None = None
    from_url: bool = False


def parse_callback(value: str) -> Callback:
    """A callback URL (or its query string) parsed; a bare code returned as is."""
    if not isinstance(value, str) or not value:
        raise ValidationError("authorization_code: expected a non-empty code or callback URL")
    if not (value.startswith(("http://", "https://", "?"))):
        return Callback(code=value)
    try:
        query = urlsplit(value).query
    except ValueError:  # "http://[…" is no URL: urlsplit reads the host as an IPv6 address
        raise ValidationError("callback URL: not a valid URL") from None
    params: dict[str, str] = {}
    # The query only: what follows '#' never reaches a server, and is not the response.
    for name, item in parse_qsl(query, keep_blank_values=True):
        if name in params:
            raise ValidationError(f"callback URL: the {name!r} parameter appears twice")
        params[name] = item
    if not params.get("code") and not params.get("error"):
        raise ValidationError("callback URL: it carries neither a code nor an error")
    return Callback(
        code=params.get("code"),
        state=params.get("state"),
        iss=params.get("iss"),
        error=params.get("error"),
        error_description=params.get("error_description"),
        error_uri=params.get("error_uri"),
        from_url=True,
    )
