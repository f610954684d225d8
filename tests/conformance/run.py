"""Run the official MCP conformance suite's ``auth/*`` client scenarios against ``client.py``.

Both pinned suite versions (``package.json``: 0.1.16 and 0.2.0-alpha.12, side by side as npm
aliases), every ``auth/*`` scenario each lists for spec versions 2025-11-25, 2026-07-28 and
2025-03-26 (the suite's own ``list --client --spec-version``), and every ``[extension]`` one
(client credentials, enterprise-managed authorization, workload identity, DPoP), one at a time
(``client --scenario S --spec-version V``), each bounded by ``--timeout``. Prints a table and
``N passed, M failed``; exits 1 when any failed, 2 when the suite is not installed.

Installs nothing: ``npm ci`` in ``tests/conformance`` first (``nox -s conformance`` does).
Node >= 22 is the ``node`` npm package's binary there, else the ``node`` on PATH.

    python tests/conformance/run.py [--suite 0.2] [--spec 2026-07-28] [-k iss-] [--no-extensions]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUITES = {
    "0.1": HERE / "node_modules/conformance-0.1/dist/index.js",
    "0.2": HERE / "node_modules/conformance-0.2/dist/index.js",
}
SPECS = ("2025-11-25", "2026-07-28", "2025-03-26")
EXTENSION = "extension"  # the suite's tag for scenarios outside the dated specs
LISTED = re.compile(r"^\s*-\s+(auth/\S+)\s+\[([^\]]*)\]", re.MULTILINE)


@dataclass(frozen=True)
class Run:
    suite: str
    spec: str  # a spec version, or EXTENSION (run without --spec-version)
    scenario: str


@dataclass(frozen=True)
class Outcome:
    run: Run
    passed: bool
    first_failure: str
    seconds: float
    client_exit: str  # "client exited with code N" / "client timed out", or ""


def node() -> str:
    """The npm package ``node@22``'s binary when installed, else ``node`` from PATH."""
    local = HERE / "node_modules/node/bin/node"
    return str(local) if local.exists() else shutil.which("node") or "node"


def listed(suite: str, spec: str | None) -> list[tuple[str, str]]:
    """``(scenario, tags)`` of the ``auth/*`` client scenarios the suite lists for ``spec``."""
    command = [node(), str(SUITES[suite]), "list", "--client"]
    if spec is not None:
        command += ["--spec-version", spec]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:  # e.g. 0.1 does not know 2026-07-28
        return []
    return LISTED.findall(done.stdout)


def plan(suites: list[str], specs: list[str], extensions: bool, pattern: str) -> list[Run]:
    runs = []
    for suite in suites:
        for spec in specs:
            runs += [Run(suite, spec, name) for name, _ in listed(suite, spec)]
        if extensions:
            names = [name for name, tags in listed(suite, None) if tags == EXTENSION]
            runs += [Run(suite, EXTENSION, name) for name in names]
    return [run for run in runs if pattern in run.scenario]


def first_failure(checks: list[dict[str, object]], harness_output: str, code: int) -> str:
    """The first FAILURE or WARNING check (the suite fails a scenario on either), else why."""
    for check in checks:
        if check.get("status") in ("FAILURE", "WARNING"):
            text = check.get("errorMessage") or check.get("description") or ""
            return f"{check.get('id')}: {' '.join(str(text).split())}"
    if "SKIPPED:" in harness_output:
        return "skipped by the suite (not applicable at this spec version)"
    if "timed out" in harness_output:
        return "client timed out"
    exited = re.search(r"Client exited with code (-?\d+)", harness_output)
    if exited:
        return f"client exited with code {exited.group(1)}"
    return f"suite exited with code {code}" if code else ""


def run_one(run: Run, client: str, timeout: float, results: Path) -> Outcome:
    out = results / run.suite / run.spec / run.scenario.replace("/", "_")
    command = [node(), str(SUITES[run.suite]), "client", "--command", client]
    command += ["--scenario", run.scenario, "--timeout", str(int(timeout * 1000)), "-o", str(out)]
    if run.spec != EXTENSION:
        command += ["--spec-version", run.spec]
    started = time.monotonic()
    # Its own process group, so that a hung scenario is killed with its servers and client.
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        output, _ = process.communicate(timeout=timeout + 30)
        code = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        code = -1
        output += "\nconformance run.py: the suite overran its bound and was killed; timed out"
    seconds = time.monotonic() - started
    found = sorted(out.glob("**/checks.json"))
    checks = json.loads(found[-1].read_text()) if found else []
    out.mkdir(parents=True, exist_ok=True)
    (out / "suite.log").write_text(output)
    # The suite's exit code is the verdict (FAILURE/WARNING checks, a timeout, or the client
    # failing when the scenario does not expect it to); a run that recorded no check is no pass.
    passed = code == 0 and bool(checks)
    reason = "" if passed else first_failure(checks, output, code) or "no checks recorded"
    exited = re.search(r"Client exited with code -?\d+|Client timed out", output)
    return Outcome(run, passed, reason, seconds, exited.group(0).lower() if exited else "")


def table(outcomes: list[Outcome], width: int) -> str:
    rows = [("suite", "spec", "scenario", "result", "first failing check")]
    for o in outcomes:
        reason = o.first_failure if len(o.first_failure) <= width else o.first_failure[:width] + "…"
        result = "pass" if o.passed else "FAIL"
        rows.append((o.run.suite, o.run.spec, o.run.scenario, result, reason))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for row in rows:
        cells = [cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)]
        lines.append("  ".join([*cells, row[4]]).rstrip())
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=sorted(SUITES), action="append", help="default: all")
    parser.add_argument("--spec", choices=SPECS, action="append", help="default: all three")
    parser.add_argument("-k", default="", help="only scenarios whose name contains this")
    parser.add_argument(
        "--no-extensions",
        dest="extensions",
        action="store_false",
        help="leave out the [extension] ones (run by default)",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per scenario")
    parser.add_argument("--results", type=Path, help="keep checks.json and logs here")
    parser.add_argument("--client", help="another client command (default: client.py)")
    parser.add_argument("--width", type=int, default=110, help="cut the reason column here")
    args = parser.parse_args(argv)
    missing = [str(path) for path in SUITES.values() if not path.exists()]
    if missing:
        print(f"not installed: {', '.join(missing)}; run `npm ci` in {HERE}", file=sys.stderr)
        return 2
    client = args.client or shlex.join([sys.executable, str(HERE / "client.py")])
    runs = plan(args.suite or list(SUITES), args.spec or list(SPECS), args.extensions, args.k)
    started = time.monotonic()
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="mcp-conformance-") as scratch:
        results = args.results.resolve() if args.results else Path(scratch)
        for run in runs:
            outcome = run_one(run, client, args.timeout, results)
            outcomes.append(outcome)
            mark = "pass" if outcome.passed else "FAIL"
            note = f"; {outcome.client_exit}" if outcome.client_exit else ""
            line = f"{mark} {run.suite} {run.spec} {run.scenario} ({outcome.seconds:.1f}s{note})"
            print(line, flush=True)
    print()
    print(table(outcomes, args.width))
    print(f"\n{len(outcomes)} runs in {time.monotonic() - started:.0f}s")
    failed = sum(not o.passed for o in outcomes)
    print(f"{len(outcomes) - failed} passed, {failed} failed")
    return 1 if failed or not outcomes else 0


if __name__ == "__main__":
    sys.exit(main())
