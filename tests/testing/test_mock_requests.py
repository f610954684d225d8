"""The request log: what it records, how to query it, and that it is safe under concurrency."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import anyio
import httpx
import pytest

from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.testing.mock_flows import basic_header


def test_a_form_request_is_recorded_in_full(server: MockAuthServer, http: httpx.Client) -> None:
    http.post(
        server.url + "/token?x=1",
        data={"grant_type": "client_credentials", "scope": "a b"},
        headers={**basic_header("id", "secret"), "X-Trace": "t1"},
    )
    record = server.requests.last("/token")
    assert record.method == "POST"
    assert record.path == "/token"
    assert record.query == {"x": ["1"]}
    assert record.headers["x-trace"] == "t1"
    assert record.headers["authorization"].startswith("Basic ")
    assert record.form == {"grant_type": ["client_credentials"], "scope": ["a b"]}
    assert record.json is None
    assert record.param("scope") == "a b"
    assert record.param("x") == "1"
    assert record.param("missing") is None
    assert record.status == 401
    assert record.fault is None
    assert b"grant_type=client_credentials" in record.body
    assert "secret" not in repr(record)
    assert "Basic" not in repr(record)


def test_a_json_request_is_recorded(server: MockAuthServer, http: httpx.Client) -> None:
    http.post(server.url + "/register", json={"client_name": "x"})
    record = server.requests.last()
    assert record.json == {"client_name": "x"}
    assert record.form is None
    assert record.status == 400


def test_counting_by_path_url_pattern_and_method(
    server: MockAuthServer, http: httpx.Client
) -> None:
    http.get(server.metadata_url)
    http.get(server.url + "/register/a")
    http.delete(server.url + "/register/b")
    http.post(server.url + "/register", json={})
    log = server.requests
    assert len(log) == 4
    assert log.count() == 4
    assert log.count("/register") == 1
    assert log.count(server.url + "/register") == 1
    assert log.count("/register/*") == 2
    assert log.count("/register/*", method="delete") == 1
    assert log.count(method="GET") == 2
    assert [r.path for r in log.filter(method="GET")] == [
        "/.well-known/oauth-authorization-server",
        "/register/a",
    ]
    assert log[0].path == "/.well-known/oauth-authorization-server"
    assert log.last("/register/*").method == "DELETE"
    with pytest.raises(LookupError):
        log.last("/token")
    log.clear()
    assert len(log) == 0
    assert list(log) == []


def test_concurrent_requests_are_all_recorded(server: MockAuthServer, http: httpx.Client) -> None:
    def hit(index: int) -> int:
        return http.get(server.url + "/jwks", params={"i": str(index)}).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(hit, range(40)))
    assert statuses == [200] * 40
    assert server.requests.count("/jwks", method="GET") == 40
    assert sorted(int(r.query["i"][0]) for r in server.requests) == list(range(40))


@pytest.mark.anyio
async def test_concurrent_async_requests_are_all_recorded(ahttp: httpx.AsyncClient) -> None:
    async with MockAuthServer() as server:

        async def hit() -> None:
            response = await ahttp.get(server.resource_url)
            assert response.status_code == 401

        async with anyio.create_task_group() as group:
            for _ in range(20):
                group.start_soon(hit)
        assert server.requests.count("/mcp") == 20
        assert {r.status for r in server.requests} == {401}


def test_the_record_exists_before_the_client_has_the_response(
    server: MockAuthServer, http: httpx.Client
) -> None:
    for index in range(20):
        http.get(server.url + "/jwks")
        assert server.requests.count("/jwks") == index + 1
        assert server.requests.last().status == 200
