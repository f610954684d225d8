"""Shared fixtures of the interop tests (third-party servers run as child processes)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.interop.oidc_provider_server import OidcProvider, run_oidc_provider


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OidcProvider]:
    """One oidc-provider 9.13.3 server (see OIDC_PROVIDER.md) for the whole test session."""
    with run_oidc_provider() as server:
        yield server
