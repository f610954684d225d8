"""``codegen/unasync.py`` refuses a rule that matches nothing in the asyncio sources (httpcore
does the same), in both modes, and names it."""

from __future__ import annotations

from pathlib import Path

import pytest

from codegen import unasync

# Uses every syntax rule; the names are added from NAMES, so the module stays complete.
SYNTAX = """
from collections.abc import Awaitable, Callable


async def main(callback: Callable[[], Awaitable[int]], lock: object, items: object) -> None:
    async with lock:
        async for item in items:
            await callback()
"""


def _source(tmp_path: Path, *, leave_out: str | None = None) -> Path:
    """A one-module ``_async`` directory in which every rule but ``leave_out`` matches."""
    names = [name for name in unasync.NAMES if name != leave_out]
    text = SYNTAX.replace("async for", "for") if leave_out == "for" else SYNTAX
    source = tmp_path / "_async"
    source.mkdir()
    (source / "module.py").write_text(f"{text}\n# {' '.join(names)}\n", encoding="utf-8")
    return source


def _run(tmp_path: Path, source: Path, *flags: str) -> int:
    return unasync.main([*flags, "--source", str(source), "--target", str(tmp_path / "_sync")])


def test_sources_that_use_every_rule_are_rewritten_and_checked(tmp_path: Path) -> None:
    source = _source(tmp_path)
    assert _run(tmp_path, source) == 0
    assert "def main(callback: Callable[[], int]" in (tmp_path / "_sync/module.py").read_text()
    assert _run(tmp_path, source, "--check") == 0


@pytest.mark.parametrize("flags", [(), ("--check",)])
def test_a_name_that_matches_nothing_fails_with_its_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: tuple[str, ...]
) -> None:
    assert _run(tmp_path, _source(tmp_path, leave_out="TokenManager"), *flags) == 2
    assert "unasync rules that match nothing" in capsys.readouterr().err
    assert not (tmp_path / "_sync").exists()


def test_a_syntax_rule_that_matches_nothing_fails_with_its_pattern(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(tmp_path, _source(tmp_path, leave_out="for"), "--check") == 2
    assert repr(r"\basync for\b") in capsys.readouterr().err


def test_the_committed_sources_leave_no_rule_unused() -> None:
    used: set[str] = set()
    unasync.render(unasync.SOURCE, used)
    assert unasync.unused_rules(used) == []
