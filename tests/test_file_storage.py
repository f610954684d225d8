"""FileStorage and SyncFileStorage: the JSON file, its modes, atomic writes and the locks.

Most tests run once per flavour through a blocking face (``storage_helpers``); the ones about
processes start real child processes sharing the file, and the locking ones check who waits.
"""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from mcp_oauth_dynamicclient._async.file_storage import FORMAT, FileStorage
from mcp_oauth_dynamicclient._sync.file_storage import SyncFileStorage
from mcp_oauth_dynamicclient.exceptions import StorageError, ValidationError
from tests.storage_helpers import (
    BlockingStorage,
    Child,
    StorageFlavour,
    flavoured_script,
    storage_flavour,
)

NESTED = {
    "access_token": "at-1",
    "expires_at": 1_900_000_000.5,
    "scope": "read write",
    "extra": {"list": [1, 2.5, None, True, "é\u2603"], "empty": {}, "deep": {"a": {"b": [[]]}}},
}


class Make:
    """Builds a ``FileStorage`` (async) or ``SyncFileStorage`` with blocking methods."""

    def __init__(self, flavour: StorageFlavour) -> None:
        self.flavour = flavour.name
        self._flavour = flavour

    def __call__(self, path: Path, **options: Any) -> BlockingStorage:
        return self._flavour.make(FileStorage, SyncFileStorage, path, **options)


@pytest.fixture(params=["sync", "async"])
def make(request: pytest.FixtureRequest) -> Iterator[Make]:
    """Each test runs with ``SyncFileStorage`` and with ``FileStorage``."""
    with storage_flavour(request.param) as flavour:
        yield Make(flavour)


def leftovers(directory: Path) -> list[str]:
    """Temporary files of writers in ``directory``."""
    return sorted(name for name in os.listdir(directory) if name.endswith(".tmp"))


def document(entries: dict[str, Any], **fields: Any) -> bytes:
    """A token file's bytes, with ``fields`` overriding the standard ones."""
    return json.dumps({"format": FORMAT, "version": 1, "entries": entries, **fields}).encode()


# ------------------------------------------------------------------------------ the four methods


def test_entries_survive_a_new_storage_and_the_file_is_the_documented_json(
    make: Make, tmp_path: Path
) -> None:
    path = tmp_path / "tokens.json"
    make(path).store_token("k", NESTED)
    assert make(path).retrieve_token("k") == NESTED
    assert json.loads(path.read_text()) == {
        "format": FORMAT,
        "version": 1,
        "entries": {"k": NESTED},
    }


def test_a_relative_path_is_fixed_when_the_storage_is_made(
    make: Make, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    storage = make(Path("tokens.json"))
    monkeypatch.chdir(tmp_path.parent)
    storage.store_token("k", {"a": 1})
    assert (tmp_path / "tokens.json").is_file()
    assert repr(storage.storage).endswith(f"({str(tmp_path / 'tokens.json')!r})")


# -------------------------------------------------------------------------------------- secrecy


def test_file_is_0600_and_a_new_directory_0700_whatever_the_umask(
    make: Make, tmp_path: Path
) -> None:
    path = tmp_path / "new" / "dir" / "tokens.json"
    previous = os.umask(0)
    try:
        storage = make(path)
        storage.store_token("k", {"a": 1})
        with storage.lock("k"):
            pass
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in path.parent.iterdir()}
    assert modes["tokens.json"] == 0o600
    assert set(modes.values()) == {0o600}, modes  # the lock files too


def test_an_existing_directory_keeps_its_mode(make: Make, tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    make(tmp_path / "tokens.json").store_token("k", {"a": 1})
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_file_others_can_read_is_refused_and_left_alone(
    make: Make, tmp_path: Path, mode: int
) -> None:
    path = tmp_path / "tokens.json"
    storage = make(path)
    storage.store_token("k", {"a": 1})
    path.chmod(mode)
    before = path.read_bytes()
    for call in (
        lambda: storage.retrieve_token("k"),
        storage.list_tokens,
        lambda: storage.store_token("j", {}),
        lambda: storage.delete_token("k"),
    ):
        with pytest.raises(StorageError, match=f"mode 0{mode:o}.*chmod 600 {path}"):
            call()
    assert path.read_bytes() == before
    assert stat.S_IMODE(path.stat().st_mode) == mode
    path.chmod(0o600)
    assert storage.retrieve_token("k") == {"a": 1}


# ---------------------------------------------------------------------------- files not ours


@pytest.mark.parametrize(
    ("content", "fault"),
    [
        (b'{"format": "mcp-oauth-dyn', "is not valid JSON"),
        (b"\xff\xfe\x00garbage", "is not valid JSON"),
        (b'{"theme": "dark", "entries": {}}', "is not a token file of this library"),
        (b"[1, 2, 3]", "is not a token file of this library"),
        (document({}, version=2), "has format version 2, and this version"),
        (document({}, version="1"), "has format version '1'"),
        (document({}, version=None), "has format version None"),
        (document([]), 'has no "entries" object'),  # type: ignore[arg-type]
        (document({"a": {}, "b": "tok"}), "has an entry 'b' that is not an object"),
    ],
)
def test_a_file_that_is_not_ours_raises_and_is_never_overwritten(
    make: Make, tmp_path: Path, content: bytes, fault: str
) -> None:
    path = tmp_path / "tokens.json"
    path.write_bytes(content)
    path.chmod(0o600)
    storage = make(path)
    for call in (
        lambda: storage.retrieve_token("a"),
        storage.list_tokens,
        lambda: storage.store_token("a", {"access_token": "new"}),
        lambda: storage.delete_token("a"),
    ):
        with pytest.raises(StorageError) as raised:
            call()
        assert str(path) in str(raised.value)
        assert fault in str(raised.value)
        assert "left unchanged" in str(raised.value)
    assert path.read_bytes() == content
    assert leftovers(tmp_path) == []


def test_an_empty_file_holds_no_entries(make: Make, tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.touch(mode=0o600)
    storage = make(path)
    assert storage.list_tokens() == []
    storage.store_token("k", {"a": 1})
    assert storage.retrieve_token("k") == {"a": 1}


def test_a_directory_in_place_of_the_file_is_a_storage_error(make: Make, tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.mkdir()
    with pytest.raises(StorageError, match=f"cannot read token file {path}"):
        make(path).retrieve_token("k")


# -------------------------------------------------------------------------------- atomic writes


def test_a_failed_rename_keeps_the_old_file_and_leaves_no_temporary_file(
    make: Make, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tokens.json"
    storage = make(path)
    storage.store_token("old", {"a": 1})
    before = path.read_bytes()

    def refuse(source: Any, target: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(StorageError, match=f"cannot write token file {path}: No space left"):
        storage.store_token("new", {"b": 2})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []
    assert storage.list_tokens() == ["old"]


STOP_IN_FSYNC = """
import os
from mcp_oauth_dynamicclient._async.file_storage import FileStorage

def stop(descriptor: int) -> None:  # the new file is written, not yet renamed into place
    print("mid-write", flush=True)
    sys.stdin.readline()

async def main() -> None:
    storage = FileStorage(ARGS[0])
    await storage.store_token("token", {"access_token": "old"})
    os.fsync = stop
    await storage.store_token("token", {"access_token": "new"})
"""


def test_a_writer_killed_mid_write_leaves_the_previous_file_whole(
    make: Make, tmp_path: Path
) -> None:
    path = tmp_path / "tokens.json"
    with Child(flavoured_script(STOP_IN_FSYNC, make.flavour), str(path)) as writer:
        writer.expect("mid-write")
        [temporary] = leftovers(tmp_path)
        assert stat.S_IMODE((tmp_path / temporary).stat().st_mode) == 0o600
        writer.kill()
    storage = make(path)
    assert storage.retrieve_token("token") == {"access_token": "old"}
    # The temporary file of the writer that died is removed by the next write.
    storage.store_token("after", {})
    assert leftovers(tmp_path) == []
    assert storage.list_tokens() == ["after", "token"]


WRITE_FOREVER = """
from mcp_oauth_dynamicclient._async.file_storage import FileStorage

async def main() -> None:
    storage = FileStorage(ARGS[0])
    payload = "x" * 1_000_000
    n = 0
    while True:
        n += 1
        await storage.store_token("big", {"n": n, "payload": payload, "end": n})
        if n == 3:
            print("writing", flush=True)
"""


def test_writers_killed_at_any_moment_leave_a_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    storage = SyncFileStorage(path)
    storage.store_token("other", {"kept": True})
    for pause, flavour in [(0.0, "sync"), (0.011, "async"), (0.023, "sync"), (0.037, "async")]:
        with Child(flavoured_script(WRITE_FOREVER, flavour), str(path)) as writer:
            writer.expect("writing")
            time.sleep(pause)
            writer.kill()
        big = storage.retrieve_token("big")
        assert big is not None
        assert big["n"] >= 3
        assert big["end"] == big["n"]
        assert big["payload"] == "x" * 1_000_000
        assert storage.retrieve_token("other") == {"kept": True}


# ---------------------------------------------------------------------- concurrent writers

WRITE_KEYS = """
from mcp_oauth_dynamicclient._async.file_storage import FileStorage

async def main() -> None:
    storage = FileStorage(ARGS[0])
    worker, count = ARGS[1], int(ARGS[2])
    print("ready", flush=True)
    sys.stdin.readline()
    for n in range(count):
        await storage.store_token(f"{worker}-{n}", {"worker": worker, "n": n})
"""


def test_eight_processes_writing_at_once_lose_no_entry(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    workers = [
        Child(flavoured_script(WRITE_KEYS, "sync" if n % 2 else "async"), str(path), f"w{n}", "50")
        for n in range(8)
    ]
    try:
        for worker in workers:
            worker.expect("ready")
        for worker in workers:
            worker.send()  # all start together
        for worker in workers:
            worker.finish()
    finally:
        for worker in workers:
            worker.kill()
    entries = json.loads(path.read_text())["entries"]
    assert len(entries) == 400
    for n in range(8):
        for m in range(50):
            assert entries[f"w{n}-{m}"] == {"worker": f"w{n}", "n": m}


def test_threads_sharing_a_storage_lose_no_entry(tmp_path: Path) -> None:
    storage = SyncFileStorage(tmp_path / "tokens.json")

    def write(worker: int) -> None:
        for n in range(25):
            storage.store_token(f"t{worker}-{n}", {"n": n})
            if n % 5 == 0:
                storage.delete_token(f"t{worker}-{n}")

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = sorted(f"t{w}-{n}" for w in range(8) for n in range(25) if n % 5)
    assert storage.list_tokens() == expected


@pytest.mark.anyio
async def test_tasks_sharing_a_storage_lose_no_entry(tmp_path: Path) -> None:
    storage = FileStorage(tmp_path / "tokens.json")

    async def write(worker: int) -> None:
        for n in range(10):
            await storage.store_token(f"t{worker}-{n}", {"n": n})

    async with anyio.create_task_group() as group:
        for worker in range(16):
            group.start_soon(write, worker)
    assert len(await storage.list_tokens()) == 160


# ------------------------------------------------------------------------------------- locking

HOLD_AND_DIE = """
from mcp_oauth_dynamicclient._async.file_storage import FileStorage

async def main() -> None:
    storage = FileStorage(ARGS[0])
    async with storage.lock("k"):
        print("locked", flush=True)
        sys.stdin.readline()
"""


def test_the_lock_of_a_process_that_died_is_free_at_once(make: Make, tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    storage = make(path)
    with Child(flavoured_script(HOLD_AND_DIE, make.flavour), str(path)) as holder:
        holder.expect("locked")
        with pytest.raises(StorageError), storage.lock("k", timeout=0.1):
            pass
        holder.kill()
    with storage.lock("k", timeout=0.5):
        pass


def test_the_lock_makes_another_thread_wait(tmp_path: Path) -> None:
    storage = SyncFileStorage(tmp_path / "tokens.json")
    order: list[str] = []
    held = threading.Event()

    def hold() -> None:
        with storage.lock("k"):
            held.set()
            time.sleep(0.2)
            order.append("first done")

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait()
    with pytest.raises(StorageError), storage.lock("k", timeout=0.05):
        pass
    with storage.lock("k", timeout=10):
        order.append("second in")
    thread.join()
    assert order == ["first done", "second in"]


@pytest.mark.parametrize("timeout", [-1, float("nan"), "5"])
def test_a_bad_timeout_is_refused(tmp_path: Path, timeout: Any) -> None:
    storage = SyncFileStorage(tmp_path / "tokens.json")
    with pytest.raises(ValidationError, match="lock timeout"), storage.lock("k", timeout=timeout):
        pass
    with pytest.raises(ValidationError, match="lock timeout"):
        SyncFileStorage(tmp_path / "tokens.json", lock_timeout=timeout)


def test_a_writer_waiting_too_long_for_another_gets_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    storage = SyncFileStorage(path, lock_timeout=0.1)
    with SyncFileStorage(path).lock("k"):  # a per-key lock does not block writes
        storage.store_token("a", {})
    import filelock

    with filelock.FileLock(f"{path}.lock"):  # a writer in the middle of an update
        with pytest.raises(StorageError, match="could not take the file for writing"):
            storage.store_token("b", {})
        assert storage.retrieve_token("a") == {}  # reads need no lock
    storage.store_token("b", {})
