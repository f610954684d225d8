"""Run the MCP Python SDK interop server (``mcp_sdk_server/app.py``) as a separate process.

The SDK (``mcp`` 2.x, which depends on ``httpx2``) must never be imported into the test process,
so it lives in its own virtual environment, by default ``mcp_sdk_server/.venv`` next to this file
(override with the ``MCP_SDK_VENV`` environment variable). :func:`run_mcp_sdk_server` creates
that environment on first use (``uv`` if it is on PATH, else ``python -m venv`` and pip) and
rebuilds it whenever ``requirements.txt`` changes, then starts the app on a free loopback port
and stops it again on exit.

Only the standard library is used here; tests import it as
``from tests.interop.mcp_sdk_server import run_mcp_sdk_server``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

if sys.platform != "win32":
    import fcntl

HERE = Path(__file__).resolve().parent
APP_DIR = HERE / "mcp_sdk_server"
APP = APP_DIR / "app.py"
REQUIREMENTS = APP_DIR / "requirements.txt"
DEFAULT_VENV = APP_DIR / ".venv"
STAMP_NAME = ".requirements.sha256"
REPO = HERE.parent.parent
PYPROJECT = REPO / "pyproject.toml"

VENV_TIMEOUT_SECONDS = 600.0
"""Upper bound for creating the environment and installing the requirements."""

START_TIMEOUT_SECONDS = 60.0
"""Upper bound for the app to print its ready line."""

STOP_TIMEOUT_SECONDS = 5.0
"""How long to wait after each of end-of-stdin, SIGTERM, and SIGKILL."""


class McpSdkServerError(RuntimeError):
    """The environment could not be built or the server did not start."""


@dataclass(frozen=True)
class McpSdkServer:
    """A running MCP SDK server: authorization server and MCP resource server on one origin."""

    base_url: str
    """``http://127.0.0.1:PORT``, no trailing slash."""

    process: subprocess.Popen[bytes]
    stderr_path: Path
    issuer_trailing_slash: bool = False

    @property
    def issuer(self) -> str:
        """The authorization server's issuer identifier, exactly as its metadata spells it.

        :attr:`base_url`, plus ``/`` when started with ``issuer_trailing_slash=True``.
        """
        return self.base_url + "/" if self.issuer_trailing_slash else self.base_url

    @property
    def mcp_url(self) -> str:
        """The protected streamable-HTTP MCP endpoint; also its RFC 8707 resource indicator."""
        return f"{self.base_url}/mcp"

    @property
    def resource_metadata_url(self) -> str:
        """Where the RFC 9728 protected resource metadata of :attr:`mcp_url` is served."""
        return f"{self.base_url}/.well-known/oauth-protected-resource/mcp"

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` (``"/token"`` or ``"token"``) on this server."""
        return f"{self.base_url}/{path.lstrip('/')}"

    def stderr_text(self) -> str:
        """Everything the server has written to stderr so far (for debugging failures)."""
        try:
            return self.stderr_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""


def _venv_python(venv: Path) -> Path:
    """Path of the interpreter inside ``venv``."""
    if os.name == "nt":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def _requirements_digest() -> str:
    """Digest of requirements.txt and of our pyproject.toml (the library is installed there
    too, editable), stored in the environment to detect stale installs."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes())
    digest.update(PYPROJECT.read_bytes())
    return digest.hexdigest()


def _run(cmd: list[str], deadline: float) -> None:
    """Run one setup command within the overall deadline; raise with its output on failure."""
    remaining = max(1.0, deadline - time.monotonic())
    try:
        done = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=remaining,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise McpSdkServerError(f"timed out after {remaining:.0f}s: {' '.join(cmd)}") from exc
    if done.returncode != 0:
        raise McpSdkServerError(
            f"command failed with exit code {done.returncode}: {' '.join(cmd)}\n"
            f"--- stdout ---\n{done.stdout}\n--- stderr ---\n{done.stderr}"
        )


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an inter-process lock (POSIX only; elsewhere a no-op) while building the venv."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+b") as handle:
        if sys.platform == "win32":  # pragma: no cover - no flock there
            yield
            return
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def ensure_venv(venv: Path | None = None) -> Path:
    """Create (or refresh) the server's virtual environment and return its interpreter.

    The environment holds the SDK (requirements.txt) and this library, installed editable with
    its ``httpx2`` extra, so SDK clients run there with our auth (``client.httpx2_auth()``)
    against the code being tested. It counts as ready when it holds a stamp with the digest of
    requirements.txt and pyproject.toml; anything else (missing, half-built, built from other
    pins) is deleted and rebuilt.
    """
    venv = venv or Path(os.environ.get("MCP_SDK_VENV", DEFAULT_VENV))
    python = _venv_python(venv)
    stamp = venv / STAMP_NAME
    digest = _requirements_digest()
    with _exclusive(venv.with_name(venv.name + ".lock")):
        if python.exists() and stamp.exists() and stamp.read_text().strip() == digest:
            return python
        if venv.exists():
            shutil.rmtree(venv)
        deadline = time.monotonic() + VENV_TIMEOUT_SECONDS
        uv = shutil.which("uv")
        if uv:
            _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], deadline)
            _run(
                [uv, "pip", "install", "--quiet", "--python", str(python), "-r", str(REQUIREMENTS)],
                deadline,
            )
            _run(
                [uv, "pip", "install", "--quiet", "--python", str(python), "-e", f"{REPO}[httpx2]"],
                deadline,
            )
        else:
            _run([sys.executable, "-m", "venv", str(venv)], deadline)
            _run(
                [
                    str(python),
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "-r",
                    str(REQUIREMENTS),
                ],
                deadline,
            )
            _run(
                [
                    str(python),
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "-e",
                    f"{REPO}[httpx2]",
                ],
                deadline,
            )
        stamp.write_text(digest + "\n")
    return python


def _pump_lines(stream: IO[bytes], lines: queue.Queue[str | None]) -> None:
    """Copy ``stream`` line by line into ``lines``; ``None`` marks end-of-file."""
    try:
        for raw in stream:
            lines.put(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
    except (OSError, ValueError):
        pass
    finally:
        lines.put(None)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server: close its stdin, then SIGTERM, then SIGKILL, each with a timeout."""
    if process.stdin is not None:
        with contextlib.suppress(OSError):
            process.stdin.close()
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT_SECONDS)
    if process.stdout is not None:
        with contextlib.suppress(OSError):
            process.stdout.close()


@contextlib.contextmanager
def run_mcp_sdk_server(
    *,
    port: int = 0,
    access_token_ttl: int | None = None,
    issuer_trailing_slash: bool = False,
    start_timeout: float = START_TIMEOUT_SECONDS,
) -> Iterator[McpSdkServer]:
    """Start the MCP SDK interop server, yield it once it listens, and stop it on exit.

    ``port`` 0 (the default) lets the app bind a free port itself, which avoids the race of
    probing for a free port and binding it later. ``access_token_ttl`` shortens access token
    lifetimes (seconds; default one hour) for expiry tests. ``issuer_trailing_slash`` makes
    the issuer ``http://127.0.0.1:PORT/``, as the SDK advertises it when configured with a URL
    object instead of a string.
    """
    python = ensure_venv()
    cmd = [str(python), "-u", str(APP), str(port), "--watch-stdin"]
    if access_token_ttl is not None:
        cmd += ["--access-token-ttl", str(access_token_ttl)]
    if issuer_trailing_slash:
        cmd.append("--issuer-trailing-slash")
    stderr_fd, stderr_name = tempfile.mkstemp(prefix="mcp-sdk-server-", suffix=".stderr")
    stderr_path = Path(stderr_name)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    try:
        process = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr_fd,
            cwd=APP_DIR,
            env=env,
        )
    finally:
        os.close(stderr_fd)
    try:
        assert process.stdout is not None
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=_pump_lines, args=(process.stdout, lines), daemon=True).start()
        base_url = _wait_ready(lines, start_timeout, process, stderr_path)
        yield McpSdkServer(
            base_url=base_url,
            process=process,
            stderr_path=stderr_path,
            issuer_trailing_slash=issuer_trailing_slash,
        )
    finally:
        _stop(process)
        with contextlib.suppress(OSError):
            stderr_path.unlink()


def _wait_ready(
    lines: queue.Queue[str | None],
    timeout: float,
    process: subprocess.Popen[bytes],
    stderr_path: Path,
) -> str:
    """Return the URL from the app's ``READY <url>`` line, or raise with the app's stderr."""
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    problem = f"no ready line within {timeout:.0f}s"
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            break
        if line is None:
            # Give the process a moment to exit so that its return code can be reported.
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(2)
            problem = f"exited with code {process.poll()} before it was ready"
            break
        if line.startswith("READY "):
            return line.removeprefix("READY ").strip().rstrip("/")
        seen.append(line)
    stderr = stderr_path.read_text(encoding="utf-8", errors="replace")
    raise McpSdkServerError(
        f"MCP SDK server {problem}\n--- stdout ---\n"
        + "\n".join(seen)
        + f"\n--- stderr ---\n{stderr}"
    )
