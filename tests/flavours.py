"""Run one test body against ``OAuth2Client`` and ``SyncOAuth2Client`` alike.

A :class:`Flavour` builds clients and returns a blocking proxy of each: for the async client
every call runs on one event loop in a background thread (an anyio blocking portal), so a test
reads the same for both APIs and checks that they behave the same.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import anyio.from_thread

from mcp_oauth_dynamicclient import OAuth2Client, SyncOAuth2Client
from mcp_oauth_dynamicclient.storage import MemoryStorage, SyncMemoryStorage


class ClientProxy:
    """Calls the wrapped client's methods, blocking until each is done."""

    def __init__(self, client: Any, portal: anyio.from_thread.BlockingPortal | None) -> None:
        self.client = client
        self.portal = portal

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.client, name)
        if self.portal is None or not callable(attribute):
            return attribute
        portal = self.portal

        def call(*args: Any, **kwargs: Any) -> Any:
            return portal.call(functools.partial(attribute, *args, **kwargs))

        return call

    def run(self, coroutine_function: Callable[[], Any]) -> Any:
        """Run an ``async def`` (async flavour) or a plain function (sync flavour)."""
        if self.portal is None:
            return coroutine_function()
        return self.portal.call(coroutine_function)


class Flavour:
    """Makes clients of one flavour (``"async"`` or ``"sync"``) and closes them at the end."""

    def __init__(self, name: str, stack: ExitStack) -> None:
        self.name = name
        self.stack = stack
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
        """A client of this flavour; closed when the test ends."""
        if self.portal is None:
            sync = SyncOAuth2Client(*args, **kwargs)
            self.stack.callback(sync.close)
            return ClientProxy(sync, None)
        portal = self.portal
        client = portal.call(lambda: _construct(args, kwargs))
        self.stack.callback(lambda: portal.call(client.aclose))
        return ClientProxy(client, portal)


async def _construct(args: tuple[Any, ...], kwargs: dict[str, Any]) -> OAuth2Client:
    return OAuth2Client(*args, **kwargs)


@contextmanager
def flavour(name: str) -> Iterator[Flavour]:
    """A :class:`Flavour` whose clients (and event loop) end with the block."""
    with ExitStack() as stack:
        yield Flavour(name, stack)
