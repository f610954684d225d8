"""Run the upstream gateway's authorization server (``gateway_server/app.py``) as a child process.

The PyPI package ``mcp-oauth-dynamicclient`` 0.2.0 is the authorization server of the
mcp-oauth-gateway project, and it has the import name of this library: it must never be
imported into the test process. It lives in its own virtual environment, by default
``gateway_server/.venv`` next to this file (override with ``GATEWAY_VENV``).
:func:`ensure_venv` creates it on first use (``uv`` if it is on PATH, else ``python -m venv``
and pip) from the pinned ``requirements.txt``, and rebuilds it when that file or the Python
minor version changes; :func:`run_gateway_server` starts the app with TLS on a free loopback
port and stops it on exit. See ``GATEWAY.md``.

Only the standard library is used here (the process helpers are those of
``mcp_sdk_server.py``); tests import it as
``from tests.interop.gateway_server import run_gateway_server``.
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

from tests.interop.mcp_sdk_server import _exclusive, _pump_lines, _stop, _venv_python

HERE = Path(__file__).resolve().parent
APP_DIR = HERE / "gateway_server"
APP = APP_DIR / "app.py"
REQUIREMENTS = APP_DIR / "requirements.txt"
DEFAULT_VENV = APP_DIR / ".venv"
STAMP_NAME = ".requirements.sha256"

VENV_TIMEOUT_SECONDS = 600.0
"""Upper bound for creating the environment and installing the requirements."""

START_TIMEOUT_SECONDS = 30.0
"""Upper bound for the app to print its ready line (it starts in about a second)."""


class GatewayServerError(RuntimeError):
    """The environment could not be built or the server did not start."""


@dataclass(frozen=True)
class GatewayServer:
    """A running gateway authorization server: ``https://auth.DOMAIN`` at 127.0.0.1:PORT."""

    domain: str
    port: int
    """The loopback port that serves ``https://auth.DOMAIN`` (which names port 443)."""

    process: subprocess.Popen[bytes]
    stderr_path: Path

    @property
    def host(self) -> str:
        """``auth.DOMAIN``: the host name in every URL the server advertises."""
        return f"auth.{self.domain}"

    @property
    def issuer(self) -> str:
        """``https://auth.DOMAIN``, exactly as the server's metadata spells it."""
        return f"https://{self.host}"

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` (``"/token"`` or ``"token"``) on this server."""
        return f"{self.issuer}/{path.lstrip('/')}"

    def stderr_text(self) -> str:
        """Everything the server has written to stderr so far (for debugging failures)."""
        try:
            return self.stderr_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""


def _requirements_digest() -> str:
    """Digest of requirements.txt and the Python minor version the venv is built on."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes())
    digest.update(f"{sys.implementation.name}-{sys.version_info[0]}.{sys.version_info[1]}".encode())
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
        raise GatewayServerError(f"timed out after {remaining:.0f}s: {' '.join(cmd)}") from exc
    if done.returncode != 0:
        raise GatewayServerError(
            f"command failed with exit code {done.returncode}: {' '.join(cmd)}\n"
            f"--- stdout ---\n{done.stdout}\n--- stderr ---\n{done.stderr}"
        )


def ensure_venv(venv: Path | None = None) -> Path:
    """Create (or refresh) the server's virtual environment and return its interpreter.

    It holds the pinned requirements only; this library is never installed there (same import
    name). It counts as ready when it holds a stamp with :func:`_requirements_digest`;
    anything else (missing, half-built, other pins) is deleted and rebuilt, under a lock so
    parallel test processes build it once.
    """
    venv = venv or Path(os.environ.get("GATEWAY_VENV", DEFAULT_VENV))
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
            install = [uv, "pip", "install", "--quiet", "--python", str(python)]
        else:
            _run([sys.executable, "-m", "venv", str(venv)], deadline)
            install = [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ]
        _run([*install, "-r", str(REQUIREMENTS)], deadline)
        stamp.write_text(digest + "\n")
    return python


@contextlib.contextmanager
def run_gateway_server(
    *,
    domain: str,
    redis_url: str,
    certfile: Path,
    keyfile: Path,
    access_token_lifetime: int = 3600,
    client_lifetime: int = 7776000,
    start_timeout: float = START_TIMEOUT_SECONDS,
) -> Iterator[GatewayServer]:
    """Start the gateway's authorization server, yield it once it listens, stop it on exit.

    ``redis_url`` names the database it keeps everything in (``redis://127.0.0.1:PORT/7``);
    ``certfile`` (chain) and ``keyfile`` are the PEM files of a certificate for
    ``auth.DOMAIN``. ``client_lifetime`` is the gateway's ``CLIENT_LIFETIME`` (0: clients
    never expire; the default is 90 days).
    """
    python = ensure_venv()
    cmd = [str(python), "-u", str(APP), "--watch-stdin"]
    cmd += ["--domain", domain, "--redis-url", redis_url]
    cmd += ["--certfile", str(certfile), "--keyfile", str(keyfile)]
    cmd += ["--access-token-lifetime", str(access_token_lifetime)]
    cmd += ["--client-lifetime", str(client_lifetime)]
    stderr_fd, stderr_name = tempfile.mkstemp(prefix="gateway-server-", suffix=".stderr")
    stderr_path = Path(stderr_name)
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONIOENCODING": "utf-8",  # upstream prints "✓ Redis connection established"
    }
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    try:
        process = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr_fd,
            cwd=APP_DIR,  # upstream's Settings reads ./.env: there is none here
            env=env,
        )
    finally:
        os.close(stderr_fd)
    try:
        assert process.stdout is not None
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=_pump_lines, args=(process.stdout, lines), daemon=True).start()
        port = _wait_ready(lines, start_timeout, process, stderr_path)
        yield GatewayServer(domain=domain, port=port, process=process, stderr_path=stderr_path)
    finally:
        _stop(process)
        with contextlib.suppress(OSError):
            stderr_path.unlink()


def _wait_ready(
    lines: queue.Queue[str | None],
    timeout: float,
    process: subprocess.Popen[bytes],
    stderr_path: Path,
) -> int:
    """Return the port from the app's ``READY PORT`` line, or raise with the app's output."""
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    problem = f"no ready line within {timeout:.0f}s"
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            break
        if line is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(2)
            problem = f"exited with code {process.poll()} before it was ready"
            break
        if line.startswith("READY "):
            return int(line.removeprefix("READY ").strip())
        seen.append(line)
    stderr = stderr_path.read_text(encoding="utf-8", errors="replace")
    raise GatewayServerError(
        f"gateway server {problem}\n--- stdout ---\n"
        + "\n".join(seen)
        + f"\n--- stderr ---\n{stderr}"
    )
