"""Inputs that used to end in an exception outside the hierarchy (issue 12, item 15).

Each came out of the public API as a bare Python or httpx exception: ``RecursionError`` from
JSON nested thousands deep (in metadata, a token response, an error body, an ID token's header,
a token file), ``OverflowError`` from ``expires_in: 10**400``, ``TypeError`` from
``authenticated_request(..., follow_redirects=True)``, ``httpx.InvalidURL`` from a URL with a
NUL byte. Each is now the typed error of the step that failed, with a message that says what
was wrong. Hostile servers are the scripted loopback server; every test runs against both
clients.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from mcp_oauth_dynamicclient import (
    AuthorizationError,
    ConfigurationError,
    DiscoveryError,
    TokenError,
    ValidationError,
)
from mcp_oauth_dynamicclient._json import MAX_DEPTH
from mcp_oauth_dynamicclient.exceptions import StorageError
from mcp_oauth_dynamicclient.storage import FileStorage, SyncFileStorage
from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.clients import REDIRECT, make
from tests.flavours import ClientProxy, Flavour
from tests.scripted_server import Reply, ScriptedServer

DEEP = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 50_000 + b"1" + b"}" * 50_000
NESTED = f"nested deeper than {MAX_DEPTH} levels"


def deep(status: int = 200, body: bytes = DEEP) -> Reply:
    return Reply(status, body, {"Content-Type": "application/json"})


def metadata(url: str, **fields: Any) -> dict[str, Any]:
    return {
        "issuer": url,
        "authorization_endpoint": f"{url}/authorize",
        "token_endpoint": f"{url}/token",
        "jwks_uri": f"{url}/jwks",
        "code_challenge_methods_supported": ["S256"],
        **fields,
    }


def configured(api: Flavour, scripted: ScriptedServer, **settings: Any) -> ClientProxy:
    """A pre-registered client of the scripted server: nothing is sent to register it."""
    options = {"client_id": "c", "client_secret": "s", "redirect_uris": [REDIRECT]}
    return api.client(auth_server=scripted.url, **{**options, **settings})


# ------------------------------------------------------------------- JSON nested too deep


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["arrays", "objects"])
def test_deeply_nested_metadata(api: Flavour, scripted: ScriptedServer, body: bytes) -> None:
    scripted.reply(deep(body=body), deep(body=body))  # both well-known URLs of the issuer
    with pytest.raises(DiscoveryError, match=NESTED):
        api.client(auth_server=scripted.url).discover()


def test_deeply_nested_token_response(api: Flavour, scripted: ScriptedServer) -> None:
    scripted.reply(Reply.json(metadata(scripted.url)), deep())
    with pytest.raises(TokenError, match=f"HTTP 200 with a JSON body {NESTED}"):
        configured(api, scripted).refresh_token("r")


def test_deeply_nested_error_body(api: Flavour, scripted: ScriptedServer) -> None:
    scripted.reply(Reply.json(metadata(scripted.url)), deep(400))
    with pytest.raises(TokenError, match=f"HTTP 400 and a JSON body {NESTED}") as caught:
        configured(api, scripted).refresh_token("r")
    assert caught.value.status_code == 400


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def exchange_for_id_token(
    api: Flavour, scripted: ScriptedServer, id_token: str, jwks: dict[str, Any]
) -> None:
    """Run the code flow against the scripted server, which answers with ``id_token`` and
    serves ``jwks``."""
    scripted.reply(Reply.json(metadata(scripted.url)))
    client = configured(api, scripted)
    state = parse_qs(urlsplit(client.get_authorization_url()).query)["state"][0]
    scripted.reply(
        Reply.json({"access_token": "a", "token_type": "Bearer", "id_token": id_token}),
        Reply.json(jwks),
    )
    client.exchange_code(f"{REDIRECT}?code=c&state={state}")


def test_deeply_nested_id_token_header(api: Flavour, scripted: ScriptedServer) -> None:
    header = b64(b"[" * 50_000 + b"]" * 50_000)
    with pytest.raises(AuthorizationError, match=f"header is not valid JSON.*{NESTED}") as caught:
        exchange_for_id_token(api, scripted, f"{header}.e30.c2ln", {"keys": []})
    assert caught.value.error_code == "invalid_id_token"


def test_a_jwk_whose_curve_is_not_a_string(api: Flavour, scripted: ScriptedServer) -> None:
    """Found by the fuzzer: ``crv`` stays as the server sent it, and a list is unhashable."""
    key = {"kty": "EC", "crv": ["P-256"], "x": b64(b"x" * 32), "y": b64(b"y" * 32)}
    token = ".".join([b64(b'{"alg":"ES256"}'), b64(b"{}"), b64(b"s" * 64)])
    with pytest.raises(AuthorizationError, match="no key that can verify ES256") as caught:
        exchange_for_id_token(api, scripted, token, {"keys": [key]})
    assert caught.value.error_code == "invalid_id_token"


def test_deeply_nested_token_file(api: Flavour, scripted: ScriptedServer, tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_bytes(DEEP)
    path.chmod(0o600)
    storage = FileStorage(path) if api.is_async else SyncFileStorage(path)
    scripted.reply(Reply.json(metadata(scripted.url, registration_endpoint=f"{scripted.url}/r")))
    client = api.client(auth_server=scripted.url, redirect_uris=[REDIRECT], storage=storage)
    with pytest.raises(StorageError, match="not valid JSON"):
        client.register()  # a stored registration is looked for first
    assert path.read_bytes() == DEEP  # left as it was
    assert all(received.method == "GET" for received in scripted.received)  # nothing registered


# -------------------------------------------------------------- numbers no float can hold


def test_an_endless_expires_in(api: Flavour, scripted: ScriptedServer) -> None:
    body = b'{"access_token": "a", "token_type": "Bearer", "expires_in": 1' + b"0" * 400 + b"}"
    scripted.reply(Reply.json(metadata(scripted.url)), Reply(200, body))
    with pytest.raises(TokenError, match=r"expires_in.*2\*\*53|2\*\*53.*expires_in"):
        configured(api, scripted).refresh_token("r")


@pytest.mark.parametrize("number", [b"NaN", b"-Infinity", b"1e400"])
def test_a_number_json_does_not_have(api: Flavour, scripted: ScriptedServer, number: bytes) -> None:
    """Python's json reads these (1e400 as infinity); a token holding one could be used but
    never stored (RFC 8259 §6), so the response is refused when it comes."""
    body = b'{"access_token": "a", "token_type": "Bearer", "x-vendor": ' + number + b"}"
    scripted.reply(Reply.json(metadata(scripted.url)), Reply(200, body))
    with pytest.raises(TokenError, match="HTTP 200 with a body that is not JSON"):
        configured(api, scripted).refresh_token("r")


def test_an_endless_device_code_lifetime(api: Flavour, scripted: ScriptedServer) -> None:
    device = {
        "device_code": "d",
        "user_code": "U",
        "verification_uri": f"{scripted.url}/device",
        "expires_in": 10**400,
    }
    endpoint = f"{scripted.url}/device_authorization"
    scripted.reply(
        Reply.json(metadata(scripted.url, device_authorization_endpoint=endpoint)),
        Reply(200, json.dumps(device).encode(), {"Content-Type": "application/json"}),
    )
    with pytest.raises(AuthorizationError, match=r"\$\.expires_in"):
        configured(api, scripted).start_device_authorization()


# ------------------------------------------------------------------ authenticated_request


def test_redirects_are_not_followed_with_a_bearer_token(
    api: Flavour, scripted: ScriptedServer
) -> None:
    client = configured(api, scripted)
    with pytest.raises(ValidationError, match="does not follow redirects") as caught:
        client.authenticated_request("GET", f"{scripted.url}/api", "t", follow_redirects=True)
    assert "Location" in str(caught.value)
    assert scripted.received == []  # refused before anything was sent
    # follow_redirects=False is what happens anyway: the 3xx comes back as it is.
    scripted.reply(Reply(302, b"", {"Location": "https://evil.example/steal"}))
    response = client.authenticated_request(
        "GET", f"{scripted.url}/api", "t", follow_redirects=False
    )
    assert response.status_code == 302
    assert len(scripted.received) == 1


@pytest.mark.parametrize(
    "url",
    ["{url}/api\x00", "https://exa\x00mple.com/api", "{url}/a\r\nb", "https://[::1/api"],
)
def test_an_unusable_url_is_a_validation_error(
    api: Flavour, scripted: ScriptedServer, url: str
) -> None:
    client = configured(api, scripted)
    with pytest.raises(ValidationError, match="authenticated_request"):
        client.authenticated_request("GET", url.format(url=scripted.url), "t")
    assert scripted.received == []


def test_an_option_httpx_does_not_take(api: Flavour, scripted: ScriptedServer) -> None:
    client = configured(api, scripted)
    with pytest.raises(ValidationError, match="auth"):
        client.authenticated_request("GET", f"{scripted.url}/api", "t", auth=("u", "p"))
    with pytest.raises(ValidationError, match="JSON serializable"):
        client.authenticated_request("POST", f"{scripted.url}/api", "t", json={1, 2})
    assert scripted.received == []


# --------------------------------------------------------- NUL bytes in configured URLs


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("auth_server", "https://as.exa\x00mple.com"),
        ("redirect_uris", ["http://127.0.0.1/c\x00b"]),
        ("resource", "https://mcp.example/m\x00cp"),
        ("token_endpoint", "https://as.example/tok\x00en"),
        ("client_metadata_url", "https://app.example/\x00client"),
    ],
)
def test_a_nul_byte_in_a_configured_url(api: Flavour, setting: str, value: Any) -> None:
    settings = {"auth_server": "https://as.example.com", setting: value}
    with pytest.raises(ConfigurationError, match=f"{setting}.* not a valid URL"):
        api.client(**settings)


@pytest.mark.parametrize("port", ["99999", "65536", "0"])
def test_a_port_tcp_does_not_have(api: Flavour, scripted: ScriptedServer, port: str) -> None:
    """httpx takes any number; the blocking client connected to 99999 % 65536, the asyncio
    one raised OverflowError."""
    with pytest.raises(ConfigurationError, match=f"auth_server: port {port} is not a TCP port"):
        api.client(auth_server=f"https://as.example.com:{port}")
    client = configured(api, scripted)
    with pytest.raises(ValidationError, match=f"port {port} is not a TCP port"):
        client.authenticated_request("GET", f"http://127.0.0.1:{port}/api", "t")
    scripted.reply(Reply.json(metadata(scripted.url, token_endpoint=f"https://as:{port}/t")))
    with pytest.raises(DiscoveryError, match=f"metadata token_endpoint: port {port}"):
        api.client(auth_server=scripted.url).discover()


@pytest.mark.parametrize("field", ["token_endpoint", "jwks_uri", "revocation_endpoint"])
def test_a_nul_byte_in_server_metadata(api: Flavour, scripted: ScriptedServer, field: str) -> None:
    scripted.reply(Reply.json(metadata(scripted.url, **{field: f"{scripted.url}/x\x00y"})))
    with pytest.raises(DiscoveryError, match=f"metadata {field} is not a valid URL"):
        api.client(auth_server=scripted.url).discover()


# ------------------------------------------------------------------ found by the fuzzers, typed


@pytest.mark.parametrize("state", [123, b"x", "\ud800", "line\nbreak"])
def test_a_state_that_is_not_printable_text_is_a_validation_error(
    api: Flavour, server: MockAuthServer, state: Any
) -> None:
    client = make(api, server)
    client.get_authorization_url()
    with pytest.raises(ValidationError, match="state: expected a string"):
        client.exchange_code("some-code", state, iss=server.issuer)
    with pytest.raises(ValidationError, match="iss: expected a string"):
        client.exchange_code("some-code", "some-state", iss=state)
    assert server.requests.count("/token") == 0


def test_a_scope_that_is_not_a_string_is_a_validation_error(
    api: Flavour, server: MockAuthServer
) -> None:
    with pytest.raises(ValidationError, match="scope: expected a space-separated string"):
        make(api, server).get_authorization_url(scope=5)


def test_a_stored_expiry_past_a_floats_range_is_not_an_overflow() -> None:
    from mcp_oauth_dynamicclient._storage_format import entry_lifetime

    assert entry_lifetime({"access_token": "a", "expires_at": 10**400}, None, 0.0) is None


def test_a_wait_past_the_sleep_limit_is_cut_to_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time

    from mcp_oauth_dynamicclient import _concurrency

    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    _concurrency.sync_sleep(1e12)
    assert slept == [threading.TIMEOUT_MAX]
