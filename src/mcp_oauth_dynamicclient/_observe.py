"""What the senders and clients record of each request: metrics and log lines, no I/O of theirs.

Shared by the asyncio and blocking senders and clients, which only call these after an attempt.
Each request to the authorization server is one ``request`` line at DEBUG (component
``Sender``) and one latency in the ``metrics`` sink; a retry and a wait for the client-side
rate limit are WARNING lines (``retry``, ``rate_limited``) and counts. A request to a protected
resource (``authenticated_request``) is recorded the same way under component
``OAuth2Client``. URLs are logged without their query (:func:`runtime.safe_url`); no token,
secret, code or verifier is ever a field.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from ._logging import CLIENT, SENDER, client_logger, emit, sender_logger
from .exceptions import OAuth2Error
from .runtime import safe_url

if TYPE_CHECKING:
    import httpx

    from .metrics import MetricsSink

__all__ = [
    "error_key",
    "record_attempt",
    "record_rate_limited",
    "record_resource_request",
    "record_retry",
]


def error_key(error: BaseException) -> str:
    """How a failure is counted: its OAuth ``error`` code, else its exception class name."""
    code = error.error_code if isinstance(error, OAuth2Error) else None
    return code if code is not None else type(error).__name__


def record_attempt(
    metrics: MetricsSink | None,
    operation: str,
    request: httpx.Request,
    started: float,
    error: OAuth2Error | None,
    status_code: int | None = None,
) -> None:
    """Record one attempt at the authorization server: its latency and outcome, at DEBUG."""
    seconds = time.perf_counter() - started
    if metrics is not None:
        metrics.record_request(operation, seconds, "ok" if error is None else "error")
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


def record_retry(
    metrics: MetricsSink | None,
    operation: str,
    attempt: int,
    wait: float,
    error: BaseException | None,
) -> None:
    """A failed attempt is about to be retried after ``wait`` seconds."""
    if metrics is not None:
        metrics.count("retries")
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


def record_rate_limited(
    metrics: MetricsSink | None, operation: str, wait: float, *, refused: bool = False
) -> None:
    """A request waits ``wait`` seconds for its turn of the client-side rate limit, or,
    ``refused``, is not sent because that is longer than ``RateLimit.max_wait``."""
    if metrics is not None:
        metrics.count("rate_limited")
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


def record_resource_request(
    metrics: MetricsSink | None,
    request: httpx.Request,
    started: float,
    response: httpx.Response | None,
    error: OAuth2Error | None,
) -> None:
    """Record an ``authenticated_request``'s latency and outcome; log it at DEBUG."""
    seconds = time.perf_counter() - started
    status = response.status_code if response is not None else None
    failed = error is not None or (status is not None and status >= 400)
    if metrics is not None:
        metrics.record_request("authenticated_request", seconds, "error" if failed else "ok")
        if error is not None:
            metrics.record_error(error_key(error))
    if client_logger.isEnabledFor(logging.DEBUG):
        url = safe_url(request.url)
        emit(
            client_logger,
            logging.DEBUG,
            CLIENT,
            "request",
            f"authenticated_request: {request.method} {url} -> "
            f"{status if error is None else error_key(error)} ({seconds * 1000:.1f} ms)",
            operation="authenticated_request",
            method=request.method,
            url=url,
            status_code=status,
            error_code=None,
            duration_ms=round(seconds * 1000, 3),
        )
