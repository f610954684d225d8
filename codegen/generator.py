"""Render the templates for a spec, format the result, and write or check it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from . import ir
from ._errors import SpecError, missing

if TYPE_CHECKING:
    import jinja2

TEMPLATES = Path(__file__).parent / "templates"
# The library's own wire contract, the spec users start from. In a checkout it is the
# repository's ``spec/openapi.yaml`` beside ``codegen/``; the wheel ships it as
# ``mcp_oauth_dynamicclient/spec/openapi.yaml`` beside ``mcp_oauth_dynamicclient/codegen/``
# (pyproject.toml's force-include), so the same relative path finds it in both.
BUNDLED_SPEC = Path(__file__).parent.parent / "spec" / "openapi.yaml"
MARKER = "by mcp-oauth-dynamicclient codegen"

# One template per kind of emitted file; the macros live in _macros.py.j2.
OUTPUTS = {
    "__init__.py": "__init__.py.j2",
    "models.py": "models.py.j2",
    "converter.py": "converter.py.j2",
    "operations.py": "operations.py.j2",
    "clients.py": "clients.py.j2",
}
LINE_LENGTH = "100"


def label(spec_path: Path) -> str:
    """How the header names the spec: relative to the working directory when inside it."""
    try:
        return spec_path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return spec_path.name


def _ruff(arguments: list[str], source: str, name: str) -> str:
    command = [sys.executable, "-m", "ruff", *arguments, "--isolated", "--stdin-filename", name]
    result = subprocess.run(
        [*command, "-"], input=source, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        if "No module named ruff" in result.stderr:
            raise missing("ruff")
        raise SpecError(f"ruff could not format the generated {name}:\n{result.stderr}")
    return result.stdout


def format_source(source: str, name: str) -> str:
    """Sort imports, drop unused ones and format, with settings fixed here (not from a config)."""
    cleanup = ["check", "--fix", "--select", "I,F401,RUF022", "--exit-zero", "--quiet"]
    fixed = _ruff(cleanup, source, name)
    return _ruff(["format", "--line-length", LINE_LENGTH], fixed, name)


def _environment() -> jinja2.Environment:
    try:
        import jinja2
    except ImportError as exc:
        raise missing("Jinja2") from exc
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - the output is Python source, not HTML
    )


def render(spec_path: Path) -> dict[str, str]:
    """The generated files for ``spec_path``, by file name."""
    spec = ir.load(spec_path)
    environment = _environment()
    header = f"# Generated from {label(spec_path)} {MARKER}. Do not edit."
    return {
        name: format_source(
            environment.get_template(template).render(spec=spec, header=header), name
        )
        for name, template in OUTPUTS.items()
    }


def _ours(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8") as handle:
            return MARKER in handle.readline()
    except (OSError, UnicodeDecodeError):
        return False


def stale(files: dict[str, str], out_dir: Path) -> list[str]:
    """Files in ``out_dir`` that differ from ``files``, or that we wrote and no longer emit."""
    stale = []
    for name, content in files.items():
        target = out_dir / name
        if not target.is_file() or target.read_text(encoding="utf-8") != content:
            stale.append(name)
    if out_dir.is_dir():
        stale += sorted(p.name for p in out_dir.glob("*.py") if p.name not in files and _ours(p))
    return stale


def check(spec_path: Path, out_dir: Path) -> list[str]:
    """The names of the files in ``out_dir`` that are not what ``spec_path`` generates."""
    return stale(render(spec_path), out_dir)


def generate(spec_path: Path, out_dir: Path) -> list[str]:
    """Write the clients for ``spec_path`` into ``out_dir``; return the names that changed."""
    return write(render(spec_path), out_dir)


def init_spec(target: Path, *, force: bool = False) -> None:
    """Copy the library's spec to ``target``, the starting point of a user's own.

    An existing file is kept unless ``force``; missing parent folders are created. Raises
    :class:`SpecError` saying what to do when the copy cannot be made.
    """
    try:
        content = BUNDLED_SPEC.read_bytes()
    except OSError as exc:
        raise SpecError(
            f"the library's spec is missing ({BUNDLED_SPEC}): reinstall mcp-oauth-dynamicclient"
        ) from exc
    if target.is_dir():
        raise SpecError(f"{target} is a folder: give the path of the YAML file to write")
    if target.exists() and not force:
        raise SpecError(f"{target} exists: pass --force to overwrite it")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _replace(target, content)
    except OSError as exc:
        raise SpecError(f"cannot write {target}: {exc.strerror or exc}") from exc


def _replace(target: Path, content: bytes) -> None:
    """Write ``content`` to a temporary name beside ``target``, then rename it into place."""
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.write_bytes(content)
    os.replace(temporary, target)


def write(files: dict[str, str], out_dir: Path) -> list[str]:
    """Bring ``out_dir`` in line with ``files``; return the names that changed.

    Each file is written to a temporary name and renamed into place, and a file this generator
    wrote earlier but no longer emits is removed. Files it did not write are left alone.
    """
    changed = stale(files, out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in changed:
        target = out_dir / name
        if name not in files:
            target.unlink()
            continue
        _replace(target, files[name].encode("utf-8"))
    return changed
