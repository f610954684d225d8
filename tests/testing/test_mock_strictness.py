"""Bad input never gets a 500 or a traceback; an endpoint bug is contained; secrets never reach
the logs."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from mcp_oauth_dynamicclient.testing import MockAuthServer, _discovery
from tests.testing.mock_flows import confidential_client, public_client, tokens_for

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}

GARBAGE: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/token", {"content": b"\xff\xfe\x00garbage", "headers": FORM}),
    ("POST", "/token", {"content": b"grant_type=%ff%fe&client_id=x", "headers": FORM}),
    ("POST", "/token", {"content": b"==&&=", "headers": FORM}),
    ("POST", "/token", {"data": {"grant_type": "authorization_code", "client_id": "x"}}),
    ("POST", "/token", {"data": {"grant_type": "", "client_id": ""}}),
    ("POST", "/token", {"content": b"{}", "headers": {"Content-Type": "application/json"}}),
    ("POST", "/token", {"headers": {"Authorization": "Basic " + "A" * 5000}}),
    ("POST", "/register", {"content": b'{"redirect_uris": [1, {}]}', "headers": JSON}),
    ("POST", "/register", {"content": b"[" * 5000, "headers": JSON}),
    ("POST", "/register", {"content": b'{"jwks": "x", "grant_types": 3}', "headers": JSON}),
    ("POST", "/register", {"content": b"\xff", "headers": JSON}),
    ("PUT", "/register/x", {"content": b"nope", "headers": {"Authorization": "Bearer x"}}),
    ("GET", "/authorize", {}),
    ("GET", "/authorize", {"params": {"client_id": "\x00"}}),
    ("POST", "/introspect", {"content": b"token=%ff", "headers": FORM}),
    ("POST", "/revoke", {"content": b"token=a&token=b", "headers": FORM}),
    ("POST", "/device_authorization", {"json": {"client_id": "x"}}),
    ("GET", "/mcp", {"headers": [("Authorization", "Bearer a"), ("Authorization", "Bearer b")]}),
    ("DELETE", "/register", {}),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "kwargs"), GARBAGE)
def test_garbage_gets_a_4xx_never_a_500(
    server: MockAuthServer, http: httpx.Client, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    response = http.request(method, server.url + path, **kwargs)
    assert 400 <= response.status_code < 500, response.text
    assert "Traceback" not in response.text
    if response.content and not response.headers["content-type"].startswith("text/html"):
        assert response.headers["content-type"] == "application/json"
        assert isinstance(response.json()["error"], str)


def test_pages_escape_what_they_echo(server: MockAuthServer, http: httpx.Client) -> None:
    page = http.get(server.url + "/device", params={"user_code": "<script>x</script>"})
    assert page.status_code == 200
    assert "<script>" not in page.text
    assert "&lt;script&gt;" in page.text


def test_odd_but_valid_tokens_requests_with_empty_resource(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id, secret = confidential_client(server)
    response = http.post(
        server.url + "/token",
        data={"grant_type": "client_credentials", "resource": ""},
        auth=(client_id, secret),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_target"


def test_an_endpoint_bug_is_a_bare_500_kept_for_the_test(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, http: httpx.Client
) -> None:
    def broken(ctx: object) -> None:
        raise RuntimeError("leaked-secret-value")

    monkeypatch.setattr(_discovery, "server_metadata", broken)
    caplog.set_level(logging.DEBUG)
    with MockAuthServer() as server:
        response = http.get(server.metadata_url)
        assert http.get(server.url + "/jwks").status_code == 200  # still serving
    assert response.status_code == 500
    assert response.json() == {"error": "server_error"}
    assert [type(e) for e in server.errors] == [RuntimeError]
    assert "RuntimeError" in caplog.text
    assert "leaked-secret-value" not in caplog.text
    assert server.requests[0].status == 500


def test_no_secret_is_ever_logged(caplog: pytest.LogCaptureFixture, http: httpx.Client) -> None:
    caplog.set_level(logging.DEBUG)
    with MockAuthServer() as server:
        grants = ["client_credentials", "authorization_code"]
        metadata = {"redirect_uris": ["http://127.0.0.1/cb"], "grant_types": grants}
        registered = http.post(server.url + "/register", json=metadata).json()
        client_id = public_client(server)
        tokens = tokens_for(http, server, client_id, scope="openid mcp:read")
        http.get(server.resource_url, headers={"Authorization": f"Bearer {tokens['access_token']}"})
        http.get(server.resource_url + "?access_token=" + tokens["access_token"])
        wrong = (registered["client_id"], "wrong-" + registered["client_secret"])
        http.post(server.url + "/token", data={"grant_type": "client_credentials"}, auth=wrong)
    secrets = [
        registered["client_secret"],
        registered["registration_access_token"],
        tokens["access_token"],
        tokens["refresh_token"],
        tokens["id_token"],
    ]
    server_side = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert server_side  # uvicorn did log (start-up), so the check below means something
    logged = "\n".join(r.getMessage() for r in server_side)
    for secret in secrets:
        assert secret not in logged
