"""Token storage in Redis, shared by every process that reaches the server (redis-py).

The entry of ``key`` is a JSON string under the Redis key ``prefix + key``, expiring with the
token's refresh lifetime; that layout and the expiry rule are in ``_storage_format``, and
how failures are reported (``StorageError`` naming ``redis://host:port/db``, never the
password) in ``_redis_errors``. This module holds what waits: the commands. ``list_tokens``
finds the entries with ``SCAN`` (never ``KEYS``) and strips the prefix. The connection pool
reconnects by itself, so the storage works again once the server is back.

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

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from .._concurrency import async_renewing
from .._public import public
from .._redis_errors import RedisErrors
from .._storage_format import (
    LOCK_PREFIX,
    checked_key,
    entry_json,
    entry_lifetime,
    glob_escape,
    parse_redis_value,
    positive_seconds,
    redis_expiry_ms,
    redis_name,
)
from ..exceptions import ConfigurationError, StorageError, ValidationError
from .storage import TokenStorage

if TYPE_CHECKING:
    import redis.asyncio

__all__ = ["LOCK_PREFIX", "RedisStorage", "entry_lifetime"]

_LOCK_POLL = 0.05  # seconds between attempts of a waiting lock
_logger = logging.getLogger(__name__)


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


@public("mcp_oauth_dynamicclient.storage")
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
        if ttl is not None and not positive_seconds(ttl):
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
        return f"{type(self).__name__}({self._errors.where!r}, prefix={self.prefix!r})"

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
            with self._errors.reporting("close the connection"):
                await self._client.aclose()

    async def store_token(self, key: str, token: dict[str, Any]) -> None:
        """Keep ``token`` as JSON under ``prefix + key``, expiring by the module's rule."""
        payload = entry_json(key, token)
        name = redis_name(self.prefix, key)
        expiry = redis_expiry_ms(token, self.ttl, time.time())
        with self._errors.reporting(f"store {key!r}"):
            if expiry == 0:
                await self._client.delete(name)
            else:
                await self._client.set(name, payload, px=expiry)

    async def retrieve_token(self, key: str) -> dict[str, Any] | None:
        """The entry under ``key``, or ``None`` (also once it has expired)."""
        name = redis_name(self.prefix, key)
        with self._errors.reporting(f"read {key!r}"):
            raw = await self._client.get(name)
        return None if raw is None else parse_redis_value(raw, name, self._errors.where)

    async def delete_token(self, key: str) -> None:
        """Remove the entry under ``key`` (no error if there is none)."""
        name = redis_name(self.prefix, key)
        with self._errors.reporting(f"delete {key!r}"):
            await self._client.delete(name)

    async def list_tokens(self) -> list[str]:
        """The keys with this prefix, sorted (found with ``SCAN``; locks left out)."""
        pattern = glob_escape(self.prefix) + "*"
        locks = self.prefix + LOCK_PREFIX
        keys = []
        with self._errors.reporting("list the keys"):
            async for raw in self._client.scan_iter(match=pattern, count=1000):
                name = raw.decode("utf-8", "surrogateescape") if isinstance(raw, bytes) else raw
                if not name.startswith(locks):
                    keys.append(name[len(self.prefix) :])
        return sorted(keys)

    @asynccontextmanager
    async def lock(self, key: str, *, timeout: float = 30.0) -> AsyncIterator[None]:
        """Hold the Redis lock of ``key``; see the module docstring for its lease."""
        checked_key(key)
        if not positive_seconds(timeout):
            raise ValidationError(f"a lock timeout must be a number of seconds > 0: {timeout!r}")
        lock = self._client.lock(
            self.prefix + LOCK_PREFIX + key,
            timeout=timeout,
            sleep=min(_LOCK_POLL, timeout),
            blocking_timeout=timeout,
            thread_local=False,
        )
        with self._errors.reporting(f"lock {key!r}"):
            acquired = await lock.acquire()
        if not acquired:
            raise StorageError(
                f"could not take the lock of {key!r} at {self._errors.where} within "
                f"{timeout:g} s: another process holds it"
            )
        try:
            async with async_renewing(partial(self._renew, lock, key), timeout / 3):
                yield
        finally:
            try:
                await lock.release()
            except self._errors.caught as exc:
                _logger.warning(
                    "the lock of %r at %s was not released cleanly (%s): its lease of %g s "
                    "ran out, or the server went away",
                    key,
                    self._errors.where,
                    self._errors.scrub(exc),
                    timeout,
                )

    async def _renew(self, lock: Any, key: str) -> bool:
        """Reset the lease of a held lock to its full timeout; False, with a warning, when that
        failed (renewal then stops)."""
        try:
            await lock.reacquire()
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
