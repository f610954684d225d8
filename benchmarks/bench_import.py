"""Import time of the package against ``import httpx``, measured in fresh interpreters.

    python benchmarks/bench_import.py [--runs 21]

Each import runs in a new ``python -c`` process, alternating between the statements so machine
load falls on all alike; the medians are compared. Target: at most ``import httpx`` + 15 ms (jwt,
redis, cryptography, cattrs, tenacity and the generated attrs models load on first use).

Bytecode is compiled first (``compileall`` over the installed packages and ``src``), and the
interpreters run with ``PYTHONDONTWRITEBYTECODE`` unset: an installed package has its ``.pyc``
files (pip writes them at install, uv at first import), so compiling sources on every import
would measure the compiler, not the package. Without this, on a machine that sets
``PYTHONDONTWRITEBYTECODE=1``, every import here is 2-3x slower, httpx's as well.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import time

STATEMENTS = {
    "import httpx": "import httpx",
    "import mcp_oauth_dynamicclient": "import mcp_oauth_dynamicclient",
    "from ... import OAuth2Client": "from mcp_oauth_dynamicclient import OAuth2Client",
    "from ... import SyncOAuth2Client": "from mcp_oauth_dynamicclient import SyncOAuth2Client",
    "... and build an OAuth2Client": (
        "from mcp_oauth_dynamicclient import OAuth2Client\n"
        "OAuth2Client('https://auth.example.com', client_name='bench',"
        " redirect_uris=['http://127.0.0.1:8765/callback'])"
    ),
    "import httpx; httpx.AsyncClient()": "import httpx\nhttpx.AsyncClient()",
    "... and load the generated models": (
        "from mcp_oauth_dynamicclient import OAuth2Client\n"
        "import mcp_oauth_dynamicclient._generated.operations"
    ),
    "import attrs, httpx": "import attrs, httpx",
    "python -c pass": "pass",
}
LAZY = (
    "jwt",
    "redis",
    "cryptography",
    "cattrs",
    "tenacity",
    "jinja2",
    "starlette",
    "uvicorn",
    "mcp_oauth_dynamicclient._generated.models",
)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _compile() -> None:
    """Write the ``.pyc`` files an installed package would have."""
    import httpx

    import mcp_oauth_dynamicclient

    roots = {
        os.path.dirname(os.path.dirname(httpx.__file__)),
        os.path.dirname(mcp_oauth_dynamicclient.__file__),
    }
    for root in sorted(roots):
        compileall.compile_dir(root, quiet=2, workers=0)


def _once(statement: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], check=True, env=ENV)
    return (time.perf_counter() - start) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    _compile()
    samples: dict[str, list[float]] = {name: [] for name in STATEMENTS}
    for _ in range(args.runs):
        for name, statement in STATEMENTS.items():
            samples[name].append(_once(statement))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    base = medians["import httpx"]
    print(f"median wall time of a fresh interpreter, {args.runs} runs each")
    for name, value in medians.items():
        print(f"  {name:36} {value:7.1f} ms   {value - base:+7.1f} ms vs import httpx")
    built = medians["... and build an OAuth2Client"] - medians["import httpx; httpx.AsyncClient()"]
    print(
        f"  import + build an OAuth2Client: {built:+.1f} ms"
        " over import + build an httpx.AsyncClient"
    )
    check = (
        "import sys\nfrom mcp_oauth_dynamicclient import OAuth2Client, SyncOAuth2Client\n"
        f"print([m for m in {LAZY!r} if m in sys.modules])"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", check], check=True, capture_output=True, text=True, env=ENV
    ).stdout.strip()
    print(f"  loaded by importing both clients (should be []): {loaded}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
