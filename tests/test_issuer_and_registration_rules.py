"""Two rules the MCP conformance suite and real servers trip on (issue 11).

- Issuers are compared as exact strings (RFC 8414 §3.3, RFC 9207 §2.4): ``https://as.example``
  and ``https://as.example/`` are two issuers, and a client configured with one refuses
  metadata naming the other, with a message that says which to configure.
- A registration response without ``token_endpoint_auth_method`` registered the method asked
  for (RFC 7591 §3.2.1), not ``client_secret_basic``: a public client stays public and a
  stored registration is reused instead of registering again on every call.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mcp_oauth_dynamicclient import AuthorizationError, DiscoveryError, RegistrationError
from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.clients import REDIRECT, follow, make
from tests.flavours import Flavour
from tests.scripted_server import Reply, ScriptedServer


def _metadata(issuer: str, base: str, **fields: Any) -> dict[str, Any]:
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{base}/authorize",
        "token_endpoint": f"{base}/token",
        "registration_endpoint": f"{base}/register",
        "code_challenge_methods_supported": ["S256"],
        **fields,
    }


@pytest.mark.parametrize("trailing", ["", "/"])
def test_an_issuer_differing_by_a_trailing_slash_is_another_issuer(
    api: Flavour, scripted: ScriptedServer, trailing: str
) -> None:
    configured = scripted.url + trailing
    served = scripted.url + ("/" if not trailing else "")
    scripted.reply(Reply.json(_metadata(served, scripted.url)))
    client = api.client(auth_server=configured)
    with pytest.raises(DiscoveryError) as caught:
        client.discover()
    message = str(caught.value)
    assert f"names issuer {served!r}, not {configured!r}" in message
    assert f"configure it as {served!r}" in message
    assert [r.path for r in scripted.received] == ["/.well-known/oauth-authorization-server"]


def test_an_issuer_with_a_trailing_slash_is_kept_as_given(
    api: Flavour, scripted: ScriptedServer
) -> None:
    """Servers whose issuer ends in "/" (as some hosted ones do) are found and accepted."""
    issuer = scripted.url + "/"
    scripted.reply(Reply.json(_metadata(issuer, scripted.url)))
    client = api.client(auth_server=issuer)
    assert client.discover().issuer == issuer
    assert client.config.issuer == issuer


def test_a_callback_iss_differing_by_a_trailing_slash_is_refused(
    api: Flavour, server: MockAuthServer
) -> None:
    client = make(api, server)
    callback = httpx.URL(follow(client.get_authorization_url()))
    assert callback.params["iss"] == server.url
    forged = str(callback.copy_set_param("iss", server.url + "/"))
    with pytest.raises(AuthorizationError) as caught:
        client.exchange_code(forged)
    assert caught.value.error_code == "invalid_issuer"


# --------------------------------------------------------- the method of a registration


def _registered(method: str | None, **fields: Any) -> Reply:
    body: dict[str, Any] = {"client_id": "c-1", "redirect_uris": [REDIRECT], **fields}
    if method is not None:
        body["token_endpoint_auth_method"] = method
    return Reply.json(body, status=201)


@pytest.mark.parametrize(
    ("asked", "fields"),
    [
        ("none", {}),
        ("client_secret_post", {"client_secret": "s3cret"}),
        ("client_secret_basic", {"client_secret": "s3cret"}),
    ],
)
def test_a_response_without_the_method_registered_the_one_asked_for(
    api: Flavour, scripted: ScriptedServer, asked: str, fields: dict[str, Any]
) -> None:
    scripted.reply(Reply.json(_metadata(scripted.url, scripted.url)), _registered(None, **fields))
    client = api.client(
        auth_server=scripted.url, redirect_uris=[REDIRECT], token_endpoint_auth_method=asked
    )
    registration = client.register()
    assert registration.token_endpoint_auth_method == asked
    assert registration.metadata["token_endpoint_auth_method"] == asked
    sent = scripted.received[1].json()
    assert sent["token_endpoint_auth_method"] == asked

    # Reused, from memory and from the storage alike: one registration per client object.
    assert client.register().client_id == "c-1"
    again = api.client(
        auth_server=scripted.url,
        redirect_uris=[REDIRECT],
        token_endpoint_auth_method=asked,
        storage=client.storage,
    )
    assert again.register().client_id == "c-1"
    assert [r.path for r in scripted.received].count("/register") == 1


def test_a_method_the_server_names_is_the_one_kept(api: Flavour, scripted: ScriptedServer) -> None:
    scripted.reply(
        Reply.json(_metadata(scripted.url, scripted.url)),
        _registered("client_secret_post", client_secret="s3cret"),
    )
    client = api.client(auth_server=scripted.url, redirect_uris=[REDIRECT])
    assert client.register().token_endpoint_auth_method == "client_secret_post"


# ------------------------------------------------------------------ the application type


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"redirect_uris": [REDIRECT]}, "native"),
        ({"redirect_uris": ["https://app.example/callback"]}, "web"),
        ({"redirect_uris": [REDIRECT], "application_type": "web"}, "web"),
        ({}, "web"),
    ],
)
def test_registration_names_the_application_type(
    api: Flavour, scripted: ScriptedServer, settings: dict[str, Any], expected: str
) -> None:
    """OpenID Connect Dynamic Client Registration §2, which MCP 2026-07-28 requires."""
    redirect_uris = settings.get("redirect_uris", [])
    scripted.reply(
        Reply.json(_metadata(scripted.url, scripted.url)),
        _registered("client_secret_basic", client_secret="s3cret", redirect_uris=redirect_uris),
    )
    api.client(auth_server=scripted.url, **settings).register()
    assert scripted.received[1].json()["application_type"] == expected


def test_an_unknown_application_type_is_refused() -> None:
    from mcp_oauth_dynamicclient import ConfigurationError, OAuth2Config

    with pytest.raises(ConfigurationError, match="application_type: expected 'native' or 'web'"):
        OAuth2Config(auth_server="https://as.example", application_type="desktop")


# --------------------------------------------------- client ID metadata documents (MCP 2025-11-25)

DOCUMENT = "https://app.example/oauth/client.json"


def test_a_metadata_document_url_is_the_client_id_where_the_server_takes_one(
    api: Flavour, scripted: ScriptedServer
) -> None:
    scripted.reply(
        Reply.json(
            _metadata(scripted.url, scripted.url, client_id_metadata_document_supported=True)
        )
    )
    client = api.client(
        auth_server=scripted.url, redirect_uris=[REDIRECT], client_metadata_url=DOCUMENT
    )
    registration = client.register()
    assert (registration.client_id, registration.token_endpoint_auth_method) == (DOCUMENT, "none")
    url = httpx.URL(client.get_authorization_url())
    assert url.params["client_id"] == DOCUMENT
    assert "/register" not in [r.path for r in scripted.received]


def test_a_server_without_metadata_documents_gets_a_registration(
    api: Flavour, scripted: ScriptedServer
) -> None:
    scripted.reply(
        Reply.json(_metadata(scripted.url, scripted.url)),
        _registered("client_secret_basic", client_secret="s3cret"),
    )
    client = api.client(
        auth_server=scripted.url, redirect_uris=[REDIRECT], client_metadata_url=DOCUMENT
    )
    assert client.register().client_id == "c-1"


def test_no_way_to_register_says_what_to_configure(api: Flavour, scripted: ScriptedServer) -> None:
    document = _metadata(scripted.url, scripted.url)
    del document["registration_endpoint"]
    scripted.reply(Reply.json(document))
    client = api.client(auth_server=scripted.url, redirect_uris=[REDIRECT])
    with pytest.raises(RegistrationError, match=r"configure client_id .* or client_metadata_url"):
        client.register()


@pytest.mark.parametrize(
    "url", ["http://app.example/client.json", "https://app.example", "https://app.example/"]
)
def test_a_metadata_document_url_is_https_with_a_path(url: str) -> None:
    from mcp_oauth_dynamicclient import ConfigurationError, OAuth2Config

    with pytest.raises(ConfigurationError, match="client_metadata_url"):
        OAuth2Config(auth_server="https://as.example", client_metadata_url=url)
