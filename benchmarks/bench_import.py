"""Import time of the package against ``import httpx``, measured in fresh interpreters.

    python benchmarks/bench_import.py [--runs 21]

Each import runs in a new ``python -c`` process, alternating between the two so machine load
falls on both alike; the medians are compared. Target: at most ``import httpx`` + 30 ms (jwt,
redis and cryptography are imported lazily, only when used).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

STATEMENTS = {
    "import httpx": "import httpx",
    "import mcp_oauth_dynamicclient": "import mcp_oauth_dynamicclient",
    "from ... import OAuth2Client": "from mcp_oauth_dynamicclient import OAuth2Client",
    "from ... import SyncOAuth2Client": "from mcp_oauth_dynamicclient import SyncOAuth2Client",
    "import attrs, httpx": "import attrs, httpx",
    "python -c pass": "pass",
}
LAZY = ("jwt", "redis", "cryptography", "cattrs", "jinja2", "starlette", "uvicorn", "asyncio")


def _once(statement: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], check=True)
    return (time.perf_counter() - start) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    samples: dict[str, list[float]] = {name: [] for name in STATEMENTS}
    for _ in range(args.runs):
        for name, statement in STATEMENTS.items():
            samples[name].append(_once(statement))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    base = medians["import httpx"]
    print(f"median wall time of a fresh interpreter, {args.runs} runs each")
    for name, value in medians.items():
        print(f"  {name:32} {value:7.1f} ms   {value - base:+7.1f} ms vs import httpx")
    check = f"import sys, mcp_oauth_dynamicclient; print([m for m in {LAZY!r} if m in sys.modules])"
    loaded = subprocess.run(
        [sys.executable, "-c", check], check=True, capture_output=True, text=True
    ).stdout.strip()
    print(f"  loaded at import of the package (should be []): {loaded}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
