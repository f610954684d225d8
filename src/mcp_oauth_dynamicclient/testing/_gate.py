"""The ASGI layer in front of the endpoints: record the request, inject a fault, contain errors.

For each HTTP request it reads the body in full, appends a :class:`RecordedRequest` to the log,
takes the fault armed for it (if any) and either applies the fault or passes the request on,
replaying the body. Any exception that escapes an endpoint is kept in ``Context.errors`` and
answered with a bare 500 JSON ``server_error``: no traceback reaches the client, and nothing,
not even the exception's message (which could quote a secret), is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import parse_qs

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._context import Context
from ._faults import Fault, FaultSet
from ._recording import RecordedRequest, RequestLog

__all__ = ["Gate"]

logger = logging.getLogger("mcp_oauth_dynamicclient.testing")


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The whole request body, and whether the client disconnected while sending it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), True
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), False


def _record(scope: Scope, body: bytes, now: float) -> RecordedRequest:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    return RecordedRequest(scope["method"], scope["path"], query, headers, body, now)


class Gate:
    """Wraps the Starlette app of one server."""

    def __init__(self, app: ASGIApp, ctx: Context, log: RequestLog, faults: FaultSet) -> None:
        self.app = app
        self.ctx = ctx
        self.log = log
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body, disconnected = await _read_body(receive)
        record = _record(scope, body, self.ctx.clock.now())
        self.log.append(record)
        if disconnected:
            return

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
            await send(message)

        try:
            fault = self.faults.take(scope["method"], scope["path"])
            if fault is not None:
                record.fault = fault.kind
            await self._serve(scope, body, receive, recording_send, fault)
        except Exception as exc:  # an endpoint bug: keep it for the test, answer 500
            self.ctx.errors.append(exc)
            method, path = scope["method"], scope["path"]
            logger.error("MockAuthServer: %s in %s %s", type(exc).__name__, method, path)
            if record.status is None:
                response = JSONResponse({"error": "server_error"}, status_code=500)
                await response(scope, receive, recording_send)

    async def _serve(
        self, scope: Scope, body: bytes, receive: Receive, send: Send, fault: Fault | None
    ) -> None:
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def discard(message: Message) -> None:
            return None

        if fault is None or fault.kind == "latency":
            if fault is not None:
                await self._sleep(fault.delay)
            await self.app(scope, replay, send)
            return
        if fault.after_processing:
            await self.app(scope, replay, discard)
        if fault.kind == "drop_connection":
            await self._drop(scope, receive)
            return
        await fault.response()(scope, replay, send)

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake at once when the server is stopping."""
        stopping = self.ctx.stopping
        if stopping is None:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), seconds)

    async def _drop(self, scope: Scope, receive: Receive) -> None:
        """Close the connection without a response byte, and wait until the server sees it."""
        client = scope.get("client")
        transport = self.ctx.transports.get(tuple(client)) if client else None
        if transport is None:
            raise RuntimeError("the connection to drop is not tracked")
        transport.abort()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(receive(), 1.0)
