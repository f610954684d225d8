"""An MCP client's auth from the server's URL alone: our ``httpx2_auth`` against the MCP SDK's.

    python benchmarks/bench_mcp_connect.py [--concurrent 200] [--latency-ms 20] [--rounds 20]
                                           [--sdk-bursts 3]

The official MCP Python SDK client (``streamable_http_client`` + ``ClientSession``) runs with
two auths: ours (``OAuth2Client(resource=<MCP URL>).httpx2_auth(authorize=...)``, a
``FileStorage``) and the SDK's own ``OAuthClientProvider`` (``mcp.client.auth``, a JSON-file
``TokenStorage``), both approving headlessly. The SDK (``mcp`` 2.x) needs ``httpx2`` and lives
in its own virtual environment (``tests/interop/mcp_sdk_server/.venv``, where this library is
installed too), so each client runs there as a child process (``mcp_connect_child.py``); the
servers run here.

1. Cold start: round trips from nothing (empty storage) to the first authorized MCP response
   (``initialize``), and on to the first ``tools/list``, per kind of request, against
   ``MockAuthServer`` (counted at the server, from its request log; the client's own count is
   checked against it) and against the SDK's own server (``tests/interop/mcp_sdk_server``;
   counted by the client: every transport it sends through logs, and the headless browser's
   hops). Target: ours at most the SDK's.
2. Restart: the same again in a new process with the first run's storage (a valid token):
   target, no request to the authorization server before the MCP call.
3. Concurrency: ``--concurrent`` ``tools/list`` requests at once to MockAuthServer's ``/mcp``,
   which answers after ``--latency-ms`` (a ``Fault.latency`` armed on that path), through
   ``httpx2`` clients in one child process: raw, with the header set by hand; a second raw
   client (an A/A control: its spread is the noise of the measurement); an ``httpx2.Auth`` that
   only sets the header (what httpx2's auth machinery costs by itself); ours; the SDK's
   provider. Each has its own MCP session and token (ours and the SDK's got theirs by
   authorizing). Each round, every client but the SDK's sends one burst, who goes first
   rotating; a client's ratio is the median over the rounds of its burst's wall time over raw
   httpx2's in the same round (target: ours at most 1.05x). The SDK's provider holds a lock
   while its request is in flight, so its bursts take about N times the latency; they run
   after the rounds and are compared with raw httpx2's median.

Request counts do not depend on timing (the SDK transport's optional ``GET`` event stream,
which races ``tools/list``, is shown apart); the wall times of part 3 do.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mcp_oauth_dynamicclient.testing import Fault, MockAuthServer, RecordedRequest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # ``tests.interop`` imports as the test suite imports it
    sys.path.insert(0, str(ROOT))

from tests.interop.mcp_sdk_server import ensure_venv, run_mcp_sdk_server  # noqa: E402

CHILD = Path(__file__).resolve().with_name("mcp_connect_child.py")
CHILD_TIMEOUT_SECONDS = 120.0
REDIRECT_URI = "http://127.0.0.1:3000/callback"
CONTENDERS = ("ours", "mcp-sdk")
BASELINE = "raw httpx2"

# What each request is, by path: the authorization server's and the resource's.
AS_KINDS = ("metadata", "register", "authorize", "token")
RESOURCE_KINDS = ("PRM", "/mcp")
KINDS = (*AS_KINDS, *RESOURCE_KINDS)

Record = dict[str, Any]  # method, path, status, rpc (the JSON-RPC method); who sent it


def _kind(path: str) -> str:
    if path.startswith("/.well-known/oauth-protected-resource"):
        return "PRM"
    if path.startswith(("/.well-known/oauth-authorization-server", "/.well-known/openid")):
        return "metadata"
    if path.startswith("/register"):
        return "register"
    if path in ("/authorize", "/consent"):  # the SDK server's consent hop is part of authorize
        return "authorize"
    if path == "/token":
        return "token"
    return "/mcp" if path == "/mcp" else f"other {path}"


# -------------------------------------------------------------------------- the children


def _run_child(
    python: Path, params: dict[str, Any], on_answer: Callable[[], Any] = lambda: None
) -> tuple[dict[str, Any], Any]:
    """Run the child with ``params`` (one JSON line on its stdin); its answer (one JSON line on
    its stdout), and what ``on_answer`` returns, called while the child waits for its stdin to
    close (its MCP session still open)."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("VIRTUAL_ENV", None)  # the SDK venv's interpreter, not ours
    env.pop("PYTHONPATH", None)
    with (
        tempfile.TemporaryFile("w+") as stderr,
        subprocess.Popen(
            [str(python), str(CHILD)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
        ) as child,
    ):
        watchdog = threading.Timer(CHILD_TIMEOUT_SECONDS, child.kill)
        watchdog.start()
        try:
            assert child.stdin is not None
            assert child.stdout is not None
            child.stdin.write(json.dumps(params) + "\n")
            child.stdin.flush()
            line = child.stdout.readline()
            seen = on_answer() if line else None
            child.stdin.close()
            code = child.wait()
        finally:
            watchdog.cancel()
        if not line or code != 0:
            stderr.seek(0)
            raise RuntimeError(
                f"{CHILD.name} {params['mode']} exited with {code}:\n{stderr.read()}"
            )
    answer: dict[str, Any] = json.loads(line)
    return answer, seen


# ------------------------------------------------------------------------------ counting


def _from_server(records: Iterable[RecordedRequest]) -> list[Record]:
    """MockAuthServer's log in the children's format."""
    found = []
    for record in records:
        message = record.json
        rpc = message.get("method") if isinstance(message, dict) else None
        found.append({"method": record.method, "path": record.path, "status": record.status,
                      "rpc": rpc})  # fmt: skip
    return found


class Tally:
    """The requests of one run: per kind up to the first authorized MCP response, and how many
    up to the first ``tools/list`` answer (the SDK transport's ``GET`` event stream, which
    races it, counted apart)."""

    def __init__(self, records: list[Record]) -> None:
        first = _index(records, lambda r: r["path"] == "/mcp" and _ok(r["status"]))
        listed = _index(records, lambda r: r["rpc"] == "tools/list" and _ok(r["status"]))
        self.kinds = Counter(_kind(r["path"]) for r in records[: first + 1])
        self.total = first + 1
        self.authorization_server = sum(self.kinds[kind] for kind in AS_KINDS)
        self.streams = sum(1 for r in records[: listed + 1] if _is_stream(r))
        self.to_list = listed + 1 - self.streams
        self.sequence = [f"{r['method']} {r['path']} {r['status']}" for r in records[: first + 1]]

    def key(self) -> tuple[int, ...]:
        return (*(self.kinds[kind] for kind in KINDS), self.to_list)


def _index(records: list[Record], test: Callable[[Record], bool]) -> int:
    for index, record in enumerate(records):
        if test(record):
            return index
    raise RuntimeError(f"no authorized MCP response in {records}")


def _ok(status: int | None) -> bool:
    return status is not None and 200 <= status < 300


def _is_stream(record: Record) -> bool:
    return bool(record["method"] == "GET" and record["path"] == "/mcp")


# -------------------------------------------------------------------------- round trips


def _connect(python: Path, contender: str, mcp_url: str, storage: Path) -> list[Record]:
    params = {"mode": "connect", "contender": contender, "mcp_url": mcp_url,
              "redirect_uri": REDIRECT_URI, "storage": str(storage)}  # fmt: skip
    answer, _ = _run_child(python, params)
    records: list[Record] = answer["records"]
    return records


def _connect_counted_at(
    server: MockAuthServer, python: Path, contender: str, storage: Path
) -> tuple[list[Record], list[Record]]:
    """One run against MockAuthServer: the server's records of it, and the client's."""
    params = {"mode": "connect", "contender": contender, "mcp_url": server.resource_url,
              "redirect_uri": REDIRECT_URI, "storage": str(storage)}  # fmt: skip
    before = len(server.requests)
    answer, seen = _run_child(python, params, lambda: server.requests.snapshot()[before:])
    assert server.errors == [], server.errors
    return _from_server(seen), answer["records"]


Rows = dict[tuple[str, str, str], Tally]  # (server, run, contender) -> tally


def round_trips(python: Path, workdir: Path) -> tuple[Rows, list[str]]:
    """Cold start and restart of each contender against both servers."""
    rows: Rows = {}
    notes: list[str] = []
    for contender in CONTENDERS:
        storage = workdir / f"mock-{contender}.json"
        with MockAuthServer() as server:
            for run in ("cold start", "restart"):
                at_server, at_client = _connect_counted_at(server, python, contender, storage)
                rows["MockAuthServer", run, contender] = tally = Tally(at_server)
                if Tally(at_client).key() != tally.key():
                    notes.append(
                        f"MockAuthServer, {contender}, {run}: the client counted "
                        f"{Tally(at_client).sequence}, the server {tally.sequence}"
                    )
    with run_mcp_sdk_server() as sdk_server:
        for contender in CONTENDERS:
            storage = workdir / f"sdk-{contender}.json"
            for run in ("cold start", "restart"):
                records = _connect(python, contender, sdk_server.mcp_url, storage)
                rows["MCP SDK server", run, contender] = Tally(records)
    return rows, notes


SERVERS = ("MockAuthServer", "MCP SDK server")
RUNS = {
    "cold start": "Cold start (empty storage)",
    "restart": "Restart (a new process with the first run's storage: a valid token)",
}


def print_round_trips(rows: Rows, notes: list[str]) -> None:
    head = "".join(f"{kind:>10}" for kind in KINDS)
    for run, title in RUNS.items():
        print(f"\n{title}: requests up to the first authorized MCP response (initialize)")
        print(f"  {'server':15} {'client':8}{head}{'AS':>5}{'total':>7}{'tools/list':>12}")
        for server in SERVERS:
            for contender in CONTENDERS:
                tally = rows[server, run, contender]
                cells = "".join(f"{tally.kinds[kind]:>10}" for kind in KINDS)
                print(
                    f"  {server:15} {contender:8}{cells}{tally.authorization_server:>5}"
                    f"{tally.total:>7}{tally.to_list:>12}"
                )
            ours, sdk = rows[server, run, "ours"], rows[server, run, "mcp-sdk"]
            print(
                f"  {'':15} {'ours/SDK':8}{'':>{len(head) + 5}}{ours.total / sdk.total:7.2f}"
                f"{ours.to_list / sdk.to_list:12.2f}"
            )
            met = ours.authorization_server == 0 if run == "restart" else ours.total <= sdk.total
            print(f"  {'':15} {'target':8} {'met' if met else 'MISSED'}")
    print("\n  AS: metadata + register + authorize + token (the SDK server's /consent hop counted")
    print("  with authorize); tools/list: every request up to the first tools/list answer, the")
    print("  SDK transport's GET event stream aside. MockAuthServer counts at the server, the")
    print("  SDK server at the client. Targets: cold start, ours <= the SDK's; restart, AS = 0.")
    print("\nRequests up to the first authorized MCP response, in order")
    for server in SERVERS:
        for run in RUNS:
            for contender in CONTENDERS:
                sequence = ", ".join(rows[server, run, contender].sequence)
                print(f"  {server}, {run}, {contender}: {sequence}")
    for note in notes:
        print(f"  warning: {note}")


# -------------------------------------------------------------------------- concurrency


def concurrency(python: Path, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The child's bursts against MockAuthServer with latency armed on ``/mcp``."""
    with MockAuthServer() as server:
        created = server.create_client({"redirect_uris": [REDIRECT_URI]})
        token = server.issue_token(created.client_id, resource=[server.resource_url])
        mcp_path = urlsplit(server.resource_url).path
        server.inject(Fault.latency(args.latency_ms / 1000), path=mcp_path, times=None)
        params = {"mode": "concurrency", "mcp_url": server.resource_url,
                  "token": token.access_token, "redirect_uri": REDIRECT_URI,
                  "storage_dir": str(workdir), "concurrent": args.concurrent,
                  "rounds": args.rounds, "sdk_bursts": args.sdk_bursts}  # fmt: skip
        answer, _ = _run_child(python, params)
        assert server.errors == [], server.errors
    return answer


def print_concurrency(answer: dict[str, Any], args: argparse.Namespace) -> None:
    wall: dict[str, list[float]] = answer["wall_ms"]
    cpu: dict[str, list[float]] = answer["cpu_ms"]
    base = wall[BASELINE]
    print(
        f"\n{args.concurrent} concurrent tools/list to MockAuthServer's /mcp, answering after "
        f"{args.latency_ms:g} ms ({args.rounds} rounds of one burst each, who goes first "
        f"rotating; the SDK's {args.sdk_bursts} bursts after them)"
    )
    print(
        f"  {'client':26}{'wall ms':>9}{'x raw':>8}{'quartiles':>16}"
        f"{'CPU µs/req':>12}{'in flight':>11}"
    )
    for name, times in wall.items():
        cpu_per_request = statistics.median(cpu[name]) / args.concurrent * 1000
        if name == BASELINE:
            ratio, spread = 1.0, ""
        elif len(times) == len(base):  # took turns with raw httpx2: the median per-round ratio
            ratios = [mine / raw for mine, raw in zip(times, base, strict=True)]
            low, _, high = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
            ratio, spread = statistics.median(ratios), f"[{low:.3f}-{high:.3f}]"
        else:  # ran after the others: against the median of raw httpx2
            ratio, spread = statistics.median(times) / statistics.median(base), ""
        print(
            f"  {name:26}{statistics.median(times):9.1f}{ratio:8.3f}{spread:>16}"
            f"{cpu_per_request:12.0f}{answer['max_in_flight'][name]:11}"
        )
    print("  x raw: median of the per-round ratios to raw httpx2 (quartiles beside it); the SDK's:")
    print("  its median over raw's. 'raw httpx2 (A/A)' is a second raw client: its quartiles are")
    print("  the noise. CPU: the client process's, per request. Target: ours <= x1.05.")
    if answer["redone"]:
        print(f"  bursts run again after a transport error: {answer['redone']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrent", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--sdk-bursts", type=int, default=3)
    args = parser.parse_args()
    python = ensure_venv()
    with tempfile.TemporaryDirectory(prefix="bench-mcp-connect-") as workdir:
        rows, notes = round_trips(python, Path(workdir))
        print_round_trips(rows, notes)
        print_concurrency(concurrency(python, Path(workdir), args), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
