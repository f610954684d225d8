"""What the storages keep, and how: entries, the token file's format, the Redis key layout.

Pure functions shared by both flavours of ``FileStorage`` and ``RedisStorage`` (the asyncio
code in ``_async/`` and its generated twin in ``_sync/``), so the package holds one copy.

Entries: a storage key is a ``str`` and an entry a dict of JSON values (no ``NaN``, no sets,
no objects), so what is read back equals what a JSON round trip of the stored dict gives
(RFC 8259; ``NaN`` and ``Infinity`` are not JSON numbers, §6).

The token file (version 1 of the format) holds every entry::

    {
      "entries": {"<key>": {...the stored dict...}, ...},
      "format": "mcp-oauth-dynamicclient/token-storage",
      "version": 1
    }

A missing or empty (0-byte) file holds no entries. Anything else that is not this shape (not
JSON, no ``format`` marker, another ``version``, an entry that is not an object) raises
:class:`~mcp_oauth_dynamicclient.exceptions.StorageError` naming the path, the fault and the
way out, and is never overwritten: a store or delete against it raises as well, until the
file is repaired or set aside with the storage's ``quarantine()``. How the file is read and
written (its mode and owner, the atomic rewrite, the locks) is in ``_token_file``.

Redis: the entry of ``key`` is a JSON string under the Redis key ``prefix + key``; its lock
lives under ``prefix + LOCK_PREFIX + "{" + tag + "}" + key``, so a storage key may not start
with ``LOCK_PREFIX``. The tag is a Redis Cluster hash tag (Redis Cluster specification,
"Hash tags": only the text between the first ``{`` and the first ``}`` after it is hashed,
if it is not empty) chosen so that the lock lands in the cluster slot of the entry it guards:
the part of the entry's name that Redis hashes (the whole name, or the key's own hash tag),
or, when that part cannot sit inside braces (it holds a ``}``, or is empty), a short hex tag
found to hash to the same slot. Entry names are those of earlier versions, so stored entries
are found as they are. A prefix may hold a whole hash tag (``"tokens:{app}:"``), which puts
every entry and lock of the storage in one slot; a ``{`` in a prefix without one is refused,
since no lock name could then share its entry's slot.
Expiry, so that "entries expire with the token's refresh lifetime", is decided on each store
from the stored dict and the clock of the storing process (a relative ``PX``, so the Redis
server's clock does not matter):

1. ``ttl`` given to the storage: every entry expires ``ttl`` seconds after it was stored;
2. else an entry with a numeric ``refresh_expires_at`` (seconds since the epoch) expires then;
3. else an entry with a ``refresh_token`` never expires (its lifetime is unknown; the server
   says when it is dead with ``invalid_grant``, RFC 6749 §5.2);
4. else an entry with a numeric ``expires_at`` expires then (an access token that cannot be
   refreshed is useless afterwards);
5. else (registrations, pending authorizations) it never expires.

An entry whose moment has already passed is not kept: storing it removes the key.
"""

from __future__ import annotations

import binascii
import functools
import itertools
import json
import math
from pathlib import Path
from typing import Any

from .exceptions import ConfigurationError, StorageError, ValidationError

__all__ = [
    "FORMAT",
    "LOCK_PREFIX",
    "VERSION",
    "checked_key",
    "checked_prefix",
    "checked_timeout",
    "document_bytes",
    "entry_json",
    "entry_lifetime",
    "glob_escape",
    "key_slot",
    "parse_document",
    "parse_redis_value",
    "positive_seconds",
    "redis_expiry_ms",
    "redis_lock_name",
    "redis_name",
]

#: The ``format`` marker of a token file: a JSON file without it is not ours.
FORMAT = "mcp-oauth-dynamicclient/token-storage"
#: The version of the file layout this module reads and writes.
VERSION = 1
#: What follows the storage prefix in the Redis key of a lock.
LOCK_PREFIX = "__lock__:"

_FOREVER = 100 * 365 * 86400.0  # a longer lifetime is stored without expiry
_SLOTS = 16384  # hash slots of a Redis Cluster


# ------------------------------------------------------------------------------------ entries


def checked_key(key: str) -> str:
    """``key``, or ``ValidationError`` if it is not a string."""
    if not isinstance(key, str):
        raise ValidationError(f"a storage key must be a str, not {type(key).__name__}")
    return key


def entry_json(key: str, token: dict[str, Any]) -> str:
    """``token`` as compact JSON, or ``ValidationError`` if it cannot be stored under ``key``."""
    checked_key(key)
    if not isinstance(token, dict):
        raise ValidationError(f"the entry for {key!r} must be a dict, not {type(token).__name__}")
    try:
        return json.dumps(token, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"the entry for {key!r} cannot be stored as JSON: {exc}") from exc


def checked_timeout(timeout: float) -> float:
    """``timeout`` as a float, or ``ValidationError`` unless it is a number of seconds >= 0."""
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout >= 0:
        raise ValidationError(f"a lock timeout must be a number of seconds >= 0, not {timeout!r}")
    return float(timeout)


# --------------------------------------------------------------------------------- token file


def document_bytes(entries: dict[str, Any]) -> bytes:
    """The whole token file holding ``entries``: indented, keys sorted, ASCII only."""
    document = {"format": FORMAT, "version": VERSION, "entries": entries}
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("ascii")


def parse_document(data: bytes, path: Path) -> dict[str, Any]:
    """The entries in ``data``, the bytes of the token file at ``path``, or ``StorageError``."""
    if not data:
        return {}
    set_aside = (
        "call quarantine() on the storage: it moves the file to "
        f"{path.name}.corrupt-<time> and the next write starts a new one"
    )

    def refuse(problem: str, way_out: str = f"If it was damaged, {set_aside}") -> StorageError:
        return StorageError(f"token file {path} {problem}; it was left unchanged. {way_out}")

    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise refuse(f"is not valid JSON ({exc})") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise refuse(
            f'is not a token file of this library (no "format": "{FORMAT}")',
            "If it belongs to another program, give the storage another path; "
            f"if it is a damaged token file, {set_aside}",
        )
    version = document.get("version")
    if version != VERSION or isinstance(version, bool):
        raise refuse(
            f"has format version {version!r}, and this version of mcp-oauth-dynamicclient "
            f"reads version {VERSION} only",
            "Run the version that wrote it (or a newer one), or, to start over without its "
            f"entries, {set_aside}",
        )
    entries = document.get("entries")
    if not isinstance(entries, dict):
        raise refuse('has no "entries" object')
    for key, entry in entries.items():
        if not isinstance(entry, dict):
            raise refuse(f"has an entry {key!r} that is not an object")
    return entries


# -------------------------------------------------------------------------------------- Redis


def checked_prefix(prefix: str) -> str:
    """``prefix``, or ``ConfigurationError`` unless it is a str whose ``{``, if any, opens a
    whole hash tag (see the module docstring)."""
    if not isinstance(prefix, str):
        raise ConfigurationError(f"a Redis key prefix must be a str, not {prefix!r}")
    if not _encodable(prefix):
        raise ConfigurationError(f"a Redis key prefix must be encodable as UTF-8: {prefix!r}")
    if "{" in prefix and _hash_part(prefix) == prefix:
        raise ConfigurationError(
            f"the Redis key prefix {prefix!r} has a '{{' that opens no hash tag: no lock "
            "could share its entry's cluster slot. Close the tag, as in 'tokens:{app}:' "
            "(every key of the storage then lives in one slot), or leave out the '{'"
        )
    return prefix


def redis_name(prefix: str, key: str) -> str:
    """The Redis key of the entry ``key``; ``ValidationError`` for a key locks reserve."""
    if checked_key(key).startswith(LOCK_PREFIX):
        raise ValidationError(f"storage keys starting with {LOCK_PREFIX!r} are reserved")
    if not _encodable(key):
        raise ValidationError(f"a Redis storage key must be encodable as UTF-8: {key!r}")
    return prefix + key


def redis_lock_name(prefix: str, key: str) -> str:
    """The Redis key of the lock of ``key``, in the cluster slot of the entry's key.

    ``prefix + LOCK_PREFIX + "{" + tag + "}" + key``: the key at the end keeps lock names
    apart (the tag holds no ``}``, so the name tells where the key starts).
    """
    name = redis_name(prefix, key)
    tag = _hash_part(name)
    if not tag or "}" in tag:
        tag = _slot_tag(key_slot(name))
    return f"{prefix}{LOCK_PREFIX}{{{tag}}}{key}"


def key_slot(name: str) -> int:
    """The Redis Cluster hash slot of the key ``name``: CRC16 (XMODEM, which
    ``binascii.crc_hqx`` computes) of its hashed part's UTF-8 bytes, modulo 16384."""
    return binascii.crc_hqx(_hash_part(name).encode("utf-8"), 0) % _SLOTS


def _hash_part(name: str) -> str:
    """What Redis hashes of ``name``: the text between its first ``{`` and the first ``}``
    after it, if that is not empty, else the whole name."""
    start = name.find("{")
    end = name.find("}", start + 1) if start >= 0 else -1
    return name[start + 1 : end] if end > start + 1 else name


@functools.cache
def _slot_tag(slot: int) -> str:
    """The smallest hex number whose digits hash to ``slot`` (every slot has one below
    0x4d000; a few milliseconds on average to find, once per slot and process)."""
    numbers = (format(number, "x") for number in itertools.count())
    return next(tag for tag in numbers if key_slot(tag) == slot)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_redis_value(raw: bytes | str, name: str, where: str) -> dict[str, Any]:
    """The entry stored as ``raw`` under ``name`` at ``where``, or ``StorageError``."""
    try:
        entry = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise StorageError(
            f"the value of {name!r} at {where} is not JSON: it was not stored by "
            "this library (check the prefix)"
        ) from exc
    if not isinstance(entry, dict):
        raise StorageError(
            f"the value of {name!r} at {where} is not a JSON object: it was not "
            "stored by this library (check the prefix)"
        )
    return entry


def redis_expiry_ms(entry: dict[str, Any], ttl: float | None, now: float) -> int | None:
    """The ``PX`` of ``entry`` stored at ``now``: ``None`` for no expiry, 0 if already expired."""
    lifetime = entry_lifetime(entry, ttl, now)
    if lifetime is None or lifetime > _FOREVER:
        return None
    return max(1, math.ceil(lifetime * 1000)) if lifetime > 0 else 0


def entry_lifetime(entry: dict[str, Any], ttl: float | None, now: float) -> float | None:
    """Seconds ``entry`` should live from ``now`` by the rule of the module docstring.

    ``None`` is forever; zero or less means it has already expired.
    """
    if ttl is not None:
        return ttl
    refresh_expires_at = _moment(entry.get("refresh_expires_at"))
    if refresh_expires_at is not None:
        return refresh_expires_at - now
    if entry.get("refresh_token"):
        return None
    expires_at = _moment(entry.get("expires_at"))
    return None if expires_at is None else expires_at - now


def positive_seconds(value: object) -> bool:
    """Whether ``value`` is a finite number of seconds above zero."""
    number = _moment(value)
    return number is not None and number > 0


def _moment(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        moment = float(value)  # an int past a float's range (10**400) overflows
    except OverflowError:
        return None
    return moment if math.isfinite(moment) else None


def glob_escape(text: str) -> str:
    """``text`` as a literal in a Redis ``MATCH`` pattern."""
    return "".join("\\" + char if char in "\\*?[]^" else char for char in text)
