"""Token storage backends, asyncio and blocking.

``TokenStorage`` is the interface (subclass it for your own backend). ``MemoryStorage`` keeps
entries in the process, ``FileStorage`` in a JSON file (0600, atomic writes, locked across
processes; needs ``filelock``, in the default install), ``RedisStorage`` in Redis (the
``[redis]`` extra). Each has a blocking twin, ``Sync…``, that ``SyncOAuth2Client`` takes.
"""

from typing import TYPE_CHECKING, Any

from ._async.storage import MemoryStorage, TokenStorage
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

_LAZY = {
    "FileStorage": "._async.file_storage",
    "RedisStorage": "._async.redis_storage",
    "SyncFileStorage": "._sync.file_storage",
    "SyncRedisStorage": "._sync.redis_storage",
}


def __getattr__(name: str) -> Any:
    """The file and Redis backends, imported on first use."""
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(_LAZY[name], "mcp_oauth_dynamicclient"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
