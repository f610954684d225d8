"""Fixtures of the MockAuthServer tests: a fresh server per test and plain httpx clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.testing.mock_flows import JsonHost


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio."""
    return "asyncio"


@pytest.fixture
def server() -> Iterator[MockAuthServer]:
    """A running server with default settings; it must end the test without internal errors."""
    with MockAuthServer() as mock:
        yield mock
    assert mock.errors == []


@pytest.fixture(scope="session")
def http() -> Iterator[httpx.Client]:
    """A blocking httpx client that does not follow redirects (one per session: cheaper)."""
    with httpx.Client(timeout=5.0) as client:
        yield client


@pytest.fixture
async def ahttp() -> AsyncIterator[httpx.AsyncClient]:
    """An asyncio httpx client that does not follow redirects."""
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


@pytest.fixture
def json_host() -> Iterator[JsonHost]:
    """A loopback server answering GETs with a JSON document the test sets."""
    with JsonHost() as host:
        yield host
