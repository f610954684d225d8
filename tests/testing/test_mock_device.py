"""RFC 8628 device authorization: the endpoint, programmatic approval, and polling answers."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from mcp_oauth_dynamicclient._client_auth import NoClientAuth
from mcp_oauth_dynamicclient._generated import (
    AsyncEndpointClient,
    DeviceAuthorizationRequest,
    DeviceCodeTokenRequest,
)
from mcp_oauth_dynamicclient.exceptions import AuthorizationError, TokenError
from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.testing.mock_flows import DEVICE_GRANT, call_mcp, public_client


def _start(
    http: httpx.Client, server: MockAuthServer, client_id: str, **form: str
) -> dict[str, Any]:
    response = http.post(
        server.url + "/device_authorization", data={"client_id": client_id, **form}
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    return body


def _poll(
    http: httpx.Client, server: MockAuthServer, client_id: str, device_code: str
) -> httpx.Response:
    return http.post(
        server.url + "/token",
        data={"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": client_id},
    )


def _error(response: httpx.Response) -> str:
    assert response.status_code == 400
    error: str = response.json()["error"]
    return error


def test_device_authorization_response(server: MockAuthServer, http: httpx.Client) -> None:
    client_id = public_client(server)
    body = _start(http, server, client_id, scope="mcp:read")
    assert re.fullmatch(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}", body["user_code"])
    assert body["verification_uri"] == server.url + "/device"
    assert body["verification_uri_complete"] == (
        f"{server.url}/device?user_code={body['user_code']}"
    )
    assert body["expires_in"] == 600
    assert body["interval"] == 5
    page = http.get(body["verification_uri_complete"])
    assert page.status_code == 200
    assert body["user_code"] in page.text
    assert "pending" in page.text


def test_the_full_device_flow(server: MockAuthServer, http: httpx.Client) -> None:
    client_id = public_client(server)
    body = _start(http, server, client_id, scope="mcp:read", resource=server.resource_url)
    server.clock.advance(5)
    assert _error(_poll(http, server, client_id, body["device_code"])) == "authorization_pending"
    assert server.approve(body["user_code"].lower().replace("-", "")) == body["user_code"]
    token = _poll(http, server, client_id, body["device_code"]).json()
    assert token["scope"] == "mcp:read"
    assert token["refresh_token"]
    mcp = call_mcp(http, server, token["access_token"]).json()
    assert mcp["sub"] == "test-user"
    assert mcp["aud"] == [server.resource_url]
    assert _error(_poll(http, server, client_id, body["device_code"])) == "invalid_grant"


def test_polling_too_fast_is_slow_down_and_the_interval_grows(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id = public_client(server)
    device_code = _start(http, server, client_id)["device_code"]
    assert _error(_poll(http, server, client_id, device_code)) == "slow_down"  # at once: 10 s
    server.clock.advance(5)
    assert _error(_poll(http, server, client_id, device_code)) == "slow_down"  # 5 < 10: 15 s
    server.clock.advance(15)
    assert _error(_poll(http, server, client_id, device_code)) == "authorization_pending"
    server.clock.advance(14)
    slow = _poll(http, server, client_id, device_code)
    assert _error(slow) == "slow_down"
    assert "every 20 s" in slow.json()["error_description"]


def test_interval_knob_zero_never_slows_down(http: httpx.Client) -> None:
    with MockAuthServer(device_interval=0) as server:
        client_id = public_client(server)
        body = _start(http, server, client_id)
        assert body["interval"] == 0
        for _ in range(3):
            assert _error(_poll(http, server, client_id, body["device_code"])) == (
                "authorization_pending"
            )


def test_denied_is_access_denied(server: MockAuthServer, http: httpx.Client) -> None:
    client_id = public_client(server)
    body = _start(http, server, client_id)
    server.deny()  # the only pending one
    server.clock.advance(5)
    assert _error(_poll(http, server, client_id, body["device_code"])) == "access_denied"


def test_an_expired_device_code_is_expired_token(http: httpx.Client) -> None:
    with MockAuthServer(device_code_lifetime=30, device_interval=1) as server:
        client_id = public_client(server)
        body = _start(http, server, client_id)
        assert body["expires_in"] == 30
        assert body["interval"] == 1
        server.clock.advance(30)
        assert _error(_poll(http, server, client_id, body["device_code"])) == "expired_token"
        with pytest.raises(ValueError, match="expired"):
            server.approve(body["user_code"])


def test_a_device_code_of_another_client_is_invalid_grant(
    server: MockAuthServer, http: httpx.Client
) -> None:
    owner, other = public_client(server), public_client(server)
    body = _start(http, server, owner)
    server.approve(body["user_code"], subject="bob")
    assert _error(_poll(http, server, other, body["device_code"])) == "invalid_grant"
    token = _poll(http, server, owner, body["device_code"]).json()
    assert call_mcp(http, server, token["access_token"]).json()["sub"] == "bob"


def test_device_authorization_errors(server: MockAuthServer, http: httpx.Client) -> None:
    no_grant = public_client(server, grant_types=["authorization_code"])
    client_id = public_client(server)
    url = server.url + "/device_authorization"
    unauthorized = http.post(url, data={"client_id": no_grant})
    bad_scope = http.post(url, data={"client_id": client_id, "scope": "admin"})
    bad_resource = http.post(url, data={"client_id": client_id, "resource": "https://x.example"})
    unknown_client = http.post(url, data={"client_id": "nobody"})
    assert _error(unauthorized) == "unauthorized_client"
    assert _error(bad_scope) == "invalid_scope"
    assert _error(bad_resource) == "invalid_target"
    assert unknown_client.status_code == 401


def test_approve_and_deny_need_exactly_one_match(
    server: MockAuthServer, http: httpx.Client
) -> None:
    with pytest.raises(LookupError, match="0 device authorizations"):
        server.approve()
    client_id = public_client(server)
    first, _ = _start(http, server, client_id), _start(http, server, client_id)
    with pytest.raises(LookupError, match="2 device authorizations"):
        server.deny()
    with pytest.raises(LookupError, match="unknown user code"):
        server.approve("BCDF-GHJK" if first["user_code"] != "BCDF-GHJK" else "ZZZZ-ZZZZ")
    server.approve(first["user_code"])
    with pytest.raises(ValueError, match="already approved"):
        server.deny(first["user_code"])


@pytest.mark.anyio
async def test_device_flow_with_the_async_generated_client(ahttp: httpx.AsyncClient) -> None:
    async with MockAuthServer() as server:
        client_id = public_client(server, grant_types=[DEVICE_GRANT])
        client = AsyncEndpointClient(ahttp)
        auth = NoClientAuth(client_id)
        started = await client.request_device_authorization(
            server.url + "/device_authorization", DeviceAuthorizationRequest(), client_auth=auth
        )
        server.clock.advance(started.interval or 5)
        with pytest.raises(TokenError) as pending:
            await client.request_token(
                server.url + "/token",
                DeviceCodeTokenRequest(device_code=started.device_code),
                client_auth=auth,
            )
        assert pending.value.error_code == "authorization_pending"
        server.approve(started.user_code)
        token = await client.request_token(
            server.url + "/token",
            DeviceCodeTokenRequest(device_code=started.device_code),
            client_auth=auth,
        )
        assert token.scope == "mcp:read mcp:write"
        assert token.refresh_token is None  # the client did not register refresh_token
        with pytest.raises(AuthorizationError):
            await client.request_device_authorization(
                server.url + "/device_authorization",
                DeviceAuthorizationRequest(scope="nope"),
                client_auth=auth,
            )
