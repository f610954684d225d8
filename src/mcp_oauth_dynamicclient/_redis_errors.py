"""How ``RedisStorage`` names its server and reports its failures, in both flavours.

Failures of the server or the connection (refused, timed out, wrong password, no free
connection in the pool) become :class:`~mcp_oauth_dynamicclient.exceptions.StorageError`
naming where the storage keeps its entries, never a password:

- ``redis://host:port/db`` (``rediss://`` with TLS) for a server reached over TCP;
- ``unix:///path?db=N`` for one reached through a Unix socket;
- ``redis+sentinel://sentinel:port,…/service/db`` for the master a Sentinel names;
- ``redis://host:port,… (cluster)`` for a Redis Cluster, by the nodes it was started from.

``redis.asyncio`` raises the same ``redis.exceptions`` classes as the blocking client, and
its clients have the same attributes, so one :class:`RedisErrors` serves both.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .exceptions import StorageError

__all__ = ["RedisErrors", "describe", "is_cluster"]

# What redis-py raises when every connection of a pool stays busy: its non-blocking pools
# raise MaxConnectionsError (since redis-py 6; before, a ConnectionError saying "Too many
# connections"), a BlockingConnectionPool a ConnectionError once its timeout has passed.
_POOL_FULL = ("Too many connections", "No connection available")


def is_cluster(client: Any) -> bool:
    """Whether ``client`` is a ``RedisCluster`` (of either flavour) rather than a ``Redis``."""
    return hasattr(client, "nodes_manager")


def describe(client: Any) -> str:
    """Where ``client`` (a ``Redis`` or ``RedisCluster``) keeps its keys, never its password."""
    if is_cluster(client):
        options = client.get_connection_kwargs()
        nodes = ",".join(
            f"{node.host}:{node.port}" for node in client.nodes_manager.startup_nodes.values()
        )
        return f"{_scheme(options)}://{nodes} (cluster)"
    pool = client.connection_pool
    options = pool.connection_kwargs
    db = options.get("db", 0)
    if "path" in options:
        return f"unix://{options['path']}?db={db}"
    if hasattr(pool, "service_name"):  # a SentinelConnectionPool
        sentinels = ",".join(
            _address(sentinel.connection_pool.connection_kwargs)
            for sentinel in pool.sentinel_manager.sentinels
        )
        return f"redis+sentinel://{sentinels}/{pool.service_name}/{db}"
    options = {"connection_class": pool.connection_class, **options}
    return f"{_scheme(options)}://{_address(options)}/{db}"


def _scheme(options: dict[str, Any]) -> str:
    connection_class = options.get("connection_class")
    tls = options.get("ssl") or "SSL" in getattr(connection_class, "__name__", "")
    return "rediss" if tls else "redis"


def _address(options: dict[str, Any]) -> str:
    return f"{options.get('host', 'localhost')}:{options.get('port', 6379)}"


def _secrets(client: Any) -> list[str]:
    """The passwords ``client`` may send: its own, and a Sentinel's."""
    if is_cluster(client):
        found = [client.get_connection_kwargs().get("password")]
    else:
        pool = client.connection_pool
        found = [pool.connection_kwargs.get("password")]
        manager = getattr(pool, "sentinel_manager", None)
        if manager is not None:
            found += [
                each.connection_pool.connection_kwargs.get("password") for each in manager.sentinels
            ]
    return [secret for secret in found if isinstance(secret, str) and secret]


class RedisErrors:
    """The failures of ``client`` (a redis-py client of either flavour) and their wording.

    Args:
        client: The client whose server the messages name.
        exceptions: The ``redis.exceptions`` module.
    """

    def __init__(self, client: Any, exceptions: Any) -> None:
        self.caught: tuple[type[BaseException], ...] = (exceptions.RedisError, OSError)
        self._unreachable = (exceptions.ConnectionError, exceptions.TimeoutError, OSError)
        self._refused = exceptions.AuthenticationError
        self._connection_error = exceptions.ConnectionError
        full = getattr(exceptions, "MaxConnectionsError", None)  # redis-py 6 and later
        self._full: tuple[type[BaseException], ...] = (full,) if full is not None else ()
        self.where = describe(client)
        # Kept only to blank them out of error messages (they may have come in the URL).
        self._secrets = _secrets(client)

    def pool_full(self, exc: BaseException) -> bool:
        """Whether ``exc`` says that every connection of the client's pool is in use."""
        if isinstance(exc, self._full):
            return True
        return isinstance(exc, self._connection_error) and str(exc).startswith(_POOL_FULL)

    @contextmanager
    def reporting(self, action: str) -> Iterator[None]:
        """Turn a redis-py or socket failure during ``action`` into ``StorageError``."""
        try:
            yield
        except self.caught as exc:
            raise self.error(action, exc) from exc

    def error(self, action: str, exc: BaseException) -> StorageError:
        """The ``StorageError`` of ``exc``, a redis-py or socket failure during ``action``."""
        return StorageError(
            f"Redis at {self.where}: could not {action}: {self._hint(exc)} ({self.scrub(exc)})"
        )

    def scrub(self, exc: BaseException) -> str:
        """``exc`` as text, with the passwords blanked out."""
        text = f"{type(exc).__name__}: {exc}"
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _hint(self, exc: BaseException) -> str:
        text = str(exc)
        if isinstance(exc, self._refused) or text.startswith(("NOAUTH", "WRONGPASS")):
            return "the server refused the password (or needs one)"
        if self.pool_full(exc):
            return (
                "every connection of the pool stayed busy for too long (raise the storage's "
                "max_connections or pool_timeout, or the client's max_connections)"
            )
        if isinstance(exc, self._unreachable):
            return "the server cannot be reached"
        return "the server answered with an error"
