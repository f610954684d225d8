"""Sphinx configuration: MyST Markdown, furo, autodoc of the public modules, mermaid.

Built by ``nox -s docs`` with ``-W --keep-going -n``: a warning or an unresolved reference
fails the build.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sphinx.application import Sphinx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import mcp_oauth_dynamicclient  # noqa: E402

project = "mcp-oauth-dynamicclient"
author = "mcp-oauth-dynamicclient developers"
copyright = "mcp-oauth-dynamicclient developers"
release = mcp_oauth_dynamicclient.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "sphinxcontrib.mermaid",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "README.md"]

myst_enable_extensions = ["colon_fence", "deflist", "fieldlist"]
myst_heading_anchors = 3

html_theme = "furo"
html_title = "mcp-oauth-dynamicclient"

# autodoc: the public names only, as the reference pages list them; signatures keep their
# annotations, the description repeats none.
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
autodoc_class_signature = "separated"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

# Offline builds (no intersphinx): types of other libraries, and the private modules a public
# signature names, are left unresolved on purpose.
_EXTERNAL = (
    "httpx|httpx2|redis|starlette|fastapi|prometheus_client|opentelemetry|attrs|cattrs|jwt|click"
    "|collections|os|pathlib|datetime|typing|types|asyncio|logging|contextlib|enum|ssl|socket|random|webbrowser"
)
nitpick_ignore_regex = [
    ("py:.*", rf"({_EXTERNAL})(\..*)?"),
    # private modules and type variables named by public signatures
    ("py:.*", r"mcp_oauth_dynamicclient\.(.*\.)?_.*"),
    ("py:class", r"mcp_oauth_dynamicclient\..*\.T"),
    # names the docstrings mention that are not part of the public surface
    (
        "py:.*",
        r"RESERVOIR_SIZE|GRANT_ERRORS|_converter|scopes|OpenUrl|OAuth2Settings|Authorize"
        r"|OAuth2Auth|SyncOAuth2Auth|ClientInformationResponse|DeviceAuthorizationResponse"
        r"|WireTokenResponse|client_id /",
    ),
]


def _attribute_docstring_is_prose(
    app: Sphinx, what: str, name: str, obj: object, options: object, lines: list[str]
) -> None:
    """Napoleon reads ``words: more words`` on an attribute docstring's first line as
    ``type: description``; ours are prose, so the line gets an empty type in front."""
    if what in {"attribute", "data", "property"} and lines and ":" in lines[0]:
        lines[0] = ": " + lines[0]


def setup(app: Sphinx) -> None:
    app.connect("autodoc-process-docstring", _attribute_docstring_is_prose, priority=400)
