"""A token file that cannot be read: the error says what to do, and ``quarantine()`` sets the
file aside so the storage starts clean (issue 12, item 12).

Until then the file is refused and left as it was by every method, run after run; the
message names the way out. ``quarantine()`` moves the file to ``<name>.corrupt-<UTC time>``
(0600), returns that path, and leaves a file that reads well where it is.
"""

from __future__ import annotations

import json
import os
import re
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import filelock
import httpx
import pytest

from mcp_oauth_dynamicclient import OAuth2Client, SyncOAuth2Client
from mcp_oauth_dynamicclient._async.file_storage import FORMAT, FileStorage
from mcp_oauth_dynamicclient._sync.file_storage import SyncFileStorage
from mcp_oauth_dynamicclient._token_file import set_aside
from mcp_oauth_dynamicclient.exceptions import StorageError
from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.clients import REDIRECT
from tests.storage_helpers import BlockingStorage, StorageFlavour, storage_flavour

CORRUPT = re.compile(r"tokens\.json\.corrupt-\d{8}T\d{6}Z(-\d+)?")


class Make:
    """Builds a ``FileStorage`` (async) or ``SyncFileStorage``; ``quarantine`` blocks."""

    def __init__(self, flavour: StorageFlavour) -> None:
        self._flavour = flavour

    def __call__(self, path: Path, **options: Any) -> BlockingStorage:
        return self._flavour.make(FileStorage, SyncFileStorage, path, **options)

    def quarantine(self, storage: BlockingStorage) -> Path | None:
        """``storage.quarantine()``, blocking."""
        if self._flavour.portal is None:
            moved: Path | None = storage.storage.quarantine()
        else:
            moved = self._flavour.portal.call(storage.storage.quarantine)
        return moved


@pytest.fixture(params=["sync", "async"])
def make(request: pytest.FixtureRequest) -> Iterator[Make]:
    """Each test runs with ``SyncFileStorage`` and with ``FileStorage``."""
    with storage_flavour(request.param) as flavour:
        yield Make(flavour)


def document(entries: Any, **fields: Any) -> bytes:
    """A token file's bytes, with ``fields`` overriding the standard ones."""
    return json.dumps({"format": FORMAT, "version": 1, "entries": entries, **fields}).encode()


BAD_FILES = [
    pytest.param(b'{"format": "mcp-oauth-dyn', "If it was damaged", id="truncated"),
    pytest.param(b"\xff\xfe\x00garbage", "If it was damaged", id="binary"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, "If it was damaged", id="too-deep"),
    pytest.param(document({"a": "tok"}), "If it was damaged", id="entry-not-an-object"),
    pytest.param(b'{"theme": "dark"}', "If it belongs to another program", id="not-ours"),
    pytest.param(document({}, version=2), "Run the version that wrote it", id="newer-version"),
]


def refusals(storage: BlockingStorage) -> list[Callable[[], Any]]:
    """The calls a file that cannot be read makes fail."""
    return [
        lambda: storage.retrieve_token("a"),
        storage.list_tokens,
        lambda: storage.store_token("a", {"access_token": "new"}),
        lambda: storage.delete_token("a"),
    ]


@pytest.mark.parametrize(("content", "advice"), BAD_FILES)
def test_the_error_says_what_to_do_and_quarantine_starts_clean(
    make: Make, tmp_path: Path, content: bytes, advice: str
) -> None:
    path = tmp_path / "tokens.json"
    path.write_bytes(content)
    path.chmod(0o600)
    storage = make(path)
    for _ in range(2):  # run after run, the same refusal, the file untouched
        for call in refusals(make(path)):
            with pytest.raises(StorageError) as raised:
                call()
            message = str(raised.value)
            assert f"token file {path} " in message
            assert "it was left unchanged" in message
            assert advice in message
            assert "call quarantine() on the storage" in message
            assert "tokens.json.corrupt-<time>" in message
        assert path.read_bytes() == content

    moved = make.quarantine(storage)

    assert moved is not None
    assert moved.parent == tmp_path
    assert CORRUPT.fullmatch(moved.name), moved.name
    assert moved.read_bytes() == content
    assert stat.S_IMODE(moved.stat().st_mode) == 0o600
    assert not path.exists()
    assert storage.retrieve_token("a") is None
    storage.store_token("a", {"access_token": "new"})
    assert make(path).retrieve_token("a") == {"access_token": "new"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert moved.read_bytes() == content


def test_the_time_in_the_name_is_utc_and_a_taken_name_gets_a_number(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    moment = 1_900_000_000.0  # 2030-03-17 17:46:40 UTC
    names = []
    for n in range(3):
        path.write_bytes(b"broken %d" % n)
        path.chmod(0o600)
        moved = set_aside(path, moment)
        assert moved is not None
        names.append(moved.name)
        assert moved.read_bytes() == b"broken %d" % n
    assert names == [
        "tokens.json.corrupt-20300317T174640Z",
        "tokens.json.corrupt-20300317T174640Z-2",
        "tokens.json.corrupt-20300317T174640Z-3",
    ]


def test_a_corrupt_file_others_could_read_is_set_aside_private(make: Make, tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_bytes(b"not json")
    path.chmod(0o644)
    storage = make(path)
    with pytest.raises(StorageError, match="chmod 600"):  # the mode is the first fault seen
        storage.list_tokens()
    moved = make.quarantine(storage)
    assert moved is not None
    assert stat.S_IMODE(moved.stat().st_mode) == 0o600
    assert storage.list_tokens() == []


@pytest.mark.parametrize("content", [None, b"", document({"k": {"a": 1}})])
def test_a_file_that_reads_well_or_no_file_is_left_as_it_is(
    make: Make, tmp_path: Path, content: bytes | None
) -> None:
    path = tmp_path / "tokens.json"
    if content is not None:
        path.write_bytes(content)
        path.chmod(0o600)
    storage = make(path)
    assert make.quarantine(storage) is None
    assert sorted(name for name in os.listdir(tmp_path) if "corrupt" in name) == []
    if content is None:
        assert not path.exists()
    else:
        assert path.read_bytes() == content
        assert storage.list_tokens() == (["k"] if content else [])


def test_a_file_that_reads_well_but_is_not_private_stays_and_keeps_its_advice(
    make: Make, tmp_path: Path
) -> None:
    path = tmp_path / "tokens.json"
    path.write_bytes(document({"k": {"a": 1}}))
    path.chmod(0o640)
    storage = make(path)
    assert make.quarantine(storage) is None
    with pytest.raises(StorageError, match="chmod 600"):
        storage.retrieve_token("k")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_quarantine_waits_for_a_writer_then_gives_up(make: Make, tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_bytes(b"broken")
    path.chmod(0o600)
    storage = make(path, lock_timeout=0.1)
    writing = filelock.FileLock(f"{path}.lock")  # a writer in the middle of an update
    with writing, pytest.raises(StorageError, match="could not take the file for writing"):
        make.quarantine(storage)
    assert path.read_bytes() == b"broken"
    assert make.quarantine(storage) is not None


def test_a_directory_in_place_of_the_file_is_a_storage_error(make: Make, tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.mkdir()
    with pytest.raises(StorageError, match=f"cannot set aside token file {path}"):
        make.quarantine(make(path))
    assert path.is_dir()


# -------------------------------------------------------------------------------- in a client


def test_a_client_on_a_corrupt_file_is_told_the_way_out_and_starts_clean(
    server: MockAuthServer, tmp_path: Path
) -> None:
    path = tmp_path / "tokens.json"
    path.write_bytes(b'{"format": "mcp-oauth-dynamicclient/token-st')  # cut off mid-write
    path.chmod(0o600)
    storage = SyncFileStorage(path)
    with SyncOAuth2Client(
        server.url, redirect_uris=[REDIRECT], resource=server.resource_url, storage=storage
    ) as client:
        with pytest.raises(StorageError, match=r"call quarantine\(\) on the storage"):
            client.register()
        assert server.requests.count("/register") == 0
        moved = storage.quarantine()
        assert moved is not None
        client.register()
        callback = httpx.get(client.get_authorization_url()).headers["location"]
        client.exchange_code(callback)
        assert client.authenticated_request("GET", server.resource_url).status_code == 200
    assert server.requests.count("/register", method="POST") == 1
    assert set(SyncFileStorage(path).list_tokens()) >= {"registration:" + server.url}


@pytest.mark.anyio
async def test_the_asyncio_client_too(server: MockAuthServer, tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    path.write_bytes(document({}, version=99))
    path.chmod(0o600)
    storage = FileStorage(path)
    async with OAuth2Client(server.url, redirect_uris=[REDIRECT], storage=storage) as client:
        with pytest.raises(StorageError, match="Run the version that wrote it"):
            await client.register()
        before = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        moved = await storage.quarantine()
        after = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        assert moved is not None
        assert moved.name in {f"tokens.json.corrupt-{before}", f"tokens.json.corrupt-{after}"}
        await client.register()
    assert await FileStorage(path).list_tokens() == ["registration:" + server.url]
