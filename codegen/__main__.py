"""Command line: ``python -m codegen`` in a checkout, ``mcp-oauth-codegen`` when installed.

mcp-oauth-codegen --spec my-server.yaml --out myapp/oauth_clients
python -m codegen --check        # exit 1 when src/.../_generated is stale
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._errors import SpecError
from .generator import check, generate

DEFAULT_SPEC = Path("spec/openapi.yaml")
DEFAULT_OUT = Path("src/mcp_oauth_dynamicclient/_generated")


def main(argv: list[str] | None = None) -> int:
    """Generate (or with ``--check``, verify) the endpoint clients; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="mcp-oauth-codegen",
        description="Generate typed attrs models and sync/async endpoint clients from an "
        "OpenAPI 3.1 spec of an OAuth authorization server.",
    )
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC, help="the OpenAPI YAML file")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the package folder to write")
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if --out is not up to date"
    )
    args = parser.parse_args(argv)
    try:
        if args.check:
            stale = check(args.spec, args.out)
            if stale:
                print(
                    f"{args.out} is stale ({', '.join(stale)}); run: nox -s codegen",
                    file=sys.stderr,
                )
                return 1
            print(f"{args.out} is up to date with {args.spec}")
            return 0
        changed = generate(args.spec, args.out)
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"{args.out}: {len(changed)} file(s) written"
        + (f": {', '.join(changed)}" if changed else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
