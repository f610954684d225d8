# Generated from _async/file_storage.py by mcp-oauth-dynamicclient codegen (unasync). Do not edit.
"""Token storage in one JSON file, shared safely by threads, asyncio tasks and processes.

The file (version 1 of the format) holds every entry::

    {
      "entries": {"<key>": {...the stored dict...}, ...},
      "format": "mcp-oauth-dynamicclient/token-storage",
      "version": 1
    }

A missing or empty (0-byte) file holds no entries. Anything else that is not this shape (not
JSON, no ``format`` marker, another ``version``, an entry that is not an object) raises
:class:`~mcp_oauth_dynamicclient.exceptions.StorageError` naming the path and the fault, and
is never overwritten: a store or delete against it raises as well.

Secrecy: the file is created with mode 0600 and, if its directory is missing, the directory
with 0700. A file that others may read (any group or other permission bit) is refused with
``StorageError``, as OpenSSH refuses an unprotected private key: its tokens may already have
leaked, so fixing the mode silently would hide that. ``chmod 600 <path>`` makes it usable.
(Windows has no such mode bits; there the check is skipped.)

Atomicity: every write goes to a temporary file in the same directory (``.<name>.writing-*``,
0600 from creation), which is flushed and fsynced, renamed over the file with ``os.replace``
and followed by an fsync of the directory. A reader therefore always sees a whole file, old or
new, and needs no lock; a writer killed half-way leaves the old file intact (its temporary file
is removed by the next write).

Locking (the ``filelock`` package, OS-level ``flock``/``LockFileEx`` locks, released by the OS
when their holder dies, so a dead process never blocks the others):

- every read-modify-write (``store_token``, ``delete_token``) holds ``<path>.lock`` for the
  few milliseconds of the update, so concurrent writers lose no entry;
- ``lock(key)`` holds ``<path>.<sha256(key)[:16]>.lock``, one lock file per key, so a token
  refresh serialises only with other refreshes of the same key, across processes, threads and
  tasks alike. It does not nest: a second ``lock(key)`` of the same key waits for the first.
  Lock files are empty, 0600, and stay in place after use (removing one while another
  process waits on it could let two holders in).

A lock is taken by polling non-blocking attempts, sleeping between them with ``sync_sleep``,
so in the asyncio flavour waiting never blocks the event loop (the file I/O itself is a few
small local reads and writes, done inline).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._concurrency import sync_sleep
from ..exceptions import ConfigurationError, StorageError, ValidationError
from .storage import SyncTokenStorage

if TYPE_CHECKING:
    import filelock

__all__ = ["FORMAT", "VERSION", "SyncFileStorage", "checked_key", "entry_json"]

#: The ``format`` marker of a token file: a JSON file without it is not ours.
FORMAT = "mcp-oauth-dynamicclient/token-storage"
#: The version of the file layout this module reads and writes.
VERSION = 1

_FIRST_PAUSE = 0.002  # seconds between lock attempts, doubling up to _LAST_PAUSE
_LAST_PAUSE = 0.05
_TEMPORARY = ".writing-"  # temporary files are ".<name>.writing-<random>.tmp"


def entry_json(key: str, token: dict[str, Any]) -> str:
    """``token`` as compact JSON, or ``ValidationError`` if it cannot be stored under ``key``.

    Storage keeps JSON only (see ``storage``): the key must be a string and the entry a dict
    of JSON values (no ``NaN``, no sets, no objects), so what is read back equals what a
    JSON round trip of the stored dict gives.
    """
    checked_key(key)
    if not isinstance(token, dict):
        raise ValidationError(f"the entry for {key!r} must be a dict, not {type(token).__name__}")
    try:
        return json.dumps(token, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"the entry for {key!r} cannot be stored as JSON: {exc}") from exc


def checked_key(key: str) -> str:
    """``key``, or ``ValidationError`` if it is not a string."""
    if not isinstance(key, str):
        raise ValidationError(f"a storage key must be a str, not {type(key).__name__}")
    return key


def _import_filelock() -> Any:
    try:
        import filelock
    except ImportError as exc:  # pragma: no cover - the dev environment has it
        raise ConfigurationError(
            "SyncFileStorage needs filelock: pip install 'mcp-oauth-dynamicclient[file]'"
        ) from exc
    return filelock


class SyncFileStorage(SyncTokenStorage):
    """Entries in one JSON file (0600), locked across processes; see the module docstring.

    Args:
        path: The token file; ``~`` is expanded, and a relative path is resolved now, so a
            later ``chdir`` does not move it. Its directory is created (0700) on first write.
        lock_timeout: How long a store or delete waits for another writer, in seconds, before
            raising ``StorageError``.
    """

    def __init__(self, path: str | os.PathLike[str], *, lock_timeout: float = 30.0) -> None:
        _import_filelock()
        self.path = Path(path).expanduser().absolute()
        self.lock_timeout = _checked_timeout(lock_timeout)
        self._update_lock = self.path.with_name(self.path.name + ".lock")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    def store_token(self, key: str, token: dict[str, Any]) -> None:
        """Keep a JSON copy of ``token`` under ``key`` (an atomic rewrite of the file)."""
        entry = json.loads(entry_json(key, token))

        def put(entries: dict[str, Any]) -> bool:
            entries[key] = entry
            return True

        self._update(put)

    def retrieve_token(self, key: str) -> dict[str, Any] | None:
        """The entry under ``key``, or ``None``; reads the file without taking a lock."""
        entry: dict[str, Any] | None = _read_entries(self.path).get(checked_key(key))
        return entry

    def delete_token(self, key: str) -> None:
        """Remove the entry under ``key`` (no error, and no write, if there is none)."""

        def drop(entries: dict[str, Any]) -> bool:
            return entries.pop(key, None) is not None

        checked_key(key)
        self._update(drop)

    def list_tokens(self) -> list[str]:
        """The keys held, sorted."""
        return sorted(_read_entries(self.path))

    @contextmanager
    def lock(self, key: str, *, timeout: float = 30.0) -> Iterator[None]:
        """Hold the lock of ``key`` across processes, threads and tasks.

        Waits at most ``timeout`` seconds for another holder, then raises ``StorageError``.
        A holder that dies loses the lock at once (the OS releases it); a live holder keeps
        it for as long as it needs.
        """
        digest = hashlib.sha256(checked_key(key).encode("utf-8", "surrogatepass")).hexdigest()
        lock_path = self.path.with_name(f"{self.path.name}.{digest[:16]}.lock")
        self._make_directory()
        with _hold(lock_path, _checked_timeout(timeout), f"the lock of {key!r}"):
            yield

    def _update(self, change: Callable[[dict[str, Any]], bool]) -> None:
        """Read the entries, apply ``change`` and, if it says so, write them back, all locked."""
        self._make_directory()
        with _hold(self._update_lock, self.lock_timeout, "the file for writing"):
            entries = _read_entries(self.path)
            if change(entries):
                _write_entries(self.path, entries)

    def _make_directory(self) -> None:
        directory = self.path.parent
        if directory.is_dir():
            return
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(directory, 0o700)  # whatever the umask
        except OSError as exc:
            raise StorageError(f"cannot create the directory {directory}: {_reason(exc)}") from exc


@contextmanager
def _hold(lock_path: Path, timeout: float, what: str) -> Iterator[None]:
    """Hold the OS lock on ``lock_path``, polling with pauses so an event loop keeps running."""
    lock = _import_filelock().FileLock(lock_path, mode=0o600, thread_local=False)
    deadline = time.monotonic() + timeout
    pause = _FIRST_PAUSE
    while not _try_acquire(lock):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise StorageError(
                f"could not take {what} ({lock_path}) within {timeout:g} s: "
                "another process or thread holds it"
            )
        sync_sleep(min(pause, remaining))
        pause = min(pause * 2, _LAST_PAUSE)
    try:
        yield
    finally:
        lock.release()


def _try_acquire(lock: filelock.FileLock) -> bool:
    """One non-blocking attempt at ``lock``."""
    timeout_error = _import_filelock().Timeout
    try:
        lock.acquire(blocking=False)
    except timeout_error:
        return False
    except OSError as exc:
        raise StorageError(f"cannot lock {lock.lock_file}: {_reason(exc)}") from exc
    return True


def _checked_timeout(timeout: float) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout >= 0:
        raise ValidationError(f"a lock timeout must be a number of seconds >= 0, not {timeout!r}")
    return float(timeout)


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _read_entries(path: Path) -> dict[str, Any]:
    """The entries of the file at ``path`` (none if it is missing), or ``StorageError``."""
    try:
        with open(path, "rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            if os.name != "nt" and mode & 0o077:
                raise StorageError(
                    f"token file {path} is readable or writable by others "
                    f"(mode {stat.S_IMODE(mode):04o}); its tokens may have leaked. "
                    f"Check them, then run: chmod 600 {path}"
                )
            data = handle.read()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise StorageError(f"cannot read token file {path}: {_reason(exc)}") from exc
    return _parse(data, path)


def _parse(data: bytes, path: Path) -> dict[str, Any]:
    if not data:
        return {}

    def refuse(problem: str) -> StorageError:
        return StorageError(f"token file {path} {problem}; it was left unchanged")

    try:
        document = json.loads(data)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise refuse(f"is not valid JSON ({exc})") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise refuse(f'is not a token file of this library (no "format": "{FORMAT}")')
    version = document.get("version")
    if version != VERSION or isinstance(version, bool):
        raise refuse(
            f"has format version {version!r}, and this version of mcp-oauth-dynamicclient "
            f"reads version {VERSION} only"
        )
    entries = document.get("entries")
    if not isinstance(entries, dict):
        raise refuse('has no "entries" object')
    for key, entry in entries.items():
        if not isinstance(entry, dict):
            raise refuse(f"has an entry {key!r} that is not an object")
    return entries


def _write_entries(path: Path, entries: dict[str, Any]) -> None:
    """Replace the file at ``path`` atomically with ``entries`` (see the module docstring)."""
    document = {"format": FORMAT, "version": VERSION, "entries": entries}
    data = (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("ascii")
    directory = path.parent
    _remove_leftovers(path)
    try:
        # mkstemp creates the file with mode 0600 (less under a strict umask), never wider.
        descriptor, temporary = tempfile.mkstemp(
            prefix=f".{path.name}{_TEMPORARY}", suffix=".tmp", dir=directory
        )
    except OSError as exc:
        raise StorageError(f"cannot write token file {path}: {_reason(exc)}") from exc
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException as exc:
        with suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError):
            raise StorageError(f"cannot write token file {path}: {_reason(exc)}") from exc
        raise
    _sync_directory(directory)


def _remove_leftovers(path: Path) -> None:
    """Delete temporary files of writers that died; only called with the update lock held."""
    start, end = f".{path.name}{_TEMPORARY}", ".tmp"
    with suppress(OSError), os.scandir(path.parent) as listing:
        for item in listing:
            if item.name.startswith(start) and item.name.endswith(end):
                with suppress(OSError):
                    os.unlink(item.path)


def _sync_directory(directory: Path) -> None:
    """Make the rename durable; Windows cannot open a directory, and needs no such step."""
    if os.name == "nt":  # pragma: no cover
        return
    try:
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    except OSError as exc:
        raise StorageError(f"cannot sync the directory {directory}: {_reason(exc)}") from exc
