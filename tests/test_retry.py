"""Retries with backoff and client-side rate limiting, for both API flavours.

The policy (``_retry``, ``_ratelimit``) is tested as pure functions; the senders against
``MockAuthServer`` faults, counting at the server what was sent. Sleeps are recorded instead of
slept (the senders' ``async_sleep`` / ``sync_sleep`` are replaced), so the waits asked for are
asserted exactly and the file runs fast.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from itertools import pairwise
from typing import Any

import httpx
import pytest

from mcp_oauth_dynamicclient import (
    AuthorizationError,
    ConfigurationError,
    DiscoveryError,
    NetworkError,
    OAuth2Client,
    RateLimit,
    RegistrationError,
    RetryConfig,
    SyncOAuth2Client,
    TokenError,
)
from mcp_oauth_dynamicclient._ratelimit import TokenBucket
from mcp_oauth_dynamicclient._retry import should_retry
from mcp_oauth_dynamicclient.runtime import parse_retry_after
from mcp_oauth_dynamicclient.testing import Fault, MockAuthServer
from tests.clients import authorize, follow, make
from tests.flavours import ClientProxy, Flavour

METADATA = "/.well-known/oauth-authorization-server"
FAST = RetryConfig(max_retries=3, backoff_factor=0.01, jitter=False)


# ------------------------------------------------------------------------------ fixtures


class FailFirst:
    """Transport failures raised before the real transport is reached: nothing is sent."""

    def __init__(self, error: type[httpx.TransportError], times: int) -> None:
        self.error, self.times = error, times

    def take(self, request: httpx.Request) -> None:
        if self.times > 0:
            self.times -= 1
            raise self.error("injected before connecting", request=request)


class SyncFailing(httpx.HTTPTransport):
    def __init__(self, fail: FailFirst) -> None:
        super().__init__()
        self.fail = fail

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.fail.take(request)
        return super().handle_request(request)


class AsyncFailing(httpx.AsyncHTTPTransport):
    def __init__(self, fail: FailFirst) -> None:
        super().__init__()
        self.fail = fail

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.fail.take(request)
        return await super().handle_async_request(request)


def failing_http(api: Flavour, fail: FailFirst) -> httpx.Client | httpx.AsyncClient:
    """An httpx client of the flavour whose first requests fail with ``fail``."""
    if api.is_async:
        async_http = httpx.AsyncClient(transport=AsyncFailing(fail))
        api.stack.callback(lambda: api.run(async_http.aclose))
        return async_http
    http = httpx.Client(transport=SyncFailing(fail))
    api.stack.callback(http.close)
    return http


def retrying(api: Flavour, server: MockAuthServer, **settings: Any) -> ClientProxy:
    """A client of ``server`` with fast retries (override with ``retry_config=``)."""
    return make(api, server, **{"retry_config": FAST, **settings})


# --------------------------------------------------------------------------- pure policy


def test_retry_after_in_seconds() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 0 ") == 0.0


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(later, now=now.timestamp()) == 90.0
    # Measured from the response's Date header when it has one, whatever our clock says.
    sent = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(later, date=sent, now=0.0) == 60.0
    # A date in the past means: now.
    assert parse_retry_after(later, now=now.timestamp() + 1000) == 0.0


@pytest.mark.parametrize(
    "value", [None, "", "soon", "-5", "1.5", "Mon, 99 Foo 2026 99:00:00 GMT", "Mon, 1 Jan 2026"]
)
def test_unusable_retry_after_is_none(value: str | None) -> None:
    assert parse_retry_after(value) is None


def test_backoff_is_exponential_and_capped() -> None:
    config = RetryConfig(backoff_factor=1.0, max_backoff=5.0, jitter=False)
    assert [config.backoff(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert config.backoff(10_000) == 5.0  # no overflow on a huge retry count


def test_jittered_backoff_stays_within_the_exponential_bound() -> None:
    config = RetryConfig(backoff_factor=1.0, max_backoff=5.0)
    rand = random.Random(7)
    for n, bound in [(1, 1.0), (2, 2.0), (3, 4.0), (8, 5.0)]:
        waits = [config.backoff(n, rand=rand) for _ in range(200)]
        assert all(0.0 <= wait <= bound for wait in waits)
        assert max(waits) > bound / 2  # full jitter: spread over the whole range


def test_the_seed_example_builds() -> None:
    config = RetryConfig(
        max_retries=3,
        backoff_factor=2.0,
        retry_on_status=[502, 503, 504],
        retry_on_exceptions=[NetworkError],
    )
    assert config.retry_on_status == (502, 503, 504)
    assert config.retry_on_exceptions == (NetworkError,)
    assert RetryConfig().retry_on_status == (429, 502, 503, 504)


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": 2.5}, "max_retries"),
        ({"max_retries": True}, "max_retries"),
        ({"backoff_factor": float("nan")}, "backoff_factor"),
        ({"backoff_factor": "2"}, "backoff_factor"),
        ({"max_backoff": -1.0}, "max_backoff"),
        ({"max_retry_after": float("inf")}, "max_retry_after"),
        ({"retry_on_status": [99]}, "retry_on_status"),
        ({"retry_on_status": "503"}, "retry_on_status"),
        ({"retry_on_status": 503}, "retry_on_status"),
        ({"retry_on_exceptions": [str]}, "retry_on_exceptions"),
        ({"retry_on_exceptions": [NetworkError("x")]}, "retry_on_exceptions"),
        ({"jitter": "yes"}, "jitter"),
    ],
)
def test_bad_retry_settings_name_the_field(settings: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigurationError, match=f"^{field}:"):
        RetryConfig(**settings)


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"requests_per_second": 0}, "requests_per_second"),
        ({"requests_per_second": float("nan")}, "requests_per_second"),
        ({"requests_per_second": 1, "burst": 0}, "burst"),
        ({"requests_per_second": 1, "burst": 1.5}, "burst"),
        ({"requests_per_second": 1, "max_wait": -1}, "max_wait"),
    ],
)
def test_bad_rate_limits_name_the_field(settings: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigurationError, match=f"^{field}:"):
        RateLimit(**settings)


@pytest.mark.parametrize("client_class", [OAuth2Client, SyncOAuth2Client])
def test_the_client_refuses_settings_of_the_wrong_type(client_class: Any) -> None:
    with pytest.raises(ConfigurationError, match=r"^retry_config:"):
        client_class("https://auth.example.com", retry_config={"max_retries": 3})
    with pytest.raises(ConfigurationError, match=r"^rate_limit:"):
        client_class("https://auth.example.com", rate_limit=10)


def _network_error(cause: BaseException) -> NetworkError:
    error = NetworkError("failed")
    error.__cause__ = cause
    return error


def test_an_unsafe_request_is_retried_only_if_it_never_left() -> None:
    config = RetryConfig()
    request = httpx.Request("POST", "https://auth.example.com/token")
    never_sent = [
        httpx.ConnectError("refused", request=request),
        httpx.ConnectTimeout("slow", request=request),
        httpx.PoolTimeout("full", request=request),
    ]
    maybe_sent = [
        httpx.ReadTimeout("slow", request=request),
        httpx.RemoteProtocolError("dropped", request=request),
        httpx.ReadError("reset", request=request),
    ]
    for cause in never_sent:
        assert should_retry(config, _network_error(cause), idempotent=False)
    for cause in maybe_sent:
        assert not should_retry(config, _network_error(cause), idempotent=False)
        assert should_retry(config, _network_error(cause), idempotent=True)
    assert not should_retry(config, KeyboardInterrupt(), idempotent=True)


def test_the_bucket_allows_a_burst_then_paces() -> None:
    now = [100.0]
    bucket = TokenBucket(RateLimit(requests_per_second=2, burst=2), clock=lambda: now[0])
    assert [bucket.reserve() for _ in range(4)] == [0.0, 0.0, 0.5, 1.0]
    now[0] += 10.0  # refilled, but never above the burst
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.5]


def test_a_pause_holds_every_request_until_it_ends() -> None:
    now = [0.0]
    bucket = TokenBucket(RateLimit(requests_per_second=10, burst=5), clock=lambda: now[0])
    bucket.pause(3.0)
    assert [bucket.reserve() for _ in range(3)] == pytest.approx([3.0, 3.1, 3.2])


def test_max_wait_refuses_without_spending_a_turn() -> None:
    now = [0.0]
    bucket = TokenBucket(RateLimit(1, burst=1, max_wait=0.5), clock=lambda: now[0])
    assert bucket.reserve() == 0.0
    with pytest.raises(NetworkError, match="rate limit") as caught:
        bucket.reserve("register_client")
    assert caught.value.retry_after == pytest.approx(1.0)
    now[0] = 0.6
    assert bucket.reserve() == pytest.approx(0.4)


# ------------------------------------------------------------------ retried, then success


def test_discovery_is_retried_after_server_errors(
    api: Flavour, server: MockAuthServer, sleeps: list[float]
) -> None:
    server.inject(Fault.server_error(503), path=METADATA, times=1)
    server.inject(Fault.html_error(502), path=METADATA, times=1)
    assert retrying(api, server).discover().issuer == server.url
    assert server.requests.count(METADATA, method="GET") == 3
    assert sleeps == [0.01, 0.02]  # exponential, no jitter


def test_retry_after_is_honoured_instead_of_the_backoff(
    api: Flavour, server: MockAuthServer, sleeps: list[float]
) -> None:
    server.inject(Fault.server_error(503, retry_after=7), path=METADATA, times=1)
    when = datetime.now(UTC) + timedelta(seconds=20)
    server.inject(Fault.rate_limited(when), path=METADATA, times=1)
    retrying(api, server).discover()
    assert server.requests.count(METADATA, method="GET") == 3
    assert sleeps[0] == 7.0
    assert 18.0 <= sleeps[1] <= 21.0  # an HTTP-date, second-granular on both ends


def test_safe_requests_are_resent_even_after_reaching_the_server(
    api: Flavour, server: MockAuthServer, sleeps: list[float]
) -> None:
    client = retrying(api, server)
    client.register()
    cases: list[tuple[str, str, Callable[[], Any]]] = [
        ("/register/*", "GET", lambda: client.get_client_info()),
        ("/jwks", "GET", lambda: authorize(client, scope="openid mcp:read")),  # ID Token keys
        ("/introspect", "POST", lambda: client.introspect_token(token)),
        ("/revoke", "POST", lambda: client.revoke_token(token)),
        ("/token", "POST", lambda: client.get_token()),  # client credentials
    ]
    token = authorize(client)
    for path, method, call in cases:
        server.inject(Fault.drop_connection(after_processing=True), path=path, method=method)
        before = server.requests.count(path, method=method)
        assert call()
        assert server.requests.count(path, method=method) - before == 2, path
    assert len(sleeps) == len(cases)


def test_an_unsafe_request_is_resent_when_the_connection_was_never_made(
    api: Flavour, server: MockAuthServer, sleeps: list[float]
) -> None:
    fail = FailFirst(httpx.ConnectError, times=2)
    client = retrying(api, server, http_client=failing_http(api, fail))
    assert client.register().client_id  # discovery failed twice, then registration went through
    fail.times = 2
    assert authorize(client).access_token  # the code exchange: POST /token
    assert server.requests.count("/register", method="POST") == 1
    assert server.requests.count("/token", method="POST") == 1
    assert len(sleeps) == 4


def test_retries_run_out_with_the_last_typed_error(
    api: Flavour, server: MockAuthServer, sleeps: list[float]
) -> None:
    server.inject(Fault.server_error(504), path=METADATA, times=None)
    with pytest.raises(DiscoveryError) as caught:
        retrying(api, server).discover()
    assert caught.value.status_code == 504
    assert server.requests.count(METADATA, method="GET") == FAST.max_retries + 1
    assert sleeps == [0.01, 0.02, 0.04]


def test_a_malformed_body_is_not_retried(
    api: Flavour, server: MockAuthServer, sleeps: list[float]
) -> None:
    client = retrying(api, server)
    client.register()
    server.inject(Fault.malformed_json(), path="/register/*", method="GET")
    with pytest.raises(RegistrationError, match="not JSON"):
        client.get_client_info()  # safe to resend, but a 200 with a bad body is no transient
    assert server.requests.count("/register/*", method="GET") == 1
    assert sleeps == []


def test_only_the_configured_statuses_are_retried(
    api: Flavour, server: MockAuthServer, sleeps: list[float]
) -> None:
    config = RetryConfig(backoff_factor=0.01, retry_on_status=[502], retry_on_exceptions=[])
    server.inject(Fault.server_error(503), path=METADATA)
    with pytest.raises(DiscoveryError):
        make(api, server, retry_config=config).discover()
    server.inject(Fault.drop_connection(), path=METADATA)
    with pytest.raises(NetworkError):
        make(api, server, retry_config=config).discover()
    assert server.requests.count(METADATA, method="GET") == 2
    assert sleeps == []


def test_without_a_retry_config_nothing_is_retried(
    api: Flavour, server: MockAuthServer, sleeps: list[float]
) -> None:
    server.inject(Fault.server_error(503, retry_after=0), path=METADATA)
    with pytest.raises(DiscoveryError):
        make(api, server).discover()
    assert server.requests.count(METADATA, method="GET") == 1


# ------------------------------------------------------------- Retry-After over the cap


@pytest.mark.parametrize("as_date", [False, True], ids=["seconds", "http-date"])
def test_a_retry_after_over_the_cap_raises_at_once(
    api: Flavour, server: MockAuthServer, sleeps: list[float], as_date: bool
) -> None:
    wait: int | datetime = 120
    if as_date:
        wait = datetime.now(UTC) + timedelta(seconds=120)
    client = make(api, server, retry_config=RetryConfig(backoff_factor=0.01, max_retry_after=60))
    client.register()
    server.inject(Fault.rate_limited(wait), path="/register/*", method="GET")
    with pytest.raises(RegistrationError) as caught:
        client.get_client_info()  # safe to resend, but not after two minutes
    assert caught.value.status_code == 429
    assert caught.value.retry_after is not None
    assert 118 <= caught.value.retry_after <= 121
    assert "retry_after=" in repr(caught.value)
    assert server.requests.count("/register/*", method="GET") == 1
    assert sleeps == []


def test_the_code_exchange_error_keeps_the_retry_after(
    api: Flavour, server: MockAuthServer, sleeps: list[float]
) -> None:
    client = retrying(api, server)
    callback = follow(client.get_authorization_url())
    server.inject(Fault.server_error(503, retry_after=120), path="/token")
    with pytest.raises(AuthorizationError) as caught:
        client.exchange_code(callback)
    assert (caught.value.status_code, caught.value.retry_after) == (503, 120.0)
    assert server.requests.count("/token", method="POST") == 1  # over max_retry_after


# ------------------------------------------------------------ unsafe requests: sent once


def _exchange(client: ClientProxy) -> Any:
    callback = follow(client.get_authorization_url())
    return lambda: client.exchange_code(callback)


def _refresh(client: ClientProxy) -> Any:
    authorize(client)
    return client.refresh_token


def _update(client: ClientProxy) -> Any:
    client.register()
    return lambda: client.update_client(client_name="Renamed")


def _delete(client: ClientProxy) -> Any:
    client.register()
    return client.delete_client


def _device(client: ClientProxy) -> Any:
    client.register()
    return client.start_device_authorization


def _poll(client: ClientProxy) -> Any:
    device = client.start_device_authorization()
    return lambda: client.poll_device_authorization(device.device_code, interval=0.01)


UNSAFE = [
    ("/register", "POST", lambda c: c.register),
    ("/token", "POST", _exchange),
    ("/token", "POST", _refresh),
    ("/register/*", "PUT", _update),
    ("/register/*", "DELETE", _delete),
    ("/device_authorization", "POST", _device),
    ("/token", "POST", _poll),
]
UNSAFE_IDS = ["register", "exchange", "refresh", "update", "delete", "device", "poll"]


@pytest.mark.parametrize(("path", "method", "prepare"), UNSAFE, ids=UNSAFE_IDS)
def test_an_unsafe_request_that_reached_the_server_is_never_resent(
    api: Flavour,
    server: MockAuthServer,
    sleeps: list[float],
    path: str,
    method: str,
    prepare: Callable[[ClientProxy], Callable[[], Any]],
) -> None:
    client = retrying(api, server)
    call = prepare(client)
    server.inject(Fault.drop_connection(after_processing=True), path=path, method=method)
    before = server.requests.count(path, method=method)
    with pytest.raises(NetworkError):
        call()
    assert server.requests.count(path, method=method) - before == 1
    assert sleeps == []


@pytest.mark.parametrize(("path", "method", "prepare"), UNSAFE, ids=UNSAFE_IDS)
def test_an_unsafe_request_is_not_resent_after_a_retryable_status(
    api: Flavour,
    server: MockAuthServer,
    sleeps: list[float],
    path: str,
    method: str,
    prepare: Callable[[ClientProxy], Callable[[], Any]],
) -> None:
    client = retrying(api, server)
    call = prepare(client)
    # No Retry-After: a 503 with one means "not processed" (see test_retry_after_unsafe.py).
    server.inject(Fault.server_error(503), path=path, method=method)
    before = server.requests.count(path, method=method)
    with pytest.raises((RegistrationError, TokenError, AuthorizationError)) as caught:
        call()
    assert caught.value.status_code == 503
    assert server.requests.count(path, method=method) - before == 1
    assert sleeps == []


# --------------------------------------------------------------------------- rate limiting


def test_the_rate_limit_paces_requests(
    api: Flavour, server: MockAuthServer, sleeps: list[float]
) -> None:
    client = make(api, server, rate_limit=RateLimit(requests_per_second=10, burst=2))
    client.discover()
    client.register()
    client.get_client_info()
    client.get_client_info()
    # Two free, then one every 0.1 s (minus the little time the requests took).
    assert len(sleeps) == 2
    assert 0.05 < sleeps[0] <= 0.1
    assert 0.1 < sleeps[1] <= 0.2


def test_a_429_pauses_the_bucket_for_every_request(
    api: Flavour, server: MockAuthServer, sleeps: list[float]
) -> None:
    client = make(api, server, rate_limit=RateLimit(requests_per_second=100, burst=10))
    client.discover()
    server.inject(Fault.rate_limited(30), path="/register")
    with pytest.raises(RegistrationError) as caught:
        client.register()  # unsafe, so not retried: the caller sees the 429
    assert caught.value.retry_after == 30.0
    client.register()  # the next request waits out the server's Retry-After first
    assert len(sleeps) == 1
    assert 29.0 < sleeps[0] <= 30.0


def test_max_wait_refuses_instead_of_waiting(
    api: Flavour, server: MockAuthServer, sleeps: list[float]
) -> None:
    limit = RateLimit(requests_per_second=0.01, burst=1, max_wait=1.0)
    client = make(api, server, rate_limit=limit)
    client.discover()
    with pytest.raises(NetworkError, match="rate limit") as caught:
        client.register()
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > 90
    assert server.requests.count("/register", method="POST") == 0


def test_a_refusal_by_max_wait_is_final_even_with_retries_on(
    api: Flavour, server: MockAuthServer, sleeps: list[float]
) -> None:
    created = server.create_client({"grant_types": ["client_credentials"]}, client_id="fixed")
    limit = RateLimit(requests_per_second=0.01, burst=1, max_wait=1.0)
    client = retrying(
        api, server, client_id="fixed", client_secret=created.client_secret, rate_limit=limit
    )
    client.discover()
    with pytest.raises(NetworkError, match="rate limit"):
        client.get_token()  # client credentials: idempotent, retried on a NetworkError
    assert sleeps == []  # neither waited for the limit nor backed off to try again
    assert server.requests.count("/token") == 0


def test_protected_resource_requests_are_neither_retried_nor_limited(
    api: Flavour, server: MockAuthServer, sleeps: list[float]
) -> None:
    client = retrying(api, server, rate_limit=RateLimit(requests_per_second=1000, burst=100))
    authorize(client)
    server.inject(Fault.server_error(503, retry_after=0), path="/mcp")
    response = client.authenticated_request("GET", server.resource_url)
    assert response.status_code == 503
    assert server.requests.count("/mcp") == 1
    assert sleeps == []


def test_one_bucket_is_shared_by_every_caller_of_a_client(
    api: Flavour, server: MockAuthServer, sleeps: list[float]
) -> None:
    client = make(api, server, rate_limit=RateLimit(requests_per_second=10, burst=1))
    client.register()  # discovery took the one token, registration waited its turn
    threads = [threading.Thread(target=client.get_client_info) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert server.requests.count("/register/*", method="GET") == 4
    waits = sorted(sleeps)
    assert len(waits) == 5
    # Each caller booked its own turn, 0.1 s after the previous one (none slept for real).
    gaps = [later - earlier for earlier, later in pairwise(waits)]
    assert all(0.05 < gap <= 0.1 + 1e-9 for gap in gaps), waits


def test_a_timed_out_safe_request_is_retried(
    api: Flavour, server: MockAuthServer, sleeps: list[float]
) -> None:
    server.inject(Fault.latency(1.0), path=METADATA)
    client = retrying(api, server, timeout=0.3)
    assert client.discover().issuer == server.url
    assert server.requests.count(METADATA, method="GET") == 2
    assert len(sleeps) == 1


def test_a_timed_out_code_exchange_is_not_resent(
    api: Flavour, server: MockAuthServer, sleeps: list[float]
) -> None:
    client = retrying(api, server, timeout=0.3)
    url = client.get_authorization_url()
    server.inject(Fault.latency(1.0), path="/token")
    callback = httpx.get(url).headers["location"]
    with pytest.raises(NetworkError, match="timed out"):
        client.exchange_code(callback)
    assert server.requests.count("/token", method="POST") == 1  # it may have been used
    assert sleeps == []
