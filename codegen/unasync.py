"""Write the blocking twin of the hand-written asyncio code: ``_async/`` in, ``_sync/`` out.

The async source is the only one we maintain. Each module of ``src/mcp_oauth_dynamicclient/_async``
is rewritten token by token (``async def`` to ``def``, ``await x`` to ``x``, ``httpx.AsyncClient``
to ``httpx.Client``, ``OAuth2Client`` to ``SyncOAuth2Client`` …) into ``_sync/``, formatted like
the spec output, and checked for freshness the same way (``python -m codegen.unasync --check``).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from .generator import MARKER, format_source, stale, write

SOURCE = Path("src/mcp_oauth_dynamicclient/_async")
TARGET = Path("src/mcp_oauth_dynamicclient/_sync")

# Whole-word replacements, applied in one pass so no rule rewrites another's output.
NAMES = {
    "AsyncClient": "Client",
    "AsyncEndpointClient": "EndpointClient",
    "AsyncIterator": "Iterator",
    "AsyncGenerator": "Generator",
    "AbstractAsyncContextManager": "AbstractContextManager",
    "asynccontextmanager": "contextmanager",
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    "aclose": "close",
    "_async": "_sync",
    "async_sleep": "sync_sleep",
    "async_renewing": "sync_renewing",
    "async_to_thread": "sync_to_thread",
    "AsyncLock": "SyncLock",
    "AsyncRetrying": "Retrying",  # tenacity
    "AsyncSender": "SyncSender",
    "OAuth2Client": "SyncOAuth2Client",
    "TokenStorage": "SyncTokenStorage",
    "MemoryStorage": "SyncMemoryStorage",
    "FileStorage": "SyncFileStorage",
    "RedisStorage": "SyncRedisStorage",
    "TokenManager": "SyncTokenManager",
    "redis.asyncio": "redis",  # redis-py: redis.asyncio.Redis and .lock.Lock mirror redis.*
    "Refresher": "SyncRefresher",
}
_WORDS = re.compile(r"\b(" + "|".join(map(re.escape, NAMES)) + r")\b")
_SYNTAX = [
    (re.compile(r"\basync def\b"), "def"),
    (re.compile(r"\basync with\b"), "with"),
    (re.compile(r"\basync for\b"), "for"),
    (re.compile(r"\bawait "), ""),
    (re.compile(r"\bAwaitable\[([^\[\]]+)\]"), r"\1"),  # a callback returning an awaitable T
]


def unasync_source(source: str) -> str:
    """The blocking twin of one async module's source."""
    for pattern, replacement in _SYNTAX:
        source = pattern.sub(replacement, source)
    source = _WORDS.sub(lambda match: NAMES[match.group(1)], source)
    # A docstring that says "asyncio" or "awaitable" of the async twin speaks of blocking here.
    return source.replace("asyncio-native", "blocking").replace("Asyncio", "Blocking")


def render(source_dir: Path = SOURCE) -> dict[str, str]:
    """The ``_sync`` modules, by file name."""
    files = {}
    for path in sorted(source_dir.glob("*.py")):
        label = f"{path.parent.name}/{path.name}"
        header = f"# Generated from {label} {MARKER} (unasync). Do not edit.\n"
        text = header + unasync_source(path.read_text(encoding="utf-8"))
        files[path.name] = format_source(text, path.name)
    return files


def main(argv: list[str] | None = None) -> int:
    """Write ``_sync/`` (or with ``--check``, verify it); return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m codegen.unasync")
    parser.add_argument("--check", action="store_true", help="exit 1 if _sync/ is stale")
    args = parser.parse_args(argv)
    files = render()
    if args.check:
        outdated = stale(files, TARGET)
        if outdated:
            print(
                f"{TARGET} is stale ({', '.join(outdated)}); run: nox -s codegen", file=sys.stderr
            )
            return 1
        print(f"{TARGET} is up to date with {SOURCE}")
        return 0
    changed = write(files, TARGET)
    print(f"{TARGET}: {len(changed)} file(s) changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
