"""The server's clock: wall time plus an offset a test moves forward, never backward.

Every lifetime the mock server enforces (codes, tokens, device codes, client secrets, JWT
assertions) and every timestamp it emits (``expires_in``, ``exp``, ``iat``,
``client_id_issued_at``) is read from one :class:`Clock`, so advancing it expires exactly what a
real server would expire after that much time, without a test sleeping.
"""

from __future__ import annotations

import threading
import time

__all__ = ["Clock"]


class Clock:
    """A thread-safe clock for :class:`~mcp_oauth_dynamicclient.testing.MockAuthServer`.

    By default it follows the wall clock (``time.time()``) plus the total of every
    :meth:`advance`; given ``start`` it is frozen at that epoch time and moves only when advanced,
    which makes timestamps in assertions exact.
    """

    def __init__(self, start: float | None = None) -> None:
        self._lock = threading.Lock()
        self._frozen_at = start
        self._offset = 0.0

    @property
    def frozen(self) -> bool:
        """Whether the clock moves only when advanced."""
        return self._frozen_at is not None

    def now(self) -> float:
        """Seconds since the epoch, as the server sees them."""
        with self._lock:
            base = time.time() if self._frozen_at is None else self._frozen_at
            return base + self._offset

    def timestamp(self) -> int:
        """:meth:`now` rounded down to whole seconds (JWT NumericDate, RFC 7519 §2)."""
        return int(self.now())

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (which must not be negative)."""
        if seconds < 0:
            raise ValueError("a Clock only moves forward")
        with self._lock:
            self._offset += seconds

    def __repr__(self) -> str:
        kind = "frozen" if self.frozen else "wall"
        return f"Clock({kind}, offset={self._offset:g}s)"
