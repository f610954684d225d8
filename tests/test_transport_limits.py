"""A hostile authorization server cannot make the client read without end (issue 12, 8 and 9).

Responses are read as a stream and refused past ``max_response_bytes`` (``ResponseTooLarge``,
before reading when the ``Content-Length`` says so); an operation must be over within its
``deadline`` (``DeadlineExceeded``), however slowly the server sends. The hostile server
(``tests/hostile_server.py``) writes raw bytes on a loopback socket and notes whether the
client hung up before it was done: that, and the typed error, is what the tests assert; nothing
is timed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from mcp_oauth_dynamicclient import (
    AsyncSender,
    ConfigurationError,
    DeadlineExceeded,
    DiscoveryError,
    NetworkError,
    OAuth2Client,
    ResponseTooLarge,
    RetryConfig,
    SyncOAuth2Client,
    SyncSender,
)
from mcp_oauth_dynamicclient._generated import models
from mcp_oauth_dynamicclient._generated.clients import AsyncEndpointClient, EndpointClient
from mcp_oauth_dynamicclient.runtime import (
    DEFAULT_DEADLINE,
    DEFAULT_MAX_RESPONSE_BYTES,
    AsyncDirectSender,
    DirectSender,
    FormValue,
)
from mcp_oauth_dynamicclient.testing import Fault, MockAuthServer
from tests.clients import make
from tests.flavours import ClientProxy, Flavour, flavour
from tests.hostile_server import (
    Connection,
    HostileServer,
    announce,
    chunked,
    endless,
    gzip_bomb,
    run_hostile_server,
    sized,
    trickle,
    trickle_headers,
)

METADATA = "/.well-known/oauth-authorization-server"
QUICK = RetryConfig(max_retries=2, backoff_factor=0.01, jitter=False)


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    """A raw loopback server that answers as the test routes it."""
    with run_hostile_server() as server:
        yield server


def client_of(api: Flavour, hostile: HostileServer, **settings: Any) -> ClientProxy:
    """A pre-registered client of the hostile server (no registration to get through)."""
    return api.client(hostile.url, client_id="app", client_secret="s3cret", **settings)


def hung_up_early(answer: Connection) -> bool:
    """Whether the client closed the connection before the server was done writing."""
    assert answer.done.wait(30), "the server is still writing"
    return answer.client_gone and not answer.finished


# ---------------------------------------------------------------------- max_response_bytes


def test_a_content_length_over_the_limit_is_refused_before_reading(
    api: Flavour, hostile: HostileServer
) -> None:
    # Headers announcing 100 MB, then nothing: a client that started reading would wait for
    # the body until its timeout and fail with a plain NetworkError.
    hostile.route("GET", METADATA, announce(100 * 1024 * 1024))
    client = client_of(api, hostile, timeout=10, retry_config=QUICK)
    with pytest.raises(ResponseTooLarge) as caught:
        client.discover()
    message = str(caught.value)
    assert f"GET {hostile.url}{METADATA}" in message
    assert f"max_response_bytes ({DEFAULT_MAX_RESPONSE_BYTES} bytes)" in message
    assert "Content-Length is 104857600 bytes; not read" in message
    (answer,) = hostile.answered(METADATA)  # safe to resend, but the answer would be the same
    assert hung_up_early(answer)


def test_an_endless_chunked_token_response_is_cut_off_at_the_limit(
    api: Flavour, hostile: HostileServer
) -> None:
    hostile.serve_metadata()
    hostile.route("POST", "/token", endless())
    client = client_of(api, hostile, max_response_bytes=100_000)
    with pytest.raises(ResponseTooLarge, match=r"stopped reading at \d+ bytes") as caught:
        client.get_token()
    assert f"POST {hostile.url}/token" in str(caught.value)
    assert "max_response_bytes (100000 bytes)" in str(caught.value)
    assert isinstance(caught.value, NetworkError)
    (answer,) = hostile.answered("/token")
    assert hung_up_early(answer)
    assert answer.sent < 10 * 1024 * 1024  # the client stopped; the server would send 1 GiB


@pytest.mark.parametrize("frame", [sized, chunked], ids=["content-length", "chunked"])
def test_a_body_of_exactly_the_limit_is_read_and_one_byte_more_is_not(
    api: Flavour, hostile: HostileServer, frame: Callable[[bytes], Any]
) -> None:
    limit = 20_000
    document = hostile.metadata()
    base = len(httpx.Response(200, json={**document, "x": ""}).content)

    def padded(size: int) -> bytes:
        body = httpx.Response(200, json={**document, "x": "p" * (size - base)}).content
        assert len(body) == size
        return body

    hostile.route("GET", METADATA, frame(padded(limit)))
    assert client_of(api, hostile, max_response_bytes=limit).discover().extra["x"]
    hostile.route("GET", METADATA, frame(padded(limit + 1)))
    with pytest.raises(ResponseTooLarge):
        client_of(api, hostile, max_response_bytes=limit).discover()


def test_a_compressed_body_is_measured_as_it_decompresses(
    api: Flavour, hostile: HostileServer
) -> None:
    # 10 MiB of JSON gzipped into about 10 KiB, unasked for (the client sends no
    # Accept-Encoding, which RFC 9110 §12.5.3 reads as "anything goes").
    hostile.route("GET", METADATA, gzip_bomb(10 * 1024 * 1024))
    with pytest.raises(ResponseTooLarge, match="stopped reading"):
        client_of(api, hostile).discover()


# --------------------------------------------------- every operation goes through the cap


class BasicAuth:
    """``client_secret_basic`` for the endpoint-level calls."""

    def apply(self, url: str, form: dict[str, FormValue], headers: dict[str, str]) -> None:
        headers["Authorization"] = "Basic YXBwOnMzY3JldA=="


AUTH = BasicAuth()
TOKEN = "rat-1234"
#: Every operation of the generated endpoint clients, called with a URL that has a query.
OPERATIONS: dict[str, Callable[[Any, str], Any]] = {
    "get_authorization_server_metadata": lambda c, u: c.get_authorization_server_metadata(u),
    "get_protected_resource_metadata": lambda c, u: c.get_protected_resource_metadata(u),
    "get_jwks": lambda c, u: c.get_jwks(u),
    "register_client": lambda c, u: c.register_client(
        u, models.ClientMetadata(redirect_uris=["http://127.0.0.1:8080/cb"])
    ),
    "read_client": lambda c, u: c.read_client(u, registration_access_token=TOKEN),
    "update_client": lambda c, u: c.update_client(
        u, models.ClientUpdateRequest(client_id="app"), registration_access_token=TOKEN
    ),
    "delete_client": lambda c, u: c.delete_client(u, registration_access_token=TOKEN),
    "request_token": lambda c, u: c.request_token(
        u, models.ClientCredentialsTokenRequest(), client_auth=AUTH
    ),
    "revoke_token": lambda c, u: c.revoke_token(
        u, models.RevocationRequest(token="t"), client_auth=AUTH
    ),
    "introspect_token": lambda c, u: c.introspect_token(
        u, models.IntrospectionRequest(token="t"), client_auth=AUTH
    ),
    "request_device_authorization": lambda c, u: c.request_device_authorization(
        u, models.DeviceAuthorizationRequest(), client_auth=AUTH
    ),
}


def endpoint_client(api: Flavour, sender: str) -> Any:
    """A generated endpoint client of the flavour, sending through the library's sender or
    the runtime's default one (a regenerated client given none), with a 50 000-byte cap."""
    cap = 50_000
    if api.is_async:
        async_http = httpx.AsyncClient(timeout=10)
        api.stack.callback(lambda: api.run(async_http.aclose))
        chosen: Any = (
            AsyncSender(max_response_bytes=cap)
            if sender == "library"
            else AsyncDirectSender(max_response_bytes=cap)
        )
        return AsyncEndpointClient(async_http, sender=chosen)
    http = httpx.Client(timeout=10)
    api.stack.callback(http.close)
    chosen = (
        SyncSender(max_response_bytes=cap)
        if sender == "library"
        else DirectSender(max_response_bytes=cap)
    )
    return EndpointClient(http, sender=chosen)


@pytest.mark.parametrize("sender", ["library", "default"])
@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_every_operation_reads_under_the_cap(
    api: Flavour, hostile: HostileServer, operation: str, sender: str
) -> None:
    for generated in (EndpointClient, AsyncEndpointClient):  # none left out of OPERATIONS
        assert set(OPERATIONS) == {name for name in vars(generated) if not name.startswith("_")}
    hostile.fallback = endless()
    client = endpoint_client(api, sender)
    url = f"{hostile.url}/op/{operation}?token=hush"
    with pytest.raises(ResponseTooLarge) as caught:
        api.run(lambda: OPERATIONS[operation](client, url))
    message = str(caught.value)
    assert message.startswith(f"{operation}: ")
    assert f"{hostile.url}/op/{operation}:" in message
    assert "hush" not in message  # the URL without its query
    assert hung_up_early(hostile.answered(f"/op/{operation}")[0])


# ------------------------------------------------------------------------------ deadline


def test_a_trickled_token_response_ends_at_the_deadline(
    api: Flavour, hostile: HostileServer
) -> None:
    # A byte every 0.1 s: each read gets one well within the 2 s timeout, so only a deadline
    # on the whole exchange stops it (the body would take a minute).
    hostile.serve_metadata()
    hostile.route("POST", "/token", trickle())
    client = client_of(api, hostile, timeout=2, deadline=1.5, retry_config=QUICK)
    with pytest.raises(DeadlineExceeded) as caught:
        client.get_token()
    message = str(caught.value)
    assert f"request_token: POST {hostile.url}/token" in message
    assert "deadline of 1.5s" in message
    assert isinstance(caught.value, NetworkError)
    (answer,) = hostile.answered("/token")  # client credentials: safe, but the time is spent
    assert hung_up_early(answer)


def test_a_silent_server_is_given_up_on_at_the_deadline_not_at_the_timeout(
    api: Flavour, hostile: HostileServer
) -> None:
    # Headers, then silence: with a 60 s per-read timeout the deadline is what ends it, and
    # the error says so (not a plain "timed out" NetworkError).
    hostile.route("GET", METADATA, announce(100))
    client = client_of(api, hostile, timeout=60, deadline=1)
    with pytest.raises(DeadlineExceeded, match="deadline of 1s"):
        client.discover()
    # The other way round, the timeout is what ends it, and the error says that.
    client = client_of(api, hostile, timeout=0.5, deadline=60)
    with pytest.raises(NetworkError, match=r"timed out \(ReadTimeout\)") as caught:
        client.discover()
    assert not isinstance(caught.value, DeadlineExceeded)


def test_trickled_headers_end_at_the_deadline() -> None:
    """asyncio only: the whole exchange is cancelled at the deadline.

    The blocking client cannot interrupt a read in progress; it shortens each phase's timeout
    to the time left and checks the deadline as body parts arrive, but a server that sends its
    headers a byte at a time is bounded there only by h11's 16 KiB limit on them.
    """
    with run_hostile_server() as hostile, flavour("async") as api:
        hostile.route("GET", METADATA, trickle_headers())
        client = client_of(api, hostile, timeout=2, deadline=1)
        with pytest.raises(DeadlineExceeded):
            client.discover()
        (answer,) = hostile.answered(METADATA)
        assert hung_up_early(answer)


def test_the_deadline_spans_the_retries_and_their_waits(
    api: Flavour, server: MockAuthServer, sleeps: list[float]
) -> None:
    retry = RetryConfig(max_retries=3, max_retry_after=60, jitter=False)
    # A Retry-After within the deadline is waited for (the wait is recorded, not slept) ...
    server.inject(Fault.server_error(503, retry_after=5), path=METADATA)
    make(api, server, retry_config=retry, deadline=20).discover()
    assert sleeps == [5.0]
    assert server.requests.count(METADATA, method="GET") == 2
    # ... one that would end past it is not: the server's error is raised, with its wait.
    server.inject(Fault.server_error(503, retry_after=30), path=METADATA)
    with pytest.raises(DiscoveryError) as caught:
        make(api, server, retry_config=retry, deadline=20).discover()
    assert (caught.value.status_code, caught.value.retry_after) == (503, 30.0)
    assert server.requests.count(METADATA, method="GET") == 3
    assert sleeps == [5.0]


# ------------------------------------------------------------------------------- settings


BAD_LIMITS = [
    ({"max_response_bytes": 0}, "max_response_bytes: expected"),
    ({"max_response_bytes": -1}, "max_response_bytes: expected"),
    ({"max_response_bytes": 1.5}, "max_response_bytes: expected"),
    ({"max_response_bytes": True}, "max_response_bytes: expected"),
    ({"deadline": 0}, "deadline: expected"),
    ({"deadline": -3.0}, "deadline: expected"),
    ({"deadline": float("inf")}, "deadline: expected"),
    ({"deadline": float("nan")}, "deadline: expected"),
    ({"deadline": "60"}, "deadline: expected"),
]


@pytest.mark.parametrize(("settings", "message"), BAD_LIMITS)
@pytest.mark.parametrize(
    "build",
    [OAuth2Client, SyncOAuth2Client, AsyncSender, SyncSender, AsyncDirectSender, DirectSender],
)
def test_bad_limits_are_refused_naming_the_setting(
    build: Any, settings: dict[str, Any], message: str
) -> None:
    args = ("https://auth.example.com",) if build in (OAuth2Client, SyncOAuth2Client) else ()
    with pytest.raises(ConfigurationError, match=message):
        build(*args, **settings)


def test_the_defaults_are_a_few_mebibytes_and_two_minutes() -> None:
    client = SyncOAuth2Client("https://auth.example.com")
    assert (client.config.max_response_bytes, client.config.deadline) == (4 * 1024 * 1024, 120.0)
    assert (DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_DEADLINE) == (4 * 1024 * 1024, 120.0)
    sender = SyncSender()
    assert "max_response_bytes=4194304, deadline=120.0" in repr(sender)
    client.close()
