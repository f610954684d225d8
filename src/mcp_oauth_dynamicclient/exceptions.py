"""The exceptions raised by ``mcp_oauth_dynamicclient``.

Every failure, whether it comes from the caller, the network or the server, ends in one of
these, never in a bare ``KeyError``, ``TypeError`` or ``JSONDecodeError``::

    OAuth2Error                 base; carries error_code, error_description, status_code, response
    ├── ConfigurationError      the client was set up wrong (a bad URL, a missing setting)
    ├── ValidationError         a caller's input was refused before anything was sent
    ├── NetworkError            the request did not complete (connection refused, reset, timeout)
    │   ├── RateLimitExceeded   not sent: the client-side rate limit would make it wait too long
    │   ├── DeadlineExceeded    the operation's total deadline passed (a slow or trickling server)
    │   └── ResponseTooLarge    the response body was over max_response_bytes; not read in full
    ├── StorageError            the token storage failed (file unreadable, Redis unreachable)
    ├── DiscoveryError          server metadata could not be fetched or was refused (RFC 8414, 9728)
    ├── RegistrationError       the registration or client configuration endpoint (RFC 7591, 7592)
    ├── AuthorizationError      the authorization endpoint, its callback, device authorization
    │   └── CodeExchangeError   the token endpoint refused a code (also a TokenError)
    └── TokenError              the token, revocation and introspection endpoints

``error_code`` is the wire ``error`` value of RFC 6749 §5.2 / RFC 7591 §3.2.2 (for example
``invalid_grant``) when the server sent one, and ``None`` otherwise; a response that is not the
documented shape has ``error_code`` ``None`` and a message naming the field that failed.

Messages and reprs never contain secrets: tokens, client secrets, codes and verifiers are not
put into them, and a URL is shown without its query string.
"""

from __future__ import annotations

from typing import TypeVar

import httpx

__all__ = [
    "AuthorizationError",
    "CodeExchangeError",
    "ConfigurationError",
    "DeadlineExceeded",
    "DiscoveryError",
    "NetworkError",
    "OAuth2Error",
    "RateLimitExceeded",
    "RegistrationError",
    "ResponseTooLarge",
    "StorageError",
    "TokenError",
    "ValidationError",
]


E = TypeVar("E", bound="OAuth2Error")


class OAuth2Error(Exception):
    """Base class of every exception this package raises.

    Attributes:
        error_code: The OAuth ``error`` code from the server (RFC 6749 §5.2), if any.
        error_description: The server's ``error_description``, if any.
        error_uri: The server's ``error_uri``, if any.
        status_code: The HTTP status of the response that caused the error, if any.
        response: The ``httpx.Response`` that caused the error, if any.
        retry_after: Seconds the server asked the client to wait before trying again, from a
            ``Retry-After`` header (RFC 9110 §10.2.3) or a client-side rate limit; else None.
    """

    def __init__(
        self,
        message: str,
        *,
        error_code: str | None = None,
        error_description: str | None = None,
        error_uri: str | None = None,
        status_code: int | None = None,
        response: httpx.Response | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        if status_code is None and response is not None:
            status_code = response.status_code
        self.message = message
        self.error_code = error_code
        self.error_description = error_description
        self.error_uri = error_uri
        self.status_code = status_code
        self.response = response
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        parts = [repr(self.message)]
        if self.error_code is not None:
            parts.append(f"error_code={self.error_code!r}")
        if self.status_code is not None:
            parts.append(f"status_code={self.status_code!r}")
        if self.retry_after is not None:
            parts.append(f"retry_after={self.retry_after!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


class ConfigurationError(OAuth2Error):
    """The client's configuration is invalid; the message names the setting."""


class ValidationError(OAuth2Error):
    """A caller's input was refused before any request was sent."""


class NetworkError(OAuth2Error):
    """The HTTP request did not complete: no connection, a reset, or a timeout."""


class RateLimitExceeded(NetworkError):
    """A request was not sent: the client-side rate limit would delay it past ``max_wait``.

    ``retry_after`` is the wait that was refused. It is final, never retried: retrying would
    wait what the caller said not to wait (see ``RateLimit``).
    """


class DeadlineExceeded(NetworkError):
    """An operation ran past its ``deadline``: the total time for a request to the
    authorization server, reading its whole response and any retries.

    A ``NetworkError``, since the exchange did not complete (as with a timeout), whatever the
    operation; never retried, the time being spent. Raised, for example, for a server that
    sends its response a byte at a time, which per-read timeouts (``timeout``) never stop.
    """


class ResponseTooLarge(NetworkError):
    """A response from the authorization server was larger than ``max_response_bytes``.

    A ``NetworkError``, since the response was not received: a ``Content-Length`` over the
    limit is refused before the body is read, else reading stops at the limit and the
    connection is closed. It says nothing of the operation's outcome, so it is not the
    operation's error class (``TokenError``, ``DiscoveryError``), and it is never retried: the
    same request would get the same response.
    """


class StorageError(OAuth2Error):
    """The token storage failed: a file that is corrupt or not ours, Redis unreachable.

    Nothing already stored is lost or overwritten when this is raised.
    """


class DiscoveryError(OAuth2Error):
    """Authorization server or protected resource metadata was unusable (RFC 8414, RFC 9728)."""


class RegistrationError(OAuth2Error):
    """Dynamic registration (RFC 7591) or client management (RFC 7592) failed."""


class AuthorizationError(OAuth2Error):
    """The authorization request, its callback or a device authorization failed."""


class TokenError(OAuth2Error):
    """A token, revocation or introspection request failed."""


class CodeExchangeError(AuthorizationError, TokenError):
    """The token endpoint refused an authorization code (RFC 6749 §4.1.3, §5.2).

    An ``AuthorizationError``, as the seed's ``exchange_code`` documents (``invalid_grant``:
    the code expired or was used; start a new authorization), and a ``TokenError``, since the
    token endpoint answered. Chained ``from`` the token endpoint's error.
    """


def same_failure(kind: type[E], error: OAuth2Error) -> E:
    """``error`` as an exception of another class, with the same message and server fields.

    For a call whose documented exception is not the endpoint's (the seed's ``exchange_code``
    raises ``AuthorizationError`` for the token endpoint's refusal); raise it ``from error``.
    """
    return kind(
        error.message,
        error_code=error.error_code,
        error_description=error.error_description,
        error_uri=error.error_uri,
        status_code=error.status_code,
        response=error.response,
        retry_after=error.retry_after,
    )
