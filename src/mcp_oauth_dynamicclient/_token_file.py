"""Blocking operations on the token file of ``FileStorage``: read, atomic rewrite, lock files.

Every function here may wait for the disk. The blocking ``SyncFileStorage`` calls them
directly; the asyncio ``FileStorage`` runs them in a worker thread (``async_to_thread``), so
an fsync never stalls its event loop. The file's format is in ``_storage_format``.

Secrecy: the file is created with mode 0600 and, if its directory is missing, the directory
with 0700. A file that others may read (any group or other permission bit) is refused with
``StorageError``, as OpenSSH refuses an unprotected private key: its tokens may already have
leaked, so fixing the mode silently would hide that. ``chmod 600 <path>`` makes it usable.
(Windows has no such mode bits; there the check is skipped.)

Atomicity: every write goes to a temporary file in the same directory (``.<name>.writing-*``,
0600 from creation), which is flushed and fsynced, renamed over the file with ``os.replace``
(POSIX ``rename()`` replaces the target atomically: a reader sees the old file or the new
one, never a mix) and followed by an fsync of the directory, which makes the rename itself
durable (POSIX ``fsync()`` of the file alone does not). A reader therefore always sees a whole
file and needs no lock; a writer killed half-way leaves the old file intact (its temporary
file is removed by the next write).

Lock files (the ``filelock`` package: OS-level ``flock``/``LockFileEx`` locks, released by the
OS when their holder dies): ``<path>.lock`` guards each read-modify-write, and
``<path>.<sha256(key)[:16]>.lock`` is the lock of one key. They are empty, 0600, and stay in
place after use (removing one while another process waits on it could let two holders in).
A lock is only ever tried without blocking (``flock`` with ``LOCK_NB``); the storages poll.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._storage_format import document_bytes, parse_document
from .exceptions import ConfigurationError, StorageError

if TYPE_CHECKING:
    import filelock

__all__ = [
    "import_filelock",
    "key_lock_path",
    "make_directory",
    "new_lock",
    "read_entries",
    "reason",
    "try_acquire",
    "update_entries",
    "update_lock_path",
    "write_entries",
]

_TEMPORARY = ".writing-"  # temporary files are ".<name>.writing-<random>.tmp"


def import_filelock() -> Any:
    """The ``filelock`` module, or ``ConfigurationError`` saying how to install it."""
    try:
        import filelock
    except ImportError as exc:  # pragma: no cover - the dev environment has it
        raise ConfigurationError(
            "FileStorage needs filelock: pip install 'mcp-oauth-dynamicclient[file]'"
        ) from exc
    return filelock


def reason(exc: OSError) -> str:
    """The OS's words for ``exc`` (``strerror``), without the errno and path around them."""
    return exc.strerror or str(exc)


# ---------------------------------------------------------------------------------- lock files


def update_lock_path(path: Path) -> Path:
    """The lock file that guards every read-modify-write of the token file at ``path``."""
    return path.with_name(path.name + ".lock")


def key_lock_path(path: Path, key: str) -> Path:
    """The lock file of ``key`` beside the token file at ``path``."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return path.with_name(f"{path.name}.{digest[:16]}.lock")


def new_lock(lock_path: Path) -> filelock.FileLock:
    """A released lock on ``lock_path`` that any thread may take and release."""
    lock: filelock.FileLock = import_filelock().FileLock(lock_path, mode=0o600, thread_local=False)
    return lock


def try_acquire(lock: filelock.FileLock) -> bool:
    """One non-blocking attempt at ``lock``; ``StorageError`` if the lock file cannot be used."""
    timeout_error = import_filelock().Timeout
    try:
        lock.acquire(blocking=False)
    except timeout_error:
        return False
    except OSError as exc:
        raise StorageError(f"cannot lock {lock.lock_file}: {reason(exc)}") from exc
    return True


# ------------------------------------------------------------------------------ the token file


def make_directory(directory: Path) -> None:
    """Create ``directory`` (0700, whatever the umask) and its parents, unless it exists."""
    if directory.is_dir():
        return
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
    except OSError as exc:
        raise StorageError(f"cannot create the directory {directory}: {reason(exc)}") from exc


def read_entries(path: Path) -> dict[str, Any]:
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
        raise StorageError(f"cannot read token file {path}: {reason(exc)}") from exc
    return parse_document(data, path)


def update_entries(path: Path, change: Callable[[dict[str, Any]], bool]) -> None:
    """Read the entries, apply ``change`` and, if it returns True, write them back.

    Only called with the update lock held, so no other writer's entry is lost.
    """
    entries = read_entries(path)
    if change(entries):
        write_entries(path, entries)


def write_entries(path: Path, entries: dict[str, Any]) -> None:
    """Replace the file at ``path`` atomically with ``entries`` (see the module docstring)."""
    data = document_bytes(entries)
    directory = path.parent
    _remove_leftovers(path)
    try:
        # mkstemp creates the file with mode 0600 (less under a strict umask), never wider.
        descriptor, temporary = tempfile.mkstemp(
            prefix=f".{path.name}{_TEMPORARY}", suffix=".tmp", dir=directory
        )
    except OSError as exc:
        raise StorageError(f"cannot write token file {path}: {reason(exc)}") from exc
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
            raise StorageError(f"cannot write token file {path}: {reason(exc)}") from exc
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
        raise StorageError(f"cannot sync the directory {directory}: {reason(exc)}") from exc
