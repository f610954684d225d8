"""The API reference (``docs/reference/*.md``) documents every public name, and only those.

Read from the Markdown, without a Sphinx build: each page declares its module
(```` ```{py:module} NAME ````) and documents names with autodoc directives
(``.. autoclass:: module.Name`` inside ``{eval-rst}``), a ``{py:data}`` directive, or, for names
the top level re-exports from ``exceptions``, a ``{py:exc}`` reference to where they are
documented. A public module is one whose dotted path has no component starting with ``_``;
the generator that a wheel ships as ``mcp_oauth_dynamicclient.codegen`` is used through its
command (``mcp-oauth-codegen``, documented in the codegen guide), not imported.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import mcp_oauth_dynamicclient

REFERENCE = Path(__file__).resolve().parent.parent / "docs" / "reference"
MODULE = re.compile(r"^```\{py:module\} (?P<name>\S+)\s*$", re.M)
AUTODOC = re.compile(
    r"^\.\. auto(?:class|exception|function|data|attribute)::\s*(?P<target>\S+)", re.M
)
DATA = re.compile(r"^```\{py:data\} (?P<name>\S+)\s*$", re.M)
GENERATOR = "mcp_oauth_dynamicclient.codegen"
REEXPORT = re.compile(r"\{py:(?:exc|class|func|data)\}`~?(?P<target>[\w.]+)`")


def public_modules() -> list[str]:
    """The package and its submodules without a private component (``__main__`` aside)."""
    found = [mcp_oauth_dynamicclient.__name__]
    for info in pkgutil.walk_packages(
        mcp_oauth_dynamicclient.__path__, f"{mcp_oauth_dynamicclient.__name__}."
    ):
        private = any(part.startswith("_") for part in info.name.split("."))
        if not private and not info.name.startswith(GENERATOR):
            found.append(info.name)
    return sorted(found)


def pages() -> dict[str, str]:
    """Module name -> the text of its reference page."""
    by_module: dict[str, str] = {}
    for page in sorted(REFERENCE.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        declared = MODULE.findall(text)
        assert len(declared) == 1, f"{page.name}: one py:module directive, found {declared}"
        assert declared[0] not in by_module, f"{declared[0]} has two reference pages"
        by_module[declared[0]] = text
    return by_module


def documented(module: str, text: str) -> set[str]:
    """The names ``text`` documents for ``module``."""
    names = set(DATA.findall(text))
    for target in AUTODOC.findall(text):
        owner, _, name = target.rpartition(".")
        assert owner == module, f"{target} documented on the page of {module}"
        names.add(name)
    imported = importlib.import_module(module)
    for target in REEXPORT.findall(text):
        owner, _, name = target.rpartition(".")
        if owner != module and owner in public_modules():
            source = importlib.import_module(owner)
            if getattr(imported, name, None) is getattr(source, name, object()):
                names.add(name)  # a re-export, documented where it is defined
    return names


def test_these_are_the_public_modules() -> None:
    # A new public module needs a reference page: this list and the pages move together.
    assert public_modules() == [
        "mcp_oauth_dynamicclient",
        "mcp_oauth_dynamicclient.browser",
        "mcp_oauth_dynamicclient.cli",
        "mcp_oauth_dynamicclient.exceptions",
        "mcp_oauth_dynamicclient.fastapi",
        "mcp_oauth_dynamicclient.metrics",
        "mcp_oauth_dynamicclient.runtime",
        "mcp_oauth_dynamicclient.storage",
        "mcp_oauth_dynamicclient.testing",
    ]


def test_every_public_module_has_a_page_and_no_private_one_does() -> None:
    assert sorted(pages()) == public_modules()


@pytest.mark.parametrize("module", public_modules())
def test_the_page_documents_exactly_the_modules_public_names(module: str) -> None:
    public = set(importlib.import_module(module).__all__)
    names = documented(module, pages()[module])
    assert public - names == set(), f"public names missing from the reference of {module}"
    assert names - public == set(), f"names documented for {module} that are not in __all__"


def test_no_private_member_is_pulled_in() -> None:
    for module, text in pages().items():
        assert ":private-members:" not in text, module
        assert ":undoc-members:" not in text, module
        assert ":special-members:" not in text, module
        for target in AUTODOC.findall(text):
            assert not any(part.startswith("_") for part in target.split(".")), target


def test_a_missing_name_is_noticed() -> None:
    text = pages()["mcp_oauth_dynamicclient.storage"]
    trimmed = text.replace(".. autoclass:: mcp_oauth_dynamicclient.storage.RedisStorage", "")
    assert "RedisStorage" not in documented("mcp_oauth_dynamicclient.storage", trimmed)


def test_the_errors_guide_names_every_exception_class() -> None:
    guide = (REFERENCE.parent / "guides" / "errors.md").read_text(encoding="utf-8")
    for module in public_modules():
        imported = importlib.import_module(module)
        for name in imported.__all__:
            value = getattr(imported, name)
            if isinstance(value, type) and issubclass(value, BaseException):
                named = re.search(rf"`(?:[\w.]+\.)?{name}`", guide)
                assert named, f"{module}.{name} is not in the errors guide"
