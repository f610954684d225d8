# Generated from _async/storage.py by mcp-oauth-dynamicclient codegen (unasync). Do not edit.
"""Token storage: the interface of the seed, and the in-memory backend.

The same storage keeps a client's tokens, its registration (RFC 7591) and its pending
authorizations, each under its own key (see ``_keys``). Values are JSON-compatible dicts. An
empty dict counts as no entry, so a backend that cannot delete may store ``{}`` instead.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .._concurrency import SyncLock
from .._public import public

__all__ = ["SyncMemoryStorage", "SyncTokenStorage"]


@public("mcp_oauth_dynamicclient.storage")
class SyncTokenStorage:
    """Where a client keeps what it must remember; subclass it for your own backend.

    ``store_token`` and ``retrieve_token`` are required. ``delete_token`` and ``list_tokens``
    have defaults: deleting stores an empty entry (which reads as absent), listing is refused.
    """

    def store_token(self, key: str, token: dict[str, Any]) -> None:
        """Keep ``token`` under ``key``, replacing what was there."""
        raise NotImplementedError(f"{type(self).__name__} must implement store_token")

    def retrieve_token(self, key: str) -> dict[str, Any] | None:
        """The entry under ``key``, or ``None``."""
        raise NotImplementedError(f"{type(self).__name__} must implement retrieve_token")

    def delete_token(self, key: str) -> None:
        """Remove the entry under ``key``; by default, overwrite it with an empty entry."""
        self.store_token(key, {})

    def list_tokens(self) -> list[str]:
        """The keys held."""
        raise NotImplementedError(f"{type(self).__name__} does not implement list_tokens")

    @contextmanager
    def lock(self, key: str, *, timeout: float = 30.0) -> Iterator[None]:
        """Hold the lock of ``key`` for a read-modify-write, such as a token refresh.

        The default locks within this process (tasks and threads); ``SyncFileStorage`` and
        ``SyncRedisStorage`` lock across processes too. ``timeout`` bounds the wait for a lock
        another process holds; a lock held by a process that died is broken after it.
        """
        locks: dict[str, SyncLock] = self.__dict__.setdefault("_key_locks", {})
        with locks.setdefault(key, SyncLock()):
            yield


@public("mcp_oauth_dynamicclient.storage")
class SyncMemoryStorage(SyncTokenStorage):
    """Keeps entries in this process only; they are gone when it exits."""

    def __init__(self) -> None:
        self._entries: dict[str, dict[str, Any]] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<{len(self._entries)} entries>)"

    def store_token(self, key: str, token: dict[str, Any]) -> None:
        """Keep a copy of ``token``, so later changes by the caller don't leak in."""
        self._entries[key] = copy.deepcopy(token)

    def retrieve_token(self, key: str) -> dict[str, Any] | None:
        """A copy of the entry under ``key``, or ``None``."""
        entry = self._entries.get(key)
        return copy.deepcopy(entry) if entry is not None else None

    def delete_token(self, key: str) -> None:
        """Remove the entry under ``key`` (no error if there is none)."""
        self._entries.pop(key, None)

    def list_tokens(self) -> list[str]:
        """The keys held, sorted."""
        return sorted(self._entries)
