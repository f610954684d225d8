"""A loopback HTTP/1.1 server that answers the way a hostile authorization server does.

For the transport-limit tests: a response too large to read, announced by its
``Content-Length`` or endless and chunked; a body that decompresses to far more than it
weighs; a response sent a byte at a time. ``http.server`` cannot send those (it buffers, and
writes a whole body at once), so this one writes raw bytes on a plain socket, one thread per
connection.

Each route is a function that gets the :class:`Connection` and writes what it likes; the
server notes how many bytes each response got out and whether the client hung up first, so a
test can say that the client stopped reading, without timing anything.
"""

from __future__ import annotations

import gzip
import json
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Connection",
    "HostileServer",
    "Request",
    "announce",
    "chunked",
    "endless",
    "gzip_bomb",
    "json_reply",
    "run_hostile_server",
    "sized",
    "trickle",
    "trickle_headers",
]


@dataclass(frozen=True)
class Request:
    """One request as the server read it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Connection:
    """The client's connection, for a route to write to; it records how the write went."""

    sock: socket.socket
    request: Request
    sent: int = 0
    client_gone: bool = False
    finished: bool = False
    done: threading.Event = field(default_factory=threading.Event)

    def send(self, data: bytes) -> bool:
        """Write ``data``; False (and ``client_gone``) once the client has closed."""
        try:
            self.sock.sendall(data)
        except OSError:  # BrokenPipeError, ConnectionResetError
            self.client_gone = True
            return False
        self.sent += len(data)
        return True

    def wait_for_close(self, seconds: float) -> bool:
        """Wait until the client closes the connection (True) or ``seconds`` pass (False)."""
        ready, _, _ = select.select([self.sock], [], [], seconds)
        if not ready:
            return False
        try:
            gone = self.sock.recv(1) == b""
        except OSError:
            gone = True
        self.client_gone = self.client_gone or gone
        return gone


Route = Callable[[Connection], bool]
"""Writes a response; returns whether the connection may be kept for another request."""


@dataclass
class HostileServer:
    """Routes by ``(method, path)``, the rest to ``fallback`` (404 unless set); ``responses``
    records each answer (wait for its ``done`` before reading how it went)."""

    url: str = ""
    routes: dict[tuple[str, str], Route] = field(default_factory=dict)
    fallback: Route | None = None
    received: list[Request] = field(default_factory=list)
    responses: list[Connection] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def route(self, method: str, path: str, respond: Route) -> None:
        """Answer ``method path`` with ``respond`` from now on."""
        with self.lock:
            self.routes[(method, path)] = respond

    def metadata(self, **extra: Any) -> dict[str, Any]:
        """RFC 8414 metadata naming this server's endpoints, for a client pre-registered."""
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "client_credentials"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            **extra,
        }

    def serve_metadata(self, **extra: Any) -> None:
        """Answer the metadata request (RFC 8414 §3) with :meth:`metadata`."""
        path = "/.well-known/oauth-authorization-server"
        self.route("GET", path, json_reply(self.metadata(**extra)))

    def answered(self, path: str) -> list[Connection]:
        """The responses to requests for ``path``, in order."""
        with self.lock:
            return [c for c in self.responses if c.request.path == path]

    def _respond(self, sock: socket.socket, request: Request) -> bool:
        with self.lock:
            self.received.append(request)
            respond = self.routes.get((request.method, request.path), self.fallback)
            connection = Connection(sock, request)
            self.responses.append(connection)
        try:
            keep = (respond or not_found)(connection)
            connection.finished = not connection.client_gone
        finally:
            connection.done.set()
        return keep and not connection.client_gone


def _read_request(sock: socket.socket, buffer: bytearray) -> Request | None:
    while b"\r\n\r\n" not in buffer:
        data = sock.recv(65536)
        if not data:
            return None
        buffer += data
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = bytearray(rest)
    while len(body) < length:
        data = sock.recv(65536)
        if not data:
            return None
        body += data
    buffer[:] = body[length:]
    return Request(method, target.split("?")[0], headers, bytes(body[:length]))


def _serve_connection(server: HostileServer, sock: socket.socket) -> None:
    buffer = bytearray()
    with sock:
        try:
            while True:
                request = _read_request(sock, buffer)
                if request is None or not server._respond(sock, request):
                    return
        except OSError:
            return


@contextmanager
def run_hostile_server() -> Iterator[HostileServer]:
    """Serve on a free loopback port for the duration of the block."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)  # so the accepting thread sees ``stopping`` (close does not wake it)
    server = HostileServer(url=f"http://127.0.0.1:{listener.getsockname()[1]}")
    stopping = threading.Event()

    def accept() -> None:
        while not stopping.is_set():
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=_serve_connection, args=(server, sock), daemon=True).start()

    thread = threading.Thread(target=accept, name="hostile-server", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stopping.set()
        thread.join(timeout=5)
        listener.close()


# ------------------------------------------------------------------------------ responses


def _head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def not_found(connection: Connection) -> bool:
    connection.send(_head(404, {"Content-Length": "0"}))
    return True


def json_reply(payload: Any, status: int = 200, **headers: str) -> Route:
    """A well-formed JSON response."""
    return sized(json.dumps(payload).encode(), status, **headers)


def sized(body: bytes, status: int = 200, **headers: str) -> Route:
    """``body`` with its ``Content-Length``."""

    def respond(connection: Connection) -> bool:
        head = {"Content-Type": "application/json", "Content-Length": str(len(body)), **headers}
        connection.send(_head(status, head) + body)
        return True

    return respond


def chunked(body: bytes, status: int = 200, piece: int = 65536) -> Route:
    """``body`` in chunked transfer coding, with no ``Content-Length``."""

    def respond(connection: Connection) -> bool:
        head = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
        if not connection.send(_head(status, head)):
            return False
        for start in range(0, len(body), piece):
            part = body[start : start + piece]
            if not connection.send(f"{len(part):x}\r\n".encode() + part + b"\r\n"):
                return False
        connection.send(b"0\r\n\r\n")
        return True

    return respond


def announce(length: int, wait: float = 30.0) -> Route:
    """Headers announcing a ``length``-byte body, then nothing: a client that starts reading
    waits (and times out); one that refuses the length closes at once."""

    def respond(connection: Connection) -> bool:
        head = {"Content-Type": "application/json", "Content-Length": str(length)}
        connection.send(_head(200, head))
        connection.wait_for_close(wait)
        return False

    return respond


def endless(piece: int = 65536, cap: int = 1 << 30) -> Route:
    """A chunked body that does not end (until ``cap`` bytes, so a broken client still ends)."""

    def respond(connection: Connection) -> bool:
        head = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
        if not connection.send(_head(200, head)):
            return False
        part = f"{piece:x}\r\n".encode() + b'{"a":' * (piece // 5) + b" " * (piece % 5) + b"\r\n"
        while connection.sent < cap:
            if not connection.send(part):
                return False
        return False

    return respond


def gzip_bomb(decoded: int) -> Route:
    """A JSON object of ``decoded`` bytes, gzip-compressed to a few kilobytes."""
    padding = decoded - len('{"x": ""}')
    body = gzip.compress(b'{"x": "' + b"0" * padding + b'"}', compresslevel=9)
    return sized(body, 200, **{"Content-Encoding": "gzip"})


def trickle(total: int = 600, every: float = 0.1) -> Route:
    """Headers at once (``Content-Length: total``), then the body one byte every ``every``
    seconds: each read gets a byte well within any timeout, the whole takes a minute."""

    def respond(connection: Connection) -> bool:
        head = {"Content-Type": "application/json", "Content-Length": str(total)}
        if not connection.send(_head(200, head)):
            return False
        for _ in range(total):
            time.sleep(every)
            if not connection.send(b" "):
                return False
        return False

    return respond


def trickle_headers(count: int = 600, every: float = 0.1) -> Route:
    """A status line, then one header byte every ``every`` seconds (``count`` of them)."""

    def respond(connection: Connection) -> bool:
        if not connection.send(b"HTTP/1.1 200 OK\r\nX-Slow: "):
            return False
        for _ in range(count):
            time.sleep(every)
            if not connection.send(b"a"):
                return False
        connection.send(b"\r\nContent-Length: 2\r\n\r\n{}")
        return False

    return respond
