"""Secrets a server echoes back never reach our exceptions (issue 12 item 7), sync and async.

Real servers put what they were sent into ``error_description`` ("Invalid refresh token:
<token>"); every message built from a server's words is redacted of every secret that request
carried, in ``str()``, ``repr()``, ``args`` and ``error_description``. A token with characters
a Bearer header cannot carry is refused when it is received.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from mcp_oauth_dynamicclient import OAuth2Error, TokenError
from tests.clients import REDIRECT
from tests.flavours import ClientProxy, Flavour
from tests.scripted_server import Reply, ScriptedServer

SECRET = "s3cret-client-secret-value"
REFRESH = "rt-0123456789abcdef"


def _metadata(url: str) -> Reply:
    return Reply.json(
        {
            "issuer": url,
            "authorization_endpoint": f"{url}/authorize",
            "token_endpoint": f"{url}/token",
            "revocation_endpoint": f"{url}/revoke",
            "code_challenge_methods_supported": ["S256"],
        }
    )


def _client(api: Flavour, scripted: ScriptedServer, **settings: Any) -> ClientProxy:
    return api.client(
        auth_server=scripted.url,
        client_id="c-1",
        client_secret=SECRET,
        redirect_uris=[REDIRECT],
        **settings,
    )


def _everything(error: OAuth2Error) -> str:
    return " ".join([str(error), repr(error), repr(error.args), str(error.error_description)])


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_an_echoed_refresh_token_and_client_secret_are_redacted(
    api: Flavour, scripted: ScriptedServer, method: str
) -> None:
    # What was sent, echoed: the Basic credentials only where they were sent.
    basic = base64.b64encode(f"c-1:{SECRET}".encode()).decode()
    sent = f", Basic {basic}" if method == "client_secret_basic" else ""
    echo = f"Invalid refresh token: {REFRESH} for {SECRET} ({quote(REFRESH)}{sent})"
    scripted.reply(
        _metadata(scripted.url),
        Reply.json({"error": "invalid_grant", "error_description": echo}, status=400),
    )
    client = _client(api, scripted, token_endpoint_auth_method=method)
    with pytest.raises(TokenError) as caught:
        client.refresh_token(REFRESH)
    text = _everything(caught.value)
    for secret in (REFRESH, SECRET, basic):
        assert secret not in text
    assert "Invalid refresh token: *** for ***" in str(caught.value)
    assert caught.value.error_code == "invalid_grant"


def test_an_echoed_code_is_redacted(api: Flavour, scripted: ScriptedServer) -> None:
    code = "code-0123456789"
    scripted.reply(
        _metadata(scripted.url),
        Reply.json({"error": "invalid_grant", "error_description": f"code {code}?"}, status=400),
    )
    client = _client(api, scripted)
    state = parse_qs(urlsplit(client.get_authorization_url()).query)["state"][0]
    with pytest.raises(OAuth2Error) as caught:
        client.exchange_code(f"{REDIRECT}?code={code}&state={state}")
    assert code not in _everything(caught.value)
    assert "code ***?" in str(caught.value)


def test_a_revoked_tokens_echo_is_redacted(api: Flavour, scripted: ScriptedServer) -> None:
    token = "at-abcdefghijklmnop"
    scripted.reply(
        _metadata(scripted.url),
        Reply.json({"error": "invalid_request", "error_description": f"bad {token}"}, status=400),
    )
    with pytest.raises(TokenError) as caught:
        _client(api, scripted).revoke_token(token)
    assert token not in _everything(caught.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("access_token", "abc\r\nX-Injected: 1"),
        ("access_token", "has space"),
        ("access_token", "é-unicode"),
        ("refresh_token", "line\nbreak"),
    ],
)
def test_a_token_a_header_cannot_carry_is_refused_on_receipt(
    api: Flavour, scripted: ScriptedServer, field: str, value: str
) -> None:
    body = {"access_token": "good-token", "token_type": "Bearer", "expires_in": 60, field: value}
    scripted.reply(
        Reply.json(
            {
                "issuer": scripted.url,
                "authorization_endpoint": f"{scripted.url}/authorize",
                "token_endpoint": f"{scripted.url}/token",
                "code_challenge_methods_supported": ["S256"],
                "grant_types_supported": ["client_credentials"],
            }
        ),
        Reply.json(body),
    )
    client = _client(api, scripted)
    with pytest.raises(TokenError, match="RFC 67"):
        client.get_token()
    assert not [k for k in client.storage_proxy().list_tokens() if k.startswith("token:")]
