"""Mutation testing of the core modules with mutmut 3 (issue 12, item 17): ``nox -s mutation``.

The question a mutation test answers: if this line were wrong, would a test fail? mutmut makes
small changes ("mutants") to the functions of the modules below, one at a time, and runs the
tests that call the changed function (found by one traced run of the suite), fastest first,
stopping at the first failure. A mutant no test notices "survives": either a test is missing,
or the change makes no difference anyone could observe (an "equivalent" mutant).

What this script does, so that nothing is written into the repository but ``mutation/.work``:

1. copies ``src``, ``tests`` (less the third-party servers' packages), ``codegen`` and
   ``spec`` into the work directory, with ``pyproject.toml`` plus ``mutation/mutmut.toml``;
2. runs ``mutmut run`` there (``--max-children``: workers, one per core by default);
3. reads each mutant's verdict, and prints per module: killed, survived, equivalent (listed in
   ``mutation/EQUIVALENT_MUTANTS.md`` with a reason, and matched on the line they produce, so an
   entry goes stale when the code moves), timeout (counted as killed: the tests stopped it),
   and the score, killed over the mutants that are not equivalent;
4. with ``--check``, fails when a module scores under ``--threshold`` (95 %) or an entry of the
   equivalents list no longer matches a surviving mutant.

Every surviving mutant that is not listed is printed with its diff, to be killed by a test or
added to the list with the reason it is equivalent. Usage::

    nox -s mutation                              # every module, then --check
    nox -s mutation -- --module _retry --module _pkce
    python mutation/run.py --report-only         # verdicts of the last run, nothing rerun
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "mutation"
PACKAGE = "mcp_oauth_dynamicclient"
MODULES = {
    "_retry": "_retry.py",
    "_pkce": "_pkce.py",
    "_authorization": "_authorization.py",
    "_urls": "_urls.py",
    "_discovery": "_discovery.py",
    "_async.token_manager": "_async/token_manager.py",
    "_ssrf": "_ssrf.py",
}
"""The modules mutated, by dotted name under the package, and their files."""

COPIED = ("src", "tests", "codegen", "spec")
# The third-party servers' packages stay behind (their tests are not run, but the test
# modules that name them must import).
SKIPPED = shutil.ignore_patterns("__pycache__", "node_modules", ".venv", "*.pyc")
# mutmut's exit codes, as its ``stats.status_by_exit_code`` reads them.
STATUS = {
    1: "killed",
    3: "killed",
    0: "survived",
    5: "no tests",
    33: "no tests",
    36: "timeout",
    -24: "timeout",
    24: "timeout",
    152: "timeout",
    255: "timeout",
    None: "not checked",
}


@dataclass
class Equivalent:
    """One entry of EQUIVALENT_MUTANTS.md."""

    name: str
    becomes: str
    why: str


@dataclass
class Tally:
    """The verdicts of one module's mutants."""

    killed: list[str] = field(default_factory=list)
    timeout: list[str] = field(default_factory=list)
    equivalent: list[str] = field(default_factory=list)
    survived: list[str] = field(default_factory=list)
    untested: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(
            len(group)
            for group in (
                self.killed,
                self.timeout,
                self.equivalent,
                self.survived,
                self.untested,
                self.other,
            )
        )

    @property
    def score(self) -> float:
        """Killed (timeouts included) over the mutants that are not equivalent."""
        relevant = self.total - len(self.equivalent)
        return 1.0 if relevant == 0 else (len(self.killed) + len(self.timeout)) / relevant


def file_of(module: str) -> Path:
    return Path("src") / PACKAGE / MODULES[module]


# ------------------------------------------------------------------------- the work dir


def prepare(work: Path, modules: list[str]) -> None:
    """A fresh copy of what the tests need, and the mutmut settings for ``modules``."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    for name in COPIED:
        shutil.copytree(ROOT / name, work / name, ignore=SKIPPED)
    settings = (HERE / "mutmut.toml").read_text(encoding="utf-8")
    chosen = ",\n".join(f'  "{file_of(module).as_posix()}"' for module in modules)
    settings, replaced = re.subn(
        r"only_mutate = \[.*?\]", f"only_mutate = [\n{chosen},\n]", settings, flags=re.S
    )
    if replaced != 1:
        raise SystemExit("mutation/mutmut.toml: no only_mutate list to narrow")
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (work / "pyproject.toml").write_text(pyproject + "\n" + settings, encoding="utf-8")


def run_mutmut(work: Path, max_children: int) -> int:
    """``mutmut run`` in ``work``, with the mutmut of this interpreter's environment."""
    mutmut = Path(sys.executable).with_name("mutmut")
    command = [str(mutmut), "run", "--max-children", str(max_children)]
    print("$", " ".join(command), f"(in {work})", flush=True)
    # Tests that start Python processes (the storage and logging tests) import the mutated
    # copy too, not whatever copy of the package the environment has installed. The directory
    # must exist before Python starts: a sys.path entry missing then is skipped for good.
    (work / "mutants" / "src").mkdir(parents=True, exist_ok=True)
    path = os.pathsep.join(
        filter(None, [str(work / "mutants" / "src"), os.environ.get("PYTHONPATH")])
    )
    env = {**os.environ, "PYTHONPATH": path}
    return subprocess.run(command, cwd=work, env=env, check=False).returncode


# ------------------------------------------------------------------------------ results


def verdicts(work: Path, module: str) -> dict[str, str]:
    """Mutant name -> status, from mutmut's ``.meta`` file of ``module``."""
    meta = work / "mutants" / f"{file_of(module)}.meta"
    if not meta.exists():
        raise SystemExit(f"no results for {module}: {meta} is missing (run without --report-only)")
    codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
    return {name: STATUS.get(code, f"suspicious (exit {code})") for name, code in codes.items()}


def mutant_diffs(work: Path, module: str) -> dict[str, tuple[list[str], list[str]]]:
    """Mutant name -> (lines removed, lines added), against the original function.

    mutmut writes each mutant beside the original as ``<function>__mutmut_<n>`` (methods as
    ``xǁClassǁmethod__mutmut_<n>``) in its copy of the module.
    """
    source = (work / "mutants" / file_of(module)).read_text(encoding="utf-8")
    functions: dict[str, str] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and "__mutmut_" in node.name:
            body = ast.get_source_segment(source, node) or ""
            functions[node.name] = body.split("\n", 1)[1] if "\n" in body else ""
    diffs = {}
    prefix = f"{PACKAGE}.{module}"
    for name, body in functions.items():
        base, _, number = name.rpartition("__mutmut_")
        if number == "orig":
            continue
        original = functions.get(f"{base}__mutmut_orig", "")
        lines = list(difflib.ndiff(original.splitlines(), body.splitlines()))
        removed = [line[2:].strip() for line in lines if line.startswith("- ")]
        added = [line[2:].strip() for line in lines if line.startswith("+ ")]
        diffs[f"{prefix}.{name}"] = (removed, added)
    return diffs


def becomes(diff: tuple[list[str], list[str]]) -> str:
    """What a mutant's changed lines read, joined: how EQUIVALENT_MUTANTS.md names it."""
    return " / ".join(diff[1]) or "(lines removed)"


ENTRY = re.compile(r"^- `(?P<name>[^`]+)`\s*$")
BECOMES = re.compile(r"^\s+- becomes: `(?P<line>.*)`\s*$")
WHY = re.compile(r"^\s+- why: (?P<why>.+)$")


def load_equivalents(path: Path) -> dict[str, Equivalent]:
    """The entries of EQUIVALENT_MUTANTS.md: a name line, a ``becomes`` line, a ``why`` line."""
    entries: dict[str, Equivalent] = {}
    current: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if match := ENTRY.match(line):
            current = {"name": match["name"]}
        elif (match := BECOMES.match(line)) and "name" in current:
            current["becomes"] = match["line"]
        elif (match := WHY.match(line)) and "becomes" in current:
            entries[current["name"]] = Equivalent(current["name"], current["becomes"], match["why"])
            current = {}
    return entries


def tally(
    statuses: dict[str, str],
    diffs: dict[str, tuple[list[str], list[str]]],
    equivalents: dict[str, Equivalent],
    stale: list[str],
) -> Tally:
    counted = Tally()
    for name, status in sorted(statuses.items()):
        listed = equivalents.get(name)
        if listed is not None and listed.becomes != becomes(diffs.get(name, ([], []))):
            stale.append(f"{name}: listed as `{listed.becomes}`, now `{becomes(diffs[name])}`")
            listed = None
        if status == "killed":
            counted.killed.append(name)
            if listed is not None:
                stale.append(f"{name}: listed as equivalent, but a test kills it")
        elif status == "timeout":
            counted.timeout.append(name)
        elif status == "survived" and listed is not None:
            counted.equivalent.append(name)
        elif status == "survived":
            counted.survived.append(name)
        elif status == "no tests" and listed is not None:
            counted.equivalent.append(name)
        elif status == "no tests":
            counted.untested.append(name)
        else:
            counted.other.append(f"{name} ({status})")
    return counted


def report(work: Path, modules: list[str], threshold: float, *, check: bool) -> bool:
    equivalents = load_equivalents(HERE / "EQUIVALENT_MUTANTS.md")
    stale: list[str] = []
    rows = []
    passed = True
    for module in modules:
        diffs = mutant_diffs(work, module)
        statuses = verdicts(work, module)
        prefix = f"{PACKAGE}.{module}.x"
        stale += [
            f"{name}: no such mutant any more (the code changed)"
            for name in equivalents
            if name.startswith(prefix) and name not in statuses
        ]
        counted = tally(statuses, diffs, equivalents, stale)
        rows.append((module, counted))
        for name in counted.survived + counted.untested:
            removed, added = diffs.get(name, ([], []))
            kind = "survived" if name in counted.survived else "no test runs it"
            print(f"\n{kind}: {name}")
            for line in removed:
                print(f"    - {line}")
            for line in added:
                print(f"    + {line}")
        for entry in counted.other:
            print(f"\nunexpected verdict: {entry}")
        if counted.score < threshold:
            passed = False
    print()
    header = (
        f"{'module':<24}{'mutants':>8}{'killed':>8}{'timeout':>9}{'equiv.':>8}"
        f"{'survived':>10}{'no test':>9}{'score':>8}"
    )
    print(header)
    print("-" * len(header))
    for module, counted in rows:
        print(
            f"{module:<24}{counted.total:>8}{len(counted.killed):>8}{len(counted.timeout):>9}"
            f"{len(counted.equivalent):>8}{len(counted.survived):>10}{len(counted.untested):>9}"
            f"{counted.score:>8.1%}"
        )
    print("(score: killed and timed out, over the mutants that are not equivalent)")
    if stale:
        passed = False
        print("\nEQUIVALENT_MUTANTS.md entries that no longer hold:")
        for entry in stale:
            print(f"  {entry}")
    if check and not passed:
        print(f"\nFAILED: a module under {threshold:.0%}, or a stale entry (see above)")
    return passed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--module",
        action="append",
        choices=sorted(MODULES),
        help="a module to mutate (repeat for several; default: all)",
    )
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--work", type=Path, default=HERE / ".work")
    parser.add_argument("--threshold", type=float, default=0.95)
    parser.add_argument("--check", action="store_true", help="fail under the threshold")
    parser.add_argument("--report-only", action="store_true", help="report the last run's verdicts")
    args = parser.parse_args(argv)
    modules = args.module or list(MODULES)
    work = args.work.resolve()
    if not args.report_only:
        prepare(work, modules)
        code = run_mutmut(work, args.max_children)
        if code != 0:
            print(f"mutmut run failed (exit {code})")
            return code
    passed = report(work, modules, args.threshold, check=args.check)
    return 0 if passed or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
