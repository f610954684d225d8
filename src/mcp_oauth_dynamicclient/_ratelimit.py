"""Client-side rate limiting of requests to one authorization server: a token bucket.

``RateLimit`` is the setting; ``TokenBucket`` the state one client shares between all its tasks
and threads. The bucket is pure bookkeeping under a ``threading.Lock`` held for a few
arithmetic operations, never across a sleep or a request: :meth:`TokenBucket.reserve` takes a
token now or books the next free one and says how long to wait for it, and the caller (the
asyncio or blocking sender) sleeps that long outside any lock. Bookings are served in the
order they were made. A task cancelled while it waits has still spent its turn.

A 429 answer with ``Retry-After`` (RFC 6585 §4, RFC 9110 §10.2.3) pauses the whole bucket
until then (:meth:`TokenBucket.pause`): the server said it is overloaded, so no request of this
client goes out before that, whichever task makes it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any

import attrs

from ._public import public
from .exceptions import ConfigurationError, RateLimitExceeded

__all__ = ["RateLimit", "TokenBucket"]


def _positive(name: str, value: Any) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ConfigurationError(f"{name}: expected a number > 0, got {value!r}")


@public("mcp_oauth_dynamicclient")
@attrs.frozen
class RateLimit:
    """At most ``requests_per_second`` on average, with bursts of up to ``burst`` requests.

    A request over the limit waits for its turn. With ``max_wait`` set, a request that would
    wait longer is not sent: ``RateLimitExceeded`` (a ``NetworkError``) is raised at once, never
    retried, with ``retry_after`` set to the wait (and a ``rate_limited`` warning logged,
    ``refused=True``).
    Off unless given (``OAuth2Client(rate_limit=RateLimit(5))``): the limit a server tolerates
    is the server's to say, and it says it with 429 and ``Retry-After``, which are honoured
    (see ``RetryConfig``) either way.

    Raises:
        ConfigurationError: a setting is invalid; the message names it.
    """

    requests_per_second: float
    burst: int = 1
    max_wait: float | None = None

    def __attrs_post_init__(self) -> None:
        _positive("requests_per_second", self.requests_per_second)
        if isinstance(self.burst, bool) or not isinstance(self.burst, int) or self.burst < 1:
            raise ConfigurationError(f"burst: expected a whole number >= 1, got {self.burst!r}")
        if self.max_wait is not None and self.max_wait != 0:
            _positive("max_wait", self.max_wait)


class TokenBucket:
    """The shared state of one :class:`RateLimit` (thread-safe; see the module docstring).

    The state is the token level at one instant; the level may go below zero, each token owed
    being a request booked ``1 / requests_per_second`` after the previous one. ``clock`` is
    monotonic seconds (``time.monotonic`` by default).
    """

    def __init__(self, limit: RateLimit, *, clock: Callable[[], float] | None = None) -> None:
        self.limit = limit
        self._clock = clock if clock is not None else time.monotonic
        self._lock = threading.Lock()
        self._tokens = float(limit.burst)
        self._updated = self._clock()

    def _level(self, now: float) -> float:
        refilled = self._tokens + (now - self._updated) * self.limit.requests_per_second
        return min(float(self.limit.burst), refilled)

    def reserve(self, operation: str = "request") -> float:
        """Take a token; the seconds to wait before sending (0 when one was free).

        Raises:
            RateLimitExceeded: the wait would be longer than ``max_wait``; nothing was taken and
                ``retry_after`` is the wait.
        """
        with self._lock:
            now = self._clock()
            level = self._level(now) - 1.0
            wait = max(0.0, -level / self.limit.requests_per_second)
            max_wait = self.limit.max_wait
            if max_wait is not None and wait > max_wait:
                raise RateLimitExceeded(
                    f"{operation}: not sent, the client-side rate limit would delay it "
                    f"{wait:.2f}s (max_wait is {max_wait}s)",
                    retry_after=wait,
                )
            self._tokens, self._updated = level, now
            return wait

    def pause(self, seconds: float) -> None:
        """Send nothing for ``seconds`` from now (a server's ``Retry-After``), then one request
        at a time at the rate; requests already booked later than that keep their turn."""
        rate = self.limit.requests_per_second
        with self._lock:
            now = self._clock()
            at_end = min(1.0, self._level(now) + seconds * rate)
            self._tokens, self._updated = at_end - seconds * rate, now
