"""RFC 7591 registration and RFC 7592 management, over HTTP, with every validation rule."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mcp_oauth_dynamicclient._generated import (
    ClientMetadata,
    ClientUpdateRequest,
    EndpointClient,
)
from mcp_oauth_dynamicclient.exceptions import RegistrationError
from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.testing.mock_flows import (
    DEVICE_GRANT,
    REDIRECT_URI,
    basic_header,
    call_mcp,
    public_client,
    tokens_for,
)

EC_KEY = {
    "kty": "EC",
    "crv": "P-256",
    "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
}


def register(
    http: httpx.Client, server: MockAuthServer, body: Any, **headers: str
) -> httpx.Response:
    return http.post(server.url + "/register", json=body, headers=headers)


def test_registration_returns_201_with_credentials_and_defaults(
    server: MockAuthServer, http: httpx.Client
) -> None:
    response = register(http, server, {"redirect_uris": [REDIRECT_URI], "client_name": "Tool"})
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    body = response.json()
    assert body["client_name"] == "Tool"
    assert body["redirect_uris"] == [REDIRECT_URI]
    assert body["token_endpoint_auth_method"] == "client_secret_basic"  # RFC 7591 §2 default
    assert body["grant_types"] == ["authorization_code"]
    assert body["response_types"] == ["code"]
    assert body["client_secret"]
    assert body["client_secret_expires_at"] == 0
    assert abs(body["client_id_issued_at"] - server.clock.now()) < 5
    assert body["registration_access_token"]
    assert body["registration_client_uri"] == f"{server.url}/register/{body['client_id']}"


def test_public_client_gets_no_secret(server: MockAuthServer, http: httpx.Client) -> None:
    info = EndpointClient(http).register_client(
        server.url + "/register",
        ClientMetadata(redirect_uris=[REDIRECT_URI], token_endpoint_auth_method="none"),
    )
    assert info.client_secret is None
    assert info.client_secret_expires_at is None
    assert info.registration_access_token is not None


def test_client_secret_lifetime_knob_sets_the_expiry(http: httpx.Client) -> None:
    with MockAuthServer(client_secret_lifetime=3600) as server:
        body = register(http, server, {"redirect_uris": [REDIRECT_URI]}).json()
    assert body["client_secret_expires_at"] == body["client_id_issued_at"] + 3600


def test_unknown_metadata_is_ignored_and_language_tags_are_kept(
    server: MockAuthServer, http: httpx.Client
) -> None:
    body = register(
        http,
        server,
        {
            "redirect_uris": [REDIRECT_URI],
            "client_name": "Tool",
            "client_name#fr": "Outil",
            "vendor_flag": True,
            "software_statement": "eyJhbGciOiJub25lIn0.e30.",
            "client_id": "chosen-by-client",
        },
    ).json()
    assert body["client_name#fr"] == "Outil"
    assert "vendor_flag" not in body
    assert "software_statement" not in body
    assert body["client_id"] != "chosen-by-client"


@pytest.mark.parametrize(
    ("metadata", "error"),
    [
        ({}, "invalid_redirect_uri"),
        ({"redirect_uris": []}, "invalid_redirect_uri"),
        ({"redirect_uris": ["http://app.example.com/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://app.example.com/cb#frag"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["/relative/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["com.example.app:/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://user@app.example.com/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://app.example.com/c b"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["http://127.0.0.1:99999/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": "https://app.example.com/cb"}, "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT_URI], "client_name": 7}, "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "client_secret_jwt"},
         "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT_URI], "grant_types": ["implicit"]}, "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT_URI], "grant_types": []}, "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT_URI], "response_types": ["token"]}, "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT_URI], "response_types": []}, "invalid_client_metadata"),
        ({"grant_types": ["client_credentials"], "response_types": ["code"]},
         "invalid_client_metadata"),
        ({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"},
         "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "private_key_jwt"},
         "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "private_key_jwt",
          "jwks": {"keys": [EC_KEY]}, "jwks_uri": "https://app.example.com/jwks"},
         "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "private_key_jwt",
          "jwks": {"keys": [{**EC_KEY, "d": "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}]}},
         "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "private_key_jwt",
          "jwks": {"keys": [{"kty": "RSA"}]}}, "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT_URI], "jwks_uri": "ftp://app.example.com/jwks"},
         "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT_URI], "scope": "mcp:read admin"}, "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT_URI], "scope": "mcp:read  mcp:write"},
         "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT_URI], "client_uri": "javascript:alert(1)"},
         "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT_URI], "client_name#fr": 3}, "invalid_client_metadata"),
    ],
)  # fmt: skip
def test_invalid_metadata_is_refused_with_the_rfc_7591_error(
    server: MockAuthServer, http: httpx.Client, metadata: dict[str, Any], error: str
) -> None:
    response = register(http, server, metadata)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"] == error
    assert response.json()["error_description"]


@pytest.mark.parametrize(
    "metadata",
    [
        {"redirect_uris": ["https://app.example.com/cb?x=1"]},
        {"redirect_uris": ["http://localhost:3000/cb", "http://[::1]/cb", "http://127.0.0.1/cb"]},
        {"grant_types": ["client_credentials"]},  # response_types follows grant_types
        {"grant_types": [DEVICE_GRANT, "refresh_token"], "token_endpoint_auth_method": "none"},
        {"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "private_key_jwt",
         "jwks": {"keys": [EC_KEY]}},
        {"redirect_uris": [REDIRECT_URI], "scope": "openid mcp:read"},
    ],
)  # fmt: skip
def test_valid_metadata_is_accepted(
    server: MockAuthServer, http: httpx.Client, metadata: dict[str, Any]
) -> None:
    response = register(http, server, metadata)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(b"not json", "application/json"), (b"[1, 2]", "application/json"),
     (b'{"redirect_uris": ["https://a.example/cb"]}', "text/plain")],
)  # fmt: skip
def test_a_body_that_is_not_a_json_object_is_invalid_client_metadata(
    server: MockAuthServer, http: httpx.Client, content: bytes, content_type: str
) -> None:
    response = http.post(
        server.url + "/register", content=content, headers={"Content-Type": content_type}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"


def test_initial_access_token_is_required_when_configured(http: httpx.Client) -> None:
    body = {"redirect_uris": [REDIRECT_URI]}
    with MockAuthServer(initial_access_token="iat-secret") as server:
        missing = register(http, server, body)
        wrong = register(http, server, body, Authorization="Bearer nope")
        malformed = register(http, server, body, Authorization="Basic Zm9vOmJhcg==")
        accepted = EndpointClient(http).register_client(
            server.url + "/register",
            ClientMetadata(redirect_uris=[REDIRECT_URI]),
            initial_access_token="iat-secret",
        )
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert wrong.json()["error"] == "invalid_token"
    assert malformed.status_code == 400
    assert accepted.client_id


# ----------------------------------------------------------------------------- RFC 7592


def _registered(server: MockAuthServer, http: httpx.Client, **metadata: Any) -> dict[str, Any]:
    response = register(http, server, {"redirect_uris": [REDIRECT_URI], **metadata})
    assert response.status_code == 201
    body: dict[str, Any] = response.json()
    return body


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_read_returns_the_registration(server: MockAuthServer, http: httpx.Client) -> None:
    created = _registered(server, http, client_name="Tool")
    read = EndpointClient(http).read_client(
        created["registration_client_uri"],
        registration_access_token=created["registration_access_token"],
    )
    assert read.client_id == created["client_id"]
    assert read.client_secret == created["client_secret"]
    assert read.client_name == "Tool"
    assert read.registration_access_token == created["registration_access_token"]


def test_bad_registration_token_or_unknown_client_is_401(
    server: MockAuthServer, http: httpx.Client
) -> None:
    first, second = _registered(server, http), _registered(server, http)
    uri, token = first["registration_client_uri"], first["registration_access_token"]
    no_token = http.get(uri)
    wrong_token = http.get(uri, headers=_bearer("wrong"))
    other_clients_token = http.get(uri, headers=_bearer(second["registration_access_token"]))
    unknown_client = http.get(server.url + "/register/nobody", headers=_bearer(token))
    assert no_token.status_code == 401
    assert no_token.headers["www-authenticate"] == "Bearer"
    for response in (wrong_token, other_clients_token, unknown_client):
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_token"
        assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_update_is_a_full_replacement(server: MockAuthServer, http: httpx.Client) -> None:
    created = _registered(server, http, client_name="Tool", scope="mcp:read")
    updated = EndpointClient(http).update_client(
        created["registration_client_uri"],
        ClientUpdateRequest(
            client_id=created["client_id"],
            client_secret=created["client_secret"],
            redirect_uris=["https://new.example.com/cb"],
        ),
        registration_access_token=created["registration_access_token"],
    )
    assert updated.redirect_uris == ["https://new.example.com/cb"]
    assert updated.client_name is None  # omitted, so reset
    assert updated.scope is None
    assert updated.client_secret == created["client_secret"]
    assert updated.registration_access_token == created["registration_access_token"]
    assert server.get_client(created["client_id"]) == updated


def test_update_can_rotate_the_registration_access_token(http: httpx.Client) -> None:
    with MockAuthServer(rotate_registration_access_token=True) as server:
        created = _registered(server, http)
        uri, old = created["registration_client_uri"], created["registration_access_token"]
        response = http.put(
            uri,
            json={"client_id": created["client_id"], "redirect_uris": [REDIRECT_URI]},
            headers=_bearer(old),
        )
        new = response.json()["registration_access_token"]
        assert new != old
        assert http.get(uri, headers=_bearer(old)).status_code == 401
        assert http.get(uri, headers=_bearer(new)).status_code == 200


@pytest.mark.parametrize(
    "change",
    [
        {"client_id": "someone-else"},
        {"client_secret": "not-the-secret"},
        {"registration_access_token": "x"},
        {"registration_client_uri": "https://x.example/"},
        {"client_secret_expires_at": 0},
        {"client_id_issued_at": 1},
        {"redirect_uris": ["http://evil.example/cb"]},
        {"grant_types": ["password"]},
    ],
)
def test_update_refuses_bad_bodies(
    server: MockAuthServer, http: httpx.Client, change: dict[str, Any]
) -> None:
    created = _registered(server, http)
    body = {"client_id": created["client_id"], "redirect_uris": [REDIRECT_URI], **change}
    response = http.put(
        created["registration_client_uri"],
        json=body,
        headers=_bearer(created["registration_access_token"]),
    )
    assert response.status_code == 400
    assert response.json()["error"] in ("invalid_client_metadata", "invalid_redirect_uri")
    read = http.get(
        created["registration_client_uri"], headers=_bearer(created["registration_access_token"])
    )
    assert read.json()["redirect_uris"] == [REDIRECT_URI]  # unchanged


def test_update_without_client_id_is_refused(server: MockAuthServer, http: httpx.Client) -> None:
    created = _registered(server, http)
    response = http.put(
        created["registration_client_uri"],
        json={"redirect_uris": [REDIRECT_URI]},
        headers=_bearer(created["registration_access_token"]),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"


def test_update_issues_a_new_secret_once_the_old_one_expired(http: httpx.Client) -> None:
    with MockAuthServer(client_secret_lifetime=60) as server:
        created = _registered(server, http)
        server.clock.advance(61)
        response = http.put(
            created["registration_client_uri"],
            json={"client_id": created["client_id"], "redirect_uris": [REDIRECT_URI]},
            headers=_bearer(created["registration_access_token"]),
        )
    body = response.json()
    assert body["client_secret"] != created["client_secret"]
    assert body["client_secret_expires_at"] > created["client_secret_expires_at"]


def test_update_to_a_public_client_drops_the_secret(
    server: MockAuthServer, http: httpx.Client
) -> None:
    created = _registered(server, http)
    response = http.put(
        created["registration_client_uri"],
        json={
            "client_id": created["client_id"],
            "redirect_uris": [REDIRECT_URI],
            "token_endpoint_auth_method": "none",
        },
        headers=_bearer(created["registration_access_token"]),
    )
    assert response.status_code == 200
    assert "client_secret" not in response.json()


def test_delete_removes_the_client_and_its_tokens(
    server: MockAuthServer, http: httpx.Client
) -> None:
    client_id = public_client(server)
    tokens = tokens_for(http, server, client_id)
    info = server.get_client(client_id)
    assert info is not None
    assert info.registration_access_token is not None
    assert call_mcp(http, server, tokens["access_token"]).status_code == 200
    EndpointClient(http).delete_client(
        str(info.registration_client_uri), registration_access_token=info.registration_access_token
    )
    assert server.get_client(client_id) is None
    assert call_mcp(http, server, tokens["access_token"]).status_code == 401
    refreshed = http.post(
        server.url + "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": client_id,
        },
    )
    assert refreshed.json()["error"] == "invalid_client"
    again = http.delete(
        str(info.registration_client_uri), headers=_bearer(info.registration_access_token)
    )
    assert again.status_code == 401


def test_delete_answers_204_with_no_body(server: MockAuthServer, http: httpx.Client) -> None:
    created = _registered(server, http)
    response = http.delete(
        created["registration_client_uri"], headers=_bearer(created["registration_access_token"])
    )
    assert response.status_code == 204
    assert response.content == b""
    with pytest.raises(RegistrationError) as raised:
        EndpointClient(http).read_client(
            created["registration_client_uri"],
            registration_access_token=created["registration_access_token"],
        )
    assert raised.value.status_code == 401


def test_create_client_validates_and_honours_a_chosen_id_and_secret(
    server: MockAuthServer, http: httpx.Client
) -> None:
    info = server.create_client(
        {"grant_types": ["client_credentials"]}, client_id="fixed", client_secret="s3cr3t"
    )
    assert (info.client_id, info.client_secret) == ("fixed", "s3cr3t")
    response = http.post(
        server.url + "/token",
        data={"grant_type": "client_credentials"},
        headers=basic_header("fixed", "s3cr3t"),
    )
    assert response.status_code == 200
    with pytest.raises(ValueError, match="invalid_redirect_uri"):
        server.create_client({"redirect_uris": ["http://example.com/cb"]})
    with pytest.raises(ValueError, match="invalid_client_metadata"):
        server.create_client({"redirect_uris": "https://example.com/cb"})
    with pytest.raises(ValueError, match="already registered"):
        server.create_client({"grant_types": ["client_credentials"]}, client_id="fixed")
    with pytest.raises(ValueError, match="secret"):
        server.create_client(
            {"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "none"},
            client_secret="x",
        )
