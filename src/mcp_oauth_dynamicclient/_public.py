"""Exported classes show the public module they are imported from, as httpx's and openai's do.

``OAuth2Client.__module__`` is ``mcp_oauth_dynamicclient``, not ``mcp_oauth_dynamicclient._async
.client``: that is the name in reprs, tracebacks, docs and pickles, and it stays when the
private layout changes. An attrs class has its annotations resolved first, while its defining
module is still known, since resolving them later looks names up in ``__module__``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import attrs

__all__ = ["public"]

C = TypeVar("C", bound=type)


def public(module: str) -> Callable[[C], C]:
    """A class decorator: the class is exported from ``module`` (its ``__module__``)."""

    def mark(cls: C) -> C:
        if attrs.has(cls):
            attrs.resolve_types(cls)
        cls.__module__ = module
        return cls

    return mark
