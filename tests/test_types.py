"""What the types say: classes and protocols instead of conventions recognised by attributes.

A refused code exchange is one class that is both the seed's ``AuthorizationError`` and a
``TokenError``; ``TokenManager`` refreshes through a ``Refresher``; keyword settings are typed,
so a misspelt one is a type error as well as a ``ConfigurationError``.
"""

from __future__ import annotations

from pathlib import Path
from typing import get_type_hints

import attrs
import httpx
import pytest

from mcp_oauth_dynamicclient import (
    AuthorizationError,
    CodeExchangeError,
    ConfigurationError,
    OAuth2Config,
    SyncTokenManager,
    TokenError,
    TokenManager,
    TokenResponse,
)
from mcp_oauth_dynamicclient._config import OAuth2Settings
from mcp_oauth_dynamicclient.storage import MemoryStorage, SyncMemoryStorage
from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.clients import follow, make
from tests.flavours import Flavour


def test_a_refused_code_is_an_authorization_and_a_token_error_chained_from_the_cause(
    api: Flavour, server: MockAuthServer
) -> None:
    client = make(api, server)
    callback = httpx.URL(follow(client.get_authorization_url()))
    forged = str(callback.copy_set_param("code", "not-a-code"))
    with pytest.raises(CodeExchangeError) as raised:
        client.exchange_code(forged)
    error = raised.value
    assert isinstance(error, AuthorizationError)
    assert isinstance(error, TokenError)
    assert (error.error_code, error.status_code) == ("invalid_grant", 400)
    assert isinstance(error.__cause__, TokenError)
    assert not isinstance(error.__cause__, CodeExchangeError)
    assert error.__cause__.error_code == "invalid_grant"


# ------------------------------------------------------------------------ the refresher


class CountingRefresher:
    """Any object with ``refresh_grant`` refreshes for a TokenManager, no client needed."""

    def __init__(self) -> None:
        self.calls: list[str | None] = []

    def refresh_grant(self, token: TokenResponse) -> TokenResponse:
        self.calls.append(token.refresh_token)
        return TokenResponse(access_token="fresh", refresh_token="r2", expires_at=1e12)


class AsyncCountingRefresher(CountingRefresher):
    async def refresh_grant(self, token: TokenResponse) -> TokenResponse:  # type: ignore[override]
        return super().refresh_grant(token)


EXPIRED = TokenResponse(access_token="old", refresh_token="r1", expires_at=1.0)


def test_a_blocking_manager_refreshes_through_its_refresher() -> None:
    refresher = CountingRefresher()
    manager = SyncTokenManager(SyncMemoryStorage(), client=refresher)
    manager.store_token("k", EXPIRED)
    assert manager.get_valid_token("k").access_token == "fresh"
    assert manager.get_valid_token("k").refresh_token == "r2"
    assert refresher.calls == ["r1"]


@pytest.mark.anyio
async def test_an_asyncio_manager_refreshes_through_its_refresher() -> None:
    refresher = AsyncCountingRefresher()
    manager = TokenManager(MemoryStorage(), client=refresher)
    await manager.store_token("k", EXPIRED)
    assert (await manager.get_valid_token("k")).access_token == "fresh"
    assert refresher.calls == ["r1"]


def test_a_manager_without_a_refresher_says_how_to_get_one() -> None:
    manager = SyncTokenManager(SyncMemoryStorage())
    manager.store_token("k", EXPIRED)
    with pytest.raises(ConfigurationError, match="client="):
        manager.get_valid_token("k")


# ----------------------------------------------------------------------- typed settings


def test_the_settings_type_lists_every_config_field_but_the_server() -> None:
    fields = {field.name for field in attrs.fields(OAuth2Config)} - {"auth_server"}
    assert set(get_type_hints(OAuth2Settings)) == fields


def test_a_misspelt_setting_is_a_type_error(tmp_path: Path) -> None:
    from mypy import api

    program = tmp_path / "program.py"
    program.write_text(
        "from mcp_oauth_dynamicclient import OAuth2Client, SyncOAuth2Client\n"
        "OAuth2Client('https://as.example', client_name='ok', scope='mcp:read')\n"
        "SyncOAuth2Client('https://as.example', client_nmae='typo')\n"
        "OAuth2Client('https://as.example', clock_skew='60')\n"
    )
    out, err, status = api.run(["--strict", "--no-incremental", str(program)])
    assert status == 1, out + err
    assert 'Unexpected keyword argument "client_nmae"' in out
    assert 'Argument "clock_skew" to "OAuth2Client" has incompatible type "str"' in out
    assert "Found 2 errors" in out
