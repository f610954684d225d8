"""Device flow polling (RFC 8628 §3.4, §3.5) against MockAuthServer: ``slow_down``, deadlines,
cancellation. The waits are recorded instead of slept and move the server's clock, so the
server sees the client's real spacing without the test waiting for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from mcp_oauth_dynamicclient import AuthorizationError, OAuth2Client
from mcp_oauth_dynamicclient._async import client as async_client
from mcp_oauth_dynamicclient._sync import client as sync_client
from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.clients import make
from tests.flavours import Flavour


class Waits:
    """The client's waits between polls; each advances the server's clock, and the user
    approves during wait number ``approve_after[0]``."""

    def __init__(self, server: MockAuthServer) -> None:
        self.seen: list[float] = []
        self.approve_after: tuple[int, str] | None = None
        self._server = server

    def sleep(self, seconds: float) -> None:
        self.seen.append(seconds)
        self._server.clock.advance(seconds)
        if self.approve_after is not None and len(self.seen) == self.approve_after[0]:
            self._server.approve(self.approve_after[1])

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch, server: MockAuthServer) -> Waits:
    recorder = Waits(server)
    monkeypatch.setattr(sync_client, "sync_sleep", recorder.sleep)
    monkeypatch.setattr(async_client, "async_sleep", recorder.async_sleep)
    return recorder


@pytest.fixture
def answers(caplog: pytest.LogCaptureFixture) -> Callable[[], list[str | None]]:
    """The OAuth error code of each token request the client made (None: tokens issued)."""
    caplog.set_level(logging.DEBUG, logger="mcp_oauth_dynamicclient.sender")

    def seen() -> list[str | None]:
        return [
            getattr(r, "error_code", None)
            for r in caplog.records
            if getattr(r, "event", None) == "request"
            and getattr(r, "operation", None) == "request_token"
        ]

    return seen


def test_slow_down_adds_five_seconds_to_every_later_wait(
    api: Flavour, server: MockAuthServer, waits: Waits, answers: Callable[[], list[str | None]]
) -> None:
    client = make(api, server)
    device = client.start_device_authorization(scope="mcp:read")
    assert device.interval == 5
    waits.approve_after = (3, device.user_code)
    # Polling every 4 s is too fast for the server's 5 s: each answer is slow_down, and the
    # server's interval grows by 5 s as well (RFC 8628 §3.5), so the gap never closes.
    token = client.poll_device_authorization(device.device_code, interval=4)
    assert waits.seen == [4, 9, 14]
    assert answers() == ["slow_down", "slow_down", None]
    assert token.scope == "mcp:read"


def test_the_servers_interval_and_authorization_pending(
    api: Flavour, server: MockAuthServer, waits: Waits, answers: Callable[[], list[str | None]]
) -> None:
    client = make(api, server)
    device = client.start_device_authorization()
    waits.approve_after = (4, device.user_code)
    client.poll_device_authorization(device.device_code)
    assert waits.seen == [5, 5, 5, 5]  # authorization_pending keeps the interval
    pending = "authorization_pending"
    assert answers() == [pending, pending, pending, None]


def test_polling_stops_at_the_timeout_without_a_last_useless_poll(
    api: Flavour, server: MockAuthServer, waits: Waits, answers: Callable[[], list[str | None]]
) -> None:
    client = make(api, server)
    device = client.start_device_authorization()
    with pytest.raises(AuthorizationError, match="expired before the user approved") as caught:
        client.poll_device_authorization(device.device_code, timeout=12)
    assert caught.value.error_code == "expired_token"
    assert waits.seen == [5, 5]  # a third wait would end past the 12 s
    assert answers() == ["authorization_pending"] * 2


def test_polling_stops_at_the_device_codes_expiry(
    api: Flavour, server: MockAuthServer, waits: Waits, answers: Callable[[], list[str | None]]
) -> None:
    server.settings.device_code_lifetime = 30
    server.settings.device_interval = 10
    client = make(api, server)
    device = client.start_device_authorization()
    with pytest.raises(AuthorizationError) as caught:
        client.poll_device_authorization(device.device_code)
    assert caught.value.error_code == "expired_token"
    assert waits.seen == [10, 10]  # a third wait would end at the expiry or after it
    assert answers() == ["authorization_pending"] * 2


@pytest.mark.anyio
async def test_cancelling_the_task_stops_polling(
    server: MockAuthServer, answers: Callable[[], list[str | None]]
) -> None:
    server.settings.device_interval = 1
    async with OAuth2Client(server.url, clock=server.clock.now) as client:
        device = await client.start_device_authorization()
        task = asyncio.create_task(client.poll_device_authorization(device.device_code))
        await asyncio.sleep(0.1)  # in its first 1 s wait
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(1.2)  # when the first poll would have been sent
    assert answers() == []
    assert server.requests.count("/token") == 0
