"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
