"""Every Python code block of the documentation (``docs/**/*.md``) and of ``README.md`` runs.

A page's blocks run in order in one namespace, as a reader reads them top-down, inside one
event loop: a block with top-level ``await`` / ``async with`` is awaited, any other block is
executed as a script (``__name__ == "__main__"``, so ``asyncio.run(main())`` runs too). Each
page gets its own working directory and its own servers, and the examples' placeholder
addresses are rewritten to them:

- ``https://auth.example.com``: a running ``MockAuthServer`` (its device codes are approved
  as soon as they are shown, as a user on another device would; its poll interval is 1 s);
- ``https://mcp.example.com/mcp``: that server's MCP endpoint (``resource_url``);
- Redis on port 6379: a ``redis-server`` of the page's own; a Redis Cluster on port 7000:
  a three-node cluster of the page's own (started only for a page that names one);
- the system browser: a program that visits the URL and follows the redirects, so loopback
  sign-ins (``mcp_oauth_dynamicclient.browser``, ``mcp-oauth login``) complete;
- ``sign_in(url)``: the README's stand-in for the user's browser step (``auto_approve``), and
  ``initialize_request``: an MCP ``initialize`` request;
- ``myapp.oauth_clients``: on a page that imports it without generating it (the README),
  the clients generated from ``spec/openapi.yaml``, as the README's command writes them.

``console`` blocks run their ``$ mcp-oauth ...`` and ``$ mcp-oauth-codegen ...`` lines
in-process (the latter as ``mcp-oauth codegen``, the same generator); other shell lines
(installs) are not run. A block preceded by ``<!-- docs-test: skip REASON -->``
is not run: the count of those is held small (:data:`MAX_SKIPPED`).
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import gc
import inspect
import re
import shlex
import signal
import subprocess
import sys
import threading
import webbrowser
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from mcp_oauth_dynamicclient.testing import MockAuthServer, auto_approve
from tests.redis_server import run_redis_cluster, run_redis_server

ROOT = Path(__file__).resolve().parent.parent
PAGES = [
    *sorted(path for path in (ROOT / "docs").rglob("*.md") if "_build" not in path.parts),
    ROOT / "README.md",
]
PAGE_SECONDS = 60.0
"""A page that runs longer (an example waiting for something that never comes) fails."""
MAX_SKIPPED = 3
"""Blocks that cannot run here (a real browser, a real remote server); keep it small."""

FENCE = re.compile(r"^(?P<indent> *)(?P<ticks>```+)(?P<lang>[\w-]*)\s*$")
DIRECTIVE = re.compile(r"^\s*<!--\s*docs-test:\s*(?P<word>[\w-]+)\s*(?P<reason>.*?)\s*-->\s*$")
RUN_LANGUAGES = frozenset({"python", "py", "console"})

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "docs example", "version": "1"},
    },
}


@dataclass(frozen=True)
class Block:
    """One fenced code block: where it is, its language, its code and its directive."""

    path: Path
    line: int  # of the first line of code
    language: str
    code: str
    directive: str | None = None
    reason: str = ""

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks_of(path: Path) -> list[Block]:
    """The fenced blocks of a Markdown file, with the ``docs-test`` comment before each."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    previous = ""
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening or not opening["lang"]:
            if lines[index].strip():
                previous = lines[index]
            index += 1
            continue
        indent, ticks = len(opening["indent"]), opening["ticks"]
        end = index + 1
        while end < len(lines) and lines[end].strip() != ticks:
            end += 1
        code = "\n".join(line[indent:] for line in lines[index + 1 : end])
        directive = DIRECTIVE.match(previous)
        found.append(
            Block(
                path,
                index + 2,
                opening["lang"],
                code,
                directive["word"] if directive else None,
                directive["reason"] if directive else "",
            )
        )
        previous = ""
        index = end + 1
    return found


def runnable(path: Path) -> list[Block]:
    return [block for block in blocks_of(path) if block.language in RUN_LANGUAGES]


# ------------------------------------------------------------------------------ the setup


@dataclass
class Setup:
    server: MockAuthServer
    replacements: dict[str, str]


def _approve_device_codes(server: MockAuthServer, stop: threading.Event) -> None:
    """The user on another device: approves each device code once it is pending."""
    while not stop.wait(0.05):
        with contextlib.suppress(LookupError, ValueError):
            server.approve()


@contextlib.contextmanager
def page_setup(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    text = page.read_text(encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MCP_OAUTH_TOKENS", str(tmp_path / "cli" / "tokens.json"))
    browser = tmp_path / "browser.py"
    browser.write_text(
        "import sys, httpx\nhttpx.get(sys.argv[1], follow_redirects=True, timeout=10)\n"
    )
    monkeypatch.setenv("BROWSER", f"{sys.executable} {browser} %s")
    monkeypatch.setattr(webbrowser, "_tryorder", None)  # read BROWSER again
    monkeypatch.setattr(webbrowser, "_browsers", {})
    monkeypatch.syspath_prepend(str(tmp_path))  # what the page generates is importable
    for name in [name for name in sys.modules if name.split(".")[0] == "myapp"]:
        monkeypatch.delitem(sys.modules, name)  # a previous page's generated package
    if "myapp.oauth_clients" in text and "$ mcp-oauth-codegen " not in text:
        _generate_clients(tmp_path / "myapp" / "oauth_clients")
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(MockAuthServer(device_interval=1))
        stop = threading.Event()
        approver = threading.Thread(target=_approve_device_codes, args=(server, stop), daemon=True)
        approver.start()
        stack.callback(approver.join)
        stack.callback(stop.set)
        replacements = {
            "https://mcp.example.com/mcp": server.resource_url,
            "https://auth.example.com": server.url,
        }
        if "6379" in text:
            redis = stack.enter_context(run_redis_server())
            replacements["6379"] = str(redis.port)
        if "RedisCluster" in text:
            cluster = stack.enter_context(run_redis_cluster(3))
            replacements["7000"] = str(cluster.port)
        yield Setup(server, replacements)


def _generate_clients(out: Path) -> None:
    out.parent.mkdir(parents=True)
    (out.parent / "__init__.py").write_text("")
    done = subprocess.run(
        [sys.executable, "-m", "codegen", "--spec", "spec/openapi.yaml", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


async def sign_in(authorization_url: str) -> str:
    """The README's browser step: the URL the user's browser is sent back to."""
    return await asyncio.to_thread(auto_approve, authorization_url)


# ---------------------------------------------------------------------------- running


def rewrite(code: str, replacements: dict[str, str]) -> str:
    for placeholder, actual in replacements.items():
        code = code.replace(placeholder, actual)
    return code


def run_python(
    block: Block, code: str, namespace: dict[str, Any], loop: asyncio.AbstractEventLoop
) -> None:
    padded = "\n" * (block.line - 1) + code  # tracebacks name the Markdown line
    compiled = compile(
        padded, str(block.path), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True
    )
    result = eval(compiled, namespace)  # the documentation's own examples
    if inspect.iscoroutine(result):
        loop.run_until_complete(result)


COMMANDS = {"mcp-oauth": [], "mcp-oauth-codegen": ["codegen"]}
"""The commands a console block runs, as ``mcp-oauth`` arguments (``mcp-oauth codegen`` is the
generator of ``mcp-oauth-codegen``); other lines, such as installs, are not run."""


def run_console(block: Block, code: str) -> None:
    from mcp_oauth_dynamicclient.cli import main

    for line in code.splitlines():
        argv = shlex.split(line[2:], comments=True) if line.startswith("$ ") else []
        if not argv or argv[0] not in COMMANDS:
            continue
        status = main(["--plain", *COMMANDS[argv[0]], *argv[1:]])
        assert status == 0, f"{block.where}: `{line[2:]}` exited with {status}"


def run_page(page: Path, setup: Setup) -> None:
    namespace: dict[str, Any] = {
        "__name__": "__main__",
        "sign_in": sign_in,
        "initialize_request": INITIALIZE,
    }
    loop = asyncio.new_event_loop()
    try:
        for block in runnable(page):
            if block.directive == "skip":
                continue
            code = rewrite(block.code, setup.replacements)
            if block.language == "console":
                run_console(block, code)
            else:
                run_python(block, code, namespace, loop)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        namespace.clear()
        gc.collect()  # an example that leaves a connection open fails here, not in a later test


@contextlib.contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Raise ``TimeoutError`` in the running code once ``seconds`` have passed (SIGALRM)."""

    def expired(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"{what} ran longer than {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# ------------------------------------------------------------------------------ the tests


@pytest.mark.parametrize(
    "page",
    [page for page in PAGES if any(block.directive != "skip" for block in runnable(page))],
    ids=lambda page: str(page.relative_to(ROOT)),
)
def test_the_page_runs(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with (
        logging_restored(),
        page_setup(page, tmp_path, monkeypatch) as setup,
        time_limit(PAGE_SECONDS, page.name),
    ):
        run_page(page, setup)


@contextlib.contextmanager
def logging_restored() -> Iterator[None]:
    """Put the package's loggers back as they were: a page that configures logging (the
    observability guide sets a level and adds a handler) must not change the tests after it."""
    import logging

    names = ["mcp_oauth_dynamicclient"] + [
        name
        for name in logging.root.manager.loggerDict
        if name.startswith("mcp_oauth_dynamicclient.")
    ]
    saved = {}
    for name in names:
        logger = logging.getLogger(name)
        saved[name] = (logger.level, list(logger.handlers), logger.propagate, logger.disabled)
    try:
        yield
    finally:
        for name, (level, handlers, propagate, disabled) in saved.items():
            logger = logging.getLogger(name)
            logger.setLevel(level)
            logger.handlers[:] = handlers
            logger.propagate, logger.disabled = propagate, disabled


def test_a_page_leaves_logging_as_it_found_it() -> None:
    import logging

    package = logging.getLogger("mcp_oauth_dynamicclient")
    before = (package.level, list(package.handlers))
    with logging_restored():
        package.setLevel(logging.CRITICAL)
        package.addHandler(logging.NullHandler())
    assert (package.level, list(package.handlers)) == before


def test_skipped_blocks_are_few_and_say_why() -> None:
    skipped = [block for page in PAGES for block in runnable(page) if block.directive == "skip"]
    assert all(block.reason for block in skipped), [b.where for b in skipped if not b.reason]
    assert len(skipped) <= MAX_SKIPPED, [block.where for block in skipped]


def test_every_directive_is_known() -> None:
    directives = {block.directive for page in PAGES for block in blocks_of(page)}
    assert directives <= {None, "skip"}


def test_the_guides_open_with_an_example_that_runs() -> None:
    guides = sorted((ROOT / "docs" / "guides").rglob("*.md"))
    assert len(guides) >= 16
    for guide in guides:
        if guide.name == "extensions.md":  # the index of the extension pages, checked here
            continue
        blocks = [block for block in blocks_of(guide) if block.language != "mermaid"]
        assert blocks, guide
        first = blocks[0]
        assert first.language in RUN_LANGUAGES, first.where
        assert first.directive is None, first.where


def test_a_page_that_hangs_fails() -> None:
    with pytest.raises(TimeoutError, match="ran longer than"), time_limit(0.2, "hang.md"):
        threading.Event().wait(5)


def test_the_extractor_finds_blocks_and_their_directives(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\n```python\nx = 1\n```\n\n<!-- docs-test: skip needs a person -->\n"
        "```python\ninput()\n```\n\n- item\n\n  ```console\n  $ mcp-oauth status\n  ```\n"
        "\n````markdown\n```python\nnot a block\n```\n````\n"
    )
    found = blocks_of(page)
    assert [(b.line, b.language, b.code, b.directive) for b in found] == [
        (4, "python", "x = 1", None),
        (9, "python", "input()", "skip"),
        (15, "console", "$ mcp-oauth status", None),
        (19, "markdown", "```python\nnot a block\n```", None),
    ]
    assert found[1].reason == "needs a person"
