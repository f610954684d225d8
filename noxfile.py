"""Sessions: ``nox`` runs everything CI needs; ``nox -s NAME`` runs one.

- ``lint``: ruff check and ruff format --check.
- ``typecheck``: mypy --strict over src, codegen and tests.
- ``freshness``: fails when ``_generated/`` differs from what ``spec/`` generates, or ``_sync/``
  from what ``_async/`` generates.
- ``tests``: the test suite, against our loopback servers and a real Redis, on every Python the
  package claims (``tests-3.11``, ``tests-3.12``, ``tests-3.13``); coverage with its floor on 3.11.
- ``interop``: the same client against third-party servers (oidc-provider, the MCP SDK).
- ``bench``: the benchmarks in ``benchmarks/`` (not run by plain ``nox``).
- ``mutation``: mutation testing of the core modules with mutmut (not run by plain ``nox``).
- ``conformance``: the official MCP conformance suite's ``auth/*`` client scenarios (both
  pinned versions, every spec version each supports) against ``tests/conformance/client.py``.
- ``codegen``: regenerates ``_generated/`` (``nox -s codegen -- --check`` only checks).
- ``docs``: the documentation site, warnings as errors, into ``docs/_build/html``.
- ``package``: builds the sdist and, from it alone, the wheel; ``twine check --strict`` of both.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
# CI (CI=true) must have every Python the package claims (.ci/run installs them); on a
# developer's machine, a version that is not installed is skipped.
nox.options.error_on_missing_interpreters = "CI" in os.environ
nox.options.sessions = [
    "lint",
    "typecheck",
    "freshness",
    "package",
    "tests",
    "interop",
    "conformance",
    "docs",
]

PYTHON = "3.11"
# The Python versions of the classifiers in pyproject.toml (requires-python >= 3.11).
PYTHONS = nox.project.python_versions(nox.project.load_toml("pyproject.toml"))
# httpx2 is tested and benchmarked; Authlib, a baseline of the benchmarks, switches its httpx
# integration to httpx2 when it is installed (see the bench session).
DEV = ("-e", ".[dev,httpx2]")


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Ruff lint and format check over the whole tree."""
    session.install("ruff==0.17.6")  # the version pinned in the dev extra
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict over src (the public API included), codegen and tests, in one run.

    The files are ``[tool.mypy] files`` in pyproject.toml; the tests are a package, so their
    ``conftest`` modules have distinct names (``tests.conftest``, ``tests.testing.conftest``).
    """
    session.install(*DEV)
    session.run("mypy", *session.posargs)


@nox.session(python=PYTHON)
def codegen(session: nox.Session) -> None:
    """Regenerate ``_generated/`` from ``spec/``; with ``-- --check``, only verify it."""
    session.install(*DEV)
    session.run("python", "-m", "codegen", *session.posargs)
    session.run("python", "-m", "codegen.unasync", *session.posargs)


@nox.session(python=PYTHON)
def freshness(session: nox.Session) -> None:
    """Fail when ``_generated/`` or ``_sync/`` is stale (``nox -s codegen -- --check``)."""
    session.install(*DEV)
    session.run("python", "-m", "codegen", "--check")
    session.run("python", "-m", "codegen.unasync", "--check")


@nox.session(python=PYTHON)
def package(session: nox.Session) -> None:
    """Build what PyPI would get, and check its metadata.

    ``uv build`` makes the sdist, then the wheel from that sdist alone (so a file the sdist
    lacks breaks the wheel here, not on a user's machine); ``twine check --strict`` validates
    both archives' metadata and that the README renders as the long description. The wheel's
    contents and a regeneration from it are tested in ``tests/test_packaging.py``.
    """
    session.install("uv>=0.4", "twine>=6.1")
    out = Path(session.create_tmp()) / "dist"
    shutil.rmtree(out, ignore_errors=True)
    session.run("python", "-m", "uv", "build", "--out-dir", str(out), ".")
    archives = sorted(str(path) for path in out.iterdir() if path.suffix in {".gz", ".whl"})
    session.run("python", "-m", "twine", "check", "--strict", *archives)


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The suite, less the third-party interop tests (see ``interop``), on each claimed Python.

    On 3.11 it also measures coverage of ``src/`` (``_sync/`` aside) and fails under the floor
    of ``[tool.coverage.report]`` in pyproject.toml; once is enough, the code is the same.
    """
    session.install(*DEV)
    coverage = ["--cov", "--cov-report=term"] if session.python == PYTHON else []
    session.run("pytest", "--ignore=tests/interop", *coverage, *session.posargs)


@nox.session(python=PYTHON)
def interop(session: nox.Session) -> None:
    """Third-party servers: oidc-provider (npm ci) and the MCP SDK (its own venv)."""
    session.install(*DEV)
    with session.chdir("tests/interop/oidc_provider"):
        session.run("npm", "ci", "--no-audit", "--no-fund", "--loglevel=warn", external=True)
    session.run("pytest", "tests/interop", *session.posargs)


@nox.session(python=PYTHON)
def conformance(session: nox.Session) -> None:
    """The MCP conformance suite, both pinned versions (npm ci), every ``auth/*`` scenario,
    the authorization extensions included.

    Arguments go to ``run.py`` (``-- --suite 0.2 -k iss-``; ``-- --no-extensions`` leaves the
    extension scenarios out).
    """
    session.install(*DEV)
    with session.chdir("tests/conformance"):
        session.run("npm", "ci", "--no-audit", "--no-fund", "--loglevel=warn", external=True)
    session.run("python", "tests/conformance/run.py", *session.posargs)


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """The documentation site (Sphinx, MyST, furo) into ``docs/_build/html``.

    Warnings are errors and every cross-reference must resolve (``-W --keep-going -n``); the
    examples on its pages run in the test suite (``tests/test_docs_examples.py``).
    """
    session.install("-e", ".[docs]")
    session.run(
        "sphinx-build", "-W", "--keep-going", "-n", "-b", "html", "docs", "docs/_build/html"
    )


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks (not part of plain ``nox``): ratios against baselines run in the same process.

    httpx2 is installed for ``httpx2_auth``, so Authlib's httpx integration runs on it:
    ``bench_request.py`` compares each client with the raw client of its own library, and
    ``bench_tokens.py``, which races Authlib against our client on httpx, runs with httpx2
    hidden (Authlib then falls back to httpx, as without httpx2). ``bench_mcp_connect.py`` runs
    its MCP clients in the MCP SDK's own venv (``tests/interop/mcp_sdk_server/.venv``, built on
    first use).
    """
    session.install(*DEV, "authlib")
    without_httpx2 = (
        "import runpy, sys; sys.modules['httpx2'] = None; sys.argv = sys.argv[1:]; "
        "runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    session.run("python", "benchmarks/bench_request.py", *session.posargs)
    session.run("python", "benchmarks/bench_import.py")
    session.run("python", "-c", without_httpx2, "benchmarks/bench_tokens.py")
    session.run("python", "benchmarks/bench_observability.py")
    session.run("python", "benchmarks/bench_mcp_connect.py")
    session.run("python", "benchmarks/bench_dpop.py")


@nox.session(python=PYTHON)
def mutation(session: nox.Session) -> None:
    """Mutation testing (not part of plain ``nox``): would a test fail if a line were wrong?

    mutmut 3 mutates the core modules (retry policy, PKCE, the callback, URL rules, discovery,
    the token manager, the SSRF rules), and runs for each mutant only the tests that call the
    mutated function. ``mutation/run.py`` does it in ``mutation/.work`` and fails when a module
    kills under 95 % of the mutants not listed in ``mutation/EQUIVALENT_MUTANTS.md``. About 40
    minutes on two cores; arguments go to run.py (``-- --module _retry --module _pkce``).
    """
    session.install(*DEV, "mutmut==3.8.1")
    session.run("python", "mutation/run.py", "--check", *session.posargs)
