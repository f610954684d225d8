"""Blocking operations on the token file of ``FileStorage``: read, atomic rewrite, lock files.

Every function here may wait for the disk. The blocking ``SyncFileStorage`` calls them
directly; the asyncio ``FileStorage`` runs them in a worker thread (``async_to_thread``), so
an fsync never stalls its event loop. The file's format is in ``_storage_format``.

Secrecy: the file is created with mode 0600 and, if its directory is missing, the directory
with 0700. Before the file is read, and before anything is written beside it, the storage
checks what OpenSSH's ``StrictModes`` checks of a private key and its directories, and
refuses with ``StorageError`` (saying what to change) rather than fix anything silently:

- the file must belong to the user this process runs as (its effective uid): a file someone
  else owns may hold tokens of their choosing (``chown`` it, or use another path);
- it must have no group or other permission bit: its tokens may already have leaked
  (``chmod 600 <path>`` once they are checked);
- no directory on its path (as written, and with symlinks resolved) may be writable by
  others without the sticky bit: whoever can write a directory can rename, replace or
  remove the files in it, the lock files included. ``/tmp`` (mode 1777) is fine: its sticky
  bit lets only a file's owner rename or remove it, and a file another user plants there is
  refused by the owner rule. A directory writable by its group is fine when that group is
  a user private group (its one member is the directory's owner, whose primary group it
  is), as Debian's OpenSSH allows: the default of ``umask 002`` systems;
- a lock file must be a regular file of the same user, not a symlink someone planted.

Windows has no such mode bits; there these checks are skipped.

A file that cannot be read as a token file (damaged, another program's, another format
version) is left alone until :func:`set_aside` (the storages' ``quarantine()``) moves it to
``<name>.corrupt-<UTC time>``, mode 0600, so the next write starts a new file.

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
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._storage_format import document_bytes, parse_document
from .exceptions import ConfigurationError, StorageError

if TYPE_CHECKING:
    import filelock

__all__ = [
    "check_directories",
    "import_filelock",
    "key_lock_path",
    "new_lock",
    "prepare_directory",
    "read_entries",
    "reason",
    "set_aside",
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
    """A released lock on ``lock_path`` that any thread may take and release.

    ``StorageError`` if a lock file is already there that is not a regular file of this
    process's user: opening a planted symlink would truncate whatever it points to.
    """
    try:
        status = os.lstat(lock_path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise StorageError(f"cannot lock {lock_path}: {reason(exc)}") from exc
    else:
        if os.name != "nt" and (not stat.S_ISREG(status.st_mode) or status.st_uid != _me()):
            raise StorageError(
                f"lock file {lock_path} is not a regular file of this user (uid {_me()}): "
                "someone else may have put it there. Check it, then remove it"
            )
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


def prepare_directory(path: Path) -> None:
    """Create the directory of the token file ``path`` and its missing parents, each 0700
    whatever the umask, unless it exists; then check its path (module docstring)."""
    directory = path.parent
    missing = [] if directory.is_dir() else [directory, *directory.parents]
    for each in reversed([each for each in missing if not each.is_dir()]):
        try:
            each.mkdir(mode=0o700, exist_ok=True)
            os.chmod(each, 0o700)
        except OSError as exc:
            raise StorageError(f"cannot create the directory {each}: {reason(exc)}") from exc
    check_directories(path)


def read_entries(path: Path) -> dict[str, Any]:
    """The entries of the file at ``path`` (none if it is missing), or ``StorageError``."""
    try:
        with open(path, "rb") as handle:
            _check_file(path, os.fstat(handle.fileno()))
            check_directories(path)
            data = handle.read()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise StorageError(f"cannot read token file {path}: {reason(exc)}") from exc
    return parse_document(data, path)


def set_aside(path: Path, now: float) -> Path | None:
    """Move the file at ``path`` to ``<name>.corrupt-<UTC time of now>`` (0600) if it cannot
    be read as a token file; return where it went, or None if there is no such file.

    A token file that reads well is left in place (None): setting it aside would log every
    client out. A file of another user is refused, as on every read. Only called with the
    update lock held, so no writer replaces the file meanwhile.
    """
    check_directories(path)
    try:
        with open(path, "rb") as handle:
            _check_owner(path, os.fstat(handle.fileno()))
            if _is_token_file(handle.read(), path):
                return None
            if os.name != "nt":
                os.fchmod(handle.fileno(), 0o600)
        target = _corrupt_name(path, now)
        os.rename(path, target)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StorageError(f"cannot set aside token file {path}: {reason(exc)}") from exc
    _sync_directory(path.parent)
    return target


def _is_token_file(data: bytes, path: Path) -> bool:
    """Whether ``data``, the bytes of the file at ``path``, read as a token file."""
    try:
        parse_document(data, path)
    except StorageError:
        return False
    return True


def _corrupt_name(path: Path, now: float) -> Path:
    """``<path>.corrupt-<UTC time>``, with ``-2``, ``-3``… after it if that name is taken."""
    stem = f"{path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(now))}"
    candidate, number = path.with_name(stem), 1
    while os.path.lexists(candidate):
        number += 1
        candidate = path.with_name(f"{stem}-{number}")
    return candidate


# ------------------------------------------------------------------- who may touch the file


def _me() -> int:
    """The effective uid of this process: the user whose files the storage trusts."""
    return os.geteuid()


def _check_owner(path: Path, status: os.stat_result) -> None:
    """``StorageError`` unless the token file belongs to this process's user."""
    if os.name != "nt" and status.st_uid != _me():
        raise StorageError(
            f"token file {path} belongs to uid {status.st_uid}, not to the user this process "
            f"runs as (uid {_me()}): whoever owns it can change the tokens it holds. If it "
            f"is yours, run: chown {_me()} {path}; else give the storage another path"
        )


def _check_file(path: Path, status: os.stat_result) -> None:
    """``StorageError`` unless the token file is this user's and private (module docstring)."""
    _check_owner(path, status)
    mode = status.st_mode
    if os.name != "nt" and mode & 0o077:
        raise StorageError(
            f"token file {path} is readable or writable by others "
            f"(mode {stat.S_IMODE(mode):04o}); its tokens may have leaked. "
            f"Check them, then run: chmod 600 {path}"
        )


def check_directories(path: Path) -> None:
    """``StorageError`` if a directory on the path of the token file ``path`` is writable by
    others without the sticky bit (module docstring); directories not there yet are skipped."""
    if os.name == "nt":  # pragma: no cover
        return
    for directory in _directories(path):
        try:
            status = os.stat(directory)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise StorageError(f"cannot check the directory {directory}: {reason(exc)}") from exc
        writers = _other_writers(status)
        if writers:
            raise StorageError(
                f"the directory {directory} (mode {stat.S_IMODE(status.st_mode):04o}) can be "
                f"written by {writers} and has no sticky bit: they could replace the token "
                f"file {path} or its lock files. Run: chmod go-w {directory}, or keep the "
                "file in a directory only you can write"
            )


def _directories(path: Path) -> list[Path]:
    """The directories that decide who can replace ``path``: its parent and the parent's
    ancestors, as written and with symlinks resolved."""
    parent = path.parent
    resolved = Path(os.path.realpath(parent))
    return list(dict.fromkeys([parent, *parent.parents, resolved, *resolved.parents]))


def _other_writers(status: os.stat_result) -> str | None:
    """Who, besides the owner, may create, rename and remove files in a directory with
    ``status``: ``"anyone"``, the members of its group, or None (only the owner)."""
    mode = status.st_mode
    if mode & stat.S_ISVTX:
        return None
    if mode & stat.S_IWOTH:
        return "anyone"
    if mode & stat.S_IWGRP and not _private_group(status.st_gid, status.st_uid):
        return f"the members of its group (gid {status.st_gid})"
    return None


def _private_group(gid: int, owner: int) -> bool:
    """Whether group ``gid`` has one member, ``owner``, whose primary group it is: then group
    write permission lets no one else in (Debian's OpenSSH "user-group-modes" rule)."""
    import grp
    import pwd

    try:
        group = grp.getgrgid(gid)
        user = pwd.getpwuid(owner)
    except KeyError:
        return False
    if user.pw_gid != gid or any(member != user.pw_name for member in group.gr_mem):
        return False
    return all(entry.pw_uid == owner for entry in pwd.getpwall() if entry.pw_gid == gid)


# ---------------------------------------------------------------------------------- writing


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
