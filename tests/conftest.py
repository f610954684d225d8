"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from flavours import Flavour, flavour
from mcp_oauth_dynamicclient.testing import MockAuthServer
from scripted_server import ScriptedServer, run_scripted_server


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
