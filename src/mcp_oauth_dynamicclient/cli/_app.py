"""``mcp-oauth``: sign in to an MCP server or authorization server, and use the token.

Commands: ``login URL`` (browser, RFC 8252; ``--device``, RFC 8628), ``token``, ``status``,
``logout`` (RFC 7009), ``request METHOD URL`` (RFC 6750, curl-like), ``clients register|show|
update|delete`` (RFC 7591, RFC 7592), ``introspect`` (RFC 7662), ``codegen`` (the generator),
``mock-server`` and ``demo`` (``MockAuthServer``, the ``[testing]`` extra).

The server of the last ``login`` is remembered in the token file, so the other commands need
no URL (``--server URL`` picks another one). Errors are one line on stderr and exit status 1
(``--debug`` shows the traceback); ``--verbose`` shows the library's log events.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..exceptions import DiscoveryError, OAuth2Error, StorageError, TokenError
from ._login import TOKENS_ENV, OAuth2CLI
from ._output import Output, expires

if TYPE_CHECKING:
    from .._models import DeviceAuthorization, TokenResponse
    from .._sync.client import SyncOAuth2Client

__all__ = ["cli", "run"]

SERVER_KEY = "mcp-oauth-cli:server"
"""The storage entry naming the server of the last ``login``: ``{"url", "kind"}``."""
DEFAULT_CLIENT_NAME = "mcp-oauth CLI"
PACKAGE_LOGGER = "mcp_oauth_dynamicclient"


class State:
    """What the group's options set for the command that runs."""

    def __init__(self, tokens: str | None, client_name: str, out: Output, debug: bool) -> None:
        self.tokens = tokens
        self.client_name = client_name
        self.out = out
        self.debug = debug

    def cli(self, url: str, kind: str, **settings: Any) -> OAuth2CLI:
        """The ``OAuth2CLI`` of ``url``, an authorization server or (``kind`` resource) an
        MCP server, with this run's token file and console."""
        target: dict[str, Any] = {"resource": url} if kind == "resource" else {}
        return OAuth2CLI(
            url if kind == "auth_server" else None,
            client_name=self.client_name,
            tokens_path=self.tokens,
            on_open=lambda opened: self.out.say(
                f"Opened the browser to sign in. If it did not appear, open:\n{opened}"
            ),
            on_code=self.show_code,
            on_pending=self.out.left,
            **target,
            **settings,
        )

    def show_code(self, device: DeviceAuthorization) -> None:
        where = device.verification_uri_complete or device.verification_uri
        self.out.panel(
            "Sign in on another device",
            f"Open {device.verification_uri} and enter the code {device.user_code}"
            + (f"\n(or open {where})" if where != device.verification_uri else ""),
        )

    def remembered(self, server: str | None) -> tuple[str, str]:
        """The server a command is about: ``--server`` (its kind probed), else the last login's.

        Raises:
            click.UsageError: no ``--server`` and no login yet.
        """
        if server is not None:
            return server, probe_kind(server)
        entry = OAuth2CLI(tokens_path=self.tokens).storage.retrieve_token(SERVER_KEY)
        if not entry or not isinstance(entry.get("url"), str):
            raise click.UsageError("no server yet: run `mcp-oauth login URL`, or pass --server URL")
        return str(entry["url"]), str(entry.get("kind", "auth_server"))

    @contextmanager
    def client(self, server: str | None) -> Iterator[SyncOAuth2Client]:
        url, kind = self.remembered(server)
        with self.cli(url, kind).client() as client:
            yield client


def probe_kind(url: str) -> str:
    """``auth_server`` when ``url`` publishes RFC 8414 metadata, else ``resource`` (an MCP
    server, whose RFC 9728 metadata names its authorization server)."""
    from .._sync.client import SyncOAuth2Client

    try:
        with SyncOAuth2Client(url) as probe:
            probe.discover()
    except DiscoveryError:
        return "resource"
    return "auth_server"


class _Group(click.Group):
    """Turns any error into one line and exit status 1 (``--debug``: the traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise  # click's own: usage errors (status 2), --help, Ctrl-C
        except Exception as exc:
            state = ctx.find_object(State)
            if state is not None and state.debug:
                raise
            raise click.ClickException(_one_line(exc)) from None


def _one_line(exc: Exception) -> str:
    """The error as one line; what to do next where the CLI knows it better than the library.
    Anything not the library's is a bug: its class is named, and ``--debug`` shows where."""
    message = " ".join(str(exc).split())
    if not isinstance(exc, OAuth2Error):
        return f"{type(exc).__name__}: {message} (run with --debug for the traceback)"
    if isinstance(exc, TokenError) and exc.error_code in (None, "invalid_grant"):
        message += "; run `mcp-oauth login URL` to sign in"
    elif isinstance(exc, StorageError) and "token file" in message:
        message += (
            f" (mcp-oauth: move the file away, or name another with --tokens or ${TOKENS_ENV})"
        )
    return message


pass_state = click.make_pass_decorator(State)
server_option = click.option(
    "--server", "-s", metavar="URL", help="The server (default: the one of the last login)."
)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--tokens",
    type=click.Path(dir_okay=False),
    envvar=TOKENS_ENV,
    help=f"The token file (0600). Default: the user's data directory, or ${TOKENS_ENV}.",
)
@click.option("--client-name", default=DEFAULT_CLIENT_NAME, show_default=True)
@click.option("--verbose", "-v", count=True, help="Show the library's events (-vv: debug).")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.option(
    "--plain/--rich", default=None, help="Plain lines or rich output (default: rich on a terminal)."
)
@click.version_option(package_name="mcp-oauth-dynamicclient", prog_name="mcp-oauth")
@click.pass_context
def cli(
    ctx: click.Context,
    tokens: str | None,
    client_name: str,
    verbose: int,
    debug: bool,
    plain: bool | None,
) -> None:
    """Sign in to MCP servers with OAuth 2.1, and use the tokens."""
    out = Output(rich=None if plain is None else not plain)
    if verbose or debug:
        logger = logging.getLogger(PACKAGE_LOGGER)
        handler = out.log_handler()
        level = logger.level
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG if verbose > 1 or debug else logging.INFO)

        def restore() -> None:  # a program that calls the command goes on as it was
            logger.removeHandler(handler)
            logger.setLevel(level)

        ctx.call_on_close(restore)
    ctx.obj = State(tokens, client_name, out, debug)


# ---------------------------------------------------------------------------- signing in


@cli.command()
@click.argument("url")
@click.option("--device", is_flag=True, help="Sign in with a code on another device (RFC 8628).")
@click.option(
    "--scope",
    help="The scopes to ask for (default: the MCP server's; from an OpenID Provider, "
    "openid and offline_access).",
)
@click.option("--timeout", type=float, default=300.0, show_default=True, help="Seconds to wait.")
@click.option(
    "--resource",
    "kind",
    flag_value="resource",
    help="URL is an MCP server (protected resource, RFC 9728).",
)
@click.option(
    "--auth-server", "kind", flag_value="auth_server", help="URL is an authorization server."
)
@pass_state
def login(
    state: State, url: str, device: bool, scope: str | None, timeout: float, kind: str | None
) -> None:
    """Sign in to URL, an MCP server or an authorization server (probed unless told)."""
    kind = kind or probe_kind(url)
    cli_login = state.cli(url, kind)
    cli_login.device, cli_login.login_timeout = device, timeout
    waiting = "Waiting for the device approval" if device else "Waiting for the browser"
    with state.out.waiting(waiting):
        token = cli_login.interactive_login(scope)
    cli_login.storage.store_token(SERVER_KEY, {"url": url, "kind": kind})
    state.out.say(f"Signed in to {url}" + (f" (scope: {token.scope})" if token.scope else ""))


@cli.command()
@server_option
@click.option("--json", "as_json", is_flag=True, help="The token's fields as JSON.")
@pass_state
def token(state: State, server: str | None, as_json: bool) -> None:
    """Print a valid access token (refreshed when due)."""
    with state.client(server) as client:
        access_token = client.access_token()
        held = client.current_token()
    if not as_json:
        state.out.result(access_token)
        return
    state.out.json(_token_fields(access_token, held))


def _token_fields(access_token: str, held: TokenResponse | None) -> dict[str, Any]:
    return {
        "access_token": access_token,
        "token_type": held.token_type if held else "Bearer",
        "expires_at": held.expires_at if held else None,
        "expires_in": int(held.expires_at - time.time()) if held and held.expires_at else None,
        "scope": held.scope if held else None,
    }


@cli.command()
@server_option
@pass_state
def status(state: State, server: str | None) -> None:
    """Who is signed in, where, with which scopes, until when."""
    url, kind = state.remembered(server)
    with state.cli(url, kind).client() as client:
        try:
            client.access_token()
        except TokenError as exc:
            state.out.table("mcp-oauth", {"server": url, "signed in": f"no ({_one_line(exc)})"})
            sys.exit(1)
        held = client.current_token()
        assert held is not None
        subject = None
        with suppress(OAuth2Error):  # no introspection endpoint, or not for this client
            subject = client.introspect_token(held).get("sub")
        rows = {
            "server": url,
            "issuer": client.issuer,
            "client_id": _client_id(client),
            "subject": subject,
            "scope": held.scope,
            "expires": expires(held.expires_at),
            "refresh token": "yes" if held.refresh_token else "no",
        }
    state.out.table("mcp-oauth", rows)


def _client_id(client: SyncOAuth2Client) -> str | None:
    registration = client.register()  # the stored one: it was read by access_token()
    return registration.client_id


@cli.command()
@server_option
@pass_state
def logout(state: State, server: str | None) -> None:
    """Revoke the tokens and forget them (RFC 7009); the registration is kept."""
    with state.client(server) as client:
        revoked = client.logout()
    state.out.say(
        "Signed out" + ("" if revoked else " (tokens forgotten; the server did not revoke them)")
    )


# -------------------------------------------------------------------- using the token


@cli.command()
@click.argument("method")
@click.argument("url")
@click.option("--header", "-H", "headers", multiple=True, help="'Name: value' (repeatable).")
@click.option("--data", "-d", help="The body; @FILE reads a file, @- stdin.")
@click.option("--include", "-i", is_flag=True, help="Print the status line and headers too.")
@click.option("--fail", "-f", is_flag=True, help="Exit 22 on an HTTP status of 400 or more.")
@server_option
@pass_state
def request(
    state: State,
    method: str,
    url: str,
    headers: tuple[str, ...],
    data: str | None,
    include: bool,
    fail: bool,
    server: str | None,
) -> None:
    """Send METHOD URL with the access token (RFC 6750), as curl would."""
    sent: dict[str, str] = {}
    for header in headers:
        name, colon, value = header.partition(":")
        if not colon or not name.strip():
            raise click.BadParameter(f"{header!r}: expected 'Name: value'", param_hint="-H")
        sent[name.strip()] = value.strip()
    content = _body(data)
    with state.client(server) as client:
        response = client.authenticated_request(method.upper(), url, headers=sent, content=content)
    if include:
        state.out.result(f"HTTP/1.1 {response.status_code} {response.reason_phrase}")
        for name, value in response.headers.multi_items():
            state.out.result(f"{name}: {value}")
        state.out.result("")
    click.echo(response.text, nl=not response.text.endswith("\n"))
    if fail and response.status_code >= 400:
        sys.exit(22)


def _body(data: str | None) -> bytes | None:
    """The ``--data`` body: as given, ``@FILE``'s bytes, or stdin's for ``@-`` (as curl).

    Raises:
        click.BadParameter: the file cannot be read.
    """
    if data is None:
        return None
    if data == "@-":
        return sys.stdin.buffer.read()
    if not data.startswith("@"):
        return data.encode()
    try:
        return Path(data[1:]).read_bytes()
    except OSError as exc:
        raise click.BadParameter(f"{data[1:]}: {exc.strerror}", param_hint="--data") from None


@cli.command()
@click.argument("token_value", metavar="[TOKEN]", required=False)
@server_option
@pass_state
def introspect(state: State, token_value: str | None, server: str | None) -> None:
    """What the server says of TOKEN (default: the current access token), RFC 7662."""
    with state.client(server) as client:
        state.out.json(client.introspect_token(token_value or client.access_token()))


# ---------------------------------------------------------------------- registration


@cli.group()
def clients() -> None:
    """This CLI's registration with the server (RFC 7591, RFC 7592)."""


@clients.command("register")
@click.option("--force", is_flag=True, help="Register anew even when a registration is stored.")
@server_option
@pass_state
def clients_register(state: State, force: bool, server: str | None) -> None:
    """Register this client (or show the stored registration)."""
    with state.client(server) as client:
        registration = client.register(force=force)
    state.out.table(
        "registration",
        {
            "client_id": registration.client_id,
            "client_name": registration.client_name,
            "token_endpoint_auth_method": registration.token_endpoint_auth_method,
            "grant_types": " ".join(registration.grant_types),
            "redirect_uris": " ".join(registration.redirect_uris),
            "management": "yes" if registration.registration_client_uri else "no",
        },
    )


@clients.command("show")
@server_option
@pass_state
def clients_show(state: State, server: str | None) -> None:
    """The registration as the server holds it (RFC 7592 §2.1)."""
    with state.client(server) as client:
        state.out.json(_public_fields(client.get_client_info()))


@clients.command("update")
@click.argument("fields", nargs=-1, required=True, metavar="NAME=VALUE...")
@server_option
@pass_state
def clients_update(state: State, fields: tuple[str, ...], server: str | None) -> None:
    """Change registered metadata (RFC 7592 §2.2): VALUE is JSON, else a string;
    NAME= (empty) removes the field."""
    updates: dict[str, Any] = {}
    for field in fields:
        name, equals, value = field.partition("=")
        if not equals or not name:
            raise click.BadParameter(f"{field!r}: expected NAME=VALUE", param_hint="NAME=VALUE")
        updates[name] = _value(value)
    with state.client(server) as client:
        state.out.json(_public_fields(client.update_client(**updates)))


def _value(text: str) -> Any:
    if text == "":
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


@clients.command("delete")
@click.confirmation_option(prompt="Delete this client's registration at the server?")
@server_option
@pass_state
def clients_delete(state: State, server: str | None) -> None:
    """Delete the registration at the server (RFC 7592 §2.3) and forget it."""
    with state.client(server) as client:
        deleted = client.delete_client()
    state.out.say("Deleted the registration" if deleted else "The registration was already gone")


_SECRET_FIELDS = frozenset({"client_secret", "registration_access_token"})


def _public_fields(info: dict[str, Any]) -> dict[str, Any]:
    """``info`` with its secrets masked (they stay in the token file)."""
    return {name: ("***" if name in _SECRET_FIELDS else value) for name, value in info.items()}


# ------------------------------------------------------------------------------- tools


@cli.command(context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def codegen(args: tuple[str, ...]) -> None:
    """Regenerate typed endpoint clients from an OpenAPI spec (mcp-oauth-codegen; --help)."""
    generate = _codegen_main()
    sys.exit(generate(list(args)))


def _codegen_main() -> Callable[[list[str] | None], int]:
    """The generator's ``main``: inside the installed package (a wheel ships it as
    ``mcp_oauth_dynamicclient.codegen``), else in the source checkout of an editable install.

    Raises:
        click.ClickException: its dependencies (the ``codegen`` extra) are missing, or the
            generator itself is.
    """
    missing: set[str] = set()
    for module in ("mcp_oauth_dynamicclient.codegen.__main__", "codegen.__main__"):
        try:
            if module.startswith("codegen."):
                _checkout_codegen()
            found: Callable[[list[str] | None], int] = importlib.import_module(module).main
        except ImportError as exc:
            missing.add((exc.name or "").partition(".")[0])
            continue
        return found
    if missing - {"mcp_oauth_dynamicclient", "codegen"}:  # jinja2, yaml: not the generator
        raise click.ClickException(
            "the generator needs the codegen extra: pip install 'mcp-oauth-dynamicclient[codegen]'"
        )
    raise click.ClickException(
        "the generator is not installed: pip install 'mcp-oauth-dynamicclient[codegen]'"
    )


def _checkout_codegen() -> None:
    """Make ``codegen`` importable from the checkout that holds this editable install
    (``<checkout>/src/mcp_oauth_dynamicclient``), whatever the current directory."""
    package = Path(__file__).resolve().parents[3] / "codegen" / "__init__.py"
    if "codegen" in sys.modules or not package.is_file():
        return
    spec = importlib.util.spec_from_file_location(
        "codegen", package, submodule_search_locations=[str(package.parent)]
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["codegen"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules["codegen"]
        raise


@cli.command("mock-server")
@click.option("--port", type=int, default=0, help="The port (default: a free one).")
@click.option(
    "--scopes", help="The scopes it offers, space-separated (default: mcp:read mcp:write)."
)
@pass_state
def mock_server(state: State, port: int, scopes: str | None) -> None:
    """Run MockAuthServer in the foreground on 127.0.0.1 until Ctrl-C."""
    server = _mock_server(scopes)
    server._core.port = port  # MockAuthServer has no port knob yet
    with server:
        state.out.result(f"issuer: {server.url}")
        state.out.result(f"mcp: {server.resource_url}")
        sys.stdout.flush()
        state.out.say("Serving; Ctrl-C stops. Try: mcp-oauth login " + server.resource_url)
        try:
            while server.running:
                time.sleep(0.5)
        except KeyboardInterrupt:
            state.out.say("Stopped")


def _mock_server(scopes: str | None = None) -> Any:
    try:
        from ..testing import MockAuthServer
    except ImportError as exc:
        raise click.ClickException(
            "the mock server needs the testing extra: pip install "
            "'mcp-oauth-dynamicclient[testing,jwt]'"
        ) from exc
    return MockAuthServer(scopes=scopes.split()) if scopes else MockAuthServer()


@cli.command()
@pass_state
def demo(state: State) -> None:
    """The whole flow against an embedded MockAuthServer, step by step."""
    from .._sync.client import SyncOAuth2Client
    from ..storage import SyncMemoryStorage
    from ..testing import auto_approve

    out = state.out
    with _mock_server() as server:
        out.step(1, f"An authorization server and an MCP server at {server.url}")
        client = SyncOAuth2Client(
            resource=server.resource_url,
            client_name="mcp-oauth demo",
            redirect_uris=["http://127.0.0.1:8765/callback"],
            storage=SyncMemoryStorage(),
        )
        with client:
            metadata = client.discover()
            out.step(2, "Discovery (RFC 9728, then RFC 8414)")
            out.say(f"issuer {client.issuer}, token endpoint {metadata.token_endpoint}")
            registration = client.register()
            out.step(3, "Dynamic client registration (RFC 7591)")
            out.say(f"client_id {registration.client_id}")
            url = client.get_authorization_url()
            out.step(4, "Authorization request with PKCE S256 (RFC 7636)")
            out.say(url.split("?")[0] + "?…")
            callback = auto_approve(url)
            out.step(5, "The user approves; the browser comes back to the redirect URI")
            token = client.exchange_code(callback)
            out.step(6, "Code exchanged for tokens (RFC 6749 §4.1.3)")
            out.say(f"access token {_masked(token.access_token)}, scope {token.scope}")
            response = client.authenticated_request(
                "POST",
                server.resource_url,
                json={
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "initialize",
                    "params": {
                        "protocolVersion": "2025-11-25",
                        "capabilities": {},
                        "clientInfo": {"name": "mcp-oauth demo", "version": "1"},
                    },
                },
                headers={"Accept": "application/json, text/event-stream"},
            )
            out.step(7, "An authenticated MCP request (RFC 6750)")
            out.say(f"POST {server.resource_url} -> HTTP {response.status_code}")
            refreshed = client.refresh_token()
            out.step(8, "Refresh (RFC 6749 §6), with rotation")
            out.say(f"new access token {_masked(refreshed.access_token)}")
            claims = client.introspect_token(refreshed)
            out.step(9, "Introspection (RFC 7662)")
            out.say(f"active {claims.get('active')}, sub {claims.get('sub')}")
            revoked = client.logout()
            out.step(10, "Sign out: tokens revoked (RFC 7009)")
            out.say(
                f"revoked {revoked}; introspection now says active "
                f"{client.introspect_token(refreshed).get('active')}"
            )
    out.result("demo complete")


def _masked(secret: str) -> str:
    return f"{secret[:6]}…" if len(secret) > 12 else "***"


def run(argv: list[str] | None = None) -> int:
    """Run ``mcp-oauth`` with ``argv`` (default: ``sys.argv[1:]``); the exit status."""
    try:
        cli.main(args=argv, prog_name="mcp-oauth", standalone_mode=True)
    except SystemExit as exit_:
        return _status(exit_.code)
    return 0


def _status(code: object) -> int:
    if code is None:
        return 0
    return code if isinstance(code, int) else 1
