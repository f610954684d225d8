"""FileStorage refuses files and directories others control, as OpenSSH's StrictModes does
(issue 12, item 11).

A token file of another user, a directory on its path that others may write without the
sticky bit, a lock file someone planted: each is refused with ``StorageError`` saying what to
change, by every method and in both flavours, and nothing is read from or written there.

Files of another user are made for real (``chown`` to ``nobody``) when the tests run as
root, as in CI; otherwise the storage is made to see this process as another user. Which
groups are private comes from the account database, which the group tests replace with one
of their own.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import filelock
import pytest

from mcp_oauth_dynamicclient._async.file_storage import FORMAT, FileStorage
from mcp_oauth_dynamicclient._sync.file_storage import SyncFileStorage
from mcp_oauth_dynamicclient.exceptions import StorageError
from tests.storage_helpers import BlockingStorage, storage_flavour

NOBODY = 65534


@pytest.fixture(params=["sync", "async"])
def make(request: pytest.FixtureRequest) -> Iterator[Callable[[Path], BlockingStorage]]:
    """Each test runs with ``SyncFileStorage`` and with ``FileStorage``."""
    with storage_flavour(request.param) as flavour:
        yield lambda path: flavour.make(FileStorage, SyncFileStorage, path)


def calls(storage: BlockingStorage) -> dict[str, Callable[[], Any]]:
    """Every method of a storage, each with arguments that would succeed on a good file."""

    def lock() -> None:
        with storage.lock("k", timeout=1):
            pass

    return {
        "retrieve_token": lambda: storage.retrieve_token("k"),
        "list_tokens": storage.list_tokens,
        "store_token": lambda: storage.store_token("j", {"b": 2}),
        "delete_token": lambda: storage.delete_token("k"),
        "lock": lock,
        "quarantine": lambda: (
            storage.storage.quarantine()
            if storage.portal is None
            else storage.portal.call(storage.storage.quarantine)
        ),
    }


def give_away(path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """Make ``path`` another user's; return that user's uid (see the module docstring)."""
    if os.geteuid() == 0:
        os.chown(path, NOBODY, NOBODY, follow_symlinks=False)
        return NOBODY
    inode, other = os.lstat(path).st_ino, os.geteuid() + 1
    for name in ("stat", "lstat", "fstat"):
        real = getattr(os, name)

        def seen(*args: Any, real: Any = real, **kwargs: Any) -> os.stat_result:
            status: os.stat_result = real(*args, **kwargs)
            if status.st_ino != inode:
                return status
            fields = list(status[:10])
            fields[4] = other  # st_uid
            return os.stat_result(fields)

        monkeypatch.setattr(os, name, seen)
    return other


def good_file(path: Path) -> bytes:
    """A token file holding ``{"k": {"a": 1}}`` at ``path``, mode 0600; its bytes."""
    data = json.dumps({"format": FORMAT, "version": 1, "entries": {"k": {"a": 1}}}).encode()
    path.write_bytes(data)
    path.chmod(0o600)
    return data


# ------------------------------------------------------------------------------ the file's owner


def test_a_file_of_another_user_is_refused_by_every_method_and_left_alone(
    make: Callable[[Path], BlockingStorage], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tokens.json"
    data = good_file(path)
    owner = give_away(path, monkeypatch)
    storage = make(path)
    for name, call in calls(storage).items():
        if name == "lock":
            continue  # a lock reads nothing, and its lock file is this user's
        with pytest.raises(
            StorageError, match=f"token file {path} belongs to uid {owner}"
        ) as raised:
            call()
        assert "chown" in str(raised.value), name
        assert "another path" in str(raised.value), name
    assert path.read_bytes() == data
    assert path.stat().st_uid == owner
    assert sorted(os.listdir(tmp_path)) == ["tokens.json", "tokens.json.lock"]


def test_the_owner_rule_comes_before_the_mode_rule(
    make: Callable[[Path], BlockingStorage], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tokens.json"
    good_file(path)
    path.chmod(0o644)
    give_away(path, monkeypatch)
    with pytest.raises(StorageError, match="belongs to uid"):
        make(path).retrieve_token("k")


def test_a_file_written_again_is_this_users_and_private(
    make: Callable[[Path], BlockingStorage], tmp_path: Path
) -> None:
    path = tmp_path / "tokens.json"
    storage = make(path)
    storage.store_token("k", {"a": 1})
    status = path.stat()
    assert (status.st_uid, stat.S_IMODE(status.st_mode)) == (os.geteuid(), 0o600)


# ---------------------------------------------------------------------------- its directories


@pytest.mark.parametrize("mode", [0o777, 0o703, 0o2777])
def test_a_directory_anyone_can_write_is_refused_by_every_method(
    make: Callable[[Path], BlockingStorage], tmp_path: Path, mode: int
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    path = shared / "tokens.json"
    data = good_file(path)
    shared.chmod(mode)
    storage = make(path)
    for name, call in calls(storage).items():
        with pytest.raises(StorageError) as raised:
            call()
        message = str(raised.value)
        assert f"the directory {shared} (mode {mode:04o}) can be written by anyone" in message
        assert "no sticky bit" in message, name
        assert f"chmod go-w {shared}" in message, name
    assert path.read_bytes() == data
    assert sorted(os.listdir(shared)) == ["tokens.json"]  # not even a lock file
    shared.chmod(0o755)
    assert storage.retrieve_token("k") == {"a": 1}


def test_a_new_file_is_not_written_into_a_directory_anyone_can_write(
    make: Callable[[Path], BlockingStorage], tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    storage = make(shared / "tokens.json")
    assert storage.retrieve_token("k") is None  # nothing there to read, nothing read
    with pytest.raises(StorageError, match="can be written by anyone"):
        storage.store_token("k", {"a": 1})
    assert os.listdir(shared) == []


def test_a_sticky_directory_anyone_can_write_is_fine(
    make: Callable[[Path], BlockingStorage], tmp_path: Path
) -> None:
    # Like /tmp: only a file's owner may rename or remove it there.
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    storage = make(shared / "tokens.json")
    storage.store_token("k", {"a": 1})
    with storage.lock("k"):
        assert storage.retrieve_token("k") == {"a": 1}


def test_a_directory_higher_up_anyone_can_write_is_refused(
    make: Callable[[Path], BlockingStorage], tmp_path: Path
) -> None:
    # Whoever can write "open" can rename "private" away and put a directory of theirs there.
    private = tmp_path / "open" / "private"
    private.mkdir(parents=True)
    (tmp_path / "open").chmod(0o777)
    with pytest.raises(StorageError, match=f"the directory {tmp_path / 'open'} "):
        make(private / "tokens.json").store_token("k", {})
    assert os.listdir(private) == []


def test_the_directories_a_symlink_leads_through_are_checked_too(
    make: Callable[[Path], BlockingStorage], tmp_path: Path
) -> None:
    real = tmp_path / "open" / "real"
    real.mkdir(parents=True)
    (tmp_path / "open").chmod(0o777)
    safe = tmp_path / "safe"
    safe.mkdir()
    (safe / "link").symlink_to(real)
    with pytest.raises(StorageError, match=f"the directory {tmp_path / 'open'} "):
        make(safe / "link" / "tokens.json").store_token("k", {})
    assert os.listdir(real) == []


def test_new_directories_are_0700_at_every_level_whatever_the_umask(
    make: Callable[[Path], BlockingStorage], tmp_path: Path
) -> None:
    path = tmp_path / "a" / "b" / "c" / "tokens.json"
    previous = os.umask(0)
    try:
        make(path).store_token("k", {})
    finally:
        os.umask(previous)
    for directory in (tmp_path / "a", tmp_path / "a" / "b", path.parent):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory


class Accounts(NamedTuple):
    """A pretend account database: groups by gid (with supplementary members), users by uid
    (with their primary gid)."""

    groups: dict[int, list[str]]
    users: dict[int, tuple[str, int]]


@pytest.fixture
def accounts(monkeypatch: pytest.MonkeyPatch) -> Accounts:
    """An account database of the test's own, seen by the storage's group rule."""
    made = Accounts({}, {})

    def getgrgid(gid: int) -> grp.struct_group:
        if gid not in made.groups:
            raise KeyError(gid)
        return grp.struct_group((f"g{gid}", "x", gid, made.groups[gid]))

    def entry(uid: int) -> pwd.struct_passwd:
        name, gid = made.users[uid]
        return pwd.struct_passwd((name, "x", uid, gid, "", "/", "/bin/sh"))

    def getpwuid(uid: int) -> pwd.struct_passwd:
        if uid not in made.users:
            raise KeyError(uid)
        return entry(uid)

    monkeypatch.setattr(grp, "getgrgid", getgrgid)
    monkeypatch.setattr(pwd, "getpwuid", getpwuid)
    monkeypatch.setattr(pwd, "getpwall", lambda: [entry(uid) for uid in made.users])
    return made


def group_writable(tmp_path: Path) -> tuple[Path, int, int]:
    """A directory ``shared`` of mode 0770 in ``tmp_path``; its path, owner and group."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o770)
    status = shared.stat()
    return shared, status.st_uid, status.st_gid


def test_a_group_writable_directory_of_a_user_private_group_is_fine(
    make: Callable[[Path], BlockingStorage], tmp_path: Path, accounts: Accounts
) -> None:
    # umask 002 systems: the user's own group, of which the user is the only member.
    shared, owner, gid = group_writable(tmp_path)
    accounts.users[owner] = ("me", gid)
    accounts.groups[gid] = []
    storage = make(shared / "tokens.json")
    storage.store_token("k", {"a": 1})
    assert storage.retrieve_token("k") == {"a": 1}
    accounts.groups[gid] = ["me"]  # listed as a member as well: still only the owner
    assert storage.retrieve_token("k") == {"a": 1}


@pytest.mark.parametrize(
    "others",
    [
        pytest.param({"groups": ["me", "alice"]}, id="another-member"),
        pytest.param({"other_user": True}, id="another-user-of-that-primary-group"),
        pytest.param({"owner_gid": 4243}, id="not-the-owners-primary-group"),
        pytest.param({"unknown": True}, id="a-group-the-system-does-not-know"),
    ],
)
def test_a_group_writable_directory_of_a_shared_group_is_refused(
    make: Callable[[Path], BlockingStorage],
    tmp_path: Path,
    accounts: Accounts,
    others: dict[str, Any],
) -> None:
    shared, owner, gid = group_writable(tmp_path)
    accounts.users[owner] = ("me", others.get("owner_gid", gid))
    accounts.groups[gid] = others.get("groups", [])
    if others.get("other_user"):
        accounts.users[owner + 4242] = ("alice", gid)
    if others.get("unknown"):
        del accounts.groups[gid]
    with pytest.raises(StorageError, match=f"written by the members of its group \\(gid {gid}\\)"):
        make(shared / "tokens.json").store_token("k", {})
    assert os.listdir(shared) == []


# ----------------------------------------------------------------------------------- lock files


def test_a_symlink_planted_as_a_lock_file_is_refused_and_its_target_untouched(
    make: Callable[[Path], BlockingStorage], tmp_path: Path
) -> None:
    # Opening a lock file truncates it: through a planted symlink, that would empty the target.
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    path = tmp_path / "tokens.json"
    storage = make(path)
    (tmp_path / "tokens.json.lock").symlink_to(victim)
    writes: list[Callable[[], None]] = [
        lambda: storage.store_token("k", {}),
        lambda: storage.delete_token("k"),
    ]
    for call in writes:
        with pytest.raises(StorageError, match=r"lock file .*\.lock is not a regular file"):
            call()
    assert sorted(os.listdir(tmp_path)) == ["tokens.json.lock", "victim.txt"]
    assert victim.read_text() == "precious"
    with storage.lock("k"):  # the lock of a key has a lock file of its own
        pass
    (tmp_path / "tokens.json.lock").unlink()
    storage.store_token("k", {})
    assert victim.read_text() == "precious"


def test_a_lock_file_of_another_user_is_refused(
    make: Callable[[Path], BlockingStorage], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tokens.json"
    lock_file = tmp_path / "tokens.json.lock"
    lock_file.touch(mode=0o600)
    give_away(lock_file, monkeypatch)
    with pytest.raises(StorageError, match="is not a regular file of this user"):
        make(path).store_token("k", {})


def test_lock_files_the_storage_made_itself_are_reused(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    storage = SyncFileStorage(path)
    for _ in range(3):
        storage.store_token("k", {})
        with storage.lock("k"):
            pass
    with filelock.FileLock(f"{path}.lock"):
        pass
    storage.store_token("j", {})
    assert storage.list_tokens() == ["j", "k"]
