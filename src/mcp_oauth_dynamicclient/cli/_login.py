"""``OAuth2CLI``: interactive sign-in for a command-line program, and the token file's place."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Unpack

from .._jwt import require_pyjwt
from .._loopback import DEFAULT_TIMEOUT, OpenUrl, loopback_port
from .._public import public
from .._sync.loopback import login, reusable_redirect_uri
from ..exceptions import ConfigurationError

if TYPE_CHECKING:
    from .._config import OAuth2Settings
    from .._models import DeviceAuthorization, TokenResponse
    from .._sync.client import SyncOAuth2Client
    from .._sync.storage import SyncTokenStorage

__all__ = ["TOKENS_ENV", "OAuth2CLI", "default_scope", "default_tokens_path"]

TOKENS_ENV = "MCP_OAUTH_TOKENS"
"""The environment variable naming the token file, instead of the user's data directory."""

APP_NAME = "mcp-oauth"


def default_tokens_path() -> Path:
    """``$MCP_OAUTH_TOKENS``, else ``tokens.json`` in the user's data directory (platformdirs:
    ``~/.local/share/mcp-oauth`` on Linux, ``~/Library/Application Support/mcp-oauth`` on
    macOS, ``%LOCALAPPDATA%\\mcp-oauth`` on Windows).

    Raises:
        ConfigurationError: platformdirs is not installed (the ``[cli]`` extra).
    """
    if path := os.environ.get(TOKENS_ENV):
        return Path(path).expanduser()
    try:
        import platformdirs
    except ImportError as exc:
        raise ConfigurationError(
            "the token file's default place needs platformdirs: pip install "
            f"'mcp-oauth-dynamicclient[cli]', or set {TOKENS_ENV} (or pass tokens_path=)"
        ) from exc
    return platformdirs.user_data_path(APP_NAME, appauthor=False) / "tokens.json"


def default_scope(client: SyncOAuth2Client) -> str | None:
    """What a sign-in asks for when the person names no scope.

    The library's choice when it has one: the configured scope, else the MCP server's
    ``scopes_supported`` (RFC 9728 §2). Without one, asking for no scope leaves it to the
    server (RFC 6749 §3.3), which an OpenID Provider refuses: a server whose metadata lists
    ``openid`` in ``scopes_supported`` (RFC 8414 §2, OpenID Connect Discovery §3) is asked
    for ``openid``, plus ``offline_access`` when listed too, so the sign-in also brings a
    refresh token (OpenID Connect Core §11). Else None: no scope parameter.

    Raises:
        ConfigurationError: ``openid`` is chosen but the ID token it brings could not be
            checked (PyJWT, the ``[jwt]`` extra, is missing): said before the person signs in.
    """
    if (chosen := client._scope(None)) is not None:
        return chosen
    offered = set(client.discover().scopes_supported or ())
    if "openid" not in offered:
        return None
    try:
        require_pyjwt()
    except ConfigurationError as exc:
        raise ConfigurationError(
            f"{client.issuer} is an OpenID Provider: signing in with scope openid brings an ID "
            f"token, which is checked with PyJWT ({exc}); or name the scopes to ask for "
            "(--scope, scope=)"
        ) from exc
    return "openid offline_access" if "offline_access" in offered else "openid"


@public("mcp_oauth_dynamicclient.cli")
class OAuth2CLI:
    """Interactive sign-in for a command-line program (see the module docstring).

    ``auth_server`` is the authorization server's URL; or give ``resource=`` the URL of an MCP
    server, whose authorization server is discovered (RFC 9728). Other keyword settings are
    those of ``OAuth2Config`` (``client_name``, ``scope``…). ``login_timeout`` is how long
    a sign-in waits for the person, in seconds. ``on_open``, ``on_code`` and
    ``on_pending`` let a program show the browser URL, the device code and the time left its
    own way (by default the device code is printed on stderr).
    """

    def __init__(
        self,
        auth_server: str | None = None,
        *,
        storage: SyncTokenStorage | None = None,
        tokens_path: str | os.PathLike[str] | None = None,
        device: bool = False,
        login_timeout: float = DEFAULT_TIMEOUT,
        open_url: OpenUrl | None = None,
        on_open: Callable[[str], object] | None = None,
        on_code: Callable[[DeviceAuthorization], object] | None = None,
        on_pending: Callable[[float], object] | None = None,
        **settings: Unpack[OAuth2Settings],
    ) -> None:
        if storage is not None and tokens_path is not None:
            raise ConfigurationError("OAuth2CLI: pass storage or tokens_path, not both")
        self.auth_server = auth_server
        self.settings = settings
        self.tokens_path = Path(tokens_path).expanduser() if tokens_path is not None else None
        self._storage = storage
        self.device = device
        self.login_timeout = login_timeout
        self.open_url = open_url
        self.on_open = on_open
        self.on_code = on_code
        self.on_pending = on_pending

    def __repr__(self) -> str:
        server = self.auth_server or self.settings.get("resource")
        return f"OAuth2CLI({server!r}, client_name={self.settings.get('client_name')!r})"

    @property
    def storage(self) -> SyncTokenStorage:
        """Where tokens and the registration are kept (a 0600 ``SyncFileStorage`` by default)."""
        if self._storage is None:
            from ..storage import SyncFileStorage

            self._storage = SyncFileStorage(self.tokens_path or default_tokens_path())
        return self._storage

    def client(self, **more: Any) -> SyncOAuth2Client:
        """A ``SyncOAuth2Client`` of this CLI's server and storage (``more``: more settings)."""
        from .._sync.client import SyncOAuth2Client

        settings: dict[str, Any] = {**self.settings, **more}
        return SyncOAuth2Client(self.auth_server, storage=self.storage, **settings)

    def redirect_uri(self) -> str:
        """The loopback redirect URI of the next browser sign-in: the configured one, else
        the registered one while its port is free, else a new ephemeral port (RFC 8252 §7.3)."""
        configured = [uri for uri in self.settings.get("redirect_uris") or () if loopback_port(uri)]
        if configured:
            return str(configured[0])
        with self.client() as probe:  # the issuer names the stored registration
            probe.discover()
            return reusable_redirect_uri(self.storage, probe.issuer)

    def interactive_login(self, scope: str | None = None) -> TokenResponse:
        """Sign in (browser, or device flow) and return the token, stored for the next run.

        ``scope`` None asks for the configured scope, else the MCP server's
        ``scopes_supported`` (RFC 9728 §2), else, from an OpenID Provider, for ``openid`` (and
        ``offline_access`` when offered): see ``default_scope``.

        Raises:
            AuthorizationError: the user denied, the wait timed out, or the server refused.
        """
        more: dict[str, Any] = {}
        if not self.device:
            more["redirect_uris"] = [self.redirect_uri()]
        with self.client(**more) as client:
            return login(
                client,
                scope=default_scope(client) if scope is None else scope,
                timeout=self.login_timeout,
                device=self.device,
                open_url=self.open_url,
                on_open=self.on_open,
                on_code=self.on_code,
                on_pending=self.on_pending,
            )

    def access_token(self) -> str:
        """A valid access token from the storage, refreshed when due (no sign-in).

        Raises:
            TokenError: not signed in, or the sign-in ended: call ``interactive_login``.
        """
        with self.client() as client:
            return client.access_token()

    def logout(self) -> bool:
        """Revoke and forget the tokens (RFC 7009); whether the server revoked them."""
        with self.client() as client:
            return client.logout()
