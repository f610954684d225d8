"""Sign-in for command-line programs, and the ``mcp-oauth`` command (the ``[cli]`` extra).

``OAuth2CLI`` signs a person in from a terminal, as the seed shows::

    cli = OAuth2CLI(auth_server="https://auth.example.com", client_name="My Tool")
    token = cli.interactive_login()
    print(token["access_token"])

In the system browser with a loopback redirect (RFC 8252), or with the device flow (RFC 8628)
where there is no browser or with ``device=True``. Tokens and the registration are kept in a
0600 file in the user's data directory (``platformdirs``), or at ``tokens_path`` (or the
``MCP_OAUTH_TOKENS`` variable), so the next run reuses them; pass ``storage=`` to keep them
elsewhere. ``main`` is the ``mcp-oauth`` command (click and rich), in ``_app``.
"""

from __future__ import annotations

from ._login import TOKENS_ENV, OAuth2CLI, default_tokens_path

__all__ = ["TOKENS_ENV", "OAuth2CLI", "default_tokens_path", "main"]


def main(argv: list[str] | None = None) -> int:
    """The ``mcp-oauth`` command; returns the exit status."""
    from ._app import run

    return run(argv)
