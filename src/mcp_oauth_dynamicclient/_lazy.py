"""Module attributes loaded on first use (PEP 562).

A package names what it offers and where it is defined; the defining module is imported the first
time the name is looked up, and the value is kept in the package so later lookups are plain
attribute reads. This keeps ``import`` cheap: optional dependencies (redis, filelock) and costly
definitions (the generated attrs models) load only when a program uses them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["LazyModule", "lazy_getattr"]


def lazy_getattr(namespace: dict[str, Any], names: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for the module whose ``globals()`` is ``namespace``.

    ``names`` maps each lazy name to the module that defines it, relative to the package
    (``"._async.client"``). A name equal to its module's last component (``"operations"`` ->
    ``".operations"``) is the submodule itself.
    """
    module_name: str = namespace["__name__"]
    package: str = namespace["__package__"] or module_name

    def __getattr__(name: str) -> Any:
        where = names.get(name)
        if where is None:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        module = import_module(where, package)
        value = module if where.rpartition(".")[2] == name else getattr(module, name)
        namespace[name] = value
        return value

    return __getattr__


class LazyModule:
    """A module imported on first attribute access (``LazyModule(__package__, "._models")``).

    For a module whose import costs what a program may not need yet (attrs and the classes it
    builds): ``module.Name`` imports it then, and keeps ``Name`` on this object so later
    lookups are plain attribute reads. Type checkers are shown the real module instead (an
    import under ``TYPE_CHECKING``). The import itself is the interpreter's, so two threads
    that get here at once import the module once.
    """

    def __init__(self, package: str | None, name: str) -> None:
        self._name = name
        self._package = package

    def __getattr__(self, attribute: str) -> Any:
        value = getattr(import_module(self._name, self._package), attribute)
        setattr(self, attribute, value)
        return value
