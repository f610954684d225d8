"""Two MCP defaults of issue 11, against MockAuthServer over loopback, sync and async.

- ``token_endpoint_auth_method="auto"`` (the default of a client that starts from the MCP
  server's URL): chosen from the server's ``token_endpoint_auth_methods_supported`` (RFC 8414
  §2), ``none`` first for a client that registers itself, the secret methods for one given a
  secret, ``private_key_jwt`` for one given a key; a server that accepts nothing the client can
  do is a ``RegistrationError`` before anything is registered.
- Scope: a call that names none asks for the configured scope, else the protected resource's
  ``scopes_supported`` (RFC 9728 §2), else for none at all (RFC 6749 §3.3: the server's
  default); ``""`` asks for none.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mcp_oauth_dynamicclient import OAuth2Config, RegistrationError
from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.clients import REDIRECT, follow, make
from tests.flavours import ClientProxy, Flavour


def _from_resource(api: Flavour, server: MockAuthServer, **settings: Any) -> ClientProxy:
    """A client that knows only the MCP server's URL."""
    options = {"client_name": "MCP App", "redirect_uris": [REDIRECT], "clock": server.clock.now}
    return api.client(resource=server.resource_url, **{**options, **settings})


def _token_request_auth(server: MockAuthServer) -> tuple[bool, bool]:
    """Whether the last token request carried a Basic header and a ``client_secret`` field."""
    request = server.requests.last("/token")
    basic = request.headers.get("authorization", "").startswith("Basic ")
    return basic, request.param("client_secret") is not None


# ------------------------------------------------------------------ the default


def test_auto_is_the_default_only_for_a_client_that_starts_from_the_resource() -> None:
    assert OAuth2Config(resource="https://mcp.example/mcp").token_endpoint_auth_method == "auto"
    told = OAuth2Config(auth_server="https://as.example", resource="https://mcp.example/mcp")
    assert told.token_endpoint_auth_method == "client_secret_basic"  # the seed's default
    pinned = OAuth2Config(resource="https://mcp.example/mcp", token_endpoint_auth_method="none")
    assert pinned.token_endpoint_auth_method == "none"


# ------------------------------------------------------------------ what auto chooses


@pytest.mark.parametrize(
    ("supported", "chosen", "basic", "posted"),
    [
        (("client_secret_basic", "client_secret_post", "none"), "none", False, False),
        (("client_secret_basic",), "client_secret_basic", True, False),
        (("client_secret_post",), "client_secret_post", False, True),
        (("client_secret_post", "client_secret_basic"), "client_secret_basic", True, False),
    ],
)
def test_a_self_registering_client_takes_none_first_then_a_secret(
    api: Flavour,
    server: MockAuthServer,
    supported: tuple[str, ...],
    chosen: str,
    basic: bool,
    posted: bool,
) -> None:
    server.settings.token_endpoint_auth_methods = supported
    client = _from_resource(api, server)
    registration = client.register()
    assert registration.token_endpoint_auth_method == chosen
    assert server.requests.last("/register").json["token_endpoint_auth_method"] == chosen
    assert (registration.client_secret is None) == (chosen == "none")
    # A public client does not register the client credentials grant (RFC 6749 §4.4).
    assert ("client_credentials" in registration.grant_types) == (chosen != "none")

    client.exchange_code(follow(client.get_authorization_url()))
    assert _token_request_auth(server) == (basic, posted)

    # Kept and reused: a second client on the same storage registers nothing.
    again = _from_resource(api, server, storage=client.storage)
    assert again.register().client_id == registration.client_id
    assert server.requests.count("/register") == 1


def test_a_pre_registered_client_uses_its_secret_as_the_server_accepts_it(
    api: Flavour, server: MockAuthServer
) -> None:
    preset = server.create_client(
        {"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "client_secret_post"}
    )
    server.settings.token_endpoint_auth_methods = ("client_secret_post", "none")
    client = _from_resource(
        api, server, client_id=preset.client_id, client_secret=preset.client_secret
    )
    assert client.register().token_endpoint_auth_method == "client_secret_post"
    client.exchange_code(follow(client.get_authorization_url()))
    assert _token_request_auth(server) == (False, True)
    assert server.requests.count("/register") == 0


def test_a_pre_registered_client_without_a_secret_is_public(
    api: Flavour, server: MockAuthServer
) -> None:
    preset = server.create_client(
        {"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}
    )
    client = _from_resource(api, server, client_id=preset.client_id)
    assert client.register().token_endpoint_auth_method == "none"
    client.exchange_code(follow(client.get_authorization_url()))
    assert _token_request_auth(server) == (False, False)


def test_a_client_with_a_key_takes_private_key_jwt(
    api: Flavour, server: MockAuthServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    pem = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = rsa_key.public_key().public_numbers()

    def b64(number: int) -> str:
        raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    jwks = {"keys": [{"kty": "RSA", "n": b64(public.n), "e": b64(public.e), "kid": "k1"}]}
    client = _from_resource(api, server, private_key=pem, private_key_id="k1", jwks=jwks)
    assert client.register().token_endpoint_auth_method == "private_key_jwt"
    client.exchange_code(follow(client.get_authorization_url()))
    request = server.requests.last("/token")
    assert request.param("client_assertion_type") == (
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    )


def test_a_server_that_takes_nothing_usable_is_refused_before_registering(
    api: Flavour, server: MockAuthServer
) -> None:
    server.settings.token_endpoint_auth_methods = ("private_key_jwt",)
    client = _from_resource(api, server)
    with pytest.raises(RegistrationError) as caught:
        client.register()
    assert "private_key_jwt" in str(caught.value)
    assert "configure private_key" in str(caught.value)
    assert server.requests.count("/register") == 0


def test_a_stored_registration_with_any_usable_method_fits_auto(
    api: Flavour, server: MockAuthServer
) -> None:
    server.settings.token_endpoint_auth_methods = ("client_secret_basic",)
    first = _from_resource(api, server)
    registered = first.register()
    assert registered.token_endpoint_auth_method == "client_secret_basic"
    # The server now prefers public clients; the stored confidential one is still usable.
    server.settings.token_endpoint_auth_methods = ("none", "client_secret_basic")
    second = _from_resource(api, server, storage=first.storage)
    assert second.register().client_id == registered.client_id
    assert server.requests.count("/register") == 1


# ------------------------------------------------------------------ scope


def test_no_scope_named_or_configured_sends_none(api: Flavour, server: MockAuthServer) -> None:
    client = make(api, server)
    url = client.get_authorization_url()
    assert "scope=" not in url
    token = client.exchange_code(follow(url))
    assert token.scope == "mcp:read mcp:write"  # the server's default for this client

    assert client.get_token().scope == "mcp:read mcp:write"
    assert server.requests.last("/token").param("scope") is None
    client.start_device_authorization()
    assert server.requests.last("/device_authorization").param("scope") is None


def test_an_empty_scope_sends_none_even_over_the_configured_one(
    api: Flavour, server: MockAuthServer
) -> None:
    client = make(api, server, scope="mcp:write")
    assert "scope=mcp%3Awrite" in client.get_authorization_url()
    assert "scope=" not in client.get_authorization_url(scope="")
    client.get_token(scope="")
    assert server.requests.last("/token").param("scope") is None


def test_a_client_from_the_resource_asks_for_its_scopes_supported(
    api: Flavour, server: MockAuthServer
) -> None:
    server.settings.resource_scopes = ("mcp:write",)
    client = _from_resource(api, server)
    url = client.get_authorization_url()
    assert "scope=mcp%3Awrite" in url
    assert client.exchange_code(follow(url)).scope == "mcp:write"

    configured = _from_resource(api, server, scope="mcp:read")
    assert "scope=mcp%3Aread" in configured.get_authorization_url()  # the setting wins

    server.settings.resource_scopes = ()  # the resource lists none: no scope at all
    bare = _from_resource(api, server)
    assert "scope=" not in bare.get_authorization_url()
