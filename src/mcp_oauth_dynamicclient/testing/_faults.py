"""Fault injection: make the next requests to an endpoint fail the way real servers do.

A :class:`Fault` says what goes wrong; :meth:`MockAuthServer.inject` arms it for the next
``times`` requests matching a path (and method). Each request takes at most one fault, from the
oldest armed rule that matches. Faults:

- ``latency(seconds)``: wait, then answer normally.
- ``server_error(status)``: a 5xx with an RFC 6749 §5.2-shaped JSON body (``server_error``, or
  ``temporarily_unavailable`` for 503), optionally with ``Retry-After``.
- ``rate_limited(retry_after)``: 429 with ``Retry-After`` in seconds or as an HTTP-date
  (RFC 9110 §10.2.3, RFC 6585 §4).
- ``malformed_json(status)``: ``Content-Type: application/json`` and a truncated body.
- ``html_error(status)``: an HTML error page, like a proxy in front of a server.
- ``drop_connection()``: the server closes the TCP connection without answering. The request is
  read in full, then the connection's asyncio transport is closed, so the client's read sees
  end-of-stream before any response byte: httpx raises ``httpx.RemoteProtocolError`` ("Server
  disconnected without sending a response"), or ``httpx.ReadError`` if the OS answers with a
  reset.

Every fault but latency takes ``after_processing``: when true the endpoint runs first (a code is
consumed, a refresh token rotated, a client registered) and only its response is replaced, the
case where a client cannot tell whether its request took effect.
"""

from __future__ import annotations

import fnmatch
import threading
from datetime import datetime
from email.utils import format_datetime
from typing import Literal

import attrs
from starlette.responses import HTMLResponse, JSONResponse, Response

__all__ = ["Fault", "FaultKind", "FaultRule", "FaultSet"]

FaultKind = Literal[
    "latency", "server_error", "rate_limited", "malformed_json", "html_error", "drop_connection"
]

_TRUNCATED_JSON = b'{"access_token": "7f3a9c", "token_type": "Bea'


def _retry_after_value(value: int | datetime) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("retry_after as a datetime must be timezone-aware")
        return format_datetime(value, usegmt=True)
    if isinstance(value, bool) or value < 0:
        raise ValueError("retry_after in seconds must be a non-negative integer")
    return str(value)


@attrs.frozen
class Fault:
    """One injected failure; build it with a class method (``Fault.server_error(503)``)."""

    kind: FaultKind
    status: int | None = None
    delay: float = 0.0
    retry_after: str | None = None
    after_processing: bool = False

    @classmethod
    def latency(cls, seconds: float) -> Fault:
        """Delay the response by ``seconds``, then answer normally."""
        if seconds < 0:
            raise ValueError("latency must not be negative")
        return cls("latency", delay=seconds)

    @classmethod
    def server_error(
        cls,
        status: int = 500,
        *,
        retry_after: int | datetime | None = None,
        after_processing: bool = False,
    ) -> Fault:
        """Answer with the 5xx ``status`` (and ``Retry-After`` when given)."""
        if not 500 <= status <= 599:
            raise ValueError("a server error status is 500-599")
        header = None if retry_after is None else _retry_after_value(retry_after)
        return cls("server_error", status, retry_after=header, after_processing=after_processing)

    @classmethod
    def rate_limited(
        cls, retry_after: int | datetime = 1, *, after_processing: bool = False
    ) -> Fault:
        """Answer 429 with ``Retry-After`` (seconds, or an aware datetime sent as HTTP-date)."""
        header = _retry_after_value(retry_after)
        return cls("rate_limited", 429, retry_after=header, after_processing=after_processing)

    @classmethod
    def malformed_json(cls, status: int = 200, *, after_processing: bool = False) -> Fault:
        """Answer ``status`` with a JSON content type and a truncated JSON body."""
        return cls("malformed_json", status, after_processing=after_processing)

    @classmethod
    def html_error(cls, status: int = 502, *, after_processing: bool = False) -> Fault:
        """Answer ``status`` with an HTML error page instead of JSON."""
        return cls("html_error", status, after_processing=after_processing)

    @classmethod
    def drop_connection(cls, *, after_processing: bool = False) -> Fault:
        """Close the connection without sending a response."""
        return cls("drop_connection", after_processing=after_processing)

    def response(self) -> Response:
        """The response that replaces the real one (not for latency or a dropped connection)."""
        status = self.status or 500
        headers = {"Retry-After": self.retry_after} if self.retry_after is not None else {}
        if self.kind == "malformed_json":
            return Response(_TRUNCATED_JSON, status, media_type="application/json")
        if self.kind == "html_error":
            page = f"<html><body><h1>{status} Error</h1><p>Injected fault.</p></body></html>"
            return HTMLResponse(page, status, headers=headers)
        error = "temporarily_unavailable" if status in (429, 503) else "server_error"
        body = {"error": error, "error_description": "injected fault"}
        return JSONResponse(body, status, headers=headers)


@attrs.define(eq=False)
class FaultRule:
    """An armed fault: which requests it applies to and how many more it will take.

    ``remaining`` is None for a rule that never runs out; ``hits`` counts the requests it
    answered.
    """

    fault: Fault
    path: str | None
    method: str | None
    remaining: int | None
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        """Whether a request with ``method`` to ``path`` falls under this rule."""
        if self.remaining == 0:
            return False
        if self.method is not None and self.method.upper() != method:
            return False
        if self.path is None:
            return True
        return fnmatch.fnmatchcase(path, self.path) if "*" in self.path else path == self.path


class FaultSet:
    """The armed rules of one server; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> None:
        """Arm a rule after those already armed."""
        with self._lock:
            self._rules.append(rule)

    def take(self, method: str, path: str) -> Fault | None:
        """The fault for this request, counting it against its rule; None for no fault."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path):
                    rule.hits += 1
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    self._rules = [r for r in self._rules if r.remaining != 0]
                    return rule.fault
        return None

    def rules(self) -> list[FaultRule]:
        """The rules still armed."""
        with self._lock:
            return list(self._rules)

    def clear(self) -> None:
        """Disarm every rule."""
        with self._lock:
            self._rules.clear()
