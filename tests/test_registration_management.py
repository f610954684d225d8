"""RFC 7591/7592 as servers really answer (issue 13 items 1-3, issue 12 item 10), sync and async.

- A server may register another authentication method than the one asked for (RFC 7591
  §3.2.1): one the client can use is kept, and the stored registration is judged by what was
  asked for, so the client does not register again on every call; one it cannot use, or other
  redirect URIs, is refused once, saying what the server changed.
- An RFC 7592 §2.2 update replaces the whole record: a field removed with ``None`` stays
  removed (the previous metadata is not merged back), and a server that keeps it is reported.
- An answer that means "this registration is gone" (401, 403, 404) forgets the stored
  registration and its tokens, so the next call registers anew.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mcp_oauth_dynamicclient import RegistrationError
from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.clients import REDIRECT, make
from tests.flavours import ClientProxy, Flavour
from tests.scripted_server import Reply, ScriptedServer


def _metadata(url: str) -> Reply:
    return Reply.json(
        {
            "issuer": url,
            "authorization_endpoint": f"{url}/authorize",
            "token_endpoint": f"{url}/token",
            "registration_endpoint": f"{url}/register",
            "code_challenge_methods_supported": ["S256"],
        }
    )


def _registered(url: str, status: int = 201, **fields: Any) -> Reply:
    body = {
        "client_id": "c-1",
        "redirect_uris": [REDIRECT],
        "registration_client_uri": f"{url}/register/c-1",
        "registration_access_token": "rat-1",
        **fields,
    }
    return Reply.json(body, status=status)


def _client(api: Flavour, scripted: ScriptedServer, **settings: Any) -> ClientProxy:
    return api.client(auth_server=scripted.url, redirect_uris=[REDIRECT], **settings)


def _held(server: MockAuthServer, client_id: str) -> Any:
    """The registration as the server holds it."""
    info = server.get_client(client_id)
    assert info is not None
    return info


def _keys(client: ClientProxy) -> list[str]:
    keys: list[str] = client.storage_proxy().list_tokens()
    return keys


# ------------------------------------------------------------------ substituted metadata


def test_a_substituted_method_the_client_can_use_is_kept_and_reused(
    api: Flavour, scripted: ScriptedServer
) -> None:
    scripted.reply(
        _metadata(scripted.url),
        _registered(
            scripted.url, token_endpoint_auth_method="client_secret_post", client_secret="s"
        ),
    )
    client = _client(api, scripted, token_endpoint_auth_method="client_secret_basic")
    registration = client.register()
    assert registration.token_endpoint_auth_method == "client_secret_post"
    assert registration.requested_method == "client_secret_basic"

    # Another client object with the same config and storage reuses it: no second /register.
    again = _client(
        api, scripted, token_endpoint_auth_method="client_secret_basic", storage=client.storage
    )
    assert again.register().client_id == "c-1"
    assert [r.path for r in scripted.received].count("/register") == 1


def test_a_substituted_method_the_client_cannot_use_is_refused_saying_so(
    api: Flavour, scripted: ScriptedServer
) -> None:
    scripted.reply(
        _metadata(scripted.url),
        _registered(scripted.url, token_endpoint_auth_method="private_key_jwt"),
    )
    client = _client(api, scripted, token_endpoint_auth_method="none")
    with pytest.raises(RegistrationError) as caught:
        client.register()
    message = str(caught.value)
    assert "asked to register a none client" in message
    assert "as private_key_jwt, which this client cannot use" in message
    assert not any(key.startswith("registration:") for key in _keys(client))


def test_substituted_redirect_uris_are_refused_saying_what_changed(
    api: Flavour, scripted: ScriptedServer
) -> None:
    scripted.reply(
        _metadata(scripted.url),
        _registered(scripted.url, redirect_uris=["https://elsewhere.example/cb"]),
    )
    client = _client(api, scripted, token_endpoint_auth_method="none")
    with pytest.raises(RegistrationError) as caught:
        client.register()
    assert "['https://elsewhere.example/cb']" in str(caught.value)
    assert REDIRECT in str(caught.value)
    assert not any(key.startswith("registration:") for key in _keys(client))


def test_a_response_without_redirect_uris_registered_the_ones_asked_for(
    api: Flavour, scripted: ScriptedServer
) -> None:
    scripted.reply(
        _metadata(scripted.url),
        Reply.json({"client_id": "c-1", "token_endpoint_auth_method": "none"}, status=201),
    )
    client = _client(api, scripted, token_endpoint_auth_method="none")
    assert client.register().redirect_uris == (REDIRECT,)
    again = _client(api, scripted, token_endpoint_auth_method="none", storage=client.storage)
    assert again.register().client_id == "c-1"
    assert [r.path for r in scripted.received].count("/register") == 1


def test_a_registration_stored_before_the_requested_method_was_kept_still_fits(
    api: Flavour, server: MockAuthServer
) -> None:
    client = make(api, server)
    registration = client.register()
    stored = client.storage_proxy()
    key = f"registration:{server.issuer}"
    entry = stored.retrieve_token(key)
    del entry["requested_method"]
    stored.store_token(key, entry)
    again = make(api, server, storage=client.storage)
    assert again.register().client_id == registration.client_id
    assert server.requests.count("/register") == 1


# ------------------------------------------------------------------ RFC 7592 §2.2 update


def test_a_removed_field_stays_removed(api: Flavour, server: MockAuthServer) -> None:
    client = make(api, server, logo_uri="https://app.example/logo.png")
    client_id = client.register().client_id
    assert _held(server, client_id).logo_uri == "https://app.example/logo.png"

    updated = client.update_client(logo_uri=None)
    assert "logo_uri" not in updated
    assert _held(server, client_id).logo_uri is None
    # The stored registration is the server's answer: the next update does not bring it back.
    client.update_client(client_name="Renamed")
    assert _held(server, client_id).logo_uri is None
    assert _held(server, client_id).client_name == "Renamed"
    assert "logo_uri" not in client.get_client_info()


def test_a_server_that_keeps_a_removed_field_is_reported(
    api: Flavour, scripted: ScriptedServer
) -> None:
    logo = "https://app.example/logo.png"
    scripted.reply(
        _metadata(scripted.url),
        _registered(scripted.url, token_endpoint_auth_method="none", logo_uri=logo),
        # A merging server: the PUT's answer still holds the field the update left out.
        _registered(scripted.url, status=200, logo_uri=logo, client_name="Renamed"),
    )
    client = _client(api, scripted, token_endpoint_auth_method="none", logo_uri=logo)
    client.register()
    with pytest.raises(RegistrationError, match=r"kept logo_uri .*RFC 7592 §2\.2"):
        client.update_client(logo_uri=None, client_name="Renamed")
    sent = scripted.received[-1].json()
    assert "logo_uri" not in sent
    assert sent["client_name"] == "Renamed"
    # What the server holds is stored, the method asked for kept though the answer omits it.
    stored = client.register()
    assert stored.metadata["logo_uri"] == logo
    assert stored.metadata["client_name"] == "Renamed"
    assert stored.token_endpoint_auth_method == "none"


def test_credentials_an_update_answer_omits_are_carried_over(
    api: Flavour, scripted: ScriptedServer
) -> None:
    scripted.reply(
        _metadata(scripted.url),
        _registered(scripted.url, token_endpoint_auth_method="client_secret_basic",
                    client_secret="s", client_secret_expires_at=0, tos_uri="https://t.example"),
        Reply.json({"client_id": "c-1", "redirect_uris": [REDIRECT],
                    "token_endpoint_auth_method": "client_secret_basic"}),
    )  # fmt: skip
    client = _client(api, scripted)
    client.register()
    client.update_client(client_name="New")
    stored = client.register()
    assert (stored.client_secret, stored.registration_access_token) == ("s", "rat-1")
    assert stored.registration_client_uri == f"{scripted.url}/register/c-1"
    assert "tos_uri" not in stored.metadata  # not a credential: the server dropped it


# ------------------------------------------------------------------ a registration that is gone


def test_a_registration_deleted_behind_the_clients_back_is_forgotten(
    api: Flavour, server: MockAuthServer
) -> None:
    storage = api.storage()
    client = make(api, server, storage=storage)
    registration = client.register()
    assert registration.registration_client_uri is not None
    # Deleted by someone else holding the registration access token (RFC 7592 §2.3).
    gone = httpx.delete(
        registration.registration_client_uri,
        headers={"Authorization": f"Bearer {registration.registration_access_token}"},
    )
    assert gone.status_code == 204

    with pytest.raises(RegistrationError) as caught:
        client.get_client_info()
    assert caught.value.status_code == 401
    assert "were forgotten, and the next call registers anew" in str(caught.value)
    assert not any(key.startswith("registration:") for key in _keys(client))

    fresh = client.register()
    assert fresh.client_id != registration.client_id
    assert server.requests.count("/register") == 2


@pytest.mark.parametrize("status", [403, 404])
def test_the_403_and_404_real_servers_send_also_mean_gone(
    api: Flavour, scripted: ScriptedServer, status: int
) -> None:
    scripted.reply(
        _metadata(scripted.url),
        _registered(scripted.url, token_endpoint_auth_method="none"),
        Reply.json({"detail": "Client not found"}, status=status),
    )
    client = _client(api, scripted, token_endpoint_auth_method="none")
    client.register()
    with pytest.raises(RegistrationError, match="were forgotten") as caught:
        client.update_client(client_name="x")
    assert caught.value.status_code == status
    assert not any(key.startswith("registration:") for key in _keys(client))


def test_a_server_error_does_not_forget_the_registration(
    api: Flavour, scripted: ScriptedServer
) -> None:
    scripted.reply(
        _metadata(scripted.url),
        _registered(scripted.url, token_endpoint_auth_method="none"),
        Reply.json({"error": "invalid_client_metadata"}, status=400),
    )
    client = _client(api, scripted, token_endpoint_auth_method="none")
    client.register()
    with pytest.raises(RegistrationError) as caught:
        client.update_client(client_name="x")
    assert "forgotten" not in str(caught.value)
    assert any(key.startswith("registration:") for key in _keys(client))
