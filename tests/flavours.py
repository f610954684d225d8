"""Run one test body against ``OAuth2Client`` and ``SyncOAuth2Client`` alike.

A :class:`Flavour` builds clients and returns a blocking proxy of each: for the async client
every call runs on one event loop in a background thread (an anyio blocking portal), so a test
reads the same for both APIs and checks that they behave the same.

With ``record_requests``, every client gets its own ``httpx`` client whose response hook records
each exchange in a :class:`RequestLog`, so a test against a third-party server can say how many
requests the library sent, and which ones, without a proxy in between.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, NamedTuple

import anyio.from_thread
import httpx

from mcp_oauth_dynamicclient import OAuth2Client, SyncOAuth2Client
from mcp_oauth_dynamicclient.storage import MemoryStorage, SyncMemoryStorage

__all__ = ["ClientProxy", "Exchange", "Flavour", "RequestLog", "flavour"]


class Exchange(NamedTuple):
    """One request the library sent and the status it got back (compares equal to a tuple)."""

    method: str
    path: str
    status: int


class RequestLog:
    """The exchanges of one client, in order (thread-safe: hooks run on the portal's thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._exchanges: list[Exchange] = []

    def record(self, response: httpx.Response) -> None:
        """Keep the method, path and status of ``response``."""
        request = response.request
        with self._lock:
            self._exchanges.append(Exchange(request.method, request.url.path, response.status_code))

    @property
    def exchanges(self) -> list[Exchange]:
        """A copy of everything recorded so far."""
        with self._lock:
            return list(self._exchanges)

    def to(self, path: str, method: str | None = None) -> list[Exchange]:
        """The exchanges with ``path`` (and ``method``, if given)."""
        return [
            exchange
            for exchange in self.exchanges
            if exchange.path == path and (method is None or exchange.method == method)
        ]

    def clear(self) -> None:
        """Forget what was recorded (to count from a point in a test)."""
        with self._lock:
            self._exchanges.clear()


class ClientProxy:
    """Calls the wrapped object's methods, blocking until each is done.

    ``requests`` is the log of the client's own HTTP client (empty for a wrapped storage).
    """

    def __init__(
        self,
        client: Any,
        portal: anyio.from_thread.BlockingPortal | None,
        requests: RequestLog | None = None,
    ) -> None:
        self.client = client
        self.portal = portal
        self.requests = requests if requests is not None else RequestLog()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.client, name)
        if self.portal is None or not callable(attribute):
            return attribute
        portal = self.portal

        def call(*args: Any, **kwargs: Any) -> Any:
            return portal.call(functools.partial(attribute, *args, **kwargs))

        return call

    def storage_proxy(self) -> ClientProxy:
        """The client's token storage, wrapped the same way (blocking calls for both flavours)."""
        return ClientProxy(self.client.storage, self.portal)


class Flavour:
    """Makes clients of one flavour (``"async"`` or ``"sync"``) and closes them at the end."""

    def __init__(self, name: str, stack: ExitStack, *, record_requests: bool = False) -> None:
        self.name = name
        self.stack = stack
        self.record_requests = record_requests
        self.portal = (
            stack.enter_context(anyio.from_thread.start_blocking_portal("asyncio"))
            if name == "async"
            else None
        )

    @property
    def is_async(self) -> bool:
        """Whether these are ``OAuth2Client`` (asyncio) clients."""
        return self.portal is not None

    def storage(self) -> Any:
        """A fresh in-memory storage of the right flavour."""
        return MemoryStorage() if self.is_async else SyncMemoryStorage()

    def client(self, *args: Any, **kwargs: Any) -> ClientProxy:
        """A client of this flavour, closed when the test ends.

        With ``record_requests`` (and no ``http_client`` given) the library is handed an
        ``httpx`` client that logs each exchange; it does not own it (so it never closes it),
        and this flavour closes both at the end of the test.
        """
        log = RequestLog()
        if not self.record_requests or "http_client" in kwargs:
            return self._plain(args, kwargs)
        if self.portal is None:
            http = httpx.Client(timeout=30.0, event_hooks={"response": [log.record]})
            self.stack.callback(http.close)
            sync = SyncOAuth2Client(*args, http_client=http, **kwargs)
            self.stack.callback(sync.close)
            return ClientProxy(sync, None, log)
        portal = self.portal
        client, http_async = portal.call(lambda: _construct(args, kwargs, log))
        self.stack.callback(lambda: portal.call(http_async.aclose))
        self.stack.callback(lambda: portal.call(client.aclose))
        return ClientProxy(client, portal, log)

    def _plain(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> ClientProxy:
        if self.portal is None:
            sync = SyncOAuth2Client(*args, **kwargs)
            self.stack.callback(sync.close)
            return ClientProxy(sync, None)
        portal = self.portal
        client = portal.call(lambda: _construct_plain(args, kwargs))
        self.stack.callback(lambda: portal.call(client.aclose))
        return ClientProxy(client, portal)

    def run(self, coroutine_function: Any) -> Any:
        """Run an ``async def`` (async flavour) or a plain function (sync flavour)."""
        return coroutine_function() if self.portal is None else self.portal.call(coroutine_function)


async def _construct_plain(args: tuple[Any, ...], kwargs: dict[str, Any]) -> OAuth2Client:
    return OAuth2Client(*args, **kwargs)


async def _construct(
    args: tuple[Any, ...], kwargs: dict[str, Any], log: RequestLog
) -> tuple[OAuth2Client, httpx.AsyncClient]:
    async def record(response: httpx.Response) -> None:
        log.record(response)

    http = httpx.AsyncClient(timeout=30.0, event_hooks={"response": [record]})
    return OAuth2Client(*args, http_client=http, **kwargs), http


@contextmanager
def flavour(name: str, *, record_requests: bool = False) -> Iterator[Flavour]:
    """A :class:`Flavour` whose clients (and event loop) end with the block."""
    with ExitStack() as stack:
        yield Flavour(name, stack, record_requests=record_requests)
