"""Exported classes show the public module they are imported from, as httpx's and openai's do.

``OAuth2Client.__module__`` is ``mcp_oauth_dynamicclient``, not ``mcp_oauth_dynamicclient._async
.client``: that is the name in reprs, tracebacks, docs and pickles, and it stays when the
private layout changes. An attrs class that cattrs structures (``resolve=True``) has its
annotations resolved first, while its defining module is still known, since resolving them
later looks names up in ``__module__``; the others skip that cost at import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

__all__ = ["public"]

C = TypeVar("C", bound=type)


def public(module: str, *, resolve: bool = False) -> Callable[[C], C]:
    """A class decorator: the class is exported from ``module`` (its ``__module__``).

    ``resolve=True`` for an attrs class that is structured or unstructured by cattrs.
    """

    def mark(cls: C) -> C:
        if resolve:
            import attrs

            attrs.resolve_types(cls)
        cls.__module__ = module
        return cls

    return mark
