"""A 429, or a 503 with ``Retry-After``, says the request was not processed: send it again,
even one that is unsafe to resend (issue 12, item 14).

Registration, the code exchange, a refresh, RFC 7592 updates and deletes and device
authorization are ``x-idempotent: false``: after any other answer they are never resent (a
code or a refresh token would be spent twice). RFC 6585 §4 (429) and RFC 9110 §15.6.4 with
§10.2.3 (503 and ``Retry-After``) are the server's word that it did nothing, so the sender
retries them, honouring ``Retry-After`` up to ``RetryConfig.max_retry_after``. A 503 without
``Retry-After`` may come from a proxy after the server acted, and is not resent. Waits are
recorded, not slept; what was sent is counted at ``MockAuthServer``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mcp_oauth_dynamicclient import (
    AuthorizationError,
    RegistrationError,
    RetryConfig,
    TokenError,
)
from mcp_oauth_dynamicclient._retry import not_processed, should_retry
from mcp_oauth_dynamicclient.exceptions import OAuth2Error
from mcp_oauth_dynamicclient.testing import Fault, MockAuthServer
from tests.clients import authorize, follow, make
from tests.flavours import ClientProxy, Flavour

RETRY = RetryConfig(max_retries=3, backoff_factor=0.01, max_retry_after=60, jitter=False)


def retrying(api: Flavour, server: MockAuthServer) -> ClientProxy:
    return make(api, server, retry_config=RETRY)


# --------------------------------------------------------------------------- the policy


def _answered(status: int, retry_after: float | None = None) -> OAuth2Error:
    response = httpx.Response(status, request=httpx.Request("POST", "https://as.example/token"))
    return OAuth2Error("failed", response=response, retry_after=retry_after)


def test_only_a_429_or_a_503_with_retry_after_says_not_processed() -> None:
    assert not_processed(_answered(429))
    assert not_processed(_answered(429, 3.0))
    assert not_processed(_answered(503, 0.0))
    assert not not_processed(_answered(503))
    assert not not_processed(_answered(502, 3.0))
    assert not not_processed(_answered(504, 3.0))


def test_an_unsafe_request_is_retried_after_not_processed_within_the_limits() -> None:
    config = RetryConfig(max_retry_after=60)
    assert should_retry(config, _answered(429), idempotent=False)
    assert should_retry(config, _answered(503, 60.0), idempotent=False)  # at the cap
    assert not should_retry(config, _answered(503, 60.5), idempotent=False)  # past it
    assert not should_retry(config, _answered(503), idempotent=False)
    assert not should_retry(config, _answered(502, 1.0), idempotent=False)
    # retry_on_status still decides which statuses are retried at all.
    narrow = RetryConfig(retry_on_status=[503])
    assert not should_retry(narrow, _answered(429), idempotent=False)
    assert should_retry(narrow, _answered(503, 1.0), idempotent=False)


# ---------------------------------------------------- every unsafe request, 429 and 503


def _register(client: ClientProxy) -> Callable[[], Any]:
    return lambda: client.register()


def _exchange(client: ClientProxy) -> Callable[[], Any]:
    callback = follow(client.get_authorization_url())
    return lambda: client.exchange_code(callback)


def _refresh(client: ClientProxy) -> Callable[[], Any]:
    authorize(client)
    return lambda: client.refresh_token()


def _update(client: ClientProxy) -> Callable[[], Any]:
    client.register()
    return lambda: client.update_client(client_name="Renamed")


def _delete(client: ClientProxy) -> Callable[[], Any]:
    client.register()
    return lambda: client.delete_client()


def _device(client: ClientProxy) -> Callable[[], Any]:
    client.register()
    return lambda: client.start_device_authorization()


UNSAFE = [
    ("/register", "POST", _register),
    ("/token", "POST", _exchange),
    ("/token", "POST", _refresh),
    ("/register/*", "PUT", _update),
    ("/register/*", "DELETE", _delete),
    ("/device_authorization", "POST", _device),
]
UNSAFE_IDS = ["register", "exchange", "refresh", "update", "delete", "device"]
NOT_PROCESSED = [Fault.rate_limited(2), Fault.server_error(503, retry_after=2)]


@pytest.mark.parametrize("fault", NOT_PROCESSED, ids=["429", "503-retry-after"])
@pytest.mark.parametrize(("path", "method", "prepare"), UNSAFE, ids=UNSAFE_IDS)
def test_an_unsafe_request_the_server_did_not_process_is_sent_again(
    api: Flavour,
    server: MockAuthServer,
    sleeps: list[float],
    path: str,
    method: str,
    prepare: Callable[[ClientProxy], Callable[[], Any]],
    fault: Fault,
) -> None:
    client = retrying(api, server)
    call = prepare(client)
    before = server.requests.count(path, method=method)
    server.inject(fault, path=path, method=method)
    assert call()
    assert server.requests.count(path, method=method) - before == 2
    assert sleeps == [2.0]  # the server's Retry-After, not the backoff


def test_a_registration_answered_429_then_201_takes_exactly_two_requests(
    api: Flavour, server: MockAuthServer, sleeps: list[float]
) -> None:
    server.inject(Fault.rate_limited(1), path="/register", method="POST")
    registration = retrying(api, server).register()
    assert registration.client_id
    answers = [r.status for r in server.requests.filter("/register", method="POST")]
    assert answers == [429, 201]
    assert sleeps == [1.0]


def test_a_refresh_answered_503_with_retry_after_then_200_spends_its_token_once(
    api: Flavour, server: MockAuthServer, sleeps: list[float]
) -> None:
    client = retrying(api, server)
    first = authorize(client)
    server.inject(Fault.server_error(503, retry_after=3), path="/token", method="POST")
    refreshed = client.refresh_token()
    assert refreshed.refresh_token != first.refresh_token  # rotated once, and kept
    refreshes = [
        r for r in server.requests.filter("/token", method="POST")
        if r.param("grant_type") == "refresh_token"
    ]  # fmt: skip
    assert [r.status for r in refreshes] == [503, 200]
    # The same refresh token both times: the server had not used it the first time.
    assert {r.param("refresh_token") for r in refreshes} == {first.refresh_token}
    assert sleeps == [3.0]


def test_only_a_503_with_retry_after_is_resent_for_an_unsafe_request(
    api: Flavour, server: MockAuthServer, sleeps: list[float]
) -> None:
    client = retrying(api, server)
    authorize(client)
    # Without Retry-After: maybe a proxy after the server acted; the refresh is not resent.
    server.inject(Fault.server_error(503), path="/token", method="POST")
    with pytest.raises(TokenError) as caught:
        client.refresh_token()
    assert (caught.value.status_code, caught.value.retry_after) == (503, None)
    assert server.requests.count("/token", method="POST") == 2  # exchange, one refresh
    assert sleeps == []
    # With it: the server's word that it did nothing.
    server.inject(Fault.server_error(503, retry_after=1), path="/token", method="POST")
    assert client.refresh_token().access_token
    assert server.requests.count("/token", method="POST") == 4
    assert sleeps == [1.0]


def test_a_retry_after_beyond_the_cap_raises_at_once_with_retry_after_set(
    api: Flavour, server: MockAuthServer, sleeps: list[float]
) -> None:
    client = retrying(api, server)
    server.inject(Fault.rate_limited(120), path="/register", method="POST")
    with pytest.raises(RegistrationError) as caught:
        client.register()
    assert (caught.value.status_code, caught.value.retry_after) == (429, 120.0)
    assert "retry_after=120.0" in repr(caught.value)
    assert server.requests.count("/register", method="POST") == 1
    assert sleeps == []
    # Within the cap the same request is waited for and sent again.
    server.inject(Fault.rate_limited(60), path="/register", method="POST")
    assert client.register().client_id
    assert server.requests.count("/register", method="POST") == 3
    assert sleeps == [60.0]


def test_a_code_exchange_refused_for_good_keeps_the_servers_wait(
    api: Flavour, server: MockAuthServer, sleeps: list[float]
) -> None:
    client = retrying(api, server)
    callback = follow(client.get_authorization_url())
    server.inject(Fault.rate_limited(5), path="/token", method="POST", times=None)
    with pytest.raises(AuthorizationError) as caught:
        client.exchange_code(callback)
    assert (caught.value.status_code, caught.value.retry_after) == (429, 5.0)
    assert server.requests.count("/token", method="POST") == RETRY.max_retries + 1
    assert sleeps == [5.0] * RETRY.max_retries
