"""The asyncio ``FileStorage`` leaves the event loop free while the disk works (issue 10).

Its reads, writes and fsyncs run in a worker thread, so other tasks keep running while an
fsync waits for the disk. A ticker task that sleeps about a millisecond at a time measures
the longest gap between its wake-ups while 50 stores run; with an fsync slowed to 20 ms, a
storage that fsyncs on the loop stalls it for at least 20 ms at every write.

On a busy machine the OS itself leaves a ready thread waiting for a CPU for several
milliseconds now and then, whatever the thread runs. That wait is no stall of ours, so on
Linux it is taken out of each gap (the kernel counts it per thread: the second field of
``/proc/thread-self/schedstat``, "time spent waiting on a runqueue"). Time the loop spends
blocked in a call, or waiting for the GIL, is not runqueue time and still counts.

A worker thread doing Python work (the JSON of the file) keeps the GIL for up to the
interpreter's switch interval, 5 ms by default, before the loop's thread gets it back: that is
the interpreter's time slice, which a bound of exactly 5 ms would measure instead of the
storage. The test sets the slice to 1 ms (``sys.setswitchinterval``), so what is left is what
the storage itself blocks. For the same reason it runs untraced by coverage
(``no_cover``): tracing makes every line of the loop's own work several times slower.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from mcp_oauth_dynamicclient._async.file_storage import FileStorage

SLOW_FSYNC = 0.020  # seconds each fsync takes here
STORES = 50  # concurrent store_token calls per run
TICK = 0.001  # seconds the ticker sleeps between wake-ups
STALL_BOUND = 0.005  # the longest gap the loop may show
RUNS = 5  # best of (stopping at the first good one): a loaded machine pauses now and then


def _waited_for_a_cpu() -> float:
    """Seconds this thread has been ready to run but not given a CPU (0.0 if not Linux)."""
    try:
        with open("/proc/thread-self/schedstat", encoding="ascii") as stats:
            return int(stats.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


async def _ticker(gaps: list[float]) -> None:
    """Sleep ``TICK`` again and again, recording in ``gaps`` the time between wake-ups, less
    the time the OS kept this thread from a CPU (see the module docstring)."""
    last, waited = time.perf_counter(), _waited_for_a_cpu()
    while True:
        await anyio.sleep(TICK)
        now, now_waited = time.perf_counter(), _waited_for_a_cpu()
        gaps.append((now - last) - (now_waited - waited))
        last, waited = now, now_waited


async def _store_all(storage: FileStorage, run: int) -> None:
    async with anyio.create_task_group() as group:
        for n in range(STORES):
            group.start_soon(storage.store_token, f"run{run}-{n}", {"n": n})


async def _longest_stall(storage: FileStorage, run: int) -> float:
    """The longest gap of the ticker while ``STORES`` concurrent stores run, in seconds."""
    gaps: list[float] = []
    async with anyio.create_task_group() as group:
        group.start_soon(_ticker, gaps)
        await _store_all(storage, run)
        group.cancel_scope.cancel()
    return max(gaps)


@pytest.fixture
def short_gil_slices() -> Iterator[None]:
    """A 1 ms GIL switch interval for the test (see the module docstring)."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.001)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


@pytest.mark.anyio
@pytest.mark.no_cover
@pytest.mark.usefixtures("short_gil_slices")
async def test_slow_fsyncs_do_not_stall_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_fsync = os.fsync

    def slow_fsync(descriptor: int) -> None:
        time.sleep(SLOW_FSYNC)
        real_fsync(descriptor)

    monkeypatch.setattr("mcp_oauth_dynamicclient._token_file.os.fsync", slow_fsync)
    storage = FileStorage(tmp_path / "tokens.json")
    # The worker threads start on first use; a cold start is not what is measured.
    async with anyio.create_task_group() as group:
        for _ in range(10):
            group.start_soon(storage.retrieve_token, "warm-up")
    stalls = []
    for run in range(RUNS):
        stalls.append(await _longest_stall(storage, run))
        if stalls[-1] < STALL_BOUND:
            break
    assert min(stalls) < STALL_BOUND, f"the event loop stalled for {stalls} s"
    stored = await storage.list_tokens()
    assert len(stored) == STORES * len(stalls)
    assert await storage.retrieve_token(f"run0-{STORES - 1}") == {"n": STORES - 1}
