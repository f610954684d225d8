"""``TokenManager``: tokens kept fresh in a storage, refreshed once however many callers ask.

Single-flight refresh (RFC 6749 §6, OAuth 2.1 §4.3.1 rotation): callers that find the same token
expiring queue on a per-key lock, first in this process (tasks, threads), then in the storage
(``FileStorage`` and ``RedisStorage`` lock across processes). Whoever gets the lock first
re-reads the token, refreshes it and stores the new one, rotated refresh token included,
before letting go; the others re-read, find it fresh and use it. No lock is held while a
protected request is in flight: locks guard the refresh only.

A refresh is logged at INFO (event ``token_refresh``, component ``TokenManager``), a refused one
at WARNING (``token_refresh_failed``): never the tokens, only the key's client id, the new
token's ``expires_in`` and ``scope``, or the error code.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from .._concurrency import AsyncLock
from .._keys import client_id_of
from .._lazy import LazyModule
from .._logging import TOKENS, emit, tokens_logger
from .._public import public
from ..exceptions import ConfigurationError, TokenError, ValidationError
from .storage import MemoryStorage, TokenStorage

if TYPE_CHECKING:
    from .. import _models
    from .._models import TokenResponse
else:  # attrs classes: loaded when first used, not at import (see _lazy.LazyModule)
    _models = LazyModule(__package__, ".._models")

__all__ = ["Refresher", "TokenManager"]

#: Grants whose tokens come without a refresh token and are fetched anew instead (RFC 6749
#: §4.4.3; RFC 7523 §2.1 with a new assertion): ``Refresher.refresh_grant`` does it.
_REFETCHED = frozenset({"client_credentials", "urn:ietf:params:oauth:grant-type:jwt-bearer"})


class Refresher(Protocol):
    """What a ``TokenManager`` needs to refresh: the refresh grant, storing nothing.

    ``OAuth2Client`` is one; so is any object with this method.
    """

    async def refresh_grant(self, token: TokenResponse) -> TokenResponse:
        """A new token for ``token``'s refresh token (RFC 6749 §6), or ``TokenError``."""
        ...


def _open_storage(storage_type: str, config: Mapping[str, Any]) -> TokenStorage:
    """The storage the seed's ``storage_type`` / ``storage_config`` pair names."""
    if storage_type == "memory":
        return MemoryStorage(**config)
    if storage_type == "file":
        from .file_storage import FileStorage

        return FileStorage(**config)
    if storage_type == "redis":
        from .redis_storage import RedisStorage

        return RedisStorage(**config)
    raise ConfigurationError(
        f"storage_type: expected 'memory', 'file' or 'redis', got {storage_type!r}"
    )


@public("mcp_oauth_dynamicclient")
class TokenManager:
    """Stores tokens by key and hands out valid ones, refreshing them when they expire.

    Give it a ``storage`` (or the seed's ``storage_type="file"|"redis"|"memory"`` with
    ``storage_config``) and, to refresh, a ``client`` that does the refresh grant (an
    ``OAuth2Client``, or any ``Refresher``; a client's own manager is ``client.tokens``).
    ``skew`` seconds before ``expires_at`` a token counts as expired, so it is refreshed before
    the server would refuse it.
    """

    def __init__(
        self,
        storage: TokenStorage | None = None,
        *,
        storage_type: str | None = None,
        storage_config: Mapping[str, Any] | None = None,
        client: Refresher | None = None,
        skew: float = 60.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if storage is not None and storage_type is not None:
            raise ConfigurationError("storage and storage_type: give one, not both")
        if storage is None:
            storage = _open_storage(storage_type or "memory", storage_config or {})
        if skew < 0:
            raise ConfigurationError("skew: must be 0 or more seconds")
        self.storage = storage
        self.skew = skew
        self._clock = clock if clock is not None else time.time
        self._client = client
        self._cache: dict[str, TokenResponse] = {}
        self._locks: dict[str, AsyncLock] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(storage={self.storage!r}, skew={self.skew})"

    def is_expired(
        self, token: TokenResponse | Mapping[str, Any], skew: float | None = None
    ) -> bool:
        """Whether ``token`` has expired or will within ``skew`` seconds (default: the
        manager's), judged on its absolute ``expires_at``."""
        if not isinstance(token, _models.TokenResponse):
            token = _models.TokenResponse.from_dict(token, now=self._clock())
        return token.is_expired(self.skew if skew is None else skew, now=self._clock())

    async def store_token(
        self, key: str, token: TokenResponse | Mapping[str, Any]
    ) -> TokenResponse:
        """Keep ``token`` (a ``TokenResponse`` or the seed's dict) under ``key``.

        It is held in memory first: if the storage fails (``StorageError``, say Redis is
        down), this process still has the token, which matters most for a freshly rotated
        refresh token the server will not accept twice.
        """
        if not isinstance(token, _models.TokenResponse):
            token = _models.TokenResponse.from_dict(token, now=self._clock())
        self._cache[key] = token
        await self.storage.store_token(key, token.to_dict())
        return token

    async def get_token(self, key: str) -> TokenResponse | None:
        """The stored token under ``key`` as it is, expired or not; ``None`` if there is none."""
        stored = await self.storage.retrieve_token(key)
        if not stored:
            self._cache.pop(key, None)
            return None
        try:
            token = _models.TokenResponse.from_dict(stored, now=self._clock())
        except ValidationError as exc:
            raise TokenError(f"the token stored under {key!r} is unreadable: {exc}") from None
        self._cache[key] = token
        return token

    async def delete_token(self, key: str) -> None:
        """Forget the token under ``key``."""
        self._cache.pop(key, None)
        await self.storage.delete_token(key)

    async def list_tokens(self) -> list[str]:
        """The keys in the storage."""
        return await self.storage.list_tokens()

    def held_token(self, key: str) -> TokenResponse | None:
        """The token this manager holds in memory for ``key`` if it is not about to expire;
        never reads the storage (see ``get_valid_token``)."""
        cached = self._cache.get(key)
        if cached is None:
            return None
        expires_at = cached.expires_at  # TokenResponse.is_expired, inlined: on every request
        return cached if expires_at is None or self._clock() + self.skew < expires_at else None

    async def get_valid_token(self, key: str) -> TokenResponse:
        """A token for ``key`` that is not about to expire, refreshed first if it was.

        Raises:
            TokenError: no token is stored, it expired without a refresh token, or the refresh
                was refused (``invalid_grant``: the token is removed; authorize again).
        """
        cached = self._cache.get(key)
        if cached is not None and not cached.is_expired(self.skew, now=self._clock()):
            return cached
        token = await self.get_token(key)
        if token is None:
            raise TokenError(
                f"no token yet under {key!r}: authorize first (exchange_code, get_token or the "
                "device flow)"
            )
        if not token.is_expired(self.skew, now=self._clock()):
            return token
        return await self._refresh(key, token, force=False)

    async def refresh_token(self, key: str, stale: TokenResponse | None = None) -> TokenResponse:
        """Refresh the token under ``key`` now, unless another caller just did.

        ``stale`` is the token the caller found wanting (say, refused with a 401): when the
        stored token is already another one, that one is returned without a new refresh.
        """
        token = stale if stale is not None else await self.get_token(key)
        if token is None:
            raise TokenError(f"no token stored under {key!r} to refresh")
        return await self._refresh(key, token, force=True)

    def _settled(self, current: TokenResponse | None, stale: TokenResponse, force: bool) -> bool:
        """Whether ``current`` (just re-read under the lock) makes a refresh unnecessary."""
        if current is None or current.is_expired(self.skew, now=self._clock()):
            return False
        return not force or current.access_token != stale.access_token

    async def _refresh(self, key: str, stale: TokenResponse, *, force: bool) -> TokenResponse:
        if self._client is None:
            raise ConfigurationError(
                "this TokenManager cannot refresh: build it with client=OAuth2Client(...)"
            )
        async with self._locks.setdefault(key, AsyncLock()):
            current = await self.get_token(key)
            if current is not None and self._settled(current, stale, force):
                return current
            async with self.storage.lock(key):
                current = await self.get_token(key)
                if current is not None and self._settled(current, stale, force):
                    return current
                base = current if current is not None else stale
                if not base.refresh_token and base.grant_type not in _REFETCHED:
                    raise TokenError(
                        f"the token under {key!r} has expired and has no refresh token: "
                        "authorize again",
                        error_code="invalid_grant",
                    )
                try:
                    fresh = await self._client.refresh_grant(base)
                except TokenError as exc:
                    if exc.error_code == "invalid_grant":
                        await self.delete_token(key)
                    emit(
                        tokens_logger,
                        logging.WARNING,
                        TOKENS,
                        "token_refresh_failed",
                        f"the refresh was refused ({exc.error_code or type(exc).__name__})"
                        + ("; the token was removed" if exc.error_code == "invalid_grant" else ""),
                        client_id=client_id_of(key),
                        key=key,
                        error_code=exc.error_code,
                        status_code=exc.status_code,
                    )
                    if exc.error_code == "invalid_grant":
                        raise TokenError(
                            f"{exc.message}: the refresh token is no longer valid (expired or "
                            "revoked); sign in again (the stored token was removed)",
                            error_code=exc.error_code,
                            error_description=exc.error_description,
                            error_uri=exc.error_uri,
                            status_code=exc.status_code,
                            response=exc.response,
                        ) from exc
                    raise
                # Stored before the lock is released: nobody can use the rotated-out token.
                kept = await self.store_token(key, fresh)
                emit(
                    tokens_logger,
                    logging.INFO,
                    TOKENS,
                    "token_refresh",
                    "refreshed the token",
                    client_id=client_id_of(key),
                    key=key,
                    expires_in=kept.expires_in,
                    scope=kept.scope,
                )
                return kept
