"""Fixtures shared by the whole suite."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import settings

from mcp_oauth_dynamicclient._async import sender as async_sender
from mcp_oauth_dynamicclient._sync import sender as sync_sender
from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.flavours import Flavour, flavour
from tests.redis_server import RedisServer, run_redis_server
from tests.scripted_server import ScriptedServer, run_scripted_server

# Property-based tests run the same examples on every run (reproducible in CI), with no
# deadline (a loaded machine is not a failure) and no example database written into the
# repository. The fuzz tests bound their examples themselves (tests/fuzzing.py).
settings.register_profile("suite", deadline=None, derandomize=True, database=None)
settings.load_profile("suite")


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio, the loop MCP applications use."""
    return "asyncio"


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    """A loopback server that answers with what the test scripts."""
    with run_scripted_server() as server:
        yield server


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest) -> Iterator[Flavour]:
    """Each client test runs once with ``SyncOAuth2Client`` and once with ``OAuth2Client``."""
    with flavour(request.param) as made:
        yield made


@pytest.fixture
def server() -> Iterator[MockAuthServer]:
    """A fresh MockAuthServer; the test fails if the server hit an internal error."""
    with MockAuthServer() as mock:
        yield mock
    assert mock.errors == []


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    """An RSA signing key (2048 bits), made once: key generation is slow."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def ec_key() -> ec.EllipticCurvePrivateKey:
    """A P-256 signing key."""
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    """A redis-server of the test module's own, on a free port."""
    with run_redis_server() as started:
        yield started


@pytest.fixture
def prefix() -> str:
    """A Redis key prefix no other test uses."""
    return f"test-{uuid.uuid4().hex[:12]}:"


@pytest.fixture
def raw(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A plain redis-py client on the server, to look behind the storage's back."""
    client = redis.Redis(host="127.0.0.1", port=redis_server.port, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits the senders ask for between attempts, in order; nothing is slept."""
    recorded: list[float] = []

    def sleep(seconds: float) -> None:
        recorded.append(seconds)

    async def async_sleep(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr(sync_sender, "sync_sleep", sleep)
    monkeypatch.setattr(async_sender, "async_sleep", async_sleep)
    return recorded
