"""The few primitives whose asyncio and blocking forms differ, under names ``unasync`` maps.

``_async/`` code uses the ``async_*`` / ``Async*`` names; its generated ``_sync/`` twin uses
``sync_*`` / ``Sync*``. asyncio is imported when first needed, so a blocking program never
loads it. Blocking work that ``_async/`` code must do (disk I/O) goes through
:func:`async_to_thread`, whose twin :func:`sync_to_thread` simply calls.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from types import TracebackType
from typing import Any, TypeVar, TypeVarTuple

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")

__all__ = [
    "AsyncLock",
    "SyncLock",
    "async_renewing",
    "async_resolve",
    "async_settle",
    "async_sleep",
    "async_to_thread",
    "sync_renewing",
    "sync_resolve",
    "sync_settle",
    "sync_sleep",
    "sync_to_thread",
]


async def async_sleep(seconds: float) -> None:
    """``asyncio.sleep``; cancelling the task interrupts it."""
    import asyncio

    await asyncio.sleep(seconds)


async def async_settle(value: object) -> None:
    """Await what a callback returned when it is awaitable (a coroutine function's result)."""
    if inspect.isawaitable(value):
        await value


def sync_settle(value: object) -> None:
    """``async_settle`` for a blocking client, which cannot await: an awaitable is refused."""
    if inspect.isawaitable(value):
        if inspect.iscoroutine(value):
            value.close()  # never awaited: no "coroutine was never awaited" warning
        from .exceptions import ConfigurationError

        raise ConfigurationError(
            "a blocking client's callbacks must be plain functions, not coroutine functions"
        )


async def async_resolve(value: _T | Awaitable[_T]) -> _T:
    """What a callback returned, awaited when it is awaitable (a coroutine function's)."""
    if inspect.isawaitable(value):
        return await value
    return value


def sync_resolve(value: _T | Awaitable[_T]) -> _T:
    """``async_resolve`` for a blocking client, which cannot await: an awaitable is refused."""
    sync_settle(value)
    return value  # type: ignore[return-value]


def sync_sleep(seconds: float) -> None:
    """``time.sleep``, for at most ``threading.TIMEOUT_MAX`` (a server's absurd wait would
    overflow it; asyncio's sleep takes any)."""
    time.sleep(min(seconds, threading.TIMEOUT_MAX))


async def async_to_thread(function: Callable[[*_Ts], _T], *args: *_Ts) -> _T:
    """``function(*args)`` in a worker thread (``asyncio.to_thread``), so the loop runs on.

    A thread cannot be stopped, so cancelling the caller waits for the call to finish before
    the cancellation is raised: a lock held around the call (``FileStorage`` holds one around
    each rewrite of its file) is never released while the call is still writing.
    """
    import asyncio

    call = asyncio.ensure_future(asyncio.to_thread(function, *args))
    try:
        return await asyncio.shield(call)
    except asyncio.CancelledError:
        while not call.done():
            with suppress(asyncio.CancelledError):
                await asyncio.wait([call])
        raise


def sync_to_thread(function: Callable[[*_Ts], _T], *args: *_Ts) -> _T:
    """``function(*args)``, here in the calling thread: the twin of :func:`async_to_thread`."""
    return function(*args)


class AsyncLock:
    """An ``asyncio.Lock`` made on first use (so importing this module does not load asyncio)."""

    def __init__(self) -> None:
        self._lock: Any = None

    async def __aenter__(self) -> None:
        if self._lock is None:
            import asyncio

            self._lock = asyncio.Lock()
        await self._lock.acquire()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._lock.release()


class SyncLock:
    """A ``threading.Lock`` with the same shape as :class:`AsyncLock`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        self._lock.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._lock.release()


@asynccontextmanager
async def async_renewing(renew: Callable[[], Awaitable[bool]], every: float) -> AsyncIterator[None]:
    """While the block runs, await ``renew()`` every ``every`` seconds in a background task,
    until it returns False; the task is stopped (and waited for) when the block ends."""
    import asyncio

    async def keep_renewing() -> None:
        while True:
            await asyncio.sleep(every)
            if not await renew():
                return

    task = asyncio.create_task(keep_renewing())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.wait([task])  # lets a cancellation of this task through


@contextmanager
def sync_renewing(renew: Callable[[], bool], every: float) -> Iterator[None]:
    """:func:`async_renewing` with a daemon thread."""
    stop = threading.Event()

    def keep_renewing() -> None:
        while not stop.wait(every):
            if not renew():
                return

    thread = threading.Thread(target=keep_renewing, name="lock-lease-renewal", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
