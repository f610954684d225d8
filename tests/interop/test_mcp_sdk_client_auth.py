"""The official MCP Python SDK client, authorized by this library (issue 11, "Plugging into HTTP
clients and the MCP SDK").

The SDK (``mcp`` 2.x on ``httpx2``) never enters the test process: the clients run in the
interop suite's own venv (``tests.interop.mcp_sdk_server.ensure_venv``), where this library is
installed editable, as ``examples/mcp_sdk_client.py`` and ``sdk_client_script.py``. They print
what they got and what they sent; the servers record what arrived.

- The example, as a user runs it: with a ``MockAuthServer`` of its own, and with a server's URL,
  where the test plays the user (reads the printed authorization URL, approves it, pastes the
  callback URL) and a second run finds its token in the file.
- The SDK's ``ClientSession`` over ``streamable_http_client`` with ``httpx2_auth`` (``sdk``)
  and a blocking ``httpx2.Client`` speaking JSON-RPC by hand (``sync``), each against
  ``MockAuthServer`` (cold start, step-up, restart with a token file) and against the SDK's
  own server (cold start; ``whoami`` names our client and the resource).
"""

from __future__ import annotations

import json
import os
import queue
import shlex
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.interop.mcp_sdk_server import DEFAULT_VENV, McpSdkServer, ensure_venv, run_mcp_sdk_server

pytestmark = pytest.mark.interop

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "sdk_client_script.py"
EXAMPLE = HERE.parent.parent / "examples" / "mcp_sdk_client.py"
REDIRECT_URI = "http://127.0.0.1:8765/callback"  # the example's and the script's
PRM_PATH = "/.well-known/oauth-protected-resource/mcp"
AS_METADATA_PATH = "/.well-known/oauth-authorization-server"
TIMEOUT = 60
PROMPT = "Paste the URL your browser was sent to: "  # the example's, with no newline after it
SESSION = [  # what the example prints of its session with a MockAuthServer
    "- connected to: MockAuthServer, MCP 2025-11-25",
    "- tools: echo",
    "- echo answered: hello from the MCP SDK",
]
OPEN_IN_BROWSER = "import sys; open('opened.txt', 'a').write(sys.argv[1] + '\\n')"
MODES = ["sdk", "sync"]  # the SDK's ClientSession (asyncio) / httpx2.Client by hand (blocking)


@pytest.fixture(scope="module")
def sdk_python() -> Path:
    """The SDK environment's interpreter, built on first use."""
    return ensure_venv(Path(os.environ.get("MCP_SDK_VENV", DEFAULT_VENV)))


@pytest.fixture(scope="module")
def sdk_server() -> Iterator[McpSdkServer]:
    """The MCP SDK's own server (authorization and MCP), shared by this module's tests."""
    with run_mcp_sdk_server() as server:
        yield server


def _env(home: Path) -> dict[str, str]:
    """The child's environment: unbuffered, its own venv only, ``~`` in the test's tmp_path,
    and a "browser" (``webbrowser`` honours ``$BROWSER``) that notes the URLs it is handed in
    ``opened.txt`` in the working directory."""
    browser = f"{shlex.quote(sys.executable)} -c {shlex.quote(OPEN_IN_BROWSER)} %s"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HOME": str(home), "BROWSER": browser}
    for name in ("VIRTUAL_ENV", "PYTHONPATH"):
        env.pop(name, None)
    return env


def _script(python: Path, home: Path, *args: str) -> dict[str, Any]:
    """Run ``sdk_client_script.py`` with ``args`` in ``home``; the JSON it printed."""
    done = subprocess.run(
        [str(python), str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        cwd=home,
        env=_env(home),
    )
    assert done.returncode == 0, done.stderr[-4000:]
    out: dict[str, Any] = json.loads(done.stdout)
    return out


def _query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def _scopes(url: str) -> set[str]:
    return set(_query(url).get("scope", "").split())


def _as_requests(server: MockAuthServer) -> int:
    """Requests to the authorization server: every one but to the MCP server and its metadata."""
    resource_side = ("/mcp", PRM_PATH)
    return sum(1 for r in server.requests if r.path not in resource_side)


def _mcp_exchanges(server: MockAuthServer) -> list[tuple[str, int | None]]:
    return [(r.method, r.status) for r in server.requests.filter("/mcp")]


# --------------------------------------------------------------------------------- the example


def test_the_example_runs_with_a_mock_server_of_its_own(sdk_python: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [str(sdk_python), str(EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        cwd=tmp_path,
        env=_env(tmp_path),
    )
    assert done.returncode == 0, done.stderr[-4000:]
    lines = done.stdout.splitlines()
    assert lines[0].startswith("- MockAuthServer: http://127.0.0.1:")
    assert lines[0].endswith("/mcp")
    assert lines[1:] == SESSION
    assert list(tmp_path.iterdir()) == []  # nothing written: its tokens stayed in memory


class _Lines:
    """The lines a child process writes, read on a thread so a test can wait with a timeout."""

    def __init__(self, stream: IO[str]) -> None:
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        try:
            for line in stream:
                self._lines.put(line.rstrip("\n"))
        except (OSError, ValueError):  # closed under it: the test failed and killed the child
            pass
        finally:
            self._lines.put(None)

    def _next(self, waiting_for: str) -> str | None:
        try:
            return self._lines.get(timeout=TIMEOUT)
        except queue.Empty:
            raise AssertionError(f"waited {TIMEOUT} s for {waiting_for}; got {self.seen}") from None

    def wait_for(self, prefix: str) -> str:
        """The first line starting with ``prefix``; fails on end of output or a timeout."""
        while True:
            line = self._next(f"a line starting with {prefix!r}")
            assert line is not None, f"no line starting with {prefix!r} in {self.seen}"
            self.seen.append(line)
            if line.startswith(prefix):
                return line

    def rest(self) -> list[str]:
        """Every line until the end of the output."""
        while (line := self._next("the end of the output")) is not None:
            self.seen.append(line)
        return self.seen


def _example_with_url(python: Path, server: MockAuthServer) -> list[str]:
    """The example on ``server``'s MCP URL, its tokens in ``tokens.json``."""
    return [str(python), str(EXAMPLE), server.resource_url, "--tokens", "tokens.json"]


def _run_example_as_a_user(python: Path, server: MockAuthServer, home: Path) -> list[str]:
    """Run the example on ``server``'s URL and do what its user does: open the authorization
    URL it prints (the server approves at once: the browser is sent on to the redirect URI)
    and paste that URL back. Returns what it printed."""
    stderr = home / "stderr.txt"
    with (
        stderr.open("w") as errors,
        subprocess.Popen(
            _example_with_url(python, server),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            cwd=home,
            env=_env(home),
        ) as child,
    ):
        try:
            assert child.stdin is not None
            assert child.stdout is not None
            output = _Lines(child.stdout)
            url = output.wait_for(f"{server.url}/authorize?")
            browser = httpx.get(url, follow_redirects=False)
            assert browser.status_code == 302, browser.text
            callback = browser.headers["location"]
            assert callback.startswith(REDIRECT_URI + "?code=")
            child.stdin.write(callback + "\n")
            child.stdin.close()
            lines = output.rest()
            assert child.wait(TIMEOUT) == 0, stderr.read_text()[-4000:]
        finally:
            if child.poll() is None:
                child.kill()
    return lines


def test_the_example_asks_its_user_once_then_uses_its_token_file(
    sdk_python: Path, tmp_path: Path
) -> None:
    with MockAuthServer() as server:
        lines = _run_example_as_a_user(sdk_python, server, tmp_path)
        assert lines[0] == "Open this URL in your browser to authorize:"
        assert (tmp_path / "opened.txt").read_text().splitlines() == [lines[1]]  # http, loopback
        assert lines[2:] == [PROMPT + SESSION[0], *SESSION[1:]]
        authorization = server.requests.last("/authorize")
        assert authorization.param("redirect_uri") == REDIRECT_URI
        assert authorization.param("resource") == server.resource_url
        assert authorization.param("code_challenge_method") == "S256"
        client = server.get_client(authorization.param("client_id") or "")
        assert client is not None
        assert client.client_name == "MCP SDK client example"
        asked = {
            path: server.requests.count(path) for path in ("/register", "/authorize", "/token")
        }
        assert asked == {"/register": 1, "/authorize": 1, "/token": 1}
        assert (tmp_path / "tokens.json").is_file()
        before = _as_requests(server)

        # Run again, with no one to paste anything (stdin closed): the token file answers.
        again = subprocess.run(
            _example_with_url(sdk_python, server),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
            cwd=tmp_path,
            env=_env(tmp_path),
        )
        assert again.returncode == 0, again.stderr[-4000:]
        assert again.stdout.splitlines() == SESSION  # no authorization URL, no prompt
        assert (tmp_path / "opened.txt").read_text().splitlines() == [lines[1]]  # no browser
        assert _as_requests(server) == before
        assert server.errors == []


# ------------------------------------------------------------------------ on MockAuthServer


@pytest.mark.parametrize("mode", MODES)
def test_a_cold_start_discovers_registers_authorizes_then_calls(
    sdk_python: Path, tmp_path: Path, mode: str
) -> None:
    with MockAuthServer() as server:
        args = [mode, server.resource_url, "--call", "echo", "--text", "cold"]
        out = _script(sdk_python, tmp_path, *args)
        assert out["version"] == "2025-11-25"
        assert out["server"] == "MockAuthServer"
        assert out["tools"] == ["echo"]
        assert out["calls"] == {"echo": {"text": ["cold"], "structured": None, "is_error": False}}
        # The first MCP request went without a token; its 401 led, in order, to the
        # resource's metadata (RFC 9728), the server's (RFC 8414), registration (RFC 7591),
        # the authorization (PKCE) and the token; then the MCP request went again, with it.
        records = server.requests.snapshot()
        assert (records[0].method, records[0].path, records[0].status) == ("POST", "/mcp", 401)
        assert "authorization" not in records[0].headers
        assert [(r.path, r.status) for r in records if r.path != "/mcp"] == [
            (PRM_PATH, 200),
            (AS_METADATA_PATH, 200),
            ("/register", 201),
            ("/authorize", 302),
            ("/token", 200),
        ]
        [bearer] = {r.headers.get("authorization", "") for r in records[1:] if r.path == "/mcp"}
        assert bearer.startswith("Bearer ")  # one token, with every request after the 401
        assert ("POST", 202) in _mcp_exchanges(server)  # notifications/initialized
        [authorization_url] = out["authorizations"]
        assert _query(authorization_url)["client_id"] == out["client_id"]
        assert _query(authorization_url)["resource"] == server.resource_url  # RFC 8707
        assert server.requests.last("/token").param("resource") == server.resource_url
        assert server.errors == []


@pytest.mark.parametrize("mode", MODES)
def test_the_sdk_session_with_dpop_bound_tokens_and_nonces(
    sdk_python: Path, tmp_path: Path, mode: str
) -> None:
    """RFC 9449 through ``httpx2_auth``: the resource asks for DPoP and nonces, the SDK's
    session (and the blocking httpx2 client) go through with a new proof per request."""
    with MockAuthServer(dpop_required=True, dpop_nonce=True) as server:
        out = _script(
            sdk_python, tmp_path, mode, server.resource_url, "--call", "echo", "--text", "d"
        )
        assert out["calls"]["echo"]["text"] == ["d"]
        authorized = [r for r in server.requests.snapshot() if r.authorization_scheme]
        assert {r.authorization_scheme for r in authorized} == {"DPoP"}
        jtis = [(r.dpop_claims or {}).get("jti") for r in authorized]
        assert None not in jtis
        assert len(set(jtis)) == len(jtis)  # a fresh proof each time
        assert server.requests.last("/token").headers["dpop"]
        assert server.errors == []


@pytest.mark.parametrize("mode", MODES)
def test_a_tool_needing_more_scope_steps_up_and_the_call_succeeds(
    sdk_python: Path, tmp_path: Path, mode: str
) -> None:
    with MockAuthServer(
        scopes=["mcp:read", "mcp:write", "mcp:admin"],
        tool_scopes={"echo": "mcp:read", "admin_tool": "mcp:admin"},
        resource_scopes=["mcp:read"],  # the first authorization asks for mcp:read only
    ) as server:
        out = _script(
            sdk_python, tmp_path, mode, server.resource_url,
            "--call", "echo", "--call", "admin_tool", "--text", "step up",
        )  # fmt: skip
        ok = {"text": ["step up"], "structured": None, "is_error": False}
        assert out["calls"] == {"echo": ok, "admin_tool": ok}
        first, second = out["authorizations"]
        assert "mcp:admin" not in _scopes(first)
        assert {"mcp:read", "mcp:admin"} <= _scopes(second)  # RFC 6750 §3.1: held + asked
        refused = [r for r in server.requests.filter("/mcp") if r.status == 403]
        assert [r.json["params"]["name"] for r in refused] == ["admin_tool"]
        assert [r.param("scope") for r in server.requests.filter("/authorize")] == [
            _query(first)["scope"],
            _query(second)["scope"],
        ]
        assert server.requests.count("/register") == 1
        assert server.requests.count("/token") == 2
        # The refused call went again, at once, with the new token, and was answered.
        mcp = server.requests.filter("/mcp")
        retried = mcp[mcp.index(refused[0]) + 1]
        assert (retried.status, retried.json["params"]["name"]) == (200, "admin_tool")
        assert retried.headers["authorization"] != refused[0].headers["authorization"]
        assert server.errors == []


@pytest.mark.parametrize("mode", MODES)
def test_a_restart_with_a_token_file_asks_the_authorization_server_nothing(
    sdk_python: Path, tmp_path: Path, mode: str
) -> None:
    with MockAuthServer() as server:
        args = [mode, server.resource_url, "--call", "echo", "--text", "hi", "--tokens"]
        first = _script(sdk_python, tmp_path, *args, "tokens.json")
        assert len(first["authorizations"]) == 1
        used = server.requests.last("/mcp", method="POST").headers["authorization"]
        before, seen = _as_requests(server), len(server.requests)

        again = _script(sdk_python, tmp_path, *args, "tokens.json", "--refuse")
        assert again["authorizations"] == []
        assert again["client_id"] == first["client_id"]
        assert again["calls"] == {"echo": {"text": ["hi"], "structured": None, "is_error": False}}
        assert _as_requests(server) == before
        # Only the MCP endpoint was asked: the storage remembered which authorization server
        # the resource named, so the stored token went with the very first request and every
        # one after; no 401, no metadata read.
        restarted = server.requests.snapshot()[seen:]
        assert {r.path for r in restarted} == {"/mcp"}
        assert 401 not in {r.status for r in restarted}
        posts = [r for r in restarted if r.method == "POST"]
        assert {r.headers.get("authorization") for r in posts} == {used}
        assert server.errors == []


# ----------------------------------------------------------------- on the MCP SDK's own server


@pytest.mark.parametrize("mode", MODES)
def test_the_sdk_server_sees_our_client_and_the_resource(
    sdk_python: Path, sdk_server: McpSdkServer, tmp_path: Path, mode: str
) -> None:
    out = _script(sdk_python, tmp_path, mode, sdk_server.mcp_url, "--call", "whoami", "--consent")
    assert out["server"] == "mcp-sdk-interop"
    assert out["tools"] == ["whoami"]
    whoami = out["calls"]["whoami"]
    assert whoami["is_error"] is False
    assert whoami["structured"] == {
        "authenticated": True,
        "client_id": out["client_id"],
        "subject": "test-user",
        "scopes": ["mcp:read"],  # the resource's scopes_supported (it challenges with none)
        "resource": sdk_server.mcp_url,
    }
    assert out["oauth"] == [
        ["GET", "/.well-known/oauth-protected-resource/mcp", 200],
        ["GET", AS_METADATA_PATH, 200],
        ["POST", "/register", 201],
        ["POST", "/token", 200],
    ]
    [authorization_url] = out["authorizations"]
    assert authorization_url.startswith(sdk_server.url("/authorize?"))
    assert _query(authorization_url)["resource"] == sdk_server.mcp_url
    mcp = out["mcp"]
    assert mcp[0] == ["POST", "/mcp", 401]
    assert {status for _, _, status in mcp[1:]} <= {200, 202}  # no other challenge
    assert sdk_server.process.poll() is None, sdk_server.stderr_text()[-4000:]
