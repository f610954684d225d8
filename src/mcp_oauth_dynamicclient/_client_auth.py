"""Client authentication at the token endpoint, RFC 6749 §2.3.

Each class implements the ``ClientAuth`` protocol of :mod:`.runtime`: it adds its credentials to a
form-encoded request. The secret never appears in a ``repr``. :func:`client_auth_for` picks the
one a registration's ``token_endpoint_auth_method`` names (RFC 7591 §2).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING
from urllib.parse import quote_plus

import attrs

from .exceptions import ConfigurationError
from .runtime import ClientAuth, FormValue, redact

if TYPE_CHECKING:
    from ._config import OAuth2Config
    from ._models import ClientRegistration

__all__ = ["ClientSecretBasic", "ClientSecretPost", "NoClientAuth", "client_auth_for"]


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


def client_auth_for(
    registration: ClientRegistration, config: OAuth2Config, *, audience: str
) -> ClientAuth:
    """Token endpoint authentication for the registered method (RFC 6749 §2.3, RFC 7523 §2.2).

    ``audience`` is the issuer, named in a client assertion (RFC 7523 §3).

    Raises:
        ConfigurationError: the method needs a client secret and there is none.
    """
    method, client_id = registration.token_endpoint_auth_method, registration.client_id
    secret = registration.client_secret
    if method == "none":
        return NoClientAuth(client_id)
    if method == "private_key_jwt":
        from ._client_auth_jwt import PrivateKeyJwt

        assert config.private_key is not None  # checked by OAuth2Config
        return PrivateKeyJwt(
            client_id,
            config.private_key,
            algorithm=config.client_assertion_algorithm,
            key_id=config.private_key_id,
            audience=audience,
        )
    if secret is None:
        raise ConfigurationError(f"client_secret: required for {method}")
    if method == "client_secret_post":
        return ClientSecretPost(client_id, secret)
    if method == "client_secret_jwt":
        from ._client_auth_jwt import ClientSecretJwt

        return ClientSecretJwt(client_id, secret, audience=audience)
    return ClientSecretBasic(client_id, secret)
