"""The retry policy: which failures are retried, and how long to wait. Pure decisions, no I/O.

Shared by the asyncio and the blocking sender (``_async/sender.py`` and its generated twin),
which only sleep and send. The policy, after Stainless's SDKs and RFC 9110:

- A failure is retried when it is a transport failure of a ``retry_on_exceptions`` type
  (``NetworkError`` by default: a reset, a timeout, a refused connection) or an error response
  whose status is in ``retry_on_status`` (429, 502, 503, 504 by default), at most
  ``max_retries`` times.
- The wait before retry ``n`` (from 1) is exponential with full jitter: uniform in
  ``[0, min(max_backoff, backoff_factor * 2 ** (n - 1))]``, or that upper bound exactly with
  ``jitter=False``.
- ``Retry-After`` on a 429 (RFC 6585 §4) or a 503 (RFC 9110 §15.6.4) is honoured instead, in
  delay-seconds or as an HTTP-date (RFC 9110 §10.2.3). A wait longer than ``max_retry_after``
  is not waited for: the typed error is raised at once, its ``retry_after`` saying how long.
- A request that is not safe to send twice is retried only when the server cannot have acted
  on it: the connection was never made (``httpx.ConnectError``, ``ConnectTimeout``,
  ``PoolTimeout``), so no byte reached the server; or the server said it did not process it,
  with a 429 (RFC 6585 §4: the client is rate limited, the request refused) or a 503 with
  ``Retry-After`` (RFC 9110 §15.6.4: unable to handle the request, come back then), each still
  subject to ``retry_on_status`` and ``max_retry_after``. A 503 without ``Retry-After`` may come
  from a proxy after the request reached the server, so it is not resent. Which requests are
  safe is a property of the operation, stated once in the spec (``x-idempotent`` on each
  operation of ``spec/openapi.yaml``, with the RFC that says why) and carried by the generated
  endpoint clients to the sender; nothing here names an operation.
- Never retried: a request the client-side rate limit refused to send (``RateLimitExceeded``),
  an operation past its deadline (``DeadlineExceeded``: the time is spent), and a response over
  ``max_response_bytes`` (``ResponseTooLarge``: the same request would get it again). The
  sender also makes no retry that would start after the operation's deadline.

Logging and metrics of retries happen in the sender's ``before_sleep`` hook, once per retry
that is actually waited for (tenacity also computes a wait after the last attempt).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from typing import Any

import attrs
import httpx

from ._public import public
from .exceptions import (
    ConfigurationError,
    DeadlineExceeded,
    NetworkError,
    OAuth2Error,
    RateLimitExceeded,
    ResponseTooLarge,
)

__all__ = ["RetryConfig", "never_connected", "not_processed", "should_retry"]

_RETRY_AFTER_STATUSES = frozenset({429, 503})
_FINAL = (RateLimitExceeded, DeadlineExceeded, ResponseTooLarge)
_NOT_CONNECTED = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def _statuses(value: Any) -> tuple[int, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ConfigurationError("retry_on_status: expected a list of HTTP status codes")
    statuses = tuple(value)
    for status in statuses:
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise ConfigurationError(f"retry_on_status: {status!r} is not an HTTP status code")
    return statuses


def _exception_types(value: Any) -> tuple[type[BaseException], ...]:
    if isinstance(value, type):
        value = (value,)
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ConfigurationError("retry_on_exceptions: expected a list of exception classes")
    types = tuple(value)
    for kind in types:
        if not (isinstance(kind, type) and issubclass(kind, BaseException)):
            raise ConfigurationError(f"retry_on_exceptions: {kind!r} is not an exception class")
    return types


def _check_number(name: str, value: Any, *, integer: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        raise ConfigurationError(f"{name}: expected a {'whole ' if integer else ''}number")
    if value < 0 or not math.isfinite(value):
        raise ConfigurationError(f"{name}: must be a finite number >= 0, got {value!r}")


@public("mcp_oauth_dynamicclient")
@attrs.frozen
class RetryConfig:
    """How requests to the authorization server are retried (see the module docstring).

    Requests to protected resources (``authenticated_request``) are never retried by it.

    Attributes:
        max_retries: Retries after the first attempt (0 turns retrying off).
        backoff_factor: Seconds; the wait before retry ``n`` is at most
            ``backoff_factor * 2 ** (n - 1)``.
        retry_on_status: Error statuses that are retried: for requests safe to resend, and
            for any request when the status says it was not processed (429, or 503 with
            ``Retry-After``).
        retry_on_exceptions: Exception classes that are retried; a ``NetworkError`` of an
            unsafe request only when the connection was never made.
        max_backoff: Cap of one exponential wait, in seconds.
        max_retry_after: Longest ``Retry-After`` waited for; a longer one raises at once, the
            error's ``retry_after`` saying how long the server asked for.
        jitter: Full jitter (a uniform random wait up to the exponential bound).

    Raises:
        ConfigurationError: a setting is invalid; the message names it.
    """

    max_retries: int = 3
    backoff_factor: float = 2.0
    retry_on_status: tuple[int, ...] = attrs.field(
        default=(429, 502, 503, 504), converter=_statuses
    )
    retry_on_exceptions: tuple[type[BaseException], ...] = attrs.field(
        default=(NetworkError,), converter=_exception_types
    )
    max_backoff: float = 30.0
    max_retry_after: float = 60.0
    jitter: bool = True

    def __attrs_post_init__(self) -> None:
        _check_number("max_retries", self.max_retries, integer=True)
        for name in ("backoff_factor", "max_backoff", "max_retry_after"):
            _check_number(name, getattr(self, name))
        if not isinstance(self.jitter, bool):
            raise ConfigurationError("jitter: expected True or False")

    def backoff(self, retry: int, *, rand: random.Random | None = None) -> float:
        """The exponential wait before retry number ``retry`` (1 for the first), in seconds."""
        exponent = min(retry - 1, 64)  # 2 ** 64 seconds is already past any cap
        bound = min(self.max_backoff, self.backoff_factor * 2.0**exponent)
        if not self.jitter:
            return bound
        return (rand or random).uniform(0.0, bound)

    def delay(self, retry: int, error: BaseException | None) -> float:
        """The wait before retry ``retry`` after ``error``: its Retry-After, else the backoff."""
        retry_after = honoured_retry_after(error)
        return retry_after if retry_after is not None else self.backoff(retry)


def honoured_retry_after(error: BaseException | None) -> float | None:
    """The ``Retry-After`` of a 429 or 503 error, in seconds; None when it has none."""
    if isinstance(error, OAuth2Error) and error.status_code in _RETRY_AFTER_STATUSES:
        return error.retry_after
    return None


def never_connected(error: BaseException) -> bool:
    """Whether ``error`` (a ``NetworkError`` from ``runtime.send_errors``) happened before a
    connection was made, so nothing of the request can have reached the server."""
    return isinstance(error, NetworkError) and isinstance(error.__cause__, _NOT_CONNECTED)


def not_processed(error: OAuth2Error) -> bool:
    """Whether the server's answer says it did not process the request, so that sending it
    again cannot do a thing twice: 429 Too Many Requests (RFC 6585 §4), or 503 Service
    Unavailable with a usable ``Retry-After`` (RFC 9110 §15.6.4, §10.2.3)."""
    status = error.status_code
    return status == 429 or (status == 503 and error.retry_after is not None)


def should_retry(config: RetryConfig, error: BaseException, *, idempotent: bool) -> bool:
    """Whether the attempt that failed with ``error`` is to be made again (attempts aside).

    Only an ``Exception`` is: a cancellation or an interrupt never is, nor a request the
    client-side rate limit refused to send (``RateLimitExceeded``), an operation past its
    deadline (``DeadlineExceeded``) or a response over the size limit (``ResponseTooLarge``).
    """
    if not isinstance(error, Exception) or isinstance(error, _FINAL):
        return False
    if not isinstance(error, OAuth2Error) or error.response is None:
        # A transport failure (or anything else the caller asked us to retry).
        if not isinstance(error, config.retry_on_exceptions):
            return False
        return idempotent or never_connected(error)
    # The server answered: the request reached it, so resending is safe only if idempotent,
    # or if the server said it did not process it.
    if error.status_code not in config.retry_on_status:
        return False
    if not (idempotent or not_processed(error)):
        return False
    retry_after = honoured_retry_after(error)
    return retry_after is None or retry_after <= config.max_retry_after
