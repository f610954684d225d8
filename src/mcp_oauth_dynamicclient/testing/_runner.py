"""Serve an ASGI app with uvicorn in a daemon thread with its own event loop.

The listening socket is bound here, to ``127.0.0.1`` and port 0 (or the port of a previous run),
before the thread starts, so the port is known with no race, and uvicorn is handed that socket.
One event loop per server thread means the same server answers sync and async tests alike.

uvicorn's own main loop polls every 0.1 s and its shutdown sleeps at least 0.1 s; this runner
wakes the loop at once when asked to stop and shuts down in a few milliseconds: stop accepting,
close idle keep-alive connections, let in-flight requests finish (latency faults are cut short
by ``Context.stopping``), and after a grace period abort what is left. uvicorn's access log is
off (a request line can hold a secret in its query string) without touching the process-wide
``uvicorn.access`` logger.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from typing import Any

import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

from ._context import Context

__all__ = ["ServerThread", "bind_loopback"]

_GRACE_SECONDS = 1.0
_START_TIMEOUT = 10.0


def bind_loopback(port: int = 0) -> socket.socket:
    """A listening TCP socket on ``127.0.0.1`` (``port`` 0 picks a free one)."""
    # IPPROTO_TCP, not 0: asyncio turns Nagle off (TCP_NODELAY) only for sockets that say TCP;
    # with Nagle on, a response whose headers and body are written apart waits ~40 ms.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        # Room for hundreds of clients connecting at once (a load test's threads): past the
        # accept queue, the kernel drops connections and clients see resets.
        sock.listen(1024)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _protocol_class(ctx: Context) -> type[H11Protocol]:
    """uvicorn's h11 protocol, tracking each connection's transport and without access log."""

    class TrackedH11Protocol(H11Protocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.access_log = False

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if self.client is not None:
                ctx.transports[self.client] = transport

        def connection_lost(self, exc: Exception | None) -> None:
            if self.client is not None:
                ctx.transports.pop(self.client, None)
            super().connection_lost(exc)

    return TrackedH11Protocol


class _Server(uvicorn.Server):
    """A uvicorn server that starts and stops without its fixed 0.1 s waits."""

    def __init__(self, config: uvicorn.Config, ctx: Context) -> None:
        super().__init__(config)
        self.ctx = ctx
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.wakeup: asyncio.Event | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        self.wakeup = asyncio.Event()
        self.ctx.stopping = asyncio.Event()
        try:
            await super().startup(sockets=sockets)
        finally:
            self.ready.set()

    async def main_loop(self) -> None:
        assert self.wakeup is not None
        while not await self.on_tick(0):  # counter 0: refresh the Date header each pass
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), 1.0)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self.ctx.stopping is not None:
            self.ctx.stopping.set()
        for server in self.servers:
            server.close()
        state = self.server_state
        for connection in list(state.connections):
            connection.shutdown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _GRACE_SECONDS
        while (state.connections or state.tasks) and loop.time() < deadline:
            await asyncio.sleep(0.002)
        for connection in list(state.connections):
            connection.transport.abort()
        for task in list(state.tasks):
            task.cancel()
        await asyncio.gather(*state.tasks, return_exceptions=True)
        for server in self.servers:
            await server.wait_closed()

    def request_stop(self) -> None:
        """Ask the server to stop; callable from any thread."""
        self.should_exit = True
        if self.loop is not None and self.wakeup is not None:
            with contextlib.suppress(RuntimeError):  # the loop already closed
                self.loop.call_soon_threadsafe(self.wakeup.set)


class ServerThread:
    """One run of a server: started once, stopped once."""

    def __init__(self, app: ASGIApp, ctx: Context, sock: socket.socket) -> None:
        config = uvicorn.Config(
            app,
            http=_protocol_class(ctx),
            ws="none",
            lifespan="off",
            interface="asgi3",
            log_config=None,
            proxy_headers=False,
            server_header=False,
        )
        self._sock = sock
        self._server = _Server(config, ctx)
        self._error: BaseException | None = None
        port = sock.getsockname()[1]
        self._thread = threading.Thread(
            target=self._run, name=f"MockAuthServer:{port}", daemon=True
        )

    def _run(self) -> None:
        try:
            asyncio.run(self._server.serve(sockets=[self._sock]))
        except BaseException as exc:
            self._error = exc
        finally:
            self._sock.close()
            self._server.ready.set()

    def start(self) -> None:
        """Start serving; return once the server accepts connections.

        Raises:
            RuntimeError: the server did not start.
        """
        self._thread.start()
        if not self._server.ready.wait(_START_TIMEOUT) or not self._server.started:
            self.stop()
            raise RuntimeError("MockAuthServer failed to start") from self._error

    def stop(self) -> None:
        """Stop serving and wait for the thread to end (unless called from that thread)."""
        self._server.request_stop()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(_GRACE_SECONDS + 5.0)

    @property
    def alive(self) -> bool:
        """Whether the server thread is running."""
        return self._thread.is_alive()
