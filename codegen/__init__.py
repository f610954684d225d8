"""Generate typed attrs models and endpoint clients from an OpenAPI 3.1 wire contract.

The generator reads ``spec/openapi.yaml`` (or a user's own spec) and writes a package of plain
Python: ``models.py`` (attrs classes), ``converter.py`` (the package's own cattrs converter),
``operations.py`` (sans-I/O request builders and response parsers) and ``clients.py`` (the
``EndpointClient`` and ``AsyncEndpointClient``, which hand each operation to a sender with the
spec's ``x-idempotent``). The package imports only ``mcp_oauth_dynamicclient.runtime`` and
``.exceptions`` of the library. Output is formatted with ruff and byte-identical from one run
to the next. Run it with ``python -m codegen`` in a checkout, or
``mcp-oauth-codegen`` from an installed ``mcp-oauth-dynamicclient[codegen]``; the wheel ships
the library's spec (``BUNDLED_SPEC``), which ``mcp-oauth-codegen --init-spec PATH`` copies for a
user to describe their own server from.
"""

from ._errors import SpecError
from .generator import BUNDLED_SPEC, check, generate, init_spec, render

__all__ = ["BUNDLED_SPEC", "SpecError", "check", "generate", "init_spec", "render"]
