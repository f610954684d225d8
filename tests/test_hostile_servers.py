"""Hostile authorization servers and callbacks (issue 12 items 1-6), sync and async.

Each test stages the attack with a real server on loopback (``MockAuthServer`` with a knob, or
a scripted server for answers no honest server gives) and checks that the client refuses it
with a typed error, before it sends what it holds, and loses nothing already stored.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from mcp_oauth_dynamicclient import (
    AuthorizationError,
    DiscoveryError,
    RegistrationError,
    TokenError,
)
from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.clients import REDIRECT, follow, make
from tests.flavours import Flavour
from tests.scripted_server import Reply, ScriptedServer
from tests.test_client_errors import with_query

REMOTE = "https://as.remote.test"  # a remote issuer, served from loopback by _Remote below


# ------------------------------------------------------------------ 1. a callback without state


@pytest.mark.parametrize("param", ["code", "error"])
def test_a_callback_url_without_state_is_refused_before_anything_is_sent(
    api: Flavour, server: MockAuthServer, param: str
) -> None:
    client = make(api, server)
    real = follow(client.get_authorization_url())
    injected = with_query(real, state=None, **({"code": None, "error": "access_denied"}
                                               if param == "error" else {}))  # fmt: skip
    with pytest.raises(AuthorizationError) as caught:
        client.exchange_code(injected)
    assert caught.value.error_code == "invalid_state"
    assert "carries no state" in str(caught.value)
    assert server.requests.count("/token") == 0
    # The real callback, which the injected one must not spoil, still works.
    assert client.exchange_code(real).access_token


# ------------------------------------------------------------------ 2. RFC 9207 iss


def test_a_bare_code_without_iss_is_refused_where_the_server_sends_it(
    api: Flavour, server: MockAuthServer
) -> None:
    client = make(api, server)
    real = follow(client.get_authorization_url())
    query = parse_qs(urlsplit(real).query)
    for args in ((query["code"][0],), (query["code"][0], query["state"][0])):
        with pytest.raises(AuthorizationError, match="pass the whole callback URL") as caught:
            client.exchange_code(*args)
        assert caught.value.error_code == "invalid_issuer"
    assert server.requests.count("/token") == 0
    # Nothing was used up: the whole URL (or iss=) works afterwards.
    assert client.exchange_code(query["code"][0], query["state"][0], iss=server.issuer)


def test_an_iss_argument_that_contradicts_the_url_is_refused(
    api: Flavour, server: MockAuthServer
) -> None:
    client = make(api, server)
    real = follow(client.get_authorization_url())
    with pytest.raises(AuthorizationError, match="iss mismatch") as caught:
        client.exchange_code(real, iss="https://evil.example")
    assert caught.value.error_code == "invalid_issuer"
    assert server.requests.count("/token") == 0
    assert client.exchange_code(real, iss=server.issuer).access_token  # agreeing: fine


# ------------------------------------------------------------------ 3. device flow URIs


def _device_server(scripted: ScriptedServer, **device: Any) -> None:
    url = scripted.url
    scripted.reply(
        Reply.json(
            {
                "issuer": url,
                "authorization_endpoint": f"{url}/authorize",
                "token_endpoint": f"{url}/token",
                "device_authorization_endpoint": f"{url}/device",
                "code_challenge_methods_supported": ["S256"],
            }
        ),
        Reply.json(
            {
                "device_code": "dc",
                "user_code": "ABCD-EFGH",
                "verification_uri": f"{url}/device",
                "expires_in": 600,
                **device,
            }
        ),
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("verification_uri", "javascript:alert(1)"),
        ("verification_uri", "data:text/html,<h1>sign in</h1>"),
        ("verification_uri", "http://phish.example/device"),
        ("verification_uri_complete", "javascript:alert(1)"),
        ("verification_uri_complete", "http://phish.example/device?user_code=ABCD"),
    ],
)
def test_hostile_device_flow_uris_are_refused(
    api: Flavour, scripted: ScriptedServer, field: str, value: str
) -> None:
    _device_server(scripted, **{field: value})
    client = api.client(auth_server=scripted.url, client_id="c", token_endpoint_auth_method="none")
    with pytest.raises(AuthorizationError, match=f"device flow's {field}"):
        client.start_device_authorization()


# ------------------------------------------------------------------ 4. the refreshed ID token


def test_a_refreshed_id_token_for_another_user_is_refused_and_the_token_kept(
    api: Flavour, server: MockAuthServer
) -> None:
    server.settings.rotate_refresh_tokens = False  # so the refused refresh spends nothing
    client = make(api, server)
    first = client.exchange_code(follow(client.get_authorization_url(scope="openid mcp:read")))
    assert first.id_token is not None
    server.settings.id_token_subject = "someone-else"
    with pytest.raises(TokenError, match="changes sub") as caught:
        client.refresh_token()
    assert caught.value.error_code == "invalid_id_token"
    key = f"token:{server.issuer}:{client.register().client_id}"
    assert client.storage_proxy().retrieve_token(key)["access_token"] == first.access_token

    server.settings.id_token_subject = None  # the same user again: accepted
    assert client.refresh_token().access_token != first.access_token


# ------------------------------------------------------------------ 5. SSRF


class _Remote(httpx.HTTPTransport):
    """Sends ``https://as.remote.test`` to a loopback server over plain http: a remote issuer
    whose answers a test scripts. Other URLs go out as they are."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = httpx.URL(target)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "as.remote.test":
            request.url = request.url.copy_with(
                scheme="http", host=self.target.host, port=self.target.port
            )
        return super().handle_request(request)


class _AsyncRemote(httpx.AsyncHTTPTransport):
    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = httpx.URL(target)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "as.remote.test":
            request.url = request.url.copy_with(
                scheme="http", host=self.target.host, port=self.target.port
            )
        return await super().handle_async_request(request)


@pytest.fixture
def remote(api: Flavour, scripted: ScriptedServer) -> Iterator[Any]:
    """An HTTP client of the API's flavour that reaches ``REMOTE`` at the scripted server."""
    if api.is_async:
        http: Any = httpx.AsyncClient(transport=_AsyncRemote(scripted.url))
        yield http
        api.run(http.aclose)
    else:
        http = httpx.Client(transport=_Remote(scripted.url))
        yield http
        http.close()


def _remote_client(api: Flavour, http: Any, **settings: Any) -> Any:
    return api.client(
        auth_server=REMOTE, client_id="c", client_secret="s", http_client=http, **settings
    )


def _remote_metadata(scripted: ScriptedServer, **endpoints: str) -> None:
    scripted.reply(
        Reply.json(
            {
                "issuer": REMOTE,
                "authorization_endpoint": f"{REMOTE}/authorize",
                "token_endpoint": f"{REMOTE}/token",
                "code_challenge_methods_supported": ["S256"],
                "grant_types_supported": ["client_credentials"],
                **endpoints,
            }
        ),
        Reply.json({"access_token": "t", "token_type": "Bearer", "expires_in": 60}),
    )


@pytest.mark.parametrize(
    ("name", "url", "problem"),
    [
        ("token_endpoint", "http://127.0.0.1:6379/token", "loopback"),
        ("token_endpoint", "https://localhost/token", "loopback"),
        ("token_endpoint", "https://10.0.0.5/token", "private"),
        ("token_endpoint", "https://169.254.169.254/latest/meta-data", "link-local"),
        ("token_endpoint", "https://[::ffff:10.1.2.3]/token", "private"),
        ("jwks_uri", "https://192.168.1.10/jwks", "private"),
        ("revocation_endpoint", "https://[fe80::1]/revoke", "link-local"),
    ],
)
def test_a_remote_issuers_endpoints_may_not_point_into_this_network(
    api: Flavour, scripted: ScriptedServer, remote: Any, name: str, url: str, problem: str
) -> None:
    _remote_metadata(scripted, **{name: url})
    client = _remote_client(api, remote)
    with pytest.raises(DiscoveryError, match=f"is {problem}") as caught:
        client.get_token()
    assert "private_hosts" in str(caught.value)
    assert [r.path for r in scripted.received] == ["/.well-known/oauth-authorization-server"]


@pytest.fixture
def internal_name(monkeypatch: pytest.MonkeyPatch) -> str:
    """A name that resolves to a private address (DNS is the one thing no loopback server
    here can answer for, so the resolver is told)."""
    real = socket.getaddrinfo

    def resolve(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "internal.corp.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.9.8.7", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    return "internal.corp.test"


def test_names_are_resolved_and_their_addresses_checked(
    api: Flavour, scripted: ScriptedServer, remote: Any, internal_name: str
) -> None:
    _remote_metadata(scripted, token_endpoint=f"https://{internal_name}/token")
    client = _remote_client(api, remote)
    with pytest.raises(DiscoveryError, match=r"resolves to 10\.9\.8\.7 \(private\)"):
        client.get_token()
    assert len(scripted.received) == 1


def test_private_hosts_allows_a_server_on_your_own_network(
    api: Flavour, scripted: ScriptedServer, remote: Any, internal_name: str
) -> None:
    # The token endpoint is the issuer's own host (allowed) routed to loopback by the
    # transport; the JWKS on the internal name is allowed by the setting.
    _remote_metadata(scripted, jwks_uri=f"https://{internal_name}/jwks")
    client = _remote_client(api, remote, private_hosts=[internal_name])
    assert client.get_token().access_token == "t"


def test_a_loopback_issuer_may_use_loopback_endpoints(api: Flavour, server: MockAuthServer) -> None:
    assert make(api, server).get_token().access_token  # MockAuthServer: all on 127.0.0.1


# ------------------------------------------------------------------ 6. registration_client_uri


def test_the_registration_access_token_stays_on_the_servers_origin(
    api: Flavour, scripted: ScriptedServer
) -> None:
    url = scripted.url
    scripted.reply(
        Reply.json(
            {
                "issuer": url,
                "authorization_endpoint": f"{url}/authorize",
                "token_endpoint": f"{url}/token",
                "registration_endpoint": f"{url}/register",
                "code_challenge_methods_supported": ["S256"],
            }
        ),
        Reply.json(
            {
                "client_id": "c-1",
                "redirect_uris": [REDIRECT],
                "token_endpoint_auth_method": "none",
                "registration_access_token": "rat-secret",
                # Another origin: another port on this machine.
                "registration_client_uri": "http://127.0.0.1:9/steal",
            },
            status=201,
        ),
    )
    client = api.client(
        auth_server=url, redirect_uris=[REDIRECT], token_endpoint_auth_method="none"
    )
    client.register()
    with pytest.raises(RegistrationError, match="not on the origin") as caught:
        client.get_client_info()
    assert "rat-secret" not in str(caught.value)
    assert len(scripted.received) == 2  # metadata, registration: nothing sent after
