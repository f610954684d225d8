"""Fault injection: latency, 5xx, 429 with Retry-After, malformed JSON, HTML pages, dropped
connections, and faults that strike after the server already acted."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
import pytest

from mcp_oauth_dynamicclient._generated import EndpointClient
from mcp_oauth_dynamicclient.exceptions import DiscoveryError, NetworkError
from mcp_oauth_dynamicclient.testing import Fault, MockAuthServer
from tests.testing.mock_flows import (
    call_mcp,
    exchange,
    get_code,
    pkce,
    public_client,
    refresh,
    tokens_for,
)


def test_latency_delays_then_answers(server: MockAuthServer, http: httpx.Client) -> None:
    rule = server.inject(Fault.latency(0.2), path="/jwks")
    started = time.perf_counter()
    assert http.get(server.url + "/jwks").status_code == 200
    assert time.perf_counter() - started >= 0.2
    assert http.get(server.url + "/jwks").status_code == 200
    assert [r.fault for r in server.requests] == ["latency", None]
    assert (rule.hits, rule.remaining) == (1, 0)
    assert server.faults == []


def test_server_error_with_retry_after(server: MockAuthServer, http: httpx.Client) -> None:
    server.inject(Fault.server_error(503, retry_after=7), path="/token", times=2)
    for _ in range(2):
        response = http.post(server.url + "/token", data={"grant_type": "client_credentials"})
        assert response.status_code == 503
        assert response.headers["retry-after"] == "7"
        assert response.json()["error"] == "temporarily_unavailable"
    third = http.post(server.url + "/token", data={"grant_type": "client_credentials"})
    assert third.status_code == 401  # the real endpoint again
    assert [r.status for r in server.requests] == [503, 503, 401]


def test_plain_500_has_no_retry_after(server: MockAuthServer, http: httpx.Client) -> None:
    server.inject(Fault.server_error())
    response = http.get(server.metadata_url)
    assert response.status_code == 500
    assert response.json()["error"] == "server_error"
    assert "retry-after" not in response.headers


def test_rate_limited_with_seconds_or_an_http_date(
    server: MockAuthServer, http: httpx.Client
) -> None:
    when = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    server.inject(Fault.rate_limited(3), path="/register")
    server.inject(Fault.rate_limited(when), path="/register")
    first = http.post(server.url + "/register", json={})
    second = http.post(server.url + "/register", json={})
    assert (first.status_code, first.headers["retry-after"]) == (429, "3")
    assert second.status_code == 429
    assert second.headers["retry-after"] == "Wed, 02 Jan 2030 03:04:05 GMT"
    assert parsedate_to_datetime(second.headers["retry-after"]) == when


def test_malformed_json_breaks_the_parser(server: MockAuthServer, http: httpx.Client) -> None:
    server.inject(Fault.malformed_json(), path=server.metadata_url)
    raw = http.get(server.metadata_url)
    assert raw.status_code == 200
    assert raw.headers["content-type"] == "application/json"
    server.inject(Fault.malformed_json())
    with pytest.raises(DiscoveryError, match="not JSON"):
        EndpointClient(http).get_authorization_server_metadata(server.metadata_url)


def test_html_error_page(server: MockAuthServer, http: httpx.Client) -> None:
    server.inject(Fault.html_error(502), path="/.well-known/*")
    response = http.get(server.metadata_url)
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    server.inject(Fault.html_error(504))
    with pytest.raises(DiscoveryError) as raised:
        EndpointClient(http).get_authorization_server_metadata(server.metadata_url)
    assert raised.value.status_code == 504


def test_dropped_connection_is_a_remote_protocol_error(
    server: MockAuthServer, http: httpx.Client
) -> None:
    server.inject(Fault.drop_connection(), path="/jwks")
    with pytest.raises(httpx.RemoteProtocolError):
        http.get(server.url + "/jwks")
    assert http.get(server.url + "/jwks").status_code == 200  # the client recovers
    dropped = server.requests[0]
    assert (dropped.fault, dropped.status) == ("drop_connection", None)
    server.inject(Fault.drop_connection())
    with pytest.raises(NetworkError, match="RemoteProtocolError"):
        EndpointClient(http).get_jwks(server.url + "/jwks")


@pytest.mark.anyio
async def test_dropped_connection_async(ahttp: httpx.AsyncClient) -> None:
    async with MockAuthServer() as server:
        server.inject(Fault.drop_connection(), method="POST")
        assert (await ahttp.get(server.url + "/jwks")).status_code == 200  # GET unaffected
        with pytest.raises(httpx.RemoteProtocolError):
            await ahttp.post(server.url + "/register", json={})
        assert server.requests.count("/register") == 1


def test_a_retry_after_a_dropped_exchange_finds_the_code_used(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id = public_client(server)
    verifier, challenge = pkce()
    code = get_code(http, server, client_id, challenge)
    server.inject(Fault.drop_connection(after_processing=True), path="/token")
    with pytest.raises(httpx.RemoteProtocolError):
        exchange(http, server, client_id, code, verifier)
    retry = exchange(http, server, client_id, code, verifier)
    assert retry.json()["error"] == "invalid_grant"
    assert server.requests.count("/token", method="POST") == 2


def test_a_lost_refresh_response_then_a_retry_trips_replay_detection(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id = public_client(server)
    tokens = tokens_for(http, server, client_id)
    server.inject(Fault.server_error(502, after_processing=True), path="/token")
    assert refresh(http, server, client_id, tokens["refresh_token"]).status_code == 502
    retry = refresh(http, server, client_id, tokens["refresh_token"])
    assert retry.json()["error"] == "invalid_grant"
    assert call_mcp(http, server, tokens["access_token"]).status_code == 401


def test_a_fault_before_processing_changes_nothing(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id = public_client(server)
    tokens = tokens_for(http, server, client_id)
    server.inject(Fault.server_error(503), path="/token")
    assert refresh(http, server, client_id, tokens["refresh_token"]).status_code == 503
    assert refresh(http, server, client_id, tokens["refresh_token"]).status_code == 200


def test_unlimited_faults_until_cleared_and_method_filters(
    server: MockAuthServer, http: httpx.Client
) -> None:
    rule = server.inject(Fault.server_error(500), path="/register/*", method="delete", times=None)
    for _ in range(3):
        assert http.delete(server.url + "/register/abc").status_code == 500
    assert http.get(server.url + "/register/abc").status_code == 401  # GET not matched
    assert rule.hits == 3
    assert rule.remaining is None
    assert server.faults == [rule]
    server.clear_faults()
    assert http.delete(server.url + "/register/abc").status_code == 401
    assert server.faults == []


def test_faults_apply_in_order_one_per_request(server: MockAuthServer, http: httpx.Client) -> None:
    server.inject(Fault.server_error(500))
    server.inject(Fault.server_error(503))
    statuses = [http.get(server.url + "/jwks").status_code for _ in range(3)]
    assert statuses == [500, 503, 200]


def test_stop_cuts_injected_latency_short(server: MockAuthServer) -> None:
    server.inject(Fault.latency(30), path="/jwks")
    outcome: list[int | str] = []

    def slow_request() -> None:
        try:
            outcome.append(httpx.get(server.url + "/jwks", timeout=10).status_code)
        except httpx.TransportError as exc:
            outcome.append(type(exc).__name__)

    thread = threading.Thread(target=slow_request)
    thread.start()
    deadline = time.monotonic() + 5
    while not server.requests.count("/jwks") and time.monotonic() < deadline:
        time.sleep(0.005)
    server.stop()  # wakes the 30 s sleep: the request is answered and the thread ends
    thread.join(5)
    assert not thread.is_alive()
    assert outcome == [200]


@pytest.mark.parametrize(
    "build",
    [
        lambda: Fault.server_error(404),
        lambda: Fault.server_error(retry_after=-1),
        lambda: Fault.rate_limited(datetime(2030, 1, 1)),
        lambda: Fault.latency(-1),
    ],
)
def test_invalid_faults_are_refused(build: object) -> None:
    assert callable(build)
    with pytest.raises(ValueError):
        build()


def test_inject_refuses_a_non_positive_count(server: MockAuthServer) -> None:
    with pytest.raises(ValueError):
        server.inject(Fault.server_error(), times=0)


def test_retry_after_datetime_is_sent_in_gmt() -> None:
    local = datetime(2030, 1, 1, 12, 0, tzinfo=UTC) + timedelta(hours=1)
    fault = Fault.rate_limited(local.astimezone())
    assert fault.retry_after == "Tue, 01 Jan 2030 13:00:00 GMT"
