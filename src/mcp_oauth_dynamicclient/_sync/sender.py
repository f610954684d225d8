# Generated from _async/sender.py by mcp-oauth-dynamicclient codegen (unasync). Do not edit.
"""``SyncSender``: sends the requests to the authorization server, with retries and rate limiting.

Every request of ``SyncOAuth2Client`` to the authorization server goes through
:meth:`SyncSender.send`: wait for a turn of the client-side rate limit (``_ratelimit``), send,
parse, and on a failure ask the retry policy (``_retry``) whether and when to try again. The
decisions are made there, shared with the generated blocking twin; this module only sleeps and
sends. The attempt loop is tenacity's ``Retrying`` (``Retrying`` in the twin), driven by
that policy; it is not even imported when retrying is off.

It is also where requests are observed: each attempt's duration goes to the ``metrics`` sink
(``metrics.MetricsSink``) and, at DEBUG, to the log (event ``request``); a retry and a wait for
the rate limit are logged at WARNING (``retry``, ``rate_limited``) and counted; an operation that
fails for good counts one error by its OAuth error code (else its exception class).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import httpx

from .._concurrency import sync_sleep
from .._logging import SENDER, emit, sender_logger
from .._ratelimit import RateLimit, TokenBucket
from .._retry import RetryConfig, should_retry
from .._wire import safe_url, send_errors
from ..exceptions import NetworkError, OAuth2Error

if TYPE_CHECKING:
    from ..metrics import MetricsSink

__all__ = ["SyncSender"]

T = TypeVar("T")


def error_key(error: BaseException) -> str:
    """How a failure is counted: its OAuth ``error`` code, else its exception class name."""
    code = error.error_code if isinstance(error, OAuth2Error) else None
    return code if code is not None else type(error).__name__


class SyncSender:
    """Sends requests with ``http_client``, retried per ``retry`` and paced by ``rate_limit``.

    Without ``retry`` each request is sent once; without ``rate_limit`` it is sent at once. The
    rate limit's bucket belongs to this sender, shared by every task using it. ``metrics``
    (a ``MetricsSink``) receives each attempt's latency, the retries and the failures.
    """

    def __init__(
        self,
        http_client: httpx.Client,
        *,
        retry: RetryConfig | None = None,
        rate_limit: RateLimit | None = None,
        metrics: MetricsSink | None = None,
    ) -> None:
        self.http_client = http_client
        self.retry = retry
        self.metrics = metrics
        self.bucket = TokenBucket(rate_limit) if rate_limit is not None else None

    def send(
        self,
        operation: str,
        build: Callable[[], httpx.Request],
        parse: Callable[[httpx.Response], T],
        *,
        idempotent: bool,
    ) -> T:
        """Build, send and parse one operation's request, retrying as the policy allows.

        ``build`` is called for every attempt, so each carries fresh client authentication (a
        client assertion's ``jti`` is used once, RFC 7523 §3). ``idempotent`` says whether the
        request may be sent again after it may have reached the server (see ``_retry``).

        Raises:
            OAuth2Error: the last attempt's typed error (from ``parse``, or ``NetworkError``).
        """
        try:
            return self._send(operation, build, parse, idempotent=idempotent)
        except Exception as exc:
            if self.metrics is not None:
                self.metrics.record_error(error_key(exc))
            raise

    def _send(
        self,
        operation: str,
        build: Callable[[], httpx.Request],
        parse: Callable[[httpx.Response], T],
        *,
        idempotent: bool,
    ) -> T:
        config = self.retry
        if config is None or config.max_retries == 0:
            return self._attempt(operation, build, parse)
        from tenacity import (
            RetryCallState,
            Retrying,
            retry_if_exception,
            stop_after_attempt,
        )

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome is not None else None
            return config.delay(state.attempt_number, error)

        def before_sleep(state: RetryCallState) -> None:
            # Not in ``wait``: tenacity >= 8.3 computes the wait before it checks ``stop``, so
            # the wait is asked for even after the last attempt, which is not retried.
            error = state.outcome.exception() if state.outcome is not None else None
            delay = state.next_action.sleep if state.next_action is not None else 0.0
            self._retrying(operation, state.attempt_number, delay, error)

        retrying = Retrying(
            sleep=sync_sleep,
            stop=stop_after_attempt(config.max_retries + 1),
            wait=wait,
            before_sleep=before_sleep,
            retry=retry_if_exception(lambda exc: should_retry(config, exc, idempotent=idempotent)),
            reraise=True,
        )
        result: T = retrying(self._attempt, operation, build, parse)
        return result

    def _attempt(
        self,
        operation: str,
        build: Callable[[], httpx.Request],
        parse: Callable[[httpx.Response], T],
    ) -> T:
        """One attempt: wait for a turn, send, parse; a 429's ``Retry-After`` pauses the bucket."""
        if self.bucket is not None:
            try:
                wait = self.bucket.reserve(operation)
            except NetworkError as refused:  # max_wait: not sent at all
                self._rate_limited(operation, refused.retry_after or 0.0, refused=True)
                raise
            if wait > 0:
                self._rate_limited(operation, wait)
                sync_sleep(wait)
        request = build()  # after the wait, so a client assertion's iat is fresh
        started = time.perf_counter()
        try:
            with send_errors(operation, request):
                response = self.http_client.send(request)
            result = parse(response)
        except OAuth2Error as exc:
            self._observed(operation, request, started, exc)
            if self.bucket is not None and exc.status_code == 429 and exc.retry_after:
                self.bucket.pause(exc.retry_after)
            raise
        self._observed(operation, request, started, None, response.status_code)
        return result

    def _observed(
        self,
        operation: str,
        request: httpx.Request,
        started: float,
        error: OAuth2Error | None,
        status_code: int | None = None,
    ) -> None:
        """Record one attempt's latency and outcome; log it at DEBUG."""
        seconds = time.perf_counter() - started
        if self.metrics is not None:
            self.metrics.record_request(operation, seconds, "ok" if error is None else "error")
        if sender_logger.isEnabledFor(logging.DEBUG):
            if error is not None:
                status_code = error.status_code
            url = safe_url(request.url)
            outcome = "ok" if error is None else error_key(error)
            emit(
                sender_logger,
                logging.DEBUG,
                SENDER,
                "request",
                f"{operation}: {request.method} {url} -> {status_code} {outcome} "
                f"({seconds * 1000:.1f} ms)",
                operation=operation,
                method=request.method,
                url=url,
                status_code=status_code,
                error_code=None if error is None else error.error_code,
                duration_ms=round(seconds * 1000, 3),
            )

    def _retrying(
        self, operation: str, attempt: int, wait: float, error: BaseException | None
    ) -> None:
        """A failed attempt is about to be retried after ``wait`` seconds."""
        if self.metrics is not None:
            self.metrics.count("retries")
        if sender_logger.isEnabledFor(logging.WARNING):
            reason = error_key(error) if error is not None else "unknown"
            status = error.status_code if isinstance(error, OAuth2Error) else None
            emit(
                sender_logger,
                logging.WARNING,
                SENDER,
                "retry",
                f"{operation}: attempt {attempt} failed ({reason}); retrying in {wait:.2f}s",
                operation=operation,
                attempt=attempt,
                wait=wait,
                reason=reason,
                status_code=status,
                error_code=error.error_code if isinstance(error, OAuth2Error) else None,
            )

    def _rate_limited(self, operation: str, wait: float, *, refused: bool = False) -> None:
        """A request waits ``wait`` seconds for its turn of the client-side rate limit, or,
        ``refused``, is not sent because that is longer than ``RateLimit.max_wait``."""
        if self.metrics is not None:
            self.metrics.count("rate_limited")
        if sender_logger.isEnabledFor(logging.WARNING):
            doing = "not sent, it would wait" if refused else "waiting"
            emit(
                sender_logger,
                logging.WARNING,
                SENDER,
                "rate_limited",
                f"{operation}: {doing} {wait:.3f}s for the client-side rate limit",
                operation=operation,
                wait=wait,
                refused=refused,
            )
