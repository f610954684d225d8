"""Structured logging: the events, their fields, the JSON shape, and no secret anywhere.

The leak test runs the whole lifecycle at DEBUG with every logger captured (httpx and httpcore
included) and looks for each secret the run handled in every record, its JSON form, every
exception raised and the reprs of the objects a user would print.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mcp_oauth_dynamicclient import AuthorizationError, RetryConfig, TokenError
from mcp_oauth_dynamicclient._logging import JsonFormatter
from mcp_oauth_dynamicclient.metrics import MetricsCollector
from mcp_oauth_dynamicclient.testing import Fault, MockAuthServer
from tests.clients import follow, make
from tests.flavours import ClientProxy, Flavour

FAST = RetryConfig(max_retries=2, backoff_factor=0.001, jitter=False)
# The mock server's own logs are the server's, not the client's.
SERVER_LOGGERS = ("uvicorn", "starlette", "mcp_oauth_dynamicclient.testing")


class Capture(logging.Handler):
    """Keeps every record it sees, except while ``paused`` (the test's own browser step)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.paused = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.paused and not record.name.startswith(SERVER_LOGGERS):
            self.records.append(record)

    def events(self, name: str) -> list[Any]:
        """The records of one event (typed loosely: their fields are set through extra=)."""
        return [r for r in self.records if getattr(r, "event", None) == name]


@pytest.fixture
def capture() -> Iterator[Capture]:
    """Every record of every logger at DEBUG, through the root logger."""
    root = logging.getLogger()
    handler = Capture()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def browse(capture: Capture, client: ClientProxy, **params: Any) -> str:
    """The user's browser approves; its own request (with state in the URL) is not ours."""
    url = client.get_authorization_url(**params)
    capture.paused = True
    try:
        return follow(url)
    finally:
        capture.paused = False


def test_no_secret_in_any_log_record_error_or_repr(
    api: Flavour, server: MockAuthServer, capture: Capture
) -> None:
    server.settings.device_interval = 1
    metrics = MetricsCollector()
    client = make(api, server, retry_config=FAST, metrics_collector=metrics)
    secrets: set[str] = set()
    errors: list[BaseException] = []

    def failing(call: Callable[[], Any], kind: type[BaseException]) -> None:
        with pytest.raises(kind) as caught:
            call()
        errors.append(caught.value)

    registration = client.register()
    secrets |= {registration.client_secret, registration.registration_access_token}
    client.get_client_info()
    client.update_client(client_name="Renamed")
    registration = client.register()
    secrets |= {registration.client_secret, registration.registration_access_token}

    # A wrong code: refused, with the pending state used up.
    callback = browse(capture, client, scope="mcp:read")
    query = dict(item.split("=", 1) for item in callback.split("?", 1)[1].split("&"))
    secrets |= {query["code"], query["state"]}
    failing(
        lambda: client.exchange_code("wrong-code-" + "z" * 20, query["state"]), AuthorizationError
    )
    secrets.add("wrong-code-" + "z" * 20)

    callback = browse(capture, client, scope="mcp:read mcp:write")
    query = dict(item.split("=", 1) for item in callback.split("?", 1)[1].split("&"))
    storage = client.storage_proxy()
    for key in storage.list_tokens():
        stored = storage.retrieve_token(key) or {}
        if key.startswith("pending:"):
            secrets |= {stored["code_verifier"], stored["state"]}
    secrets |= {query["code"], query["state"]}
    token = client.exchange_code(callback)
    secrets |= {token.access_token, token.refresh_token}
    assert client.authenticated_request("GET", server.resource_url).status_code == 200

    refreshed = client.refresh_token()
    secrets |= {refreshed.access_token, refreshed.refresh_token}
    assert client.introspect_token(refreshed)["active"] is True
    server.inject(Fault.server_error(503), path="/introspect", times=1)
    client.introspect_token(refreshed)  # retried once
    assert client.revoke_token(refreshed) is True

    server.inject(Fault.server_error(503), path="/token", times=3)
    failing(lambda: client.get_token(), TokenError)  # retries run out
    issued = client.get_token()
    secrets.add(issued.access_token)

    device = client.start_device_authorization(scope="mcp:read")
    secrets.add(device.device_code)
    server.approve(device.user_code)
    device_token = client.poll_device_authorization(device.device_code, interval=0.01)
    secrets.add(device_token.access_token)
    reprs = [
        repr(client.client),
        repr(token),
        repr(refreshed),
        repr(device_token),
        repr(device),
        repr(registration),
        repr(client.config),
        repr(client.tokens),
        repr(metrics),
        json.dumps(metrics.get_stats()),
    ]
    assert client.delete_client() is True
    failing(lambda: client.refresh_token("not-a-refresh-token-" + "q" * 20), TokenError)
    secrets.add("not-a-refresh-token-" + "q" * 20)

    secrets = {s for s in secrets if s}
    assert len(secrets) >= 14
    names = {r.name for r in capture.records}
    assert {"httpx", "mcp_oauth_dynamicclient.client", "mcp_oauth_dynamicclient.sender"} <= names
    assert any(name.startswith("httpcore") for name in names)  # its DEBUG traces were seen

    formatter = JsonFormatter()
    plain = logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s")
    for record in capture.records:
        texts = [
            record.getMessage(),
            repr(record.args),
            repr(vars(record)),
            formatter.format(record),
            plain.format(record),
        ]
        for secret in secrets:
            for text in texts:
                assert secret not in text, (record.name, record.getMessage())
    for error in errors:
        for secret in secrets:
            assert secret not in f"{error} {error!r} {getattr(error, 'error_description', '')}"
    for text in reprs:
        for secret in secrets:
            assert secret not in text

    # The error paths were really taken.
    assert [r.operation for r in capture.events("retry")].count("introspect_token") == 1
    assert [r.operation for r in capture.events("retry")].count("request_token") >= 2
    assert any(getattr(r, "error_code", None) == "invalid_grant" for r in capture.events("request"))


def test_lifecycle_events_and_their_fields(
    api: Flavour, server: MockAuthServer, capture: Capture
) -> None:
    client = make(api, server)
    registration = client.register()
    callback = browse(capture, client, scope="mcp:read")
    token = client.exchange_code(callback)
    client.refresh_token()
    tokens = ClientProxy(client.client.tokens, client.portal)
    client.revoke_token(tokens.get_token(f"token:{server.url}:{registration.client_id}"))

    (discovery,) = capture.events("discovery")
    assert (discovery.levelno, discovery.component, discovery.issuer) == (
        logging.INFO,
        "OAuth2Client",
        server.url,
    )
    (registered,) = capture.events("client_registration")
    assert registered.levelno == logging.INFO
    assert (registered.client_id, registered.auth_server) == (registration.client_id, server.url)
    (exchanged,) = capture.events("token_exchange")
    assert (exchanged.grant_type, exchanged.expires_in) == ("authorization_code", token.expires_in)
    assert exchanged.client_id == registration.client_id
    (refresh,) = capture.events("token_refresh")
    assert (refresh.component, refresh.client_id, refresh.expires_in) == (
        "TokenManager",
        registration.client_id,
        3600,
    )
    (revoked,) = capture.events("token_revoked")
    assert (revoked.token_type, revoked.levelno) == ("access_token", logging.INFO)
    requests = capture.events("request")
    assert {r.operation for r in requests} >= {"register_client", "request_token", "revoke_token"}
    assert all(r.levelno == logging.DEBUG and r.component == "Sender" for r in requests)
    assert all(isinstance(r.duration_ms, float) for r in requests)


def test_a_refused_refresh_is_a_warning(
    api: Flavour, server: MockAuthServer, capture: Capture
) -> None:
    client = make(api, server)
    callback = browse(capture, client)
    token = client.exchange_code(callback)
    client.revoke_token(token, "refresh_token")
    ClientProxy(client.client.tokens, client.portal).store_token(
        client._current_key(), token
    )  # as if another process kept it
    with pytest.raises(TokenError):
        client.refresh_token()
    (failed,) = capture.events("token_refresh_failed")
    assert (failed.levelno, failed.error_code) == (logging.WARNING, "invalid_grant")


def test_rate_limit_waits_are_warnings(
    api: Flavour, server: MockAuthServer, capture: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mcp_oauth_dynamicclient import RateLimit
    from mcp_oauth_dynamicclient._async import sender as async_sender
    from mcp_oauth_dynamicclient._sync import sender as sync_sender

    async def no_sleep(seconds: float) -> None:
        pass

    monkeypatch.setattr(sync_sender, "sync_sleep", lambda seconds: None)
    monkeypatch.setattr(async_sender, "async_sleep", no_sleep)
    metrics = MetricsCollector()
    client = make(api, server, rate_limit=RateLimit(0.5), metrics_collector=metrics)
    client.register()  # discovery, then registration: the second waits
    waits = capture.events("rate_limited")
    assert [(r.levelno, r.operation) for r in waits] == [(logging.WARNING, "register_client")]
    assert waits[0].wait > 1.0
    assert waits[0].refused is False
    assert metrics.get_stats()["rate_limited"] == 1


def test_a_request_refused_by_max_wait_is_a_warning(
    api: Flavour, server: MockAuthServer, capture: Capture
) -> None:
    from mcp_oauth_dynamicclient import NetworkError, RateLimit, RateLimitExceeded

    metrics = MetricsCollector()
    limit = RateLimit(requests_per_second=0.01, burst=1, max_wait=1.0)
    client = make(api, server, rate_limit=limit, metrics_collector=metrics)
    client.discover()
    with pytest.raises(RateLimitExceeded) as raised:
        client.register()
    assert isinstance(raised.value, NetworkError)
    (refused,) = capture.events("rate_limited")
    assert (refused.levelno, refused.operation, refused.refused) == (
        logging.WARNING,
        "register_client",
        True,
    )
    assert refused.wait > 90
    assert "not sent" in refused.getMessage()
    stats = metrics.get_stats()
    assert stats["rate_limited"] == 1
    # Counted by its class, now its own (a NetworkError subclass): it never reached the server.
    assert stats["errors"] == {"RateLimitExceeded": 1}


# ------------------------------------------------------------------------ the formatter


def _record(**extra: Any) -> logging.LogRecord:
    record = logging.LogRecord(
        "mcp_oauth_dynamicclient.client", logging.INFO, "x", 1, "hi", (), None
    )
    record.created = 1750549092.5  # 2025-06-21T23:38:12Z
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_json_formatter_has_the_seed_shape() -> None:
    line = JsonFormatter().format(
        _record(
            component="OAuth2Client",
            event="client_registration",
            client_id="client_123",
            auth_server="https://auth.example.com",
        )
    )
    assert "\n" not in line
    data = json.loads(line)
    assert list(data)[:6] == [
        "timestamp",
        "level",
        "component",
        "event",
        "client_id",
        "auth_server",
    ]
    assert data["timestamp"] == "2025-06-21T23:38:12Z"
    assert data["level"] == "INFO"
    assert data["client_id"] == "client_123"
    assert (data["logger"], data["message"]) == ("mcp_oauth_dynamicclient.client", "hi")


def test_json_formatter_hides_secret_named_fields_and_encodes_anything() -> None:
    data = json.loads(
        JsonFormatter().format(_record(access_token="at-secret", client_secret="cs", when=object()))
    )
    assert data["access_token"] == "***"
    assert data["client_secret"] == "***"
    assert data["when"].startswith("<object")


def test_json_formatter_includes_the_exception() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = _record()
        record.exc_info = sys.exc_info()
    data = json.loads(JsonFormatter().format(record))
    assert "ValueError: boom" in data["exception"]
