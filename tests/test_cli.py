"""``mcp-oauth`` and ``OAuth2CLI`` as a person uses them, against MockAuthServer (issue 14).

Every command runs through click's ``CliRunner`` in this process; the browser is a real
program that ``webbrowser`` starts (the ``BROWSER`` variable): it GETs the authorization URL
and follows the redirect to the CLI's loopback listener, as a browser does. ``mock-server``
runs as a real subprocess that a login then uses.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import webbrowser
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import httpx
import pytest
from click.testing import CliRunner, Result

from mcp_oauth_dynamicclient import TokenError
from mcp_oauth_dynamicclient._sync import client as sync_client
from mcp_oauth_dynamicclient.cli import OAuth2CLI, default_tokens_path
from mcp_oauth_dynamicclient.cli._app import cli
from mcp_oauth_dynamicclient.cli._login import default_scope
from mcp_oauth_dynamicclient.cli._output import Output
from mcp_oauth_dynamicclient.storage import SyncMemoryStorage
from mcp_oauth_dynamicclient.testing import MockAuthServer

INITIALIZE = json.dumps(
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "cli test", "version": "1"},
        },
    }
)


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``BROWSER`` is a script that visits the URL like a browser; returns its visit log."""
    visits = tmp_path / "visits.log"
    script = tmp_path / "browser.py"
    script.write_text(
        "import sys, httpx\n"
        "page = httpx.get(sys.argv[1], follow_redirects=True, timeout=10)\n"
        f"with open({str(visits)!r}, 'a') as log:\n"
        "    log.write(f'{page.status_code} {page.url.path}\\n')\n"
    )
    monkeypatch.setenv("BROWSER", f"{sys.executable} {script} %s")
    monkeypatch.setattr(webbrowser, "_tryorder", None)  # read BROWSER again
    monkeypatch.setattr(webbrowser, "_browsers", {})
    return visits


@pytest.fixture
def tokens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The token file, named by ``MCP_OAUTH_TOKENS`` as a user would."""
    path = tmp_path / "data" / "tokens.json"
    monkeypatch.setenv("MCP_OAUTH_TOKENS", str(path))
    return path


@pytest.fixture
def instant(monkeypatch: pytest.MonkeyPatch, server: MockAuthServer) -> None:
    """Device polling waits move the server's clock; the first one, the user approves."""

    def sleep(seconds: float) -> None:
        server.clock.advance(seconds)
        if not approved:
            approved.append(server.approve())

    approved: list[str] = []
    monkeypatch.setattr(sync_client, "sync_sleep", sleep)


def run(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(cli, ["--plain", *args])
    assert result.exit_code == code, (result.output, result.exception)
    return result


@pytest.fixture
def signed_in(server: MockAuthServer, browser: Path, tokens: Path) -> MockAuthServer:
    run("login", server.resource_url)
    return server


# ------------------------------------------------------------------------------ the seed


def test_the_seeds_cli_example_runs_as_written(
    server: MockAuthServer, browser: Path, tokens: Path
) -> None:
    @click.command()
    @click.option("--auth-server", required=True)
    @click.option("--client-name", required=True)
    def login(auth_server: str, client_name: str) -> None:
        """Login via OAuth 2.1 flow"""
        cli = OAuth2CLI(auth_server=auth_server, client_name=client_name)
        token = cli.interactive_login()
        click.echo(f"Access token: {token['access_token']}")

    result = CliRunner().invoke(login, ["--auth-server", server.url, "--client-name", "Seed"])
    assert result.exit_code == 0, result.output
    token = result.stdout.split("Access token: ")[1].strip()
    assert OAuth2CLI(server.url, client_name="Seed").access_token() == token
    assert browser.read_text() == "200 /callback\n"
    assert stat.S_IMODE(tokens.stat().st_mode) == 0o600


def test_tokens_go_to_the_users_data_directory_by_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("MCP_OAUTH_TOKENS", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_tokens_path() == tmp_path / "mcp-oauth" / "tokens.json"


# ------------------------------------------------------------------------------- signing in


def test_login_to_an_mcp_server_then_token_status_and_logout(
    server: MockAuthServer, browser: Path, tokens: Path
) -> None:
    login = run("login", server.resource_url)
    assert f"Signed in to {server.resource_url}" in login.stderr
    assert browser.read_text() == "200 /callback\n"
    assert stat.S_IMODE(tokens.stat().st_mode) == 0o600

    token = run("token").stdout.strip()
    assert server.requests.count("/token") == 1  # the stored one, not a new one
    fields = json.loads(run("token", "--json").stdout)
    assert fields["access_token"] == token
    assert fields["expires_in"] > 0

    status = run("status").stdout
    assert f"server: {server.resource_url}" in status
    assert f"issuer: {server.issuer}" in status
    assert f"subject: {server.settings.subject}" in status
    assert "refresh token: yes" in status

    assert "Signed out" in run("logout").stderr
    assert server.requests.count("/revoke") == 2  # the refresh token, then the access token
    not_signed_in = run("token", code=1)
    assert "Error:" in not_signed_in.stderr
    assert "run `mcp-oauth login URL` to sign in" in not_signed_in.stderr
    assert "Traceback" not in not_signed_in.output
    assert run("status", code=1).stdout.startswith(f"server: {server.resource_url}")


def test_login_to_an_authorization_server_is_probed_as_one(
    server: MockAuthServer, browser: Path, tokens: Path
) -> None:
    run("login", server.url, "--scope", "mcp:read")
    assert json.loads(run("token", "--json").stdout)["scope"] == "mcp:read"
    stored = json.loads(tokens.read_text())
    assert '"kind":"auth_server"' in json.dumps(stored, separators=(",", ":"))


def test_a_second_login_reuses_the_registration_and_its_port(
    server: MockAuthServer, browser: Path, tokens: Path
) -> None:
    run("login", server.resource_url)
    run("login", server.resource_url)
    assert server.requests.count("/register") == 1
    assert browser.read_text() == "200 /callback\n" * 2


def test_login_without_a_scope_asks_an_openid_provider_for_openid(
    browser: Path, tokens: Path
) -> None:
    with MockAuthServer(scopes=["offline_access", "mcp:read"]) as provider:
        run("login", provider.url)  # an authorization server whose metadata lists openid
        asked = provider.requests.last("/authorize").query
        assert asked["scope"] == ["openid offline_access"]
        assert asked["nonce"]
        assert set(json.loads(run("token", "--json").stdout)["scope"].split()) >= {"openid"}
        stored = json.loads(tokens.read_text())["entries"]
        assert any(entry.get("id_token") for entry in stored.values())
        assert provider.errors == []


def test_without_pyjwt_the_openid_default_fails_before_the_browser_opens(
    server: MockAuthServer, browser: Path, tokens: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "jwt", None)  # not installed
    result = run("login", server.url, code=1)
    assert "is an OpenID Provider" in result.stderr
    assert "mcp-oauth-dynamicclient[jwt]" in result.stderr
    assert not browser.exists()
    run("login", server.url, "--scope", "mcp:read")  # named scopes need no PyJWT


def test_the_default_scope(server: MockAuthServer) -> None:
    def client(**settings: Any) -> sync_client.SyncOAuth2Client:
        return sync_client.SyncOAuth2Client(storage=SyncMemoryStorage(), **settings)

    with client(auth_server=server.url) as provider:  # lists openid, not offline_access
        assert default_scope(provider) == "openid"
    with client(auth_server=server.url, scope="mcp:write") as configured:
        assert default_scope(configured) == "mcp:write"
    with client(resource=server.resource_url) as mcp:  # RFC 9728 scopes_supported
        assert default_scope(mcp) == "mcp:read mcp:write"

    # MockAuthServer always lists openid: a plain OAuth server's metadata is the mock's
    # without it, and then no scope is asked for (the server's default, RFC 6749 §3.3).
    metadata = httpx.get(server.url + "/.well-known/oauth-authorization-server").json()
    metadata["scopes_supported"] = ["mcp:read"]
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=metadata))
    http = httpx.Client(transport=transport)
    with http, client(auth_server=server.url, http_client=http) as plain:
        assert default_scope(plain) is None


def test_login_with_the_device_flow_shows_the_code(
    server: MockAuthServer, tokens: Path, instant: None
) -> None:
    result = run("login", "--device", server.resource_url)
    assert "enter the code" in result.stderr
    assert server.requests.count("/authorize") == 0
    assert run("token").stdout.strip()


def test_rich_login_shows_the_time_left_while_the_browser_is_out(
    server: MockAuthServer, browser: Path, tokens: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A browser that comes back two seconds after it was started, as a person would.
    later = browser.parent / "later.py"
    later.write_text(
        "import subprocess, sys\n"
        "visit = 'import sys, time, httpx; time.sleep(2); httpx.get(sys.argv[1], "
        "follow_redirects=True, timeout=10)'\n"
        "subprocess.Popen([sys.executable, '-c', visit, sys.argv[1]])\n"
    )
    monkeypatch.setenv("BROWSER", f"{sys.executable} {later} %s")
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich draws as on a terminal
    result = CliRunner().invoke(cli, ["--rich", "login", server.url, "--timeout", "30"])
    assert result.exit_code == 0, result.output
    assert re.search(r"Waiting for the browser \((29|28|27) s left\)", result.stderr)
    assert "Signed in" in result.stderr


def test_rich_login_shows_the_device_code_in_a_panel(
    server: MockAuthServer, tokens: Path, instant: None
) -> None:
    result = CliRunner().invoke(cli, ["--rich", "login", "--device", server.resource_url])
    assert result.exit_code == 0, result.output
    assert "Sign in on another device" in result.stderr
    assert "╭" in result.stderr  # the panel's frame


def test_without_a_browser_login_falls_back_to_the_device_flow(
    server: MockAuthServer, tokens: Path, instant: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webbrowser, "_tryorder", [])
    monkeypatch.setattr(webbrowser, "_browsers", {})
    result = run("login", server.url)
    assert "Sign in on another device" in result.stderr
    assert run("token").stdout.strip()


def test_a_denied_login_is_one_line_and_exit_status_1(
    server: MockAuthServer, browser: Path, tokens: Path
) -> None:
    server.settings.deny_authorization = True
    result = run("login", server.url, code=1)
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: ")
    assert "access_denied" in last
    assert "Traceback" not in result.output
    assert browser.read_text() == "400 /callback\n"


def test_debug_shows_the_exception(server: MockAuthServer, tokens: Path) -> None:
    result = CliRunner().invoke(cli, ["--debug", "token", "--server", server.url])
    assert isinstance(result.exception, TokenError)


def test_even_a_bug_is_one_line_without_debug(
    signed_in: MockAuthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: object) -> str:
        raise RuntimeError("something\nunforeseen")

    monkeypatch.setattr(sync_client.SyncOAuth2Client, "access_token", broken)
    result = run("token", code=1)
    assert result.stderr == (
        "Error: RuntimeError: something unforeseen (run with --debug for the traceback)\n"
    )
    debug = CliRunner().invoke(cli, ["--debug", "token"])
    assert isinstance(debug.exception, RuntimeError)


def test_verbose_shows_the_librarys_events(signed_in: MockAuthServer) -> None:
    quiet = run("clients", "register", "--force")
    assert "registered the client" not in quiet.stderr
    loud = run("--verbose", "clients", "register", "--force")
    assert "registered the client" in loud.stderr


def test_plain_lines_when_not_on_a_terminal(signed_in: MockAuthServer) -> None:
    result = CliRunner().invoke(cli, ["status"])  # no --plain: the runner is no terminal
    assert result.exit_code == 0, result.output
    assert f"issuer: {signed_in.issuer}" in result.stdout.splitlines()
    assert "│" not in result.stdout


def test_the_spinner_shows_the_time_left(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich draws as on a terminal
    out = Output(rich=True)
    with out.waiting("Waiting for the browser"):
        out.left(42.9)
    shown = capsys.readouterr()
    assert "Waiting for the browser (42 s left)" in shown.err
    assert shown.out == ""


def test_a_damaged_token_file_says_what_to_do(server: MockAuthServer, tokens: Path) -> None:
    tokens.parent.mkdir()
    tokens.write_text("not json")
    tokens.chmod(0o600)
    result = run("token", "--server", server.url, code=1)
    assert "not valid JSON" in result.stderr
    assert "--tokens" in result.stderr
    assert "Traceback" not in result.output
    assert tokens.read_text() == "not json"


def test_rich_output_on_a_terminal(signed_in: MockAuthServer) -> None:
    result = CliRunner().invoke(cli, ["--rich", "status"])
    assert result.exit_code == 0, result.output
    assert "issuer" in result.stdout
    assert "│" in result.stdout


# ------------------------------------------------------------------------- using the token


def test_request_sends_the_token_with_headers_and_a_body(signed_in: MockAuthServer) -> None:
    server = signed_in
    result = run(
        "request",
        "post",
        server.resource_url,
        "-H",
        "Accept: application/json, text/event-stream",
        "-H",
        "Content-Type: application/json",
        "-d",
        INITIALIZE,
        "-i",
    )
    assert result.stdout.startswith("HTTP/1.1 200 OK")
    assert "mcp-session-id:" in result.stdout.lower()
    assert '"protocolVersion"' in result.stdout


def test_request_reads_the_body_from_a_file_and_fails_like_curl(
    signed_in: MockAuthServer, tmp_path: Path
) -> None:
    body = tmp_path / "init.json"
    body.write_text(INITIALIZE)
    headers = ["-H", "Accept: application/json, text/event-stream"]
    headers += ["-H", "Content-Type: application/json"]
    ok = run("request", "POST", signed_in.resource_url, *headers, "-d", f"@{body}")
    assert '"protocolVersion"' in ok.stdout
    run("request", "GET", signed_in.url + "/nothing-here", "--fail", code=22)
    missing = run("request", "POST", signed_in.resource_url, "-d", f"@{body}.gone", code=2)
    assert "No such file or directory" in missing.stderr
    assert "Traceback" not in missing.output
    bad = run("request", "GET", signed_in.resource_url, "-H", "no colon", code=2)
    assert "expected 'Name: value'" in bad.stderr


def test_a_plain_http_url_elsewhere_is_refused(signed_in: MockAuthServer) -> None:
    result = run("request", "GET", "http://example.com/", code=1)
    assert "https" in result.stderr


def test_introspect(signed_in: MockAuthServer) -> None:
    claims = json.loads(run("introspect").stdout)
    assert claims["active"] is True
    assert claims["sub"] == signed_in.settings.subject
    assert json.loads(run("introspect", "not-a-token").stdout) == {"active": False}


# ----------------------------------------------------------------------------- registration


def test_clients_register_show_update_delete(signed_in: MockAuthServer) -> None:
    registered = run("clients", "register").stdout
    assert "client_name: mcp-oauth CLI" in registered
    assert "redirect_uris: http://127.0.0.1:" in registered

    shown = json.loads(run("clients", "show").stdout)
    assert shown["client_name"] == "mcp-oauth CLI"
    assert shown.get("registration_access_token") in (None, "***")

    updated = json.loads(
        run("clients", "update", "client_name=Renamed", 'contacts=["a@b.c"]').stdout
    )
    assert (updated["client_name"], updated["contacts"]) == ("Renamed", ["a@b.c"])
    assert json.loads(run("clients", "show").stdout)["client_name"] == "Renamed"
    run("clients", "update", "nonsense", code=2)

    assert "Deleted" in run("clients", "delete", "--yes").stderr
    gone = httpx.get(shown["registration_client_uri"])
    assert gone.status_code == 401  # no such client, nor its registration access token
    assert json.loads(run("clients", "show").stdout)["client_id"] != shown["client_id"]


def test_clients_with_an_explicit_server(server: MockAuthServer, tokens: Path) -> None:
    registered = run("clients", "register", "--server", server.url).stdout
    assert "client_id:" in registered
    assert json.loads(run("clients", "show", "-s", server.url).stdout)["client_id"]


def test_no_server_yet_says_what_to_do(tokens: Path) -> None:
    result = run("token", code=2)
    assert "mcp-oauth login URL" in result.stderr


# ------------------------------------------------------------------------------------ tools


def test_main_is_the_console_script(capsys: pytest.CaptureFixture[str]) -> None:
    from mcp_oauth_dynamicclient.cli import main

    assert main(["--help"]) == 0
    assert "Sign in to MCP servers" in capsys.readouterr().out
    assert main(["no-such-command"]) == 2
    assert OAuth2CLI.__module__ == "mcp_oauth_dynamicclient.cli"


def test_codegen_delegates_to_the_generator(tmp_path: Path) -> None:
    result = run("codegen", "--help")
    assert "OpenAPI" in result.stdout
    assert "--check" in result.stdout

    spec, out = tmp_path / "openapi.yaml", tmp_path / "vendor_client"
    run("codegen", "--init-spec", str(spec))
    assert spec.read_text().startswith(("openapi:", "#"))
    run("codegen", "--spec", str(spec), "--out", str(out))
    assert (out / "models.py").is_file()
    run("codegen", "--spec", str(spec), "--out", str(out), "--check")


def test_codegen_runs_from_the_installed_script_anywhere(tmp_path: Path) -> None:
    """The ``mcp-oauth`` script finds the generator outside the checkout too."""
    script = Path(sys.executable).with_name("mcp-oauth")
    done = subprocess.run(
        [str(script), "codegen", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "--init-spec" in done.stdout


def test_demo_runs_the_whole_flow_step_by_step() -> None:
    result = run("demo")
    assert result.stdout.strip() == "demo complete"
    for number in range(1, 11):
        assert f"\n{number}. " in "\n" + result.stderr
    assert "HTTP 200" in result.stderr
    assert "active False" in result.stderr


@pytest.fixture
def mock_server_process() -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "mcp_oauth_dynamicclient.cli", "--plain", "mock-server"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        issuer = process.stdout.readline().removeprefix("issuer: ").strip()
        mcp = process.stdout.readline().removeprefix("mcp: ").strip()
        yield process, issuer, mcp
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_mock_server_serves_in_the_foreground_for_a_login(
    mock_server_process: tuple[subprocess.Popen[str], str, str], browser: Path, tokens: Path
) -> None:
    process, issuer, mcp = mock_server_process
    assert issuer.startswith("http://127.0.0.1:")
    assert mcp == issuer + "/mcp"
    assert httpx.get(issuer + "/.well-known/oauth-authorization-server").status_code == 200
    run("login", mcp)
    assert json.loads(run("introspect").stdout)["active"] is True
    assert process.poll() is None


def test_mock_server_takes_a_port(tmp_path: Path) -> None:
    from mcp_oauth_dynamicclient._loopback import loopback_redirect_uri

    port = httpx.URL(loopback_redirect_uri()).port
    process = subprocess.Popen(
        [sys.executable, "-m", "mcp_oauth_dynamicclient.cli", "mock-server", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == f"issuer: http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.communicate(timeout=30)
