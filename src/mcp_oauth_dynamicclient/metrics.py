"""Metrics of an ``OAuth2Client``: counters and request latencies, in memory or exported.

Pass a sink as ``OAuth2Client(metrics_collector=...)`` (or to ``SyncOAuth2Client``)::

    metrics = MetricsCollector()
    client = OAuth2Client(auth_server="https://auth.example.com", metrics_collector=metrics)
    stats = metrics.get_stats()
    print(stats["registrations"], stats["token_refreshes"], stats["latency"]["request_token"])

A sink is anything with the three methods of :class:`MetricsSink`. Three come with the package:

- :class:`MetricsCollector`: in memory, thread-safe; ``get_stats()`` returns a dict.
- :class:`PrometheusMetrics`: ``prometheus_client`` counters and a histogram
  (``pip install "mcp-oauth-dynamicclient[prometheus]"``).
- :class:`OpenTelemetryMetrics`: OpenTelemetry counters and a histogram on a meter
  (``pip install "mcp-oauth-dynamicclient[otel]"``).

What is recorded: every attempt at the authorization server (``record_request`` with the
operation's name: ``register_client``, ``request_token``, ``revoke_token``…, its duration and
``"ok"`` or ``"error"``), every ``authenticated_request`` (operation ``authenticated_request``,
``"error"`` for a transport failure or an HTTP status of 400 or more); each failed operation
(``record_error`` with the OAuth ``error`` code, or the exception's class name when the server
sent none); and the events of :data:`EVENTS` (``count``).
"""

from __future__ import annotations

import threading
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "EVENTS",
    "MetricsCollector",
    "MetricsSink",
    "OpenTelemetryMetrics",
    "PrometheusMetrics",
]

EVENTS = (
    "registrations",
    "token_exchanges",
    "token_refreshes",
    "token_revocations",
    "retries",
    "rate_limited",
)
"""The events counted with :meth:`MetricsSink.count`: a client registered itself, got tokens
by a grant (code, client credentials, device code), refreshed a token, revoked one; a request
is about to be retried; a request waited for the client-side rate limit."""

RESERVOIR_SIZE = 1024
"""Latency samples kept per operation: the most recent ones (a sliding window, so percentiles
show how the server answers now, in bounded memory)."""


@runtime_checkable
class MetricsSink(Protocol):
    """What the client records into. Implementations must be thread-safe and fast."""

    def record_request(self, operation: str, seconds: float, outcome: str) -> None:
        """One request of ``operation`` took ``seconds``; ``outcome`` is ``"ok"``/``"error"``."""
        ...

    def count(self, event: str) -> None:
        """One more ``event`` (one of :data:`EVENTS`)."""
        ...

    def record_error(self, code: str) -> None:
        """An operation failed with OAuth error ``code`` (or an exception class name)."""
        ...


class _Latency:
    """Count, sum and max of one operation's durations, and its latest ones for percentiles."""

    __slots__ = ("count", "max", "samples", "total")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.max = 0.0
        self.samples: list[float] = []

    def add(self, seconds: float) -> None:
        self.count += 1
        self.total += seconds
        if seconds > self.max:
            self.max = seconds
        if len(self.samples) < RESERVOIR_SIZE:
            self.samples.append(seconds)
        else:  # overwrite the oldest sample
            self.samples[(self.count - 1) % RESERVOIR_SIZE] = seconds

    def summary(self) -> dict[str, float]:
        ordered = sorted(self.samples)

        def at(fraction: float) -> float:
            if not ordered:
                return 0.0
            return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000

        return {
            "count": self.count,
            "mean_ms": self.total / self.count * 1000 if self.count else 0.0,
            "p50_ms": at(0.50),
            "p95_ms": at(0.95),
            "max_ms": self.max * 1000,
        }


class MetricsCollector:
    """Counters and latency summaries in memory, safe to share between threads and clients.

    ``get_stats()`` returns the seed's ``registrations`` and ``token_refreshes`` and the rest of
    :data:`EVENTS`, ``errors`` (counts by OAuth error code or exception class), ``requests``
    (attempts by operation) and ``latency`` by operation (``count``, ``mean_ms``, ``p50_ms``,
    ``p95_ms``, ``max_ms``; percentiles over the last :data:`RESERVOIR_SIZE` requests, count,
    mean and max over all of them).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = dict.fromkeys(EVENTS, 0)
        self._errors: dict[str, int] = {}
        self._latency: dict[str, _Latency] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._counts!r})"

    def record_request(self, operation: str, seconds: float, outcome: str) -> None:
        """Add one request's duration to ``operation``'s latency."""
        with self._lock:
            latency = self._latency.get(operation)
            if latency is None:
                latency = self._latency[operation] = _Latency()
            latency.add(seconds)

    def count(self, event: str) -> None:
        """Count one ``event``."""
        with self._lock:
            self._counts[event] = self._counts.get(event, 0) + 1

    def record_error(self, code: str) -> None:
        """Count one failure with ``code``."""
        with self._lock:
            self._errors[code] = self._errors.get(code, 0) + 1

    def get_stats(self) -> dict[str, Any]:
        """A snapshot: plain dicts and numbers, safe to serialise and to keep."""
        with self._lock:
            stats: dict[str, Any] = dict(self._counts)
            stats["errors"] = dict(self._errors)
            stats["requests"] = {op: lat.count for op, lat in self._latency.items()}
            stats["latency"] = {op: lat.summary() for op, lat in self._latency.items()}
        return stats

    def reset(self) -> None:
        """Start counting from zero."""
        with self._lock:
            self._counts = dict.fromkeys(EVENTS, 0)
            self._errors.clear()
            self._latency.clear()


class PrometheusMetrics:
    """Records into ``prometheus_client`` metrics in ``registry`` (the default one if None).

    Metrics, with ``namespace`` as prefix: ``<ns>_requests_total{operation,outcome}``,
    ``<ns>_request_duration_seconds{operation}`` (a histogram), ``<ns>_events_total{event}``
    and ``<ns>_errors_total{code}``. Give each client's sink its own registry, or share one
    sink between clients: a registry refuses the same metric names twice.
    """

    def __init__(self, registry: Any = None, namespace: str = "mcp_oauth") -> None:
        import prometheus_client as prom

        options: dict[str, Any] = {"namespace": namespace}
        if registry is not None:
            options["registry"] = registry
        self._requests = prom.Counter(
            "requests",
            "Requests sent, by operation and outcome",
            ["operation", "outcome"],
            **options,
        )
        self._duration = prom.Histogram(
            "request_duration_seconds", "Request duration, by operation", ["operation"], **options
        )
        self._events = prom.Counter("events", "Client lifecycle events", ["event"], **options)
        self._errors = prom.Counter(
            "errors", "Failed operations, by error code", ["code"], **options
        )

    def record_request(self, operation: str, seconds: float, outcome: str) -> None:
        """Count the request and observe its duration."""
        self._requests.labels(operation, outcome).inc()
        self._duration.labels(operation).observe(seconds)

    def count(self, event: str) -> None:
        """Increment ``<ns>_events_total{event=...}``."""
        self._events.labels(event).inc()

    def record_error(self, code: str) -> None:
        """Increment ``<ns>_errors_total{code=...}``."""
        self._errors.labels(code).inc()


class OpenTelemetryMetrics:
    """Records into OpenTelemetry instruments of ``meter`` (the global provider's if None).

    Instruments: ``mcp_oauth.requests`` (counter; attributes ``operation``, ``outcome``),
    ``mcp_oauth.request.duration`` (histogram, seconds; ``operation``), ``mcp_oauth.events``
    (counter; ``event``) and ``mcp_oauth.errors`` (counter; ``code``).
    """

    def __init__(self, meter: Any = None) -> None:
        if meter is None:
            from opentelemetry import metrics as otel_metrics

            meter = otel_metrics.get_meter("mcp_oauth_dynamicclient")
        self._requests = meter.create_counter(
            "mcp_oauth.requests", unit="{request}", description="Requests sent"
        )
        self._duration = meter.create_histogram(
            "mcp_oauth.request.duration", unit="s", description="Request duration"
        )
        self._events = meter.create_counter(
            "mcp_oauth.events", unit="{event}", description="Client lifecycle events"
        )
        self._errors = meter.create_counter(
            "mcp_oauth.errors", unit="{error}", description="Failed operations"
        )

    def record_request(self, operation: str, seconds: float, outcome: str) -> None:
        """Count the request and record its duration."""
        self._requests.add(1, {"operation": operation, "outcome": outcome})
        self._duration.record(seconds, {"operation": operation})

    def count(self, event: str) -> None:
        """Add one to ``mcp_oauth.events{event=...}``."""
        self._events.add(1, {"event": event})

    def record_error(self, code: str) -> None:
        """Add one to ``mcp_oauth.errors{code=...}``."""
        self._errors.add(1, {"code": code})
