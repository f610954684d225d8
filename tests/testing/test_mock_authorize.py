"""The authorization endpoint: auto-approval, RFC 9207 ``iss``, PKCE S256 only, exact redirect
URIs, and which errors are redirected and which are not (RFC 6749 §4.1.2.1)."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
import pytest

from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.testing.mock_flows import (
    DEVICE_GRANT,
    REDIRECT_URI,
    authorize,
    pkce,
    public_client,
    redirect_params,
)


def test_success_redirects_with_code_state_and_iss(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id = public_client(server)
    response = authorize(http, server, client_id, pkce()[1])
    assert response.status_code == 302
    assert response.headers["location"].startswith(REDIRECT_URI + "?")
    assert response.headers["cache-control"] == "no-store"
    params = redirect_params(response)
    assert params["state"] == "st-123"
    assert params["iss"] == server.url
    assert len(params["code"]) >= 32


def test_redirect_keeps_the_query_of_the_registered_uri(
    server: MockAuthServer, http: httpx.Client
) -> None:
    uri = "https://app.example.com/cb?tenant=7"
    client_id = public_client(server, redirect_uris=[uri])
    response = authorize(http, server, client_id, pkce()[1], redirect_uri=uri)
    params = redirect_params(response)
    assert response.headers["location"].startswith(uri + "&")
    assert params["tenant"] == "7"


def test_redirect_uri_may_be_omitted_when_exactly_one_is_registered(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id = public_client(server)
    response = authorize(http, server, client_id, pkce()[1], redirect_uri="")
    assert "code" in redirect_params(response)


def test_state_is_optional(server: MockAuthServer, http: httpx.Client) -> None:
    client_id = public_client(server)
    params = redirect_params(authorize(http, server, client_id, pkce()[1], state=""))
    assert "state" not in params


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"client_id": ""}, "client_id is missing"),
        ({"client_id": "nobody"}, "unknown client_id"),
        ({"redirect_uri": "http://127.0.0.1:8765/other"}, "does not match"),
        ({"redirect_uri": REDIRECT_URI + "/"}, "does not match"),
        ({"redirect_uri": "http://localhost:8765/callback"}, "does not match"),
    ],
)
def test_unverifiable_client_or_redirect_gets_a_400_page_not_a_redirect(
    server: MockAuthServer, http: httpx.Client, override: dict[str, str], reason: str
) -> None:
    client_id = public_client(server)
    response = authorize(http, server, client_id, pkce()[1], **override)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert reason in response.text


def test_omitted_redirect_uri_with_several_registered_gets_the_page(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id = public_client(server, redirect_uris=[REDIRECT_URI, "https://app.example.com/cb"])
    response = authorize(http, server, client_id, pkce()[1], redirect_uri="")
    assert response.status_code == 400
    assert "redirect_uri is required" in response.text


@pytest.mark.parametrize(
    ("override", "error"),
    [
        ({"response_type": ""}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": "code id_token"}, "unsupported_response_type"),
        ({"code_challenge": ""}, "invalid_request"),
        ({"code_challenge_method": ""}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": "S512"}, "invalid_request"),
        ({"code_challenge": "too-short"}, "invalid_request"),
        ({"code_challenge": "a" * 42 + "="}, "invalid_request"),
        ({"scope": "admin"}, "invalid_scope"),
        ({"scope": "mcp:read  mcp:write"}, "invalid_scope"),
        ({"resource": "https://elsewhere.example/api"}, "invalid_target"),
        ({"resource": "/relative"}, "invalid_target"),
        ({"resource": "http://127.0.0.1/mcp#frag"}, "invalid_target"),
    ],
)
def test_bad_requests_are_redirected_with_the_rfc_6749_error(
    server: MockAuthServer, http: httpx.Client, override: dict[str, str], error: str
) -> None:
    client_id = public_client(server)
    params = redirect_params(authorize(http, server, client_id, pkce()[1], **override))
    assert params["error"] == error
    assert params["error_description"]
    assert params["state"] == "st-123"
    assert params["iss"] == server.url
    assert "code" not in params


def test_a_repeated_parameter_is_invalid_request(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id = public_client(server)
    _, challenge = pkce()
    query = [
        ("response_type", "code"), ("client_id", client_id), ("redirect_uri", REDIRECT_URI),
        ("code_challenge", challenge), ("code_challenge_method", "S256"),
        ("scope", "mcp:read"), ("scope", "mcp:write"), ("state", "s"),
    ]  # fmt: skip
    params = redirect_params(http.get(server.url + "/authorize?" + urlencode(query)))
    assert params["error"] == "invalid_request"
    assert "repeated" in params["error_description"]


def test_a_scope_outside_the_registered_one_is_invalid_scope(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id = public_client(server, scope="mcp:read")
    params = redirect_params(authorize(http, server, client_id, pkce()[1], scope="mcp:write"))
    assert params["error"] == "invalid_scope"


def test_a_client_without_the_code_grant_is_unauthorized_client(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id = public_client(server, grant_types=[DEVICE_GRANT])
    params = redirect_params(authorize(http, server, client_id, pkce()[1]))
    assert params["error"] == "unauthorized_client"


def test_deny_knob_answers_access_denied(server: MockAuthServer, http: httpx.Client) -> None:
    client_id = public_client(server)
    server.settings.deny_authorization = True
    params = redirect_params(authorize(http, server, client_id, pkce()[1]))
    assert params["error"] == "access_denied"
    server.settings.deny_authorization = False
    assert "code" in redirect_params(authorize(http, server, client_id, pkce()[1]))


def test_known_resources_are_accepted(http: httpx.Client) -> None:
    with MockAuthServer(resources=["https://api.example.com/mcp"]) as server:
        client_id = public_client(server)
        for resource in (server.resource_url, server.url, "https://api.example.com/mcp"):
            response = authorize(http, server, client_id, pkce()[1], resource=resource)
            assert "code" in redirect_params(response), resource


def test_any_resource_is_accepted_when_unknown_ones_are_allowed(http: httpx.Client) -> None:
    with MockAuthServer(reject_unknown_resources=False) as server:
        client_id = public_client(server)
        response = authorize(http, server, client_id, pkce()[1], resource="urn:example:api")
        assert "code" in redirect_params(response)
        response = authorize(http, server, client_id, pkce()[1], resource="no-scheme")
        assert redirect_params(response)["error"] == "invalid_target"
