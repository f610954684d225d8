"""Client authentication at the token endpoint, RFC 6749 §2.3.

Each class implements the ``ClientAuth`` protocol of :mod:`._wire`: it adds its credentials to a
form-encoded request. The secret never appears in a ``repr``.
"""

from __future__ import annotations

import base64
from urllib.parse import quote_plus

import attrs

from ._wire import FormValue, redact

__all__ = ["ClientSecretBasic", "ClientSecretPost", "NoClientAuth"]


@attrs.frozen
class ClientSecretBasic:
    """``client_secret_basic``: HTTP Basic with form-encoded credentials (RFC 6749 §2.3.1).

    The client ID and secret are each ``application/x-www-form-urlencoded`` before they are
    joined by ``:`` and base64-encoded, so a secret holding ``:``, ``+`` or non-ASCII text
    reaches the server intact.
    """

    client_id: str
    client_secret: str = attrs.field(repr=redact)

    def apply(self, url: str, form: dict[str, FormValue], headers: dict[str, str]) -> None:
        """Set the ``Authorization: Basic`` header, and name the client in the body too.

        ``client_id`` in the body identifies, it does not authenticate (RFC 6749 §4.1.3 lets
        any client send it); servers built on the MCP Python SDK require it even with Basic.
        """
        form["client_id"] = self.client_id
        pair = f"{quote_plus(self.client_id, safe='')}:{quote_plus(self.client_secret, safe='')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")


@attrs.frozen
class ClientSecretPost:
    """``client_secret_post``: the credentials as form fields (RFC 6749 §2.3.1)."""

    client_id: str
    client_secret: str = attrs.field(repr=redact)

    def apply(self, url: str, form: dict[str, FormValue], headers: dict[str, str]) -> None:
        """Add ``client_id`` and ``client_secret`` to the form."""
        form["client_id"] = self.client_id
        form["client_secret"] = self.client_secret


@attrs.frozen
class NoClientAuth:
    """``none``: a public client identifies itself with ``client_id`` only (RFC 6749 §3.2.1)."""

    client_id: str

    def apply(self, url: str, form: dict[str, FormValue], headers: dict[str, str]) -> None:
        """Add ``client_id`` to the form."""
        form["client_id"] = self.client_id
