"""The few primitives whose asyncio and blocking forms differ, under names ``unasync`` maps.

``_async/`` code uses the ``async_*`` names; its generated ``_sync/`` twin uses ``sync_*``.
asyncio is imported when first needed, so a blocking program never loads it.
"""

from __future__ import annotations

import time

__all__ = ["async_sleep", "sync_sleep"]


async def async_sleep(seconds: float) -> None:
    """``asyncio.sleep``; cancelling the task interrupts it."""
    import asyncio

    await asyncio.sleep(seconds)


def sync_sleep(seconds: float) -> None:
    """``time.sleep``."""
    time.sleep(seconds)
