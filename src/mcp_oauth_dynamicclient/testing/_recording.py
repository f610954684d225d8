"""The record of requests a mock server received, for assertions.

Every request is recorded when it arrives, before any fault or endpoint runs, so a test can
count at the server what a client really sent (a retried ``POST /token`` shows up twice, a
request whose connection was dropped shows up once, with no status). The log is safe to read
from the test thread while the server appends to it.
"""

from __future__ import annotations

import fnmatch
import json
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs
import jwt

__all__ = ["RecordedRequest", "RequestLog"]


@attrs.define(eq=False)
class RecordedRequest:
    """One request as the server received it.

    ``headers`` has lower-case names (repeated headers joined with ``", "``; the DPoP proof is
    ``headers["dpop"]``, also :attr:`dpop`, decoded by :attr:`dpop_claims`); ``status`` is the
    status the server answered with, None while unanswered or when the connection was dropped;
    ``fault`` names the injected fault that answered it, if any. The repr shows neither headers
    nor body, which hold credentials.
    """

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str] = attrs.field(repr=False)
    body: bytes = attrs.field(repr=False)
    time: float = attrs.field(repr=False)
    status: int | None = None
    fault: str | None = None

    @property
    def content_type(self) -> str:
        """The media type of the body, lower-cased, without parameters."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def form(self) -> dict[str, list[str]] | None:
        """The body parsed as ``application/x-www-form-urlencoded``, else None."""
        if self.content_type != "application/x-www-form-urlencoded":
            return None
        try:
            return parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
        except (UnicodeDecodeError, ValueError):
            return None

    @property
    def json(self) -> Any:
        """The body parsed as JSON when it is sent as JSON and parses, else None."""
        if self.content_type != "application/json" and not self.content_type.endswith("+json"):
            return None
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None

    @property
    def dpop(self) -> str | None:
        """The ``DPoP`` proof header (RFC 9449 §4.1) the request carried, else None."""
        return self.headers.get("dpop")

    @property
    def dpop_claims(self) -> dict[str, Any] | None:
        """The claims of the ``DPoP`` proof, decoded without verifying it, else None (also when
        it is not a JWT)."""
        return _unverified_claims(self.dpop)

    @property
    def dpop_header(self) -> dict[str, Any] | None:
        """The JOSE header of the ``DPoP`` proof (``typ``, ``alg``, ``jwk``), unverified."""
        if self.dpop is None:
            return None
        try:
            return jwt.get_unverified_header(self.dpop)
        except jwt.PyJWTError:
            return None

    @property
    def authorization_scheme(self) -> str | None:
        """The scheme of the ``Authorization`` header (``Bearer``, ``DPoP``, ``Basic``), else
        None."""
        value = self.headers.get("authorization")
        return value.strip().partition(" ")[0] if value else None

    def param(self, name: str) -> str | None:
        """The first value of a form field (or, failing that, a query parameter), else None."""
        for source in (self.form or {}, self.query):
            if name in source:
                return source[name][0]
        return None


def _unverified_claims(token: str | None) -> dict[str, Any] | None:
    if token is None:
        return None
    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return claims


def _path_of(path: str) -> str:
    return urlsplit(path).path if path.startswith(("http://", "https://")) else path


def _matches(record: RecordedRequest, path: str | None, method: str | None) -> bool:
    if method is not None and record.method != method.upper():
        return False
    if path is None:
        return True
    pattern = _path_of(path)
    if "*" in pattern:
        return fnmatch.fnmatchcase(record.path, pattern)
    return record.path == pattern


class RequestLog:
    """The requests a server received, oldest first; thread-safe.

    ``path`` filters take a path (``"/token"``), a full URL (only its path counts) or a pattern
    with ``*`` (``"/register/*"``); ``method`` is case-insensitive.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[RecordedRequest] = []

    def append(self, record: RecordedRequest) -> None:
        """Add a request (the server does this)."""
        with self._lock:
            self._items.append(record)

    def snapshot(self) -> list[RecordedRequest]:
        """A copy of the list of requests so far."""
        with self._lock:
            return list(self._items)

    def __iter__(self) -> Iterator[RecordedRequest]:
        return iter(self.snapshot())

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __getitem__(self, index: int) -> RecordedRequest:
        with self._lock:
            return self._items[index]

    def filter(
        self, path: str | None = None, *, method: str | None = None
    ) -> list[RecordedRequest]:
        """The requests to ``path`` with ``method`` (either may be None for any)."""
        return [r for r in self.snapshot() if _matches(r, path, method)]

    def count(self, path: str | None = None, *, method: str | None = None) -> int:
        """How many requests went to ``path`` with ``method``."""
        return len(self.filter(path, method=method))

    def last(self, path: str | None = None, *, method: str | None = None) -> RecordedRequest:
        """The most recent request to ``path`` with ``method``.

        Raises:
            LookupError: there was none.
        """
        found = self.filter(path, method=method)
        if not found:
            what = f"{method.upper()} request" if method else "request"
            raise LookupError(f"no {what} to {path or 'any path'} was received")
        return found[-1]

    def clear(self) -> None:
        """Forget every request so far."""
        with self._lock:
            self._items.clear()

    def __repr__(self) -> str:
        return f"<RequestLog of {len(self)} requests>"
