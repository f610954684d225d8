"""How ``RedisStorage`` names its server and reports its failures, in both flavours.

Failures of the server or the connection (refused, timed out, wrong password) become
:class:`~mcp_oauth_dynamicclient.exceptions.StorageError` naming ``redis://host:port/db``,
never the password. ``redis.asyncio`` raises the same ``redis.exceptions`` classes as the
blocking client, so one :class:`RedisErrors` serves both.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .exceptions import StorageError

__all__ = ["RedisErrors", "describe"]


def describe(client: Any) -> str:
    """``redis://host:port/db`` (or ``unix://path``) of ``client``, never its password."""
    pool = client.connection_pool
    options = pool.connection_kwargs
    db = options.get("db", 0)
    if "path" in options:
        return f"unix://{options['path']}?db={db}"
    scheme = "rediss" if "SSL" in pool.connection_class.__name__ else "redis"
    return f"{scheme}://{options.get('host', 'localhost')}:{options.get('port', 6379)}/{db}"


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
        self.where = describe(client)
        # Kept only to blank it out of error messages (it may have come in the URL).
        self._password: str | None = client.connection_pool.connection_kwargs.get("password")

    @contextmanager
    def reporting(self, action: str) -> Iterator[None]:
        """Turn a redis-py or socket failure during ``action`` into ``StorageError``."""
        try:
            yield
        except self.caught as exc:
            raise StorageError(
                f"Redis at {self.where}: could not {action}: {self._hint(exc)} ({self.scrub(exc)})"
            ) from exc

    def scrub(self, exc: BaseException) -> str:
        """``exc`` as text, with the password blanked out."""
        text = f"{type(exc).__name__}: {exc}"
        if self._password:
            text = text.replace(self._password, "***")
        return text

    def _hint(self, exc: BaseException) -> str:
        text = str(exc)
        if isinstance(exc, self._refused) or text.startswith(("NOAUTH", "WRONGPASS")):
            return "the server refused the password (or needs one)"
        if isinstance(exc, self._unreachable):
            return "the server cannot be reached"
        return "the server answered with an error"
