"""``MetricsCollector`` and the Prometheus and OpenTelemetry adapters, alone and in a client."""

from __future__ import annotations

import threading
from typing import Any, cast

import httpx
import pytest

from mcp_oauth_dynamicclient import ConfigurationError, OAuth2Client, RetryConfig, TokenError
from mcp_oauth_dynamicclient.metrics import (
    RESERVOIR_SIZE,
    MetricsCollector,
    MetricsSink,
    OpenTelemetryMetrics,
    PrometheusMetrics,
)
from mcp_oauth_dynamicclient.testing import Fault, MockAuthServer
from tests.clients import authorize, make
from tests.flavours import Flavour

FAST = RetryConfig(max_retries=2, backoff_factor=0.001, jitter=False)


def test_the_seed_example(api: Flavour, server: MockAuthServer) -> None:
    metrics = MetricsCollector()
    client = make(api, server, metrics_collector=metrics)
    authorize(client)
    client.refresh_token()
    client.refresh_token()
    client.authenticated_request("GET", server.resource_url)
    client.revoke_token(client.get_token())
    stats = metrics.get_stats()
    assert stats["registrations"] == 1
    assert stats["token_refreshes"] == 2
    assert stats["token_exchanges"] == 2  # the code, then client credentials
    assert stats["token_revocations"] == 1
    assert stats["errors"] == {}
    assert stats["requests"]["request_token"] == 4
    assert stats["requests"]["authenticated_request"] == 1
    latency = stats["latency"]["request_token"]
    assert set(latency) == {"count", "mean_ms", "p50_ms", "p95_ms", "max_ms"}
    assert latency["count"] == 4
    assert 0 < latency["p50_ms"] <= latency["p95_ms"] <= latency["max_ms"]


def test_errors_retries_and_failed_attempts_are_counted(
    api: Flavour, server: MockAuthServer
) -> None:
    metrics = MetricsCollector()
    client = make(api, server, metrics_collector=metrics, retry_config=FAST)
    client.register()
    server.inject(Fault.server_error(503), path="/token", times=3)
    with pytest.raises(TokenError):
        client.get_token()
    with pytest.raises(TokenError):
        client.refresh_token("not-a-refresh-token")
    stats = metrics.get_stats()
    assert stats["retries"] == 2
    assert stats["errors"]["invalid_grant"] == 1
    assert sum(stats["errors"].values()) == 2  # one per failed operation, not per attempt
    assert stats["latency"]["request_token"]["count"] == 4


def test_a_transport_failure_is_counted_by_exception_class() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    metrics = MetricsCollector()
    client = OAuth2Client(
        "https://as.example",
        metrics_collector=metrics,
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(refuse)),
    )
    import anyio

    async def run() -> None:
        with pytest.raises(Exception, match="refused"):
            await client.authenticated_request("GET", "https://rs.example/", token="t")
        with pytest.raises(Exception, match="failed"):
            await client.discover()

    anyio.run(run)
    stats = metrics.get_stats()
    assert stats["errors"] == {"NetworkError": 2}
    assert stats["requests"] == {"authenticated_request": 1, "get_authorization_server_metadata": 1}


def test_a_metrics_collector_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="metrics_collector"):
        OAuth2Client("https://as.example", metrics_collector=cast(Any, object()))


def test_the_collector_is_thread_safe_and_bounded() -> None:
    metrics = MetricsCollector()

    def work() -> None:
        for i in range(2000):
            metrics.record_request("op", (i % 100) / 1000, "ok")
            metrics.count("retries")
            metrics.record_error("invalid_grant")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = metrics.get_stats()
    assert stats["retries"] == 16000
    assert stats["errors"] == {"invalid_grant": 16000}
    latency = stats["latency"]["op"]
    assert latency["count"] == 16000
    assert latency["max_ms"] == pytest.approx(99.0)
    assert latency["mean_ms"] == pytest.approx(49.5)
    assert 35 <= latency["p50_ms"] <= 65
    assert 85 <= latency["p95_ms"] <= 99
    assert len(metrics._latency["op"].samples) == RESERVOIR_SIZE
    metrics.reset()
    assert metrics.get_stats()["retries"] == 0
    assert metrics.get_stats()["latency"] == {}


def test_percentiles_follow_the_latest_requests() -> None:
    """A server that got slow shows it in p50/p95 at once; count, mean and max cover all."""
    metrics = MetricsCollector()
    for _ in range(5000):
        metrics.record_request("op", 0.001, "ok")
    for _ in range(RESERVOIR_SIZE):
        metrics.record_request("op", 0.2, "ok")
    latency = metrics.get_stats()["latency"]["op"]
    assert (latency["p50_ms"], latency["p95_ms"]) == (pytest.approx(200.0), pytest.approx(200.0))
    assert latency["count"] == 5000 + RESERVOIR_SIZE
    assert latency["max_ms"] == pytest.approx(200.0)
    assert latency["mean_ms"] < 50
    metrics.record_request("op", 0.001, "ok")  # the oldest slow one is overwritten
    assert sorted(metrics._latency["op"].samples)[0] == pytest.approx(0.001)


def test_an_empty_collector() -> None:
    stats = MetricsCollector().get_stats()
    for key in ("registrations", "token_refreshes", "token_exchanges", "token_revocations"):
        assert stats[key] == 0
    assert (stats["errors"], stats["latency"], stats["retries"], stats["rate_limited"]) == (
        {},
        {},
        0,
        0,
    )


# ------------------------------------------------------------------------------ adapters


def test_prometheus_adapter_against_a_real_registry(server: MockAuthServer, api: Flavour) -> None:
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    sink = PrometheusMetrics(registry=registry, namespace="test")
    assert isinstance(sink, MetricsSink)
    client = make(api, server, metrics_collector=sink)
    authorize(client)
    with pytest.raises(TokenError):
        client.refresh_token("not-a-refresh-token")

    def value(name: str, **labels: str) -> Any:
        return registry.get_sample_value(name, labels)

    assert value("test_events_total", event="registrations") == 1
    assert value("test_events_total", event="token_exchanges") == 1
    assert value("test_errors_total", code="invalid_grant") == 1
    assert value("test_requests_total", operation="request_token", outcome="ok") == 1
    assert value("test_requests_total", operation="request_token", outcome="error") == 1
    assert value("test_request_duration_seconds_count", operation="request_token") == 2
    assert value("test_request_duration_seconds_sum", operation="request_token") > 0


def test_opentelemetry_adapter_with_the_sdk_in_memory_reader() -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    sink = OpenTelemetryMetrics(meter=provider.get_meter("test"))
    assert isinstance(sink, MetricsSink)
    sink.record_request("request_token", 0.25, "ok")
    sink.record_request("request_token", 0.75, "error")
    sink.count("token_refreshes")
    sink.record_error("invalid_grant")
    data = reader.get_metrics_data()
    assert data is not None
    points: dict[str, list[Any]] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                points[metric.name] = list(metric.data.data_points)
    requests = {p.attributes["outcome"]: p.value for p in points["mcp_oauth.requests"]}
    assert requests == {"ok": 1, "error": 1}
    (duration,) = points["mcp_oauth.request.duration"]
    assert (duration.count, duration.sum) == (2, pytest.approx(1.0))
    assert [(dict(p.attributes), p.value) for p in points["mcp_oauth.events"]] == [
        ({"event": "token_refreshes"}, 1)
    ]
    assert [(dict(p.attributes), p.value) for p in points["mcp_oauth.errors"]] == [
        ({"code": "invalid_grant"}, 1)
    ]
    provider.shutdown()
