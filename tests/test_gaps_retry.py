"""The retry policy as a real client runs it, and its edges (issue 12, item 17).

The suite's retry tests use ``jitter=False`` so that waits can be asserted exactly; a mutation
test found that the path every real client takes, ``RetryConfig()`` with full jitter, was then
never run, nor were the defaults of ``RetryConfig`` checked, nor the edges: statuses 100 and
599, a ``Retry-After`` equal to ``max_retry_after``, ``max_retries=0``. Here the defaults are
used as they are; waits are recorded instead of slept (the senders' sleep is replaced), and
the jitter's random draw is observed through a recording stand-in for the ``random`` module
``_retry`` uses, so what was asked of it is asserted exactly. Requests are counted at
``MockAuthServer``, sync and async.
"""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest

from mcp_oauth_dynamicclient import (
    ConfigurationError,
    DeadlineExceeded,
    DiscoveryError,
    NetworkError,
    RateLimitExceeded,
    RegistrationError,
    RetryConfig,
    _retry,
)
from mcp_oauth_dynamicclient._retry import (
    honoured_retry_after,
    never_connected,
    not_processed,
    should_retry,
)
from mcp_oauth_dynamicclient.exceptions import OAuth2Error, ResponseTooLarge
from mcp_oauth_dynamicclient.testing import Fault, MockAuthServer
from tests.clients import make
from tests.flavours import Flavour

METADATA = "/.well-known/oauth-authorization-server"


class Draws(random.Random):
    """Stands in for the ``random`` module in ``_retry`` (or is given as ``rand``): records
    each ``uniform(a, b)`` asked for and answers ``a + share * (b - a)``, a point strictly
    inside the range."""

    def __init__(self, share: float = 0.25) -> None:
        super().__init__(0)
        self.share = share
        self.asked: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.asked.append((a, b))
        return a + self.share * (b - a)


@pytest.fixture
def draws(monkeypatch: pytest.MonkeyPatch) -> Draws:
    """Every random draw of the retry policy, recorded (module-wide: the default path)."""
    recorded = Draws()
    monkeypatch.setattr(_retry, "random", recorded)
    return recorded


# ------------------------------------------------------------------------- the defaults


def test_the_defaults_of_retry_config() -> None:
    """What ``RetryConfig()`` means, as documented in its docstring and the seed."""
    config = RetryConfig()
    assert config.max_retries == 3
    assert config.backoff_factor == 2.0
    assert config.retry_on_status == (429, 502, 503, 504)
    assert config.retry_on_exceptions == (NetworkError,)
    assert config.max_backoff == 30.0
    assert config.max_retry_after == 60.0
    assert config.jitter is True


def test_the_default_waits_are_full_jitter_under_the_exponential_bound(draws: Draws) -> None:
    config = RetryConfig()
    waits = [config.backoff(n) for n in range(1, 7)]
    # 2 * 2 ** (n - 1), capped at 30 s; each wait a draw in [0, bound].
    bounds = [2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert draws.asked == [(0.0, bound) for bound in bounds]
    assert waits == [0.5, 1.0, 2.0, 4.0, 7.5, 7.5]


def test_a_given_random_generator_is_used_for_the_draw(draws: Draws) -> None:
    mine = Draws(share=0.5)
    assert RetryConfig().backoff(2, rand=mine) == 2.0  # half of 4
    assert mine.asked == [(0.0, 4.0)]
    assert draws.asked == []  # the module's generator was not touched


def test_real_jitter_spreads_waits_over_the_whole_range() -> None:
    config = RetryConfig()
    rand = random.Random(12)
    waits = [config.backoff(3, rand=rand) for _ in range(400)]
    assert all(0.0 <= wait <= 8.0 for wait in waits)
    assert min(waits) < 1.0  # uniform over [0, 8], not the bound
    assert max(waits) > 7.0


# ------------------------------------------------- the default policy, end to end, jittered


def test_a_default_client_retries_three_times_with_jittered_waits(
    api: Flavour, server: MockAuthServer, sleeps: list[float], draws: Draws
) -> None:
    server.inject(Fault.server_error(503), path=METADATA, times=None)
    client = make(api, server, retry_config=RetryConfig())
    with pytest.raises(DiscoveryError) as caught:
        client.discover()
    assert caught.value.status_code == 503
    assert server.requests.count(METADATA, method="GET") == 4  # the first and three retries
    # (The sender may also draw a wait after the last attempt, to weigh it against the
    # deadline; it is never slept.)
    assert draws.asked[:3] == [(0.0, 2.0), (0.0, 4.0), (0.0, 8.0)]
    assert sleeps == [0.5, 1.0, 2.0]  # the drawn waits, not the bounds


@pytest.mark.parametrize(
    "fault",
    [
        Fault.server_error(502),
        Fault.server_error(503),
        Fault.server_error(504),
        Fault.rate_limited(0),
        Fault.drop_connection(),
    ],
    ids=["502", "503", "504", "429", "dropped"],
)
def test_each_default_retryable_failure_is_retried_once_then_succeeds(
    api: Flavour, server: MockAuthServer, sleeps: list[float], draws: Draws, fault: Fault
) -> None:
    server.inject(fault, path=METADATA, times=1)
    client = make(api, server, retry_config=RetryConfig())
    assert client.discover().issuer == server.url
    assert server.requests.count(METADATA, method="GET") == 2
    assert len(sleeps) == 1


@pytest.mark.parametrize("status", [500, 501, 505, 599])
def test_other_statuses_are_not_retried_by_default(
    api: Flavour, server: MockAuthServer, sleeps: list[float], status: int
) -> None:
    server.inject(Fault.server_error(status), path=METADATA, times=1)
    with pytest.raises(DiscoveryError) as caught:
        make(api, server, retry_config=RetryConfig()).discover()
    assert caught.value.status_code == status
    assert server.requests.count(METADATA, method="GET") == 1
    assert sleeps == []


def test_real_jitter_end_to_end_stays_under_each_bound(
    api: Flavour, server: MockAuthServer, sleeps: list[float]
) -> None:
    server.inject(Fault.server_error(502), path=METADATA, times=3)
    assert make(api, server, retry_config=RetryConfig()).discover().issuer == server.url
    assert len(sleeps) == 3
    assert all(0.0 <= wait <= bound for wait, bound in zip(sleeps, [2.0, 4.0, 8.0], strict=True))


# ------------------------------------------------------------------------------ the edges


@pytest.mark.parametrize("statuses", [[100], [599], [100, 599], []])
def test_statuses_from_100_to_599_are_accepted(statuses: list[int]) -> None:
    assert RetryConfig(retry_on_status=statuses).retry_on_status == tuple(statuses)


@pytest.mark.parametrize("status", [99, 600, 0, -1, True, 503.0, "503", None])
def test_a_status_outside_100_to_599_is_refused(status: Any) -> None:
    with pytest.raises(ConfigurationError, match=r"^retry_on_status: .* is not an HTTP status"):
        RetryConfig(retry_on_status=[status])


@pytest.mark.parametrize("value", ["503", b"503", 503, None])
def test_retry_on_status_must_be_a_list(value: Any) -> None:
    with pytest.raises(
        ConfigurationError, match=r"^retry_on_status: expected a list of HTTP status codes$"
    ):
        RetryConfig(retry_on_status=value)


def test_a_status_599_is_retried_when_configured(
    api: Flavour, server: MockAuthServer, sleeps: list[float], draws: Draws
) -> None:
    server.inject(Fault.server_error(599), path=METADATA, times=1)
    client = make(api, server, retry_config=RetryConfig(retry_on_status=[599]))
    assert client.discover().issuer == server.url
    assert server.requests.count(METADATA, method="GET") == 2
    assert sleeps == [0.5]


@pytest.mark.parametrize(("retry_after", "retried"), [(7, True), (8, False)], ids=["=", ">"])
def test_a_retry_after_equal_to_the_cap_is_waited_for(
    api: Flavour, server: MockAuthServer, sleeps: list[float], retry_after: int, retried: bool
) -> None:
    """``max_retry_after`` is the longest wait accepted: equal is waited, a second more not."""
    client = make(api, server, retry_config=RetryConfig(max_retry_after=7))
    client.discover()
    # Registration is unsafe to resend: only a 503 with Retry-After may be retried.
    server.inject(Fault.server_error(503, retry_after=retry_after), path="/register", times=1)
    if retried:
        assert client.register().client_id
        assert sleeps == [7.0]  # the server's wait, not a jittered backoff
    else:
        with pytest.raises(RegistrationError) as caught:
            client.register()
        assert caught.value.retry_after == 8.0
        assert sleeps == []
    assert server.requests.count("/register", method="POST") == (2 if retried else 1)


def test_max_retries_zero_sends_once(
    api: Flavour, server: MockAuthServer, sleeps: list[float]
) -> None:
    server.inject(Fault.server_error(503), path=METADATA, times=None)
    with pytest.raises(DiscoveryError):
        make(api, server, retry_config=RetryConfig(max_retries=0)).discover()
    assert server.requests.count(METADATA, method="GET") == 1
    assert sleeps == []


def test_max_retries_one_sends_twice(
    api: Flavour, server: MockAuthServer, sleeps: list[float], draws: Draws
) -> None:
    server.inject(Fault.server_error(503), path=METADATA, times=None)
    with pytest.raises(DiscoveryError):
        make(api, server, retry_config=RetryConfig(max_retries=1)).discover()
    assert server.requests.count(METADATA, method="GET") == 2
    assert sleeps == [0.5]


@pytest.mark.parametrize(
    "settings",
    [
        {"max_retries": 0},
        {"backoff_factor": 0},
        {"backoff_factor": 0.5},
        {"max_backoff": 0},
        {"max_retry_after": 0},
        {"retry_on_exceptions": []},
        {"jitter": False},
    ],
)
def test_zero_and_the_other_edges_of_the_numbers_are_accepted(settings: dict[str, Any]) -> None:
    config = RetryConfig(**settings)
    for name, value in settings.items():
        assert getattr(config, name) == value or (name == "retry_on_exceptions")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"max_retries": -1}, "^max_retries: must be a finite number >= 0"),
        ({"max_retries": 1.0}, "^max_retries: expected a whole number$"),
        ({"backoff_factor": -0.01}, "^backoff_factor: must be a finite number >= 0"),
        ({"backoff_factor": True}, "^backoff_factor: expected a number$"),
        ({"max_backoff": float("inf")}, "^max_backoff: must be a finite number >= 0"),
        ({"max_retry_after": -1}, "^max_retry_after: must be a finite number >= 0"),
        ({"max_retry_after": None}, "^max_retry_after: expected a number$"),
        ({"jitter": 1}, "^jitter: expected True or False$"),
        ({"retry_on_exceptions": "NetworkError"}, "^retry_on_exceptions: expected a list"),
        ({"retry_on_exceptions": 3}, "^retry_on_exceptions: expected a list"),
        ({"retry_on_exceptions": [int]}, "^retry_on_exceptions: .* is not an exception class"),
    ],
)
def test_each_bad_setting_is_refused_with_its_reason(
    settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        RetryConfig(**settings)


def test_one_exception_class_is_taken_as_a_list_of_one() -> None:
    assert RetryConfig(retry_on_exceptions=NetworkError).retry_on_exceptions == (NetworkError,)
    assert RetryConfig(retry_on_exceptions=[KeyError, OSError]).retry_on_exceptions == (
        KeyError,
        OSError,
    )


def test_the_exponent_is_capped_so_no_wait_overflows() -> None:
    config = RetryConfig(backoff_factor=1.0, max_backoff=1e300, jitter=False)
    assert config.backoff(1) == 1.0
    assert config.backoff(65) == 2.0**64
    assert config.backoff(66) == 2.0**64  # 64 doublings at most
    assert config.backoff(10**9) == 2.0**64


# ------------------------------------------------------------------- the pure decisions


def _answered(status: int, retry_after: float | None = None) -> OAuth2Error:
    response = httpx.Response(status, request=httpx.Request("GET", "https://as.example/x"))
    return OAuth2Error("failed", response=response, retry_after=retry_after)


def _transport(cause: BaseException, kind: type[OAuth2Error] = NetworkError) -> OAuth2Error:
    error = kind("failed")
    error.__cause__ = cause
    return error


def test_the_delay_is_retry_after_on_429_and_503_only(draws: Draws) -> None:
    config = RetryConfig(jitter=False)
    assert config.delay(1, _answered(429, 9.0)) == 9.0
    assert config.delay(1, _answered(503, 0.0)) == 0.0  # "now" is a wait, not "no header"
    assert config.delay(2, _answered(502, 9.0)) == 4.0  # a 502's Retry-After is not honoured
    assert config.delay(3, _answered(503)) == 8.0
    assert config.delay(1, None) == 2.0
    assert honoured_retry_after(_answered(504, 5.0)) is None
    assert honoured_retry_after(NetworkError("x", retry_after=5.0)) is None
    assert honoured_retry_after(ValueError()) is None


def test_never_connected_needs_a_network_error_caused_by_no_connection() -> None:
    request = httpx.Request("POST", "https://as.example/token")
    refused = httpx.ConnectError("refused", request=request)
    assert never_connected(_transport(refused))
    assert never_connected(_transport(httpx.PoolTimeout("full", request=request)))
    assert not never_connected(_transport(refused, kind=DiscoveryError))
    assert not never_connected(_transport(httpx.ReadTimeout("slow", request=request)))
    assert not never_connected(NetworkError("no cause"))


def test_not_processed_is_429_or_503_with_retry_after() -> None:
    assert not_processed(_answered(429))
    assert not_processed(_answered(503, 0.0))
    assert not not_processed(_answered(503))
    assert not not_processed(_answered(500, 1.0))


@pytest.mark.parametrize("final", [RateLimitExceeded, DeadlineExceeded, ResponseTooLarge])
def test_final_errors_are_never_retried(final: type[NetworkError]) -> None:
    assert issubclass(final, NetworkError)  # else retry_on_exceptions would retry them
    assert not should_retry(RetryConfig(), final("no"), idempotent=True)


def test_only_exceptions_are_retried() -> None:
    config = RetryConfig(retry_on_exceptions=[BaseException])
    assert not should_retry(config, KeyboardInterrupt(), idempotent=True)
    assert not should_retry(config, SystemExit(), idempotent=True)
    assert should_retry(config, ValueError(), idempotent=True)


def test_a_transport_failure_is_retried_only_as_configured() -> None:
    config = RetryConfig()
    assert should_retry(config, NetworkError("reset"), idempotent=True)
    assert not should_retry(config, NetworkError("reset"), idempotent=False)
    assert not should_retry(config, ValueError(), idempotent=True)
    # An OAuth2Error with no response is a failure before an answer, judged by its class.
    assert not should_retry(config, DiscoveryError("no answer"), idempotent=True)
    assert should_retry(
        RetryConfig(retry_on_exceptions=[DiscoveryError]), DiscoveryError("x"), idempotent=True
    )


def test_an_answer_is_retried_by_status_safety_and_retry_after() -> None:
    config = RetryConfig(max_retry_after=10)
    assert should_retry(config, _answered(502), idempotent=True)
    assert not should_retry(config, _answered(502), idempotent=False)
    assert not should_retry(config, _answered(500), idempotent=True)
    assert should_retry(config, _answered(429, 10.0), idempotent=True)
    assert not should_retry(config, _answered(429, 10.5), idempotent=True)
    assert should_retry(config, _answered(429), idempotent=False)
    # A Retry-After on a status that does not honour it does not block the retry.
    assert should_retry(config, _answered(502, 99.0), idempotent=True)
    narrow = RetryConfig(retry_on_status=[100])
    assert should_retry(narrow, _answered(100), idempotent=True)
    assert not should_retry(narrow, _answered(429), idempotent=False)
