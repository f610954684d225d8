"""Token storage in one JSON file, shared safely by threads, asyncio tasks and processes.

The file's format (one JSON document holding every entry, versioned) is described in
``_storage_format``; its secrecy (0600, and the owner and directory checks of OpenSSH's
``StrictModes``), its atomic rewrite and the setting aside of a file that cannot be read
(``quarantine()``) in ``_token_file``, which does the blocking work. This module holds what
waits: the locks, and the calls of that blocking work through ``async_to_thread``. In the
asyncio flavour it runs each call in a worker thread, so the event loop keeps running while
the disk syncs; the blocking flavour simply calls.

Locking (the ``filelock`` package, OS-level ``flock``/``LockFileEx`` locks, released by the OS
when their holder dies, so a dead process never blocks the others):

- every read-modify-write (``store_token``, ``delete_token``) holds ``<path>.lock`` for the
  few milliseconds of the update, so concurrent writers lose no entry;
- ``lock(key)`` holds ``<path>.<sha256(key)[:16]>.lock``, one lock file per key, so a token
  refresh serialises only with other refreshes of the same key, across processes, threads and
  tasks alike. It does not nest: a second ``lock(key)`` of the same key waits for the first.

A lock is taken by polling non-blocking attempts (``flock`` with ``LOCK_NB``), sleeping
between them with ``async_sleep``, so in the asyncio flavour waiting never blocks the event
loop. The attempts themselves stay on the loop: each is an open of an empty local file and a
call that returns at once, and an attempt left running in a thread by a cancelled waiter could
take a lock nobody would release. While a lock is held through this storage, its other
waiters skip the attempt (which could only fail) and just sleep, so fifty tasks queued on one
storage do not poll the OS fifty times per pause.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from .._concurrency import async_sleep, async_to_thread
from .._public import public
from .._storage_format import FORMAT, VERSION, checked_key, checked_timeout, entry_json
from .._token_file import (
    import_filelock,
    key_lock_path,
    new_lock,
    prepare_directory,
    read_entries,
    set_aside,
    try_acquire,
    update_entries,
    update_lock_path,
)
from ..exceptions import StorageError
from .storage import TokenStorage

__all__ = ["FORMAT", "VERSION", "FileStorage", "checked_key", "entry_json"]

_FIRST_PAUSE = 0.002  # seconds between lock attempts, doubling up to _LAST_PAUSE
_LAST_PAUSE = 0.05


@public("mcp_oauth_dynamicclient.storage")
class FileStorage(TokenStorage):
    """Entries in one JSON file (0600), locked across processes; see the module docstring.

    The file must belong to this process's user and be private (0600), and no directory on
    its path may be writable by others without the sticky bit; else every call raises
    ``StorageError`` saying what to change (see ``_token_file``). A file that cannot be read
    as a token file is never overwritten: :meth:`quarantine` sets it aside.

    Args:
        path: The token file; ``~`` is expanded, and a relative path is resolved now, so a
            later ``chdir`` does not move it. Its directory is created (0700) on first write.
        lock_timeout: How long a store, delete or quarantine waits for another writer, in
            seconds, before raising ``StorageError``.
    """

    def __init__(self, path: str | os.PathLike[str], *, lock_timeout: float = 30.0) -> None:
        import_filelock()
        self.path = Path(path).expanduser().absolute()
        self.lock_timeout = checked_timeout(lock_timeout)
        self._held: set[Path] = set()  # lock files held through this storage

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    async def store_token(self, key: str, token: dict[str, Any]) -> None:
        """Keep a JSON copy of ``token`` under ``key`` (an atomic rewrite of the file)."""
        entry = json.loads(entry_json(key, token))

        def put(entries: dict[str, Any]) -> bool:
            entries[key] = entry
            return True

        await self._update(put)

    async def retrieve_token(self, key: str) -> dict[str, Any] | None:
        """The entry under ``key``, or ``None``; reads the file without taking a lock."""
        checked_key(key)
        entries = await async_to_thread(read_entries, self.path)
        entry: dict[str, Any] | None = entries.get(key)
        return entry

    async def delete_token(self, key: str) -> None:
        """Remove the entry under ``key`` (no error, and no write, if there is none)."""

        def drop(entries: dict[str, Any]) -> bool:
            return entries.pop(key, None) is not None

        checked_key(key)
        await self._update(drop)

    async def list_tokens(self) -> list[str]:
        """The keys held, sorted."""
        return sorted(await async_to_thread(read_entries, self.path))

    async def quarantine(self) -> Path | None:
        """Set the token file aside if it cannot be read, so the storage starts empty.

        A damaged file, another program's, or one of another format version is refused by
        every other method, and left as it was, run after run. This moves it to
        ``<name>.corrupt-<UTC time>`` beside it (``-2``, ``-3``… if taken), mode 0600, and
        returns that path; the next store creates a new file. It returns None, and changes
        nothing, when there is no file or it reads as a token file (its entries would be
        lost). A file of another user, or in a directory others may write, is refused with
        ``StorageError``, as on a read. The clients stored in the set-aside file must
        register and authorize again; it may be repaired by hand and moved back.
        """
        await async_to_thread(prepare_directory, self.path)
        lock_path = update_lock_path(self.path)
        async with self._hold(lock_path, self.lock_timeout, "the file for writing"):
            return await async_to_thread(set_aside, self.path, time.time())

    @asynccontextmanager
    async def lock(self, key: str, *, timeout: float = 30.0) -> AsyncIterator[None]:
        """Hold the lock of ``key`` across processes, threads and tasks.

        Waits at most ``timeout`` seconds for another holder, then raises ``StorageError``.
        A holder that dies loses the lock at once (the OS releases it); a live holder keeps
        it for as long as it needs.
        """
        lock_path = key_lock_path(self.path, checked_key(key))
        await async_to_thread(prepare_directory, self.path)
        async with self._hold(lock_path, checked_timeout(timeout), f"the lock of {key!r}"):
            yield

    async def _update(self, change: Callable[[dict[str, Any]], bool]) -> None:
        """Read the entries, apply ``change`` and, if it says so, write them back, all locked."""
        await async_to_thread(prepare_directory, self.path)
        lock_path = update_lock_path(self.path)
        async with self._hold(lock_path, self.lock_timeout, "the file for writing"):
            await async_to_thread(update_entries, self.path, change)

    @asynccontextmanager
    async def _hold(self, lock_path: Path, timeout: float, what: str) -> AsyncIterator[None]:
        """Hold the OS lock on ``lock_path``, polling with pauses so an event loop runs on."""
        lock = new_lock(lock_path)
        deadline = time.monotonic() + timeout
        pause = _FIRST_PAUSE
        while lock_path in self._held or not try_acquire(lock):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StorageError(
                    f"could not take {what} ({lock_path}) within {timeout:g} s: "
                    "another process or thread holds it"
                )
            await async_sleep(min(pause, remaining))
            pause = min(pause * 2, _LAST_PAUSE)
        self._held.add(lock_path)
        try:
            yield
        finally:
            self._held.discard(lock_path)
            lock.release()
