"""Token storage backends, asyncio and blocking.

``TokenStorage`` is the interface (subclass it for your own backend); ``MemoryStorage`` keeps
entries in the process. ``SyncTokenStorage`` and ``SyncMemoryStorage`` are the blocking twins
that ``SyncOAuth2Client`` takes.
"""

from ._async.storage import MemoryStorage, TokenStorage
from ._sync.storage import SyncMemoryStorage, SyncTokenStorage

__all__ = ["MemoryStorage", "SyncMemoryStorage", "SyncTokenStorage", "TokenStorage"]
