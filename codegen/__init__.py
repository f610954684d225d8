"""Generate typed attrs models and endpoint clients from an OpenAPI 3.1 wire contract.

The generator reads ``spec/openapi.yaml`` (or a user's own spec) and writes a package of plain
Python: ``models.py`` (attrs classes), ``converter.py`` (the package's own cattrs converter),
``operations.py`` (sans-I/O request builders and response parsers) and ``clients.py`` (the
``EndpointClient`` and ``AsyncEndpointClient``, which hand each operation to a sender with the
spec's ``x-idempotent``). The package imports only ``mcp_oauth_dynamicclient.runtime`` and
``.exceptions`` of the library. Output is formatted with ruff and byte-identical from one run
to the next. Run it with ``python -m codegen`` in a checkout, or
``mcp-oauth-codegen`` from an installed ``mcp-oauth-dynamicclient[codegen]``.
"""

from ._errors import SpecError
from .generator import check, generate, render

__all__ = ["SpecError", "check", "generate", "render"]
