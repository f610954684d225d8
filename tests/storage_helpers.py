"""Helpers of the storage tests: both flavours behind one blocking face, and child processes
that share a storage with the test (the throwaway ``redis-server`` is in ``redis_server``).
"""

from __future__ import annotations

import functools
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from typing import Any

import anyio.from_thread

from codegen.unasync import unasync_source

__all__ = [
    "FILE_HOLD_LOCK",
    "REDIS_CLUSTER_HOLD_LOCK",
    "REDIS_HOLD_LOCK",
    "BlockingStorage",
    "Child",
    "StorageFlavour",
    "flavoured_script",
    "storage_flavour",
    "wait_until",
]


FILE_HOLD_LOCK = """
from mcp_oauth_dynamicclient._async.file_storage import FileStorage
from mcp_oauth_dynamicclient._concurrency import async_sleep

async def main() -> None:
    storage = FileStorage(ARGS[0])
    async with storage.lock("k"):
        print("locked", flush=True)
        sys.stdin.readline()
        await async_sleep(0.3)
        await storage.store_token("holder", {"done": True})
    print("released", flush=True)
"""
"""A child (see :func:`flavoured_script`) holding the lock of ``"k"`` of the token file
``ARGS[0]`` until it reads a line, then storing ``holder`` and letting go."""

REDIS_HOLD_LOCK = """
from mcp_oauth_dynamicclient._async.redis_storage import RedisStorage
from mcp_oauth_dynamicclient._concurrency import async_sleep

async def main() -> None:
    storage = RedisStorage("127.0.0.1", int(ARGS[0]), prefix=ARGS[1])
    async with storage.lock("k", timeout=float(ARGS[2])):
        print("locked", flush=True)
        sys.stdin.readline()
        await async_sleep(0.3)
        await storage.store_token("holder", {"done": True})
    print("released", flush=True)
    await storage.aclose()
"""
"""The same on Redis: ``ARGS`` are the server's port, the key prefix and the lock's timeout."""

REDIS_CLUSTER_HOLD_LOCK = """
import redis.asyncio
from mcp_oauth_dynamicclient._async.redis_storage import RedisStorage
from mcp_oauth_dynamicclient._concurrency import async_sleep

async def main() -> None:
    cluster = redis.asyncio.RedisCluster(host="127.0.0.1", port=int(ARGS[0]))
    storage = RedisStorage(client=cluster, prefix=ARGS[1])
    async with storage.lock("k", timeout=float(ARGS[2])):
        print("locked", flush=True)
        sys.stdin.readline()
        await async_sleep(0.3)
        await storage.store_token("holder", {"done": True})
    print("released", flush=True)
    await cluster.aclose()
"""
"""The same on a Redis Cluster: ``ARGS`` are the port of one of its nodes, the key prefix
and the lock's timeout."""


class BlockingStorage:
    """A storage of either flavour with blocking methods (the asyncio one runs on a portal)."""

    def __init__(self, storage: Any, portal: anyio.from_thread.BlockingPortal | None) -> None:
        self.storage = storage
        self.portal = portal

    def _run(self, method: str, *args: Any, **kwargs: Any) -> Any:
        call = functools.partial(getattr(self.storage, method), *args, **kwargs)
        return call() if self.portal is None else self.portal.call(call)

    def store_token(self, key: str, token: dict[str, Any]) -> None:
        """``store_token``, blocking."""
        self._run("store_token", key, token)

    def retrieve_token(self, key: str) -> dict[str, Any] | None:
        """``retrieve_token``, blocking."""
        entry: dict[str, Any] | None = self._run("retrieve_token", key)
        return entry

    def delete_token(self, key: str) -> None:
        """``delete_token``, blocking."""
        self._run("delete_token", key)

    def list_tokens(self) -> list[str]:
        """``list_tokens``, blocking."""
        keys: list[str] = self._run("list_tokens")
        return keys

    @contextmanager
    def lock(self, key: str, *, timeout: float = 30.0) -> Iterator[None]:
        """``lock`` held for the block (entered on the portal for the asyncio flavour)."""
        held = self.storage.lock(key, timeout=timeout)
        if self.portal is None:
            with held:
                yield
        else:
            with self.portal.wrap_async_context_manager(held):
                yield


class StorageFlavour:
    """Makes storages of one flavour (``"sync"`` or ``"async"``) and closes them at the end."""

    def __init__(self, name: str, stack: ExitStack) -> None:
        self.name = name
        self.stack = stack
        self.portal = (
            stack.enter_context(anyio.from_thread.start_blocking_portal("asyncio"))
            if name == "async"
            else None
        )

    @property
    def is_async(self) -> bool:
        """Whether storages are the asyncio classes."""
        return self.portal is not None

    def make(self, async_class: Any, sync_class: Any, *args: Any, **kwargs: Any) -> BlockingStorage:
        """``async_class(*args, **kwargs)`` or ``sync_class(…)``, closed when the test ends.

        The asyncio storage is built on the portal's event loop, where it will run.
        """
        return BlockingStorage(self.build(async_class, sync_class, *args, **kwargs), self.portal)

    def build(self, async_factory: Any, sync_factory: Any, *args: Any, **kwargs: Any) -> Any:
        """``async_factory(*args, **kwargs)`` (made on the portal's loop) or
        ``sync_factory(…)``: a storage or a redis-py client, closed when the test ends."""
        if self.portal is None:
            made = sync_factory(*args, **kwargs)
            if hasattr(made, "close"):
                self.stack.callback(made.close)
            return made
        portal = self.portal

        async def build() -> Any:
            return async_factory(*args, **kwargs)

        made = portal.call(build)
        if hasattr(made, "aclose"):
            self.stack.callback(lambda: portal.call(made.aclose))
        return made


@contextmanager
def storage_flavour(name: str) -> Iterator[StorageFlavour]:
    """A :class:`StorageFlavour` whose storages (and event loop) end with the block."""
    with ExitStack() as stack:
        yield StorageFlavour(name, stack)


def flavoured_script(source: str, flavour: str) -> str:
    """A child's program from ``source``, an asyncio script defining ``async def main()``.

    For the ``"sync"`` flavour the script goes through the same unasync rewrite as the
    library, so a child uses ``SyncFileStorage`` where the source says ``FileStorage``.
    """
    source = textwrap.dedent(source)
    if flavour == "sync":
        return unasync_source(source) + "\nmain()\n"
    return source + "\nimport asyncio\nasyncio.run(main())\n"


class Child:
    """A Python child process running ``code``, talking to the test line by line.

    The child gets ``ARGS`` (the ``args`` given here) as a global; it prints lines the test
    waits for with :meth:`expect`, and reads lines the test sends with :meth:`send`.
    """

    def __init__(self, code: str, *args: str) -> None:
        prelude = f"import sys\nARGS = {list(args)!r}\n"
        self.process = subprocess.Popen(
            [sys.executable, "-c", prelude + textwrap.dedent(code)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put("")  # end of output

    def expect(self, expected: str, timeout: float = 20.0) -> None:
        """Wait for the child to print ``expected``; fail with its stderr if it does not."""
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            line = "<nothing in time>"
        if line != expected:
            self.kill()
            assert self.process.stderr is not None
            raise AssertionError(
                f"child printed {line!r}, not {expected!r}; stderr:\n{self.process.stderr.read()}"
            )

    def send(self, line: str = "") -> None:
        """Write one line to the child's standard input."""
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def finish(self, timeout: float = 30.0) -> None:
        """Wait for a clean exit (status 0), failing with the child's stderr otherwise."""
        assert self.process.stdin is not None
        assert self.process.stderr is not None
        self.process.stdin.close()
        status = self.process.wait(timeout=timeout)
        errors = self.process.stderr.read()
        self.close()
        assert status == 0, errors

    def kill(self) -> None:
        """SIGKILL the child (no clean-up runs in it) and reap it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.close()

    def close(self) -> None:
        """Close the pipes (after the process has ended)."""
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                with suppress(BrokenPipeError):  # stdin of a killed child, unflushed
                    stream.close()
        self._reader.join(timeout=5)

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.kill()


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Poll ``condition`` until it holds (a failure, not a hang, if it never does)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        time.sleep(0.01)
