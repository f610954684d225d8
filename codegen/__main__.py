"""Command line: ``python -m codegen`` in a checkout, ``mcp-oauth-codegen`` when installed.

mcp-oauth-codegen --init-spec my-server.yaml        # a copy of the library's spec to edit
mcp-oauth-codegen --spec my-server.yaml --out myapp/oauth_clients
python -m codegen --check        # exit 1 when src/.../_generated is stale
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._errors import SpecError
from .generator import BUNDLED_SPEC, check, generate, init_spec, label

# In a checkout the generator is the top-level ``codegen`` package and writes the library's own
# ``_generated/`` by default; installed (``mcp_oauth_dynamicclient.codegen``) it has no such
# folder to default to, and ``--out`` is required.
IN_CHECKOUT = __package__ == "codegen"
DEFAULT_OUT = Path("src/mcp_oauth_dynamicclient/_generated") if IN_CHECKOUT else None


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="mcp-oauth-codegen",
        description="Generate typed attrs models and sync/async endpoint clients from an "
        "OpenAPI 3.1 spec of an OAuth authorization server.",
    )
    parser.add_argument(
        "--spec",
        type=Path,
        default=BUNDLED_SPEC,
        help="the OpenAPI YAML file (default: the library's own spec)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="the package folder to write"
        + (f" (default: {DEFAULT_OUT})" if DEFAULT_OUT is not None else ""),
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if --out is not up to date"
    )
    mode.add_argument(
        "--init-spec",
        type=Path,
        metavar="PATH",
        help="write a copy of the library's spec to PATH, to describe your server from "
        "(generates nothing)",
    )
    parser.add_argument(
        "--force", action="store_true", help="with --init-spec: overwrite an existing file"
    )
    args = parser.parse_args(argv)
    if args.init_spec is not None:
        if args.out is not None:
            parser.error("--init-spec writes a spec, not a package: leave out --out")
    elif args.force:
        parser.error("--force only applies to --init-spec")
    elif args.out is None:
        if DEFAULT_OUT is None:
            parser.error("--out is required: the folder of the package to write")
        args.out = DEFAULT_OUT
    return args


def main(argv: list[str] | None = None) -> int:
    """Generate (or with ``--check``, verify) the endpoint clients; return the exit status."""
    args = _parse(argv)
    try:
        if args.init_spec is not None:
            init_spec(args.init_spec, force=args.force)
            print(
                f"{args.init_spec}: the library's spec, to edit; then run: mcp-oauth-codegen "
                f"--spec {args.init_spec} --out <package folder>"
            )
            return 0
        if args.check:
            stale = check(args.spec, args.out)
            if stale:
                print(
                    f"{args.out} is stale ({', '.join(stale)}); run: nox -s codegen",
                    file=sys.stderr,
                )
                return 1
            print(f"{args.out} is up to date with {label(args.spec)}")
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
