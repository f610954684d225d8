"""Token storage backends, asyncio and blocking.

``TokenStorage`` is the interface (subclass it for your own backend). ``MemoryStorage`` keeps
entries in the process, ``FileStorage`` in a JSON file (0600, atomic writes, locked across
processes; needs ``filelock``, in the default install), ``RedisStorage`` in Redis (the
``[redis]`` extra). Each has a blocking twin, ``Sync…``, that ``SyncOAuth2Client`` takes.
"""

from typing import TYPE_CHECKING

from ._async.storage import MemoryStorage, TokenStorage
from ._lazy import lazy_getattr
from ._sync.storage import SyncMemoryStorage, SyncTokenStorage

if TYPE_CHECKING:
    from ._async.file_storage import FileStorage
    from ._async.redis_storage import RedisStorage
    from ._sync.file_storage import SyncFileStorage
    from ._sync.redis_storage import SyncRedisStorage

__all__ = [
    "FileStorage",
    "MemoryStorage",
    "RedisStorage",
    "SyncFileStorage",
    "SyncMemoryStorage",
    "SyncRedisStorage",
    "SyncTokenStorage",
    "TokenStorage",
]

if not TYPE_CHECKING:  # type checkers see the imports above, so a misspelt name is an error
    # The file and Redis backends load on first use: filelock and redis only when asked for.
    __getattr__ = lazy_getattr(
        globals(),
        {
            "FileStorage": "._async.file_storage",
            "RedisStorage": "._async.redis_storage",
            "SyncFileStorage": "._sync.file_storage",
            "SyncRedisStorage": "._sync.redis_storage",
        },
    )
