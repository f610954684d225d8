"""Token storage backends, asyncio and blocking.

``TokenStorage`` is the interface (subclass it for your own backend). ``MemoryStorage`` keeps
entries in the process. ``FileStorage`` keeps them in a JSON file: 0600, written atomically,
locked across processes, refused (as OpenSSH's ``StrictModes`` refuses a key) when another
user owns it or others may write its directory, and set aside by ``quarantine()`` when it
cannot be read; it needs ``filelock``, in the default install. ``RedisStorage`` keeps them in
Redis (the ``[redis]`` extra), on a server it connects to by host and port or URL, or through
a redis-py client it is given: a Sentinel's master or a ``RedisCluster`` among them. Each has
a blocking twin, ``Sync…``, that ``SyncOAuth2Client`` takes.
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
