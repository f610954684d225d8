# Generated from _async/sender.py by mcp-oauth-dynamicclient codegen (unasync). Do not edit.
"""``SyncSender``: the library's transport policy, retries and rate limit, metrics and logs.

It implements the runtime's sender protocol, so every generated endpoint client can send
through it: ``SyncOAuth2Client``'s own, and the ones users regenerate from their servers' specs
(``EndpointClient(http, sender=SyncSender(retry_config=..., rate_limit=...))``).
For each operation it waits for a turn of the client-side rate limit (``_ratelimit``), sends,
parses, and on a failure asks the retry policy (``_retry``) whether and when to try again; the
endpoint client says whether the request may be resent (the spec's ``x-idempotent``). The
decisions and the records (``_observe``) are shared with the generated blocking twin; this
module only sleeps and sends. The attempt loop is tenacity's ``Retrying`` (``Retrying`` in
the twin), driven by that policy; it is not even imported when retrying is off.

Each exchange goes through the runtime's bounded one (``DirectSender.exchange``): the
response is read as a stream up to ``max_response_bytes``, and the operation, its attempts and
the waits between them, must be over within ``deadline`` seconds. A wait that would end past
the deadline is not waited for: the last attempt's error is raised.

Each attempt's duration goes to the ``metrics`` sink (``metrics.MetricsSink``) and, at DEBUG,
to the log (event ``request``); a retry and a wait for the rate limit are logged at WARNING
(``retry``, ``rate_limited``) and counted; an operation that fails for good counts one error
by its OAuth error code (else its exception class).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import httpx

from .._concurrency import sync_sleep
from .._observe import error_key, record_attempt, record_rate_limited, record_retry
from .._public import public
from ..exceptions import ConfigurationError, OAuth2Error, RateLimitExceeded
from ..metrics import MetricsSink
from ..runtime import (
    DEFAULT_DEADLINE,
    DEFAULT_MAX_RESPONSE_BYTES,
    Deadline,
    DirectSender,
)

if TYPE_CHECKING:  # loaded when a sender is given a retry policy or a rate limit
    from .._ratelimit import RateLimit, TokenBucket
    from .._retry import RetryConfig

__all__ = ["SyncSender"]

T = TypeVar("T")


@public("mcp_oauth_dynamicclient")
class SyncSender:
    """Sends operations retried per ``retry_config``, paced by ``rate_limit``, counted in metrics.

    Without ``retry_config`` each request is sent once; without ``rate_limit`` it is sent at
    once. The rate limit's bucket belongs to this sender, shared by every task and endpoint
    client using it. ``metrics_collector`` (a ``MetricsCollector`` or any ``MetricsSink``)
    receives each attempt's latency, the retries and the failures. A response body over
    ``max_response_bytes`` raises ``ResponseTooLarge``; an operation not over within
    ``deadline`` seconds, retries and their waits included, ``DeadlineExceeded``.

    Raises:
        ConfigurationError: a setting is not of its type, or a limit not a positive number.
    """

    def __init__(
        self,
        *,
        retry_config: RetryConfig | None = None,
        rate_limit: RateLimit | None = None,
        metrics_collector: MetricsSink | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        deadline: float = DEFAULT_DEADLINE,
    ) -> None:
        self.direct = DirectSender(max_response_bytes=max_response_bytes, deadline=deadline)
        if retry_config is not None:
            from .._retry import RetryConfig

            if not isinstance(retry_config, RetryConfig):
                raise ConfigurationError("retry_config: expected a RetryConfig")
        self.bucket: TokenBucket | None = None
        if rate_limit is not None:
            from .._ratelimit import RateLimit, TokenBucket

            if not isinstance(rate_limit, RateLimit):
                raise ConfigurationError("rate_limit: expected a RateLimit")
            self.bucket = TokenBucket(rate_limit)
        if metrics_collector is not None and not isinstance(metrics_collector, MetricsSink):
            raise ConfigurationError(
                "metrics_collector: expected a MetricsCollector (or an object with "
                "record_request, count and record_error)"
            )
        self.retry = retry_config
        self.metrics = metrics_collector

    def __repr__(self) -> str:
        limit = self.bucket.limit if self.bucket is not None else None
        return (
            f"{type(self).__name__}(retry={self.retry!r}, rate_limit={limit!r}, "
            f"max_response_bytes={self.direct.max_response_bytes}, "
            f"deadline={self.direct.deadline!r})"
        )

    def send(
        self,
        http_client: httpx.Client,
        operation: str,
        build: Callable[[], httpx.Request],
        parse: Callable[[httpx.Response], T],
        *,
        idempotent: bool,
    ) -> T:
        """Build, send with ``http_client`` and parse one operation, retrying as allowed.

        ``build`` is called for every attempt, so each carries fresh client authentication (a
        client assertion's ``jti`` is used once, RFC 7523 §3). ``idempotent`` says whether the
        request may be sent again after it may have reached the server (see ``_retry``).

        Raises:
            OAuth2Error: the last attempt's typed error (from ``parse``, or ``NetworkError``:
                ``DeadlineExceeded``, ``ResponseTooLarge`` among them).
        """
        deadline = Deadline(self.direct.deadline)
        try:
            return self._send(http_client, operation, build, parse, deadline, idempotent=idempotent)
        except Exception as exc:
            if self.metrics is not None:
                self.metrics.record_error(error_key(exc))
            raise

    def _send(
        self,
        http_client: httpx.Client,
        operation: str,
        build: Callable[[], httpx.Request],
        parse: Callable[[httpx.Response], T],
        deadline: Deadline,
        *,
        idempotent: bool,
    ) -> T:
        config = self.retry
        if config is None or config.max_retries == 0:
            return self._attempt(http_client, operation, build, parse, deadline)
        from tenacity import RetryCallState, Retrying, retry_if_exception

        from .._retry import should_retry

        planned: dict[int, float] = {}  # the wait after each attempt, drawn once (jitter)

        def wait(state: RetryCallState) -> float:
            if state.attempt_number not in planned:
                error = state.outcome.exception() if state.outcome is not None else None
                planned[state.attempt_number] = config.delay(state.attempt_number, error)
            return planned[state.attempt_number]

        def stop(state: RetryCallState) -> bool:
            # No retry past the last one, nor one that would start after the deadline: the
            # last error is raised instead of waiting for nothing.
            spent = state.attempt_number > config.max_retries
            return spent or wait(state) >= deadline.remaining()

        def before_sleep(state: RetryCallState) -> None:
            # Not in ``wait``: tenacity >= 8.3 computes the wait before it checks ``stop``, so
            # the wait is asked for even after the last attempt, which is not retried.
            error = state.outcome.exception() if state.outcome is not None else None
            delay = state.next_action.sleep if state.next_action is not None else 0.0
            record_retry(self.metrics, operation, state.attempt_number, delay, error)

        retrying = Retrying(
            sleep=sync_sleep,
            stop=stop,
            wait=wait,
            before_sleep=before_sleep,
            retry=retry_if_exception(lambda exc: should_retry(config, exc, idempotent=idempotent)),
            reraise=True,
        )
        result: T = retrying(self._attempt, http_client, operation, build, parse, deadline)
        return result

    def _attempt(
        self,
        http_client: httpx.Client,
        operation: str,
        build: Callable[[], httpx.Request],
        parse: Callable[[httpx.Response], T],
        deadline: Deadline,
    ) -> T:
        """One attempt: wait for a turn, send, parse; a 429's ``Retry-After`` pauses the bucket.

        The exchange gets what is left of the operation's ``deadline`` (none left: not sent).
        """
        if self.bucket is not None:
            try:
                wait = self.bucket.reserve(operation)
            except RateLimitExceeded as refused:  # max_wait: not sent at all
                record_rate_limited(
                    self.metrics, operation, refused.retry_after or 0.0, refused=True
                )
                raise
            if wait > 0:
                record_rate_limited(self.metrics, operation, wait)
                sync_sleep(wait)
        request = build()  # after the wait, so a client assertion's iat is fresh
        started = time.perf_counter()
        try:
            response = self.direct.exchange(http_client, operation, request, deadline)
            result = parse(response)
        except OAuth2Error as exc:
            record_attempt(self.metrics, operation, request, started, exc)
            if self.bucket is not None and exc.status_code == 429 and exc.retry_after:
                self.bucket.pause(exc.retry_after)
            raise
        record_attempt(self.metrics, operation, request, started, None, response.status_code)
        return result
