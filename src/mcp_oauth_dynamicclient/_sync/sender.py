# Generated from _async/sender.py by mcp-oauth-dynamicclient codegen (unasync). Do not edit.
"""``SyncSender``: sends the requests to the authorization server, with retries and rate limiting.

Every request of ``SyncOAuth2Client`` to the authorization server goes through
:meth:`SyncSender.send`: wait for a turn of the client-side rate limit (``_ratelimit``), send,
parse, and on a failure ask the retry policy (``_retry``) whether and when to try again. The
decisions are made there, shared with the generated blocking twin; this module only sleeps and
sends. The attempt loop is tenacity's ``Retrying`` (``Retrying`` in the twin), driven by
that policy; it is not even imported when retrying is off.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import httpx

from .._concurrency import sync_sleep
from .._ratelimit import RateLimit, TokenBucket
from .._retry import RetryConfig, should_retry
from .._wire import send_errors
from ..exceptions import OAuth2Error

__all__ = ["SyncSender"]

T = TypeVar("T")


class SyncSender:
    """Sends requests with ``http_client``, retried per ``retry`` and paced by ``rate_limit``.

    Without ``retry`` each request is sent once; without ``rate_limit`` it is sent at once. The
    rate limit's bucket belongs to this sender, shared by every task using it.
    """

    def __init__(
        self,
        http_client: httpx.Client,
        *,
        retry: RetryConfig | None = None,
        rate_limit: RateLimit | None = None,
    ) -> None:
        self.http_client = http_client
        self.retry = retry
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

        retrying = Retrying(
            sleep=sync_sleep,
            stop=stop_after_attempt(config.max_retries + 1),
            wait=wait,
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
            wait = self.bucket.reserve(operation)
            if wait > 0:
                sync_sleep(wait)
        request = build()  # after the wait, so a client assertion's iat is fresh
        with send_errors(operation, request):
            response = self.http_client.send(request)
        try:
            return parse(response)
        except OAuth2Error as exc:
            if self.bucket is not None and exc.status_code == 429 and exc.retry_after:
                self.bucket.pause(exc.retry_after)
            raise
