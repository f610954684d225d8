"""Write the blocking twin of the hand-written asyncio code: ``_async/`` in, ``_sync/`` out.

The async source is the only one we maintain. Each module of ``src/mcp_oauth_dynamicclient/_async``
is rewritten token by token (``async def`` to ``def``, ``await x`` to ``x``, ``httpx.AsyncClient``
to ``httpx.Client``, ``OAuth2Client`` to ``SyncOAuth2Client`` …) into ``_sync/``, formatted like
the spec output, and checked for freshness the same way (``python -m codegen.unasync --check``).

A rule that matches nothing in any ``_async`` module is dead weight that hides mistakes (a
misspelt name is silently never rewritten), so both modes refuse to run with one, naming it,
and exit with status 2, as httpcore's ``scripts/unasync.py`` does.
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
    "async_auth_flow": "sync_auth_flow",  # httpx.Auth: each flavour overrides its own flow
    "sync_auth_flow": "async_auth_flow",  # ... and refuses the other's
    "OAuth2Auth": "SyncOAuth2Auth",
    "asynccontextmanager": "contextmanager",
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    "aclose": "close",
    "_async": "_sync",
    "async_sleep": "sync_sleep",
    "async_renewing": "sync_renewing",
    "async_to_thread": "sync_to_thread",
    "async_settle": "sync_settle",
    "async_resolve": "sync_resolve",
    "AsyncLock": "SyncLock",
    "AsyncRetrying": "Retrying",  # tenacity
    "AsyncSender": "SyncSender",
    "AsyncDirectSender": "DirectSender",  # the runtime's bounded exchange
    "OAuth2Client": "SyncOAuth2Client",
    "TokenStorage": "SyncTokenStorage",
    "MemoryStorage": "SyncMemoryStorage",
    "FileStorage": "SyncFileStorage",
    "RedisStorage": "SyncRedisStorage",
    "TokenManager": "SyncTokenManager",
    "redis.asyncio": "redis",  # redis-py: redis.asyncio.Redis and .lock.Lock mirror redis.*
    "Refresher": "SyncRefresher",
}
# Rules no _async module needs, kept for the other sources unasync rewrites: the storage
# tests' child scripts (tests/storage_helpers.flavoured_script) import
# mcp_oauth_dynamicclient._async.*. Drop "_async" once they import mcp_oauth_dynamicclient.storage.
USED_ELSEWHERE = frozenset({"_async"})
_WORDS = re.compile(r"\b(" + "|".join(map(re.escape, NAMES)) + r")\b")
_SYNTAX = [
    (re.compile(r"\basync def\b"), "def"),
    (re.compile(r"\basync with\b"), "with"),
    (re.compile(r"\basync for\b"), "for"),
    (re.compile(r"\bawait "), ""),
    (re.compile(r"\bAwaitable\[([^\[\]]+)\]"), r"\1"),  # a callback returning an awaitable T
]


def unasync_source(source: str, used: set[str] | None = None) -> str:
    """The blocking twin of one async module's source; the rules that matched go in ``used``."""
    matched: set[str] = set() if used is None else used
    for pattern, replacement in _SYNTAX:
        source, count = pattern.subn(replacement, source)
        if count:
            matched.add(pattern.pattern)

    def rename(match: re.Match[str]) -> str:
        matched.add(match.group(1))
        return NAMES[match.group(1)]

    source = _WORDS.sub(rename, source)
    # A docstring that says "asyncio" or "awaitable" of the async twin speaks of blocking here.
    return source.replace("asyncio-native", "blocking").replace("Asyncio", "Blocking")


def render(source_dir: Path = SOURCE, used: set[str] | None = None) -> dict[str, str]:
    """The ``_sync`` modules, by file name; the rules that matched go in ``used``."""
    files = {}
    for path in sorted(source_dir.glob("*.py")):
        label = f"{path.parent.name}/{path.name}"
        header = f"# Generated from {label} {MARKER} (unasync). Do not edit.\n"
        text = header + unasync_source(path.read_text(encoding="utf-8"), used)
        files[path.name] = format_source(text, path.name)
    return files


def unused_rules(used: set[str]) -> list[str]:
    """The rules (names, then syntax patterns) missing from ``used``, as ``render`` fills it."""
    rules = [*NAMES, *(pattern.pattern for pattern, _ in _SYNTAX)]
    return [rule for rule in rules if rule not in used and rule not in USED_ELSEWHERE]


def main(argv: list[str] | None = None) -> int:
    """Write ``_sync/`` (or with ``--check``, verify it); return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m codegen.unasync")
    parser.add_argument("--check", action="store_true", help="exit 1 if _sync/ is stale")
    parser.add_argument("--source", type=Path, default=SOURCE, help="the asyncio modules")
    parser.add_argument("--target", type=Path, default=TARGET, help="where their twins go")
    args = parser.parse_args(argv)
    used: set[str] = set()
    files = render(args.source, used)
    unused = unused_rules(used)
    if unused:
        rules = ", ".join(repr(rule) for rule in unused)
        print(f"unasync rules that match nothing in {args.source}: {rules}", file=sys.stderr)
        return 2
    if args.check:
        outdated = stale(files, args.target)
        if outdated:
            print(
                f"{args.target} is stale ({', '.join(outdated)}); run: nox -s codegen",
                file=sys.stderr,
            )
            return 1
        print(f"{args.target} is up to date with {args.source}")
        return 0
    changed = write(files, args.target)
    print(f"{args.target}: {len(changed)} file(s) changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
