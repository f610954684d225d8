"""Bad inputs, from the caller and from servers: each ends in a typed error, nothing is lost.

Server misbehaviour that a real server can be made to show comes from MockAuthServer's knobs
and faults; metadata that no well-behaved server sends comes from the scripted server.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from mcp_oauth_dynamicclient import (
    AuthorizationError,
    ConfigurationError,
    DiscoveryError,
    NetworkError,
    OAuth2Config,
    RegistrationError,
    TokenError,
    ValidationError,
)
from mcp_oauth_dynamicclient.testing import Fault, MockAuthServer
from tests.clients import REDIRECT, authorize, follow, make
from tests.flavours import ClientProxy, Flavour
from tests.scripted_server import Reply, ScriptedServer


def with_query(url: str, **changes: str | None) -> str:
    """``url`` with query parameters replaced (``None`` removes one)."""
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    return urlunsplit(parts._replace(query=urlencode(query)))


# ------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"auth_server": "http://auth.example.com"}, "auth_server must use https"),
        ({"auth_server": "auth.example.com"}, "auth_server"),
        ({"auth_server": "https://auth.example.com?tenant=1"}, "auth_server must not have a query"),
        ({"redirect_uris": ["https://app.example/cb#frag"]}, "must not have a fragment"),
        ({"redirect_uris": ["http://app.example/cb"]}, "redirect_uris entry"),
        ({"use_pkce": False}, "use_pkce"),
        ({"code_challenge_method": "plain"}, "code_challenge_method"),
        ({"token_endpoint_auth_method": "tls_client_auth"}, "token_endpoint_auth_method"),
        ({"token_endpoint_auth_method": "private_key_jwt"}, "private_key"),
        ({"client_secret": "s"}, "client_id: required"),
        ({"id_token_algorithms": ["RS256", "none"]}, "id_token_algorithms"),
        ({"client_lifetime": -1}, "client_lifetime"),
        ({"client_name": " "}, "client_name"),
    ],
)
def test_bad_config_names_the_field(settings: dict[str, Any], field: str) -> None:
    options = {"auth_server": "https://auth.example.com", **settings}
    with pytest.raises(ConfigurationError, match=field):
        OAuth2Config(**options)


def test_unknown_and_missing_settings(api: Flavour) -> None:
    with pytest.raises(ConfigurationError, match="unknown setting"):
        api.client(auth_server="https://auth.example.com", client_nmae="typo")
    with pytest.raises(ConfigurationError, match="auth_server: required"):
        api.client()


def test_secrets_stay_out_of_reprs(api: Flavour, server: MockAuthServer) -> None:
    client = make(api, server, initial_access_token=None)
    registration = client.register()
    token = authorize(client)
    secrets = [
        registration.client_secret,
        registration.registration_access_token,
        token.access_token,
        token.refresh_token,
    ]
    shown = " ".join(map(repr, [client.client, registration, token, client.config]))
    for secret in secrets:
        assert secret
        assert secret not in shown


# ------------------------------------------------------------------------------ discovery


def metadata(url: str, **fields: Any) -> dict[str, Any]:
    """Metadata a scripted server serves for itself."""
    return {
        "issuer": url,
        "authorization_endpoint": f"{url}/authorize",
        "token_endpoint": f"{url}/token",
        "registration_endpoint": f"{url}/register",
        "code_challenge_methods_supported": ["S256"],
        **fields,
    }


def test_metadata_for_another_issuer_is_refused(api: Flavour, scripted: ScriptedServer) -> None:
    scripted.reply(Reply.json(metadata("https://evil.example")))
    client = api.client(auth_server=scripted.url)
    with pytest.raises(DiscoveryError, match=r"names issuer 'https://evil.example'"):
        client.discover()


def test_discovery_tries_the_mcp_order_for_a_path_issuer(
    api: Flavour, scripted: ScriptedServer
) -> None:
    issuer = scripted.url + "/tenant1"
    scripted.reply(Reply(404), Reply(404), Reply.json(metadata(issuer)))
    client = api.client(auth_server=issuer)
    assert client.discover().issuer == issuer
    assert [r.path for r in scripted.received] == [
        "/.well-known/oauth-authorization-server/tenant1",
        "/.well-known/openid-configuration/tenant1",
        "/tenant1/.well-known/openid-configuration",
    ]
    client.discover()  # cached
    assert len(scripted.received) == 3


def test_no_metadata_anywhere_lists_what_was_tried(api: Flavour, scripted: ScriptedServer) -> None:
    scripted.reply(Reply(404), Reply(200, b"<html>", {"Content-Type": "text/html"}))
    with pytest.raises(DiscoveryError) as caught:
        api.client(auth_server=scripted.url).discover()
    assert "oauth-authorization-server (" in str(caught.value)
    assert "not JSON (text/html)" in str(caught.value)


def test_metadata_with_insecure_endpoints_is_refused(
    api: Flavour, scripted: ScriptedServer
) -> None:
    scripted.reply(Reply.json(metadata(scripted.url, token_endpoint="http://evil.example/t")))
    with pytest.raises(DiscoveryError, match="metadata token_endpoint must use https"):
        api.client(auth_server=scripted.url).discover()


@pytest.mark.parametrize("methods", [None, ["plain"]])
def test_no_s256_no_authorization(
    api: Flavour, scripted: ScriptedServer, methods: list[str] | None
) -> None:
    scripted.reply(Reply.json(metadata(scripted.url, code_challenge_methods_supported=methods)))
    client = api.client(auth_server=scripted.url, redirect_uris=[REDIRECT])
    with pytest.raises(AuthorizationError, match="does not advertise PKCE S256"):
        client.get_authorization_url()
    assert len(scripted.received) == 1  # nothing registered


def test_a_5xx_during_discovery_is_not_skipped(api: Flavour, server: MockAuthServer) -> None:
    server.inject(Fault.server_error(503), path="/.well-known/oauth-authorization-server")
    with pytest.raises(DiscoveryError) as caught:
        make(api, server).discover()
    assert caught.value.status_code == 503


def test_server_down_is_a_network_error(api: Flavour, server: MockAuthServer) -> None:
    url = server.url
    server.stop()
    with pytest.raises(NetworkError, match="ConnectError"):
        api.client(auth_server=url).register()


# ---------------------------------------------------------------------------- registration


def test_registration_errors_carry_the_server_code(api: Flavour, server: MockAuthServer) -> None:
    server.settings.initial_access_token = "iat-" + "x" * 20
    with pytest.raises(RegistrationError) as caught:
        make(api, server).register()
    assert caught.value.status_code == 401

    client = make(api, server, initial_access_token=server.settings.initial_access_token)
    assert client.register().client_id


def test_a_malformed_registration_response_stores_nothing(
    api: Flavour, server: MockAuthServer
) -> None:
    storage = api.storage()
    server.inject(Fault.malformed_json(), path="/register")
    with pytest.raises(RegistrationError, match="not JSON"):
        make(api, server, storage=storage).register()
    assert ClientProxy(storage, api.portal).list_tokens() == []


def test_update_refuses_fields_that_cannot_change(api: Flavour, server: MockAuthServer) -> None:
    client = make(api, server)
    with pytest.raises(ValidationError, match="client_secret, registration_access_token cannot"):
        client.update_client(registration_access_token="x", client_secret="y")
    assert server.requests.count("/register/*", method="PUT") == 0


def test_update_with_a_bad_value_names_it(api: Flavour, server: MockAuthServer) -> None:
    client = make(api, server)
    with pytest.raises(ValidationError, match=r"expected an array, got a string @ \$.contacts"):
        client.update_client(contacts="me@example.com")


def test_management_needs_rfc_7592(api: Flavour, server: MockAuthServer) -> None:
    created = server.create_client({"redirect_uris": [REDIRECT]}, client_id="fixed")
    client = make(api, server, client_id="fixed", client_secret=created.client_secret)
    with pytest.raises(RegistrationError, match="does not support client management"):
        client.get_client_info()


# --------------------------------------------------------------------------- authorization


def test_reserved_and_unregistered_params_are_refused(api: Flavour, server: MockAuthServer) -> None:
    client = make(api, server)
    with pytest.raises(ValidationError, match="code_challenge_method are set by the client"):
        client.get_authorization_url(code_challenge_method="plain")
    with pytest.raises(ValidationError, match="not a registered redirect URI"):
        client.get_authorization_url(redirect_uri="http://127.0.0.1:9999/other")


def test_the_authorization_url_carries_pkce_state_and_resource(
    api: Flavour, server: MockAuthServer
) -> None:
    client = make(api, server)
    url = client.get_authorization_url(scope="openid mcp:read", prompt="consent")
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43
    assert len(query["state"][0]) >= 43
    assert query["resource"] == [server.resource_url]
    assert "nonce" in query  # openid was asked for
    assert query["prompt"] == ["consent"]
    assert "code_verifier" not in url


def test_a_bare_code_with_its_state_and_iss(api: Flavour, server: MockAuthServer) -> None:
    client = make(api, server)
    callback = follow(client.get_authorization_url(state="my-own-state-" + "x" * 20))
    query = parse_qs(urlsplit(callback).query)
    token = client.exchange_code(query["code"][0], query["state"][0], iss=query["iss"][0])
    assert token.access_token


def test_the_seed_shape_a_bare_code_without_state(api: Flavour, server: MockAuthServer) -> None:
    server.settings.authorization_response_iss = False  # no RFC 9207: nothing else to check
    client = make(api, server)
    callback = follow(client.get_authorization_url())
    code = parse_qs(urlsplit(callback).query)["code"][0]
    assert client.exchange_code(code).access_token  # the client remembers its last request


def test_state_is_checked_and_used_once(api: Flavour, server: MockAuthServer) -> None:
    client = make(api, server)
    callback = follow(client.get_authorization_url())
    with pytest.raises(AuthorizationError) as forged:
        client.exchange_code(with_query(callback, state="forged"))
    assert forged.value.error_code == "invalid_state"
    client.exchange_code(callback)
    with pytest.raises(AuthorizationError) as replayed:
        client.exchange_code(callback)
    assert replayed.value.error_code == "invalid_state"
    assert server.requests.count("/token", method="POST") == 1


def test_a_state_given_twice_must_agree(api: Flavour, server: MockAuthServer) -> None:
    client = make(api, server)
    callback = follow(client.get_authorization_url())
    with pytest.raises(AuthorizationError, match="state mismatch"):
        client.exchange_code(callback, "another-state")


def test_iss_mismatch_and_missing_iss(api: Flavour, server: MockAuthServer) -> None:
    client = make(api, server)
    callback = follow(client.get_authorization_url())
    with pytest.raises(AuthorizationError) as wrong:
        client.exchange_code(with_query(callback, iss="https://evil.example"))
    assert wrong.value.error_code == "invalid_issuer"

    callback = follow(client.get_authorization_url())
    with pytest.raises(AuthorizationError, match="no iss"):
        client.exchange_code(with_query(callback, iss=None))
    assert server.requests.count("/token", method="POST") == 0


def test_an_error_callback_is_an_authorization_error(api: Flavour, server: MockAuthServer) -> None:
    server.settings.deny_authorization = True
    client = make(api, server)
    callback = follow(client.get_authorization_url())
    with pytest.raises(AuthorizationError) as caught:
        client.exchange_code(callback)
    assert caught.value.error_code == "access_denied"


def test_an_expired_request_is_refused(api: Flavour, server: MockAuthServer) -> None:
    client = make(api, server)
    callback = follow(client.get_authorization_url())
    server.clock.advance(601)
    with pytest.raises(AuthorizationError, match="expired"):
        client.exchange_code(callback)


def test_a_replayed_code_is_invalid_grant(api: Flavour, server: MockAuthServer) -> None:
    client = make(api, server)
    first = follow(client.get_authorization_url())
    token = client.exchange_code(first)
    code = parse_qs(urlsplit(first).query)["code"][0]
    second = follow(client.get_authorization_url())

    with pytest.raises(AuthorizationError) as caught:
        client.exchange_code(with_query(second, code=code))
    assert caught.value.error_code == "invalid_grant"
    # RFC 6749 §4.1.2: the server revokes what the replayed code issued.
    assert client.introspect_token(token)["active"] is False


def test_a_wrong_verifier_is_invalid_grant(api: Flavour, server: MockAuthServer) -> None:
    storage = api.storage()
    client = make(api, server, storage=storage)
    callback = follow(client.get_authorization_url())
    store = ClientProxy(storage, api.portal)
    (key,) = [k for k in store.list_tokens() if k.startswith("pending:")]
    pending = store.retrieve_token(key)
    store.store_token(key, {**pending, "code_verifier": "x" * 64})

    with pytest.raises(AuthorizationError) as caught:
        client.exchange_code(callback)
    assert caught.value.error_code == "invalid_grant"


def test_another_process_can_handle_the_callback(api: Flavour, server: MockAuthServer) -> None:
    storage = api.storage()
    url = make(api, server, storage=storage).get_authorization_url()
    token = make(api, server, storage=storage).exchange_code(follow(url))
    assert token.access_token


# ---------------------------------------------------------------------------------- tokens


@pytest.mark.parametrize(
    "fault",
    [Fault.malformed_json(), Fault.html_error(502), Fault.server_error(500)],
)
def test_token_endpoint_faults_are_token_errors_and_keep_the_stored_token(
    api: Flavour, server: MockAuthServer, fault: Fault
) -> None:
    client = make(api, server)
    token = authorize(client)
    server.inject(fault, path="/token")
    with pytest.raises(TokenError):
        client.refresh_token()
    # The old token was kept: it still works and refreshes once the server is well again.
    response = client.authenticated_request("GET", server.resource_url, token=token)
    assert response.status_code == 200
    assert client.refresh_token().access_token != token.access_token


def test_no_refresh_token_to_use(api: Flavour, server: MockAuthServer) -> None:
    client = api.client(auth_server=server.url)
    with pytest.raises(TokenError, match="no refresh token"):
        client.refresh_token()


def test_revoke_needs_a_known_token_type(api: Flavour, server: MockAuthServer) -> None:
    client = make(api, server)
    with pytest.raises(ValidationError, match="token_type"):
        client.revoke_token("t", token_type="id_token")


def test_bearer_tokens_only_go_over_https(api: Flavour, server: MockAuthServer) -> None:
    client = make(api, server)
    for url in ("http://mcp.example.com/mcp", "ftp://mcp.example.com", "//mcp.example.com"):
        with pytest.raises(ValidationError, match="only sent over https"):
            client.authenticated_request("GET", url, token="t")


def test_a_missing_endpoint_is_named(api: Flavour, scripted: ScriptedServer) -> None:
    scripted.reply(Reply.json(metadata(scripted.url)))
    client = api.client(auth_server=scripted.url)
    with pytest.raises(TokenError, match="does not advertise a revocation_endpoint"):
        client.revoke_token("t")


def test_an_http_client_passed_in_is_not_closed(api: Flavour, server: MockAuthServer) -> None:
    http: Any = httpx.AsyncClient() if api.is_async else httpx.Client()
    client = api.client(auth_server=server.url, http_client=http)
    client.discover()
    api.run(client.client.aclose if api.is_async else client.client.close)
    assert not http.is_closed
    if api.is_async:
        api.run(http.aclose)
    else:
        http.close()
