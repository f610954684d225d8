"""Shared fixtures of the interop tests (third-party servers run as child processes)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The helpers next to this file are plain modules; make them importable whatever pytest's
# import mode is (with --import-mode=importlib, pytest does not touch sys.path).
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from oidc_provider_server import OidcProvider, run_oidc_provider  # noqa: E402


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OidcProvider]:
    """One oidc-provider 9.13.3 server (see OIDC_PROVIDER.md) for the whole test session."""
    with run_oidc_provider() as server:
        yield server
