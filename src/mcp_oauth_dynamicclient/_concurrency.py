"""The few primitives whose asyncio and blocking forms differ, under names ``unasync`` maps.

``_async/`` code uses the ``async_*`` names; its generated ``_sync/`` twin uses ``sync_*``.
"""

from __future__ import annotations

import asyncio
import time

__all__ = ["async_sleep", "sync_sleep"]

async_sleep = asyncio.sleep
sync_sleep = time.sleep
