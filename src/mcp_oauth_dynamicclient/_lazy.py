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

__all__ = ["lazy_getattr"]


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
