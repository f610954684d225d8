# Generated from _async/redis_storage.py by mcp-oauth-dynamicclient codegen (unasync). Do not edit.
"""Token storage in Redis, shared by every process that reaches the server (redis-py).

The entry of ``key`` is a JSON string under the Redis key ``prefix + key``, expiring with the
token's refresh lifetime; that layout, the expiry rule and the name of each key's lock (in
the entry's cluster slot) are in ``_storage_format``, and how failures are reported
(``StorageError`` naming the server, never the password) in ``_redis_errors``. This module
holds what waits: the commands. ``list_tokens`` finds the entries with ``SCAN`` (never
``KEYS``; on a cluster, on every node) and strips the prefix.

The server: a storage makes its own ``redis.Redis`` from host and port or a
``redis://``, ``rediss://`` (TLS) or ``unix://`` URL, or uses the redis-py client it is
given: a ``redis.Redis`` (from a URL, a Unix socket, a ``Sentinel``'s
``master_for()``) or a ``redis.RedisCluster``. Its connection pool reconnects by
itself, so the storage works again once the server is back.

Connections: the pool of a storage's own client is a ``BlockingConnectionPool`` of
``max_connections``, so a burst of callers (hundreds of tasks or threads reading one expired
token) waits for a free connection, up to ``pool_timeout`` seconds, where redis-py's default
pool raises "Too many connections" past its hundredth. A client passed in keeps its own
pool; when that pool raises because it is full (as a ``RedisCluster``'s nodes do), the
command is tried again after short pauses, for up to ``pool_timeout`` seconds as well. Past
that wait, ``StorageError``.

``lock(key, timeout)`` is a ``redis.lock.Lock``: a ``SET NX PX`` whose lease is
``timeout`` seconds, renewed every ``timeout / 3`` seconds while the holder is alive and in the
block, so a slow refresh keeps its lock however long it takes, while the lock of a holder that
died expires after at most ``timeout``. A waiter tries every 50 ms and gives up after
``timeout`` seconds with ``StorageError``. A lease that could not be renewed (the server went
away, or someone deleted the lock) is logged as a warning, and again when the holder releases
a lock it no longer held.

redis-py is imported when a storage is made, so importing this module does not need it
(``pip install 'mcp-oauth-dynamicclient[redis]'``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

from .._concurrency import sync_renewing, sync_sleep
from .._public import public
from .._redis_errors import RedisErrors
from .._storage_format import (
    LOCK_PREFIX,
    checked_prefix,
    entry_json,
    entry_lifetime,
    glob_escape,
    parse_redis_value,
    positive_seconds,
    redis_expiry_ms,
    redis_lock_name,
    redis_name,
)
from ..exceptions import ConfigurationError, StorageError, ValidationError
from .storage import SyncTokenStorage

if TYPE_CHECKING:
    import redis

__all__ = ["LOCK_PREFIX", "SyncRedisStorage", "entry_lifetime"]

_T = TypeVar("_T")
_LOCK_POLL = 0.05  # seconds between attempts of a waiting lock
_FIRST_PAUSE = 0.001  # seconds before trying a full pool again, doubling up to _LAST_PAUSE
_LAST_PAUSE = 0.02
_logger = logging.getLogger(__name__)


def _import_redis() -> Any:
    try:
        import redis
        import redis.backoff
        import redis.retry
    except ImportError as exc:  # pragma: no cover - the dev environment has it
        raise ConfigurationError(
            "SyncRedisStorage needs redis-py: pip install 'mcp-oauth-dynamicclient[redis]'"
        ) from exc
    return redis


def _text(name: bytes | str) -> str:
    """A key name as redis-py returns it (bytes, unless the client decodes), as text."""
    return name.decode("utf-8", "surrogateescape") if isinstance(name, bytes) else name


def _checked_pool(max_connections: int, pool_timeout: float) -> None:
    """``ConfigurationError`` unless the pool settings are a count >= 1 and seconds > 0."""
    count = not isinstance(max_connections, bool) and isinstance(max_connections, int)
    if not count or max_connections < 1:
        raise ConfigurationError(f"max_connections must be an int >= 1, not {max_connections!r}")
    if not positive_seconds(pool_timeout):
        raise ConfigurationError(
            f"pool_timeout must be a number of seconds > 0, not {pool_timeout!r}"
        )


def _checked_client(redis: Any, client: object, storage: str) -> Any:
    """``client``, or ``ConfigurationError`` unless it is a redis-py client of this flavour."""
    if not isinstance(client, redis.Redis | redis.RedisCluster):
        raise ConfigurationError(
            f"{storage} takes a redis.Redis or redis.RedisCluster client, not "
            f"{type(client).__module__}.{type(client).__qualname__} (the blocking redis "
            "clients go with the blocking storage, and the asyncio ones with the asyncio one)"
        )
    return client


def _blocking_pool(
    redis: Any, url: str | None, server: dict[str, Any], settings: dict[str, Any]
) -> Any:
    """A ``BlockingConnectionPool`` with ``settings`` on ``url``, else on ``server`` (host,
    port, db, ssl); ``ConfigurationError`` if redis-py refuses them."""
    pool_class = redis.BlockingConnectionPool
    try:
        if url is not None:
            return pool_class.from_url(url, **settings)
        if server.pop("ssl"):
            settings = {**settings, "connection_class": redis.SSLConnection}
        return pool_class(**server, **settings)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(f"cannot connect to Redis that way: {exc}") from exc


@public("mcp_oauth_dynamicclient.storage")
class SyncRedisStorage(SyncTokenStorage):
    """Entries as JSON strings in Redis, with expiry and cross-process locks (module docstring).

    Args:
        host, port, db: Where the server is (ignored when ``url`` or ``client`` is given).
        prefix: Put before every key; storages with different prefixes do not see each other,
            unless one prefix starts the other (``"tokens:"`` lists the keys of
            ``"tokens:test:"``), so pick prefixes that don't. A prefix may hold a Redis
            Cluster hash tag (``"tokens:{app}:"``) to keep all its keys in one slot.
        url: A ``redis://``, ``rediss://`` or ``unix://`` URL instead of host, port and db; its
            own settings win over the other arguments.
        password: The server's password (``AUTH``).
        ssl: Connect with TLS.
        client: A redis-py client to use instead of making one: a ``redis.Redis``
            (made from any URL, or by a ``Sentinel``'s ``master_for()``) or a
            ``redis.RedisCluster``. The storage neither configures nor closes it.
        ttl: Seconds every entry lives after it is stored, overriding the expiry rule.
        socket_timeout: Seconds to wait for the server to connect or answer.
        retries: How often a command that lost its connection or timed out is retried (after
            a jittered pause of at most 0.2 s) before ``StorageError``; redis-py's own default
            of ten, with pauses up to a second, would hold a caller for seconds when the
            server is down. Not applied to a ``client`` you pass.
        max_connections: How many connections the storage's own pool opens at most; more
            callers at once wait for one. Not applied to a ``client`` you pass.
        pool_timeout: Seconds a command waits for a free connection before ``StorageError``.
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
        client: redis.Redis | redis.RedisCluster | None = None,
        ttl: float | None = None,
        socket_timeout: float | None = 5.0,
        retries: int = 2,
        max_connections: int = 100,
        pool_timeout: float = 10.0,
    ) -> None:
        self.prefix = checked_prefix(prefix)
        if ttl is not None and not positive_seconds(ttl):
            raise ConfigurationError(f"ttl must be a number of seconds > 0 or None, not {ttl!r}")
        if client is not None and url is not None:
            raise ConfigurationError("give SyncRedisStorage a url or a client, not both")
        _checked_pool(max_connections, pool_timeout)
        redis = _import_redis()
        self.ttl = ttl
        self.pool_timeout = float(pool_timeout)
        self._pool: Any = None  # the pool of the storage's own client, closed with it
        self._client: Any
        if client is not None:
            self._client = _checked_client(redis, client, type(self).__name__)
        else:
            backoff = redis.backoff.FullJitterBackoff(cap=0.2, base=0.02)
            settings: dict[str, Any] = {
                "socket_timeout": socket_timeout,
                "socket_connect_timeout": socket_timeout,
                "retry": redis.retry.Retry(backoff, retries),
                "max_connections": max_connections,
                "timeout": pool_timeout,
            }
            if password is not None:
                settings["password"] = password
            server = {"host": host, "port": port, "db": db, "ssl": ssl}
            self._pool = _blocking_pool(redis, url, server, settings)
            self._client = redis.Redis(connection_pool=self._pool)
        self._errors = RedisErrors(self._client, redis.exceptions)

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
        max_connections: int = 100,
        pool_timeout: float = 10.0,
    ) -> Self:
        """A storage on the server of ``url``: ``redis://[:password@]host:port/db``,
        ``rediss://…`` (TLS) or ``unix:///path/to/socket?db=0``."""
        return cls(
            prefix=prefix,
            url=url,
            password=password,
            ttl=ttl,
            socket_timeout=socket_timeout,
            retries=retries,
            max_connections=max_connections,
            pool_timeout=pool_timeout,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._errors.where!r}, prefix={self.prefix!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool, if this storage made the client."""
        if self._pool is not None:
            with self._errors.reporting("close the connection"):
                self._client.close()
                self._pool.disconnect()

    def store_token(self, key: str, token: dict[str, Any]) -> None:
        """Keep ``token`` as JSON under ``prefix + key``, expiring by the module's rule."""
        payload = entry_json(key, token)
        name = redis_name(self.prefix, key)
        expiry = redis_expiry_ms(token, self.ttl, time.time())
        if expiry == 0:
            self._run(f"store {key!r}", partial(self._client.delete, name))
        else:
            self._run(f"store {key!r}", partial(self._client.set, name, payload, px=expiry))

    def retrieve_token(self, key: str) -> dict[str, Any] | None:
        """The entry under ``key``, or ``None`` (also once it has expired)."""
        name = redis_name(self.prefix, key)
        raw = self._run(f"read {key!r}", partial(self._client.get, name))
        return None if raw is None else parse_redis_value(raw, name, self._errors.where)

    def delete_token(self, key: str) -> None:
        """Remove the entry under ``key`` (no error if there is none)."""
        name = redis_name(self.prefix, key)
        self._run(f"delete {key!r}", partial(self._client.delete, name))

    def list_tokens(self) -> list[str]:
        """The keys with this prefix, sorted (found with ``SCAN``; locks left out)."""
        pattern = glob_escape(self.prefix) + "*"
        locks = self.prefix + LOCK_PREFIX

        def scan() -> list[str]:
            return [_text(raw) for raw in self._client.scan_iter(match=pattern, count=1000)]

        names = self._run("list the keys", scan)
        return sorted(name[len(self.prefix) :] for name in names if not name.startswith(locks))

    @contextmanager
    def lock(self, key: str, *, timeout: float = 30.0) -> Iterator[None]:
        """Hold the Redis lock of ``key``; see the module docstring for its lease."""
        name = redis_lock_name(self.prefix, key)
        if not positive_seconds(timeout):
            raise ValidationError(f"a lock timeout must be a number of seconds > 0: {timeout!r}")
        lock = self._client.lock(name, timeout=timeout, thread_local=False)
        deadline = time.monotonic() + timeout
        while not self._run(f"lock {key!r}", partial(lock.acquire, blocking=False)):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StorageError(
                    f"could not take the lock of {key!r} at {self._errors.where} within "
                    f"{timeout:g} s: another process holds it"
                )
            sync_sleep(min(_LOCK_POLL, remaining))
        try:
            with sync_renewing(partial(self._renew, lock, key), timeout / 3):
                yield
        finally:
            try:
                self._call(lock.release)
            except self._errors.caught as exc:
                _logger.warning(
                    "the lock of %r at %s was not released cleanly (%s): its lease of %g s "
                    "ran out, or the server went away",
                    key,
                    self._errors.where,
                    self._errors.scrub(exc),
                    timeout,
                )

    def _renew(self, lock: Any, key: str) -> bool:
        """Reset the lease of a held lock to its full timeout; False, with a warning, when that
        failed (renewal then stops)."""
        try:
            self._call(lock.reacquire)
        except self._errors.caught as exc:
            _logger.warning(
                "could not renew the lease of the lock of %r at %s (%s): another process may "
                "take it when the lease runs out",
                key,
                self._errors.where,
                self._errors.scrub(exc),
            )
            return False
        return True

    def _run(self, action: str, command: Callable[[], _T]) -> _T:
        """``command()`` as :meth:`_call` runs it, a failure raised as ``StorageError``."""
        with self._errors.reporting(action):
            return self._call(command)

    def _call(self, command: Callable[[], _T]) -> _T:
        """``command()``, tried again after short pauses while the client's pool is full, for
        up to ``pool_timeout`` seconds (module docstring); redis-py's errors pass through."""
        deadline = time.monotonic() + self.pool_timeout
        pause = _FIRST_PAUSE
        while True:
            try:
                return command()
            except self._errors.caught as exc:
                # A BlockingConnectionPool has waited pool_timeout already: no second wait.
                if not self._errors.pool_full(exc) or time.monotonic() >= deadline:
                    raise
            sync_sleep(pause)
            pause = min(pause * 2, _LAST_PAUSE)
