"""The generated endpoint clients over real loopback HTTP, sync and async.

Each test scripts what the server answers, calls one endpoint method and checks both sides: the
request that reached the server and the model or the typed error that came back.
"""

from __future__ import annotations

import asyncio
import base64
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_plus

import httpx
import pytest

from mcp_oauth_dynamicclient._client_auth import ClientSecretBasic, ClientSecretPost, NoClientAuth
from mcp_oauth_dynamicclient._generated import (
    AsyncEndpointClient,
    AuthorizationCodeTokenRequest,
    ClientCredentialsTokenRequest,
    ClientMetadata,
    ClientUpdateRequest,
    DeviceAuthorizationRequest,
    DeviceCodeTokenRequest,
    EndpointClient,
    IntrospectionRequest,
    RefreshTokenRequest,
    RevocationRequest,
)
from mcp_oauth_dynamicclient.exceptions import (
    AuthorizationError,
    DiscoveryError,
    NetworkError,
    RegistrationError,
    TokenError,
    ValidationError,
)
from tests.scripted_server import Reply, ScriptedServer

Call = Callable[..., Any]
TOKEN = {"access_token": "at-SECRET", "token_type": "Bearer", "expires_in": 3600}
REGISTERED = {
    "client_id": "c-1",
    "client_secret": "cs-SECRET",
    "client_id_issued_at": 1700000000,
    "client_secret_expires_at": 0,
    "registration_access_token": "rat-SECRET",
    "registration_client_uri": "https://as.example/register/c-1",
    "redirect_uris": ["http://127.0.0.1:8080/callback"],
    "client_name": "Tester",
}


@pytest.fixture(params=["sync", "async"])
def call(request: pytest.FixtureRequest) -> Call:
    """Call an endpoint method on a fresh sync or async client: the same tests cover both."""
    flavour: str = request.param

    def run(method: str, *args: Any, timeout: float = 5.0, **kwargs: Any) -> Any:
        if flavour == "sync":
            with httpx.Client(timeout=timeout) as http:
                return getattr(EndpointClient(http), method)(*args, **kwargs)

        async def run_async() -> Any:
            async with httpx.AsyncClient(timeout=timeout) as http:
                return await getattr(AsyncEndpointClient(http), method)(*args, **kwargs)

        return asyncio.run(run_async())

    return run


# ------------------------------------------------------------------------------ discovery


def test_metadata_is_parsed_and_vendor_fields_survive(scripted: ScriptedServer, call: Call) -> None:
    scripted.reply(
        Reply.json(
            {
                "issuer": scripted.url,
                "token_endpoint": f"{scripted.url}/token",
                "code_challenge_methods_supported": ["S256"],
                "authorization_response_iss_parameter_supported": True,
                "x_vendor_feature": {"enabled": True},
            }
        )
    )
    metadata = call("get_authorization_server_metadata", scripted.url + "/.well-known/x")

    assert metadata.issuer == scripted.url
    assert metadata.code_challenge_methods_supported == ["S256"]
    assert metadata.authorization_response_iss_parameter_supported is True
    assert metadata.registration_endpoint is None
    assert metadata.extra == {"x_vendor_feature": {"enabled": True}}
    (request,) = scripted.received
    assert (request.method, request.path) == ("GET", "/.well-known/x")
    assert request.headers["accept"] == "application/json"


def test_protected_resource_metadata_and_jwks(scripted: ScriptedServer, call: Call) -> None:
    scripted.reply(
        Reply.json(
            {"resource": "https://mcp.example/mcp", "authorization_servers": ["https://as"]}
        ),
        Reply.json({"keys": [{"kty": "RSA", "kid": "k1", "n": "AQAB", "e": "AQAB"}]}),
    )
    resource = call("get_protected_resource_metadata", scripted.url + "/prm")
    jwks = call("get_jwks", scripted.url + "/jwks")

    assert resource.authorization_servers == ["https://as"]
    assert jwks.keys[0].kid == "k1"
    assert jwks.keys[0].extra == {"n": "AQAB", "e": "AQAB"}


def test_missing_metadata_is_a_discovery_error(scripted: ScriptedServer, call: Call) -> None:
    scripted.reply(Reply(404, b"<html>Not Found</html>", {"Content-Type": "text/html"}))
    with pytest.raises(DiscoveryError) as caught:
        call("get_authorization_server_metadata", scripted.url + "/.well-known/x")
    assert caught.value.status_code == 404
    assert caught.value.error_code is None
    assert "HTTP 404 and a body that is not JSON (text/html)" in str(caught.value)


# --------------------------------------------------------------------------- registration


def test_register_sends_only_set_metadata_and_vendor_fields(
    scripted: ScriptedServer, call: Call
) -> None:
    scripted.reply(Reply.json(REGISTERED, status=201))
    body = ClientMetadata(
        client_name="Tester",
        redirect_uris=["http://127.0.0.1:8080/callback"],
        extra={"client_name#fr": "Testeur"},
    )
    registered = call("register_client", scripted.url + "/register", body)

    (request,) = scripted.received
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/json"
    assert "authorization" not in request.headers
    assert request.json() == {
        "redirect_uris": ["http://127.0.0.1:8080/callback"],
        "client_name": "Tester",
        "client_name#fr": "Testeur",
    }
    assert registered.client_id == "c-1"
    assert registered.registration_access_token == "rat-SECRET"
    assert registered.client_secret_expires_at == 0


def test_register_with_initial_access_token(scripted: ScriptedServer, call: Call) -> None:
    scripted.reply(Reply.json(REGISTERED, status=201))
    call("register_client", scripted.url + "/r", ClientMetadata(), initial_access_token="iat")
    assert scripted.received[0].headers["authorization"] == "Bearer iat"


def test_registration_error_carries_the_rfc_7591_code(scripted: ScriptedServer, call: Call) -> None:
    error = {"error": "invalid_redirect_uri", "error_description": "fragments are not allowed"}
    scripted.reply(Reply.json(error, status=400))
    with pytest.raises(RegistrationError) as caught:
        call("register_client", scripted.url + "/r", ClientMetadata())

    assert caught.value.error_code == "invalid_redirect_uri"
    assert caught.value.error_description == "fragments are not allowed"
    assert caught.value.status_code == 400
    assert caught.value.response is not None
    assert str(caught.value) == (
        "register_client failed with HTTP 400: invalid_redirect_uri: fragments are not allowed"
    )


def test_rfc_7592_read_update_delete_use_the_registration_token(
    scripted: ScriptedServer, call: Call
) -> None:
    scripted.reply(Reply.json(REGISTERED), Reply.json(REGISTERED), Reply(204))
    uri = scripted.url + "/register/c-1"
    read = call("read_client", uri, registration_access_token="rat")
    update = ClientUpdateRequest(client_id="c-1", client_secret="cs", client_name="Renamed")
    updated = call("update_client", uri, update, registration_access_token="rat")
    deleted = call("delete_client", uri, registration_access_token="rat")

    assert [r.method for r in scripted.received] == ["GET", "PUT", "DELETE"]
    assert all(r.headers["authorization"] == "Bearer rat" for r in scripted.received)
    assert scripted.received[1].json() == {
        "client_name": "Renamed",
        "client_id": "c-1",
        "client_secret": "cs",
    }
    assert read.client_id == updated.client_id == "c-1"
    assert deleted is None


def test_bearer_challenge_without_body_gives_the_error_code(
    scripted: ScriptedServer, call: Call
) -> None:
    challenge = 'Bearer error="invalid_token", error_description="token \\"rat\\" unknown"'
    scripted.reply(Reply(401, b"", {"WWW-Authenticate": challenge}))
    with pytest.raises(RegistrationError) as caught:
        call("read_client", scripted.url + "/register/c-1", registration_access_token="rat")
    assert caught.value.error_code == "invalid_token"
    assert caught.value.error_description == 'token "rat" unknown'
    assert caught.value.status_code == 401


# ---------------------------------------------------------------------------------- token


def _basic_credentials(header: str) -> tuple[str, str]:
    scheme, _, encoded = header.partition(" ")
    assert scheme == "Basic"
    client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
    return unquote_plus(client_id), unquote_plus(secret)


def test_code_exchange_with_client_secret_basic(scripted: ScriptedServer, call: Call) -> None:
    scripted.reply(Reply.json({**TOKEN, "refresh_token": "rt-SECRET", "scope": "mcp:read"}))
    grant = AuthorizationCodeTokenRequest(
        code="code-1",
        code_verifier="v" * 43,
        redirect_uri="http://127.0.0.1:8080/callback",
        resource=["https://mcp.example/mcp", "https://other.example/"],
    )
    auth = ClientSecretBasic("client id:1", "s3cr+t:%é")
    token = call("request_token", scripted.url + "/token", grant, client_auth=auth)

    (request,) = scripted.received
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    # RFC 6749 §2.3.1: each part is form-encoded before Basic, so ':' and '+' survive.
    assert "%3A" in base64.b64decode(request.headers["authorization"][6:]).decode()
    assert _basic_credentials(request.headers["authorization"]) == ("client id:1", "s3cr+t:%é")
    assert request.form() == {
        "client_id": ["client id:1"],
        "grant_type": ["authorization_code"],
        "code": ["code-1"],
        "redirect_uri": ["http://127.0.0.1:8080/callback"],
        "code_verifier": ["v" * 43],
        "resource": ["https://mcp.example/mcp", "https://other.example/"],
    }
    assert token.access_token == "at-SECRET"
    assert token.refresh_token == "rt-SECRET"
    assert token.expires_in == 3600


@pytest.mark.parametrize(
    ("grant", "expected"),
    [
        (
            RefreshTokenRequest(refresh_token="rt", scope="mcp:read"),
            {"grant_type": ["refresh_token"], "refresh_token": ["rt"], "scope": ["mcp:read"]},
        ),
        (
            ClientCredentialsTokenRequest(resource=["https://r"]),
            {"grant_type": ["client_credentials"], "resource": ["https://r"]},
        ),
        (
            DeviceCodeTokenRequest(device_code="dc"),
            {
                "grant_type": ["urn:ietf:params:oauth:grant-type:device_code"],
                "device_code": ["dc"],
            },
        ),
    ],
)
def test_each_grant_with_client_secret_post(
    scripted: ScriptedServer, call: Call, grant: Any, expected: dict[str, list[str]]
) -> None:
    scripted.reply(Reply.json(TOKEN))
    call("request_token", scripted.url + "/t", grant, client_auth=ClientSecretPost("c", "s"))
    (request,) = scripted.received
    assert "authorization" not in request.headers
    assert request.form() == {**expected, "client_id": ["c"], "client_secret": ["s"]}


def test_public_client_sends_only_its_id(scripted: ScriptedServer, call: Call) -> None:
    scripted.reply(Reply.json(TOKEN))
    grant = RefreshTokenRequest(refresh_token="rt")
    call("request_token", scripted.url + "/t", grant, client_auth=NoClientAuth("pub"))
    assert scripted.received[0].form()["client_id"] == ["pub"]
    assert "client_secret" not in scripted.received[0].form()


def test_token_error_carries_the_rfc_6749_code(scripted: ScriptedServer, call: Call) -> None:
    scripted.reply(Reply.json({"error": "invalid_grant", "error_description": "code used"}, 400))
    with pytest.raises(TokenError) as caught:
        call(
            "request_token",
            scripted.url + "/t",
            RefreshTokenRequest(refresh_token="rt-SECRET"),
            client_auth=NoClientAuth("c"),
        )
    assert (caught.value.error_code, caught.value.status_code) == ("invalid_grant", 400)


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (
            Reply(502, b"<html>Bad gateway</html>", {"Content-Type": "text/html"}),
            "request_token failed with HTTP 502 and a body that is not JSON (text/html)",
        ),
        (Reply(500), "request_token failed with HTTP 500 and an empty body"),
        (Reply.json({"message": "nope"}, 400), "request_token failed with HTTP 400 and no OAuth"),
        (
            Reply(200, b"access_token=x", {"Content-Type": "text/plain"}),
            "request_token: HTTP 200 with a body that is not JSON (text/plain)",
        ),
        (Reply.json([TOKEN]), "HTTP 200 with an array, expected a JSON object"),
        (Reply.json({"token_type": "Bearer"}), "required field missing @ $.access_token"),
        (
            Reply.json({**TOKEN, "expires_in": "3600"}),
            "invalid TokenResponse: expected an integer, got a string @ $.expires_in",
        ),
        (
            Reply.json({**TOKEN, "access_token": 7}),
            "expected a string, got a number @ $.access_token",
        ),
        (Reply.json({**TOKEN, "expires_in": True}), "expected an integer, got a boolean"),
    ],
)
def test_malformed_token_responses_are_token_errors(
    scripted: ScriptedServer, call: Call, reply: Reply, message: str
) -> None:
    scripted.reply(reply)
    with pytest.raises(TokenError) as caught:
        call("request_token", scripted.url + "/t", RefreshTokenRequest(refresh_token="rt"),
             client_auth=NoClientAuth("c"))  # fmt: skip
    assert message in str(caught.value)
    assert "at-SECRET" not in str(caught.value)
    assert caught.value.response is not None


def test_nested_shape_errors_name_the_path(scripted: ScriptedServer, call: Call) -> None:
    scripted.reply(Reply.json({"keys": [{"kty": "RSA"}, {"kid": "no-kty"}]}))
    with pytest.raises(DiscoveryError, match=r"required field missing @ \$\.keys\[1\]\.kty"):
        call("get_jwks", scripted.url + "/jwks")


def test_revocation_ignores_the_body_of_a_success(scripted: ScriptedServer, call: Call) -> None:
    scripted.reply(Reply(200, b"revoked!", {"Content-Type": "text/plain"}))
    body = RevocationRequest(token="at", token_type_hint="access_token")
    result = call("revoke_token", scripted.url + "/revoke", body, client_auth=NoClientAuth("c"))
    assert result is None
    assert scripted.received[0].form() == {
        "token": ["at"],
        "token_type_hint": ["access_token"],
        "client_id": ["c"],
    }


def test_revocation_unavailable_is_a_token_error(scripted: ScriptedServer, call: Call) -> None:
    scripted.reply(Reply.json({"error": "unsupported_token_type"}, 400))
    with pytest.raises(TokenError) as caught:
        call("revoke_token", scripted.url + "/r", RevocationRequest(token="t"),
             client_auth=NoClientAuth("c"))  # fmt: skip
    assert caught.value.error_code == "unsupported_token_type"


@pytest.mark.parametrize("audience", ["https://mcp.example", ["https://a", "https://b"]])
def test_introspection_audience_is_a_string_or_a_list(
    scripted: ScriptedServer, call: Call, audience: str | list[str]
) -> None:
    scripted.reply(Reply.json({"active": True, "aud": audience, "exp": 1, "scope": "mcp:read"}))
    result = call("introspect_token", scripted.url + "/i", IntrospectionRequest(token="t"),
                  client_auth=ClientSecretPost("c", "s"))  # fmt: skip
    assert result.active is True
    assert result.aud == audience


def test_device_authorization(scripted: ScriptedServer, call: Call) -> None:
    scripted.reply(
        Reply.json(
            {
                "device_code": "dc-SECRET",
                "user_code": "WDJB-MJHT",
                "verification_uri": "https://as.example/device",
                "expires_in": 1800,
            }
        ),
        Reply.json({"error": "invalid_scope"}, 400),
    )
    body = DeviceAuthorizationRequest(scope="mcp:read")
    started = call("request_device_authorization", scripted.url + "/d", body,
                   client_auth=NoClientAuth("c"))  # fmt: skip
    assert (started.user_code, started.interval) == ("WDJB-MJHT", None)
    assert "dc-SECRET" not in repr(started)
    with pytest.raises(AuthorizationError, match="invalid_scope"):
        call("request_device_authorization", scripted.url + "/d", body,
             client_auth=NoClientAuth("c"))  # fmt: skip


# ------------------------------------------------------------------------ transport, input


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_connection_refused_is_a_network_error(call: Call) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/.well-known/x?secret=1"
    with pytest.raises(NetworkError) as caught:
        call("get_authorization_server_metadata", url)
    assert "ConnectError" in str(caught.value)
    assert "secret=1" not in str(caught.value)


def test_timeout_is_a_network_error(scripted: ScriptedServer, call: Call) -> None:
    scripted.reply(Reply(200, b"{}", delay=1.0))
    with pytest.raises(NetworkError, match="timed out"):
        call("get_jwks", scripted.url + "/jwks", timeout=0.1)


@pytest.mark.parametrize("url", ["ftp://as.example/jwks", "/relative/jwks", "http://"])
def test_bad_urls_are_refused_before_sending(call: Call, url: str) -> None:
    with pytest.raises(ValidationError, match="URL"):
        call("get_jwks", url)
