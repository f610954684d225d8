"""Token storage in Redis, shared by every process that reaches the server (redis-py).

Layout: the entry of ``key`` is a JSON string under the Redis key ``prefix + key``;
``list_tokens`` finds them with ``SCAN`` (never ``KEYS``) and strips the prefix. Locks live
under ``prefix + "__lock__:" + key``, so a storage key may not start with ``__lock__:``.

Expiry, so that "entries expire with the token's refresh lifetime", decided on each store
from the stored dict and the clock of this process (a relative ``PX``, so the Redis server's
clock does not matter):

1. ``ttl`` given to the storage: every entry expires ``ttl`` seconds after it was stored;
2. else an entry with a numeric ``refresh_expires_at`` (seconds since the epoch) expires then;
3. else an entry with a ``refresh_token`` never expires (its lifetime is unknown; the server
   says when it is dead with ``invalid_grant``);
4. else an entry with a numeric ``expires_at`` expires then (an access token that cannot be
   refreshed is useless afterwards);
5. else (registrations, pending authorizations) it never expires.

An entry whose moment has already passed is not kept: storing it removes the key.

Failures of the server or the connection (refused, timed out, wrong password, a reply that is
not an entry of ours) become :class:`~mcp_oauth_dynamicclient.exceptions.StorageError` naming
``redis://host:port/db``, never the password. The connection pool reconnects by itself, so the
storage works again once the server is back.

``lock(key, timeout)`` is a ``redis.asyncio.lock.Lock``: a ``SET NX PX`` whose lease is
``timeout`` seconds, renewed every ``timeout / 3`` seconds while the holder is alive and in the
block, so a slow refresh keeps its lock however long it takes, while the lock of a holder that
died expires after at most ``timeout``. A waiter gives up after ``timeout`` seconds with
``StorageError``. A lease that could not be renewed (the server went away, or someone deleted
the lock) is logged as a warning, and again when the holder releases a lock it no longer held.

redis-py is imported when a storage is made, so importing this module does not need it
(``pip install 'mcp-oauth-dynamicclient[redis]'``).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import AsyncIterator, Generator
from contextlib import asynccontextmanager, contextmanager
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from .._concurrency import async_renewing
from ..exceptions import ConfigurationError, StorageError, ValidationError
from .file_storage import checked_key, entry_json
from .storage import TokenStorage

if TYPE_CHECKING:
    import redis.asyncio

__all__ = ["LOCK_PREFIX", "RedisStorage", "entry_lifetime"]

#: What follows the storage prefix in the Redis key of a lock.
LOCK_PREFIX = "__lock__:"

_LOCK_POLL = 0.05  # seconds between attempts of a waiting lock
_FOREVER = 100 * 365 * 86400.0  # a longer lifetime is stored without expiry
_logger = logging.getLogger(__name__)


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


def _positive(value: object) -> bool:
    """Whether ``value`` is a finite number of seconds above zero."""
    number = _moment(value)
    return number is not None and number > 0


def _moment(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _import_redis() -> Any:
    try:
        import redis.asyncio
        import redis.asyncio.retry
        import redis.backoff
    except ImportError as exc:  # pragma: no cover - the dev environment has it
        raise ConfigurationError(
            "RedisStorage needs redis-py: pip install 'mcp-oauth-dynamicclient[redis]'"
        ) from exc
    return redis


class RedisStorage(TokenStorage):
    """Entries as JSON strings in Redis, with expiry and cross-process locks (module docstring).

    Args:
        host, port, db: Where the server is (ignored when ``url`` or ``client`` is given).
        prefix: Put before every key; storages with different prefixes do not see each other,
            unless one prefix starts the other (``"tokens:"`` lists the keys of
            ``"tokens:test:"``), so pick prefixes that don't.
        url: A ``redis://``, ``rediss://`` or ``unix://`` URL instead of host, port and db; its
            own settings win over the other arguments.
        password: The server's password (``AUTH``).
        ssl: Connect with TLS.
        client: A ``redis.asyncio.Redis`` client to use instead of making one; the storage
            does not close it.
        ttl: Seconds every entry lives after it is stored, overriding the expiry rule.
        socket_timeout: Seconds to wait for the server to connect or answer.
        retries: How often a command that lost its connection or timed out is retried (after
            a jittered pause of at most 0.2 s) before ``StorageError``; redis-py's own default
            of ten, with pauses up to a second, would hold a caller for seconds when the
            server is down. Not applied to a ``client`` you pass.
    """

    def __init__(
        self,
        host: str = "localhost",
        port: int = 6379,
        db: int = 0,
        prefix: str = "oauth_tokens:",
        *,
        url: str | None = None,
        password: str | None = None,
        ssl: bool = False,
        client: redis.asyncio.Redis | None = None,
        ttl: float | None = None,
        socket_timeout: float | None = 5.0,
        retries: int = 2,
    ) -> None:
        if not isinstance(prefix, str):
            raise ConfigurationError(f"a Redis key prefix must be a str, not {prefix!r}")
        if ttl is not None and not _positive(ttl):
            raise ConfigurationError(f"ttl must be a number of seconds > 0 or None, not {ttl!r}")
        if client is not None and url is not None:
            raise ConfigurationError("give RedisStorage a url or a client, not both")
        redis = _import_redis()
        self.prefix = prefix
        self.ttl = ttl
        self._owns_client = client is None
        if client is not None:
            self._client = client
        else:
            backoff = redis.backoff.FullJitterBackoff(cap=0.2, base=0.02)
            options: dict[str, Any] = {
                "socket_timeout": socket_timeout,
                "socket_connect_timeout": socket_timeout,
                "retry": redis.asyncio.retry.Retry(backoff, retries),
            }
            if password is not None:
                options["password"] = password
            if url is not None:
                self._client = redis.asyncio.Redis.from_url(url, **options)
            else:
                self._client = redis.asyncio.Redis(host=host, port=port, db=db, ssl=ssl, **options)
        self._errors = (redis.exceptions.RedisError, OSError)
        self._unreachable = (
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
            OSError,
        )
        self._refused = redis.exceptions.AuthenticationError
        self._where = _describe(self._client)
        # Kept only to blank it out of error messages (it may have come in the URL).
        self._password: str | None = self._client.connection_pool.connection_kwargs.get("password")

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        prefix: str = "oauth_tokens:",
        password: str | None = None,
        ttl: float | None = None,
        socket_timeout: float | None = 5.0,
        retries: int = 2,
    ) -> Self:
        """A storage on the server of ``url`` (``redis://[:password@]host:port/db``, …)."""
        return cls(
            prefix=prefix,
            url=url,
            password=password,
            ttl=ttl,
            socket_timeout=socket_timeout,
            retries=retries,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._where!r}, prefix={self.prefix!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool, if this storage made the client."""
        if self._owns_client:
            with self._reporting("close the connection"):
                await self._client.aclose()

    async def store_token(self, key: str, token: dict[str, Any]) -> None:
        """Keep ``token`` as JSON under ``prefix + key``, expiring by the module's rule."""
        payload = entry_json(key, token)
        name = self._name(key)
        lifetime = entry_lifetime(token, self.ttl, time.time())
        if lifetime is not None and lifetime > _FOREVER:
            lifetime = None
        with self._reporting(f"store {key!r}"):
            if lifetime is None:
                await self._client.set(name, payload)
            elif lifetime > 0:
                await self._client.set(name, payload, px=max(1, math.ceil(lifetime * 1000)))
            else:
                await self._client.delete(name)

    async def retrieve_token(self, key: str) -> dict[str, Any] | None:
        """The entry under ``key``, or ``None`` (also once it has expired)."""
        name = self._name(key)
        with self._reporting(f"read {key!r}"):
            raw = await self._client.get(name)
        if raw is None:
            return None
        try:
            entry = json.loads(raw)
        except ValueError as exc:
            raise StorageError(
                f"the value of {name!r} at {self._where} is not JSON: it was not stored by "
                "this library (check the prefix)"
            ) from exc
        if not isinstance(entry, dict):
            raise StorageError(
                f"the value of {name!r} at {self._where} is not a JSON object: it was not "
                "stored by this library (check the prefix)"
            )
        return entry

    async def delete_token(self, key: str) -> None:
        """Remove the entry under ``key`` (no error if there is none)."""
        name = self._name(key)
        with self._reporting(f"delete {key!r}"):
            await self._client.delete(name)

    async def list_tokens(self) -> list[str]:
        """The keys with this prefix, sorted (found with ``SCAN``; locks left out)."""
        pattern = _glob_escape(self.prefix) + "*"
        locks = self.prefix + LOCK_PREFIX
        keys = []
        with self._reporting("list the keys"):
            async for raw in self._client.scan_iter(match=pattern, count=1000):
                name = raw.decode("utf-8", "surrogateescape") if isinstance(raw, bytes) else raw
                if not name.startswith(locks):
                    keys.append(name[len(self.prefix) :])
        return sorted(keys)

    @asynccontextmanager
    async def lock(self, key: str, *, timeout: float = 30.0) -> AsyncIterator[None]:
        """Hold the Redis lock of ``key``; see the module docstring for its lease."""
        checked_key(key)
        if not _positive(timeout):
            raise ValidationError(f"a lock timeout must be a number of seconds > 0: {timeout!r}")
        lock = self._client.lock(
            self.prefix + LOCK_PREFIX + key,
            timeout=timeout,
            sleep=min(_LOCK_POLL, timeout),
            blocking_timeout=timeout,
            thread_local=False,
        )
        with self._reporting(f"lock {key!r}"):
            acquired = await lock.acquire()
        if not acquired:
            raise StorageError(
                f"could not take the lock of {key!r} at {self._where} within {timeout:g} s: "
                "another process holds it"
            )
        try:
            async with async_renewing(partial(self._renew, lock, key), timeout / 3):
                yield
        finally:
            try:
                await lock.release()
            except self._errors as exc:
                _logger.warning(
                    "the lock of %r at %s was not released cleanly (%s): its lease of %g s "
                    "ran out, or the server went away",
                    key,
                    self._where,
                    self._scrub(exc),
                    timeout,
                )

    async def _renew(self, lock: Any, key: str) -> bool:
        """Reset the lease of a held lock to its full timeout; False, with a warning, when that
        failed (renewal then stops)."""
        try:
            await lock.reacquire()
        except self._errors as exc:
            _logger.warning(
                "could not renew the lease of the lock of %r at %s (%s): another process may "
                "take it when the lease runs out",
                key,
                self._where,
                self._scrub(exc),
            )
            return False
        return True

    def _name(self, key: str) -> str:
        if checked_key(key).startswith(LOCK_PREFIX):
            raise ValidationError(f"storage keys starting with {LOCK_PREFIX!r} are reserved")
        return self.prefix + key

    @contextmanager
    def _reporting(self, action: str) -> Generator[None, None, None]:
        """Turn a redis-py or socket failure during ``action`` into ``StorageError``."""
        try:
            yield
        except self._errors as exc:
            raise StorageError(
                f"Redis at {self._where}: could not {action}: {self._hint(exc)} "
                f"({self._scrub(exc)})"
            ) from exc

    def _hint(self, exc: BaseException) -> str:
        text = str(exc)
        if isinstance(exc, self._refused) or text.startswith(("NOAUTH", "WRONGPASS")):
            return "the server refused the password (or needs one)"
        if isinstance(exc, self._unreachable):
            return "the server cannot be reached"
        return "the server answered with an error"

    def _scrub(self, exc: BaseException) -> str:
        text = f"{type(exc).__name__}: {exc}"
        if self._password:
            text = text.replace(self._password, "***")
        return text


def _describe(client: Any) -> str:
    """``redis://host:port/db`` (or ``unix://path``) of ``client``, never its password."""
    pool = client.connection_pool
    options = pool.connection_kwargs
    db = options.get("db", 0)
    if "path" in options:
        return f"unix://{options['path']}?db={db}"
    scheme = "rediss" if "SSL" in pool.connection_class.__name__ else "redis"
    return f"{scheme}://{options.get('host', 'localhost')}:{options.get('port', 6379)}/{db}"


def _glob_escape(text: str) -> str:
    """``text`` as a literal in a Redis ``MATCH`` pattern."""
    return "".join("\\" + char if char in "\\*?[]^" else char for char in text)
