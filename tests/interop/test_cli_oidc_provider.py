"""Every ``mcp-oauth`` command against oidc-provider 9.13.3, as a person types them (issue 14).

Sign-ins run the installed ``mcp-oauth`` script in a subprocess, as a person would: in the
browser (``BROWSER`` names a small program that visits the authorization URL, through
oidc-provider's headless login and consent, to the CLI's loopback callback) and with the
device flow (the code the CLI prints is approved on oidc-provider's ``/device`` pages). The
commands after it run through click's ``CliRunner`` on the same token file.

No ``--scope``: against this OpenID Provider (``scopes_supported`` has ``openid``) the CLI
asks for ``openid offline_access``, where asking for no scope would be refused. From an MCP
server's URL it asks for the scopes the server's RFC 9728 metadata lists: ``McpResource`` is
that server, which checks each bearer token by introspection at oidc-provider.

The real browser (Chromium through oidc-provider's own pages) is ``test_browser_login.py``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from click.testing import CliRunner, Result

from mcp_oauth_dynamicclient.cli._app import cli
from tests.interop.oidc_provider_server import OidcProvider, run_oidc_provider
from tests.interop.test_client_interop import IntrospectingResource

pytestmark = pytest.mark.interop

Json = dict[str, Any]

SCRIPT = Path(sys.executable).with_name("mcp-oauth")
"""The console script ``pip install mcp-oauth-dynamicclient[cli]`` puts beside python."""
PRM_PATH = "/.well-known/oauth-protected-resource"
MCP_SCOPES = "mcp:read mcp:write"
LOGIN_TIMEOUT = 60.0


class McpResource(IntrospectingResource):
    """An MCP server in front of oidc-provider: its RFC 9728 metadata names oidc-provider
    and the MCP scopes, and it takes only tokens that introspect active for its audience."""

    def __init__(self, provider: OidcProvider) -> None:
        self.issuer = provider.issuer
        super().__init__(provider)

    def metadata(self) -> Json:
        """The protected resource metadata (RFC 9728 §2)."""
        return {
            "resource": self.url,
            "authorization_servers": [self.issuer],
            "scopes_supported": MCP_SCOPES.split(),
            "bearer_methods_supported": ["header"],
        }

    def _handler(self) -> Any:
        base = super()._handler()
        resource = self

        class Handler(base):  # type: ignore[misc,valid-type]
            def do_GET(self) -> None:
                if not self.path.startswith(PRM_PATH):
                    super().do_GET()
                    return
                payload = json.dumps(resource.metadata()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    """oidc-provider with a 1 s device poll interval, so a device sign-in takes seconds."""
    with run_oidc_provider(device_interval=1) as server:
        yield server


@pytest.fixture(scope="module")
def mcp_server(provider: OidcProvider) -> Iterator[McpResource]:
    resource = McpResource(provider)
    with resource:
        yield resource


@pytest.fixture
def tokens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The person's token file (``MCP_OAUTH_TOKENS``) and browser (``BROWSER``, a program
    that visits the URL it is given and logs it, with where it ended, in ``visits.log``)."""
    browser = tmp_path / "browser.py"
    browser.write_text(
        "import sys, httpx\n"
        "page = httpx.get(sys.argv[1], follow_redirects=True, timeout=10)\n"
        f"with open({str(tmp_path / 'visits.log')!r}, 'a') as log:\n"
        "    log.write(f'{sys.argv[1]} -> {page.status_code} {page.url}\\n')\n"
    )
    monkeypatch.setenv("BROWSER", f"{sys.executable} {browser} %s")
    path = tmp_path / "data" / "tokens.json"
    monkeypatch.setenv("MCP_OAUTH_TOKENS", str(path))
    return path


def visits(tokens: Path) -> list[tuple[str, int, str]]:
    """What the browser was sent to, and the status and URL where it ended."""
    log = tokens.parent.parent / "visits.log"
    lines = log.read_text().splitlines() if log.exists() else []
    parsed = [re.fullmatch(r"(\S+) -> (\d+) (\S+)", line) for line in lines]
    return [(m[1], int(m[2]), m[3]) for m in parsed if m is not None]


def mcp_oauth(*args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    """``mcp-oauth --plain ARGS`` in a subprocess, as typed in a shell."""
    done = subprocess.run(
        [str(SCRIPT), "--plain", *args],
        capture_output=True,
        text=True,
        timeout=LOGIN_TIMEOUT + 30,
        check=False,
    )
    assert done.returncode == code, (done.stdout, done.stderr)
    return done


def run(*args: str, code: int = 0) -> Result:
    """``mcp-oauth --plain ARGS`` through click's runner."""
    result = CliRunner().invoke(cli, ["--plain", *args])
    assert result.exit_code == code, (result.output, result.exception)
    return result


def device_login(provider: OidcProvider, *args: str, approve: bool = True) -> tuple[int, str]:
    """``mcp-oauth login --device ARGS``: the code it prints is approved (or refused) at
    ``/device`` as the person would on their phone; its exit status and stderr."""
    process = subprocess.Popen(
        [str(SCRIPT), "--plain", "login", "--device", "--timeout", str(LOGIN_TIMEOUT), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    said = ""
    while not (found := re.search(r"enter the code (\S+)", said)):
        line = process.stderr.readline()
        if not line:
            break
        said += line
    try:
        assert found, f"no user code in {said!r}"
        if approve:
            provider.approve_device(found[1])
        else:
            provider.deny_device(found[1])
        _, rest = process.communicate(timeout=LOGIN_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return process.returncode, said + rest


def token_file(tokens: Path) -> Json:
    """The token file's entries (plain JSON, 0600)."""
    entries: Json = json.loads(tokens.read_text())["entries"]
    return entries


def stored(tokens: Path, prefix: str) -> Json:
    """The one entry of the token file whose key starts with ``prefix``."""
    (entry,) = (value for key, value in token_file(tokens).items() if key.startswith(prefix))
    assert isinstance(entry, dict)
    return entry


# ------------------------------------------------------------------------------- signing in


def test_browser_login_without_scope_asks_an_openid_provider_for_openid(
    provider: OidcProvider, tokens: Path
) -> None:
    login = mcp_oauth("login", provider.issuer, "--timeout", str(LOGIN_TIMEOUT))
    assert f"Signed in to {provider.issuer}" in login.stderr
    (opened, status, ended) = visits(tokens)[0]
    asked = parse_qs(urlsplit(opened).query)
    assert opened.startswith(provider.url("/auth?"))
    assert asked["scope"] == ["openid offline_access"]
    assert asked["nonce"]  # asked with openid: the ID token is checked against it
    assert re.match(r"http://127\.0\.0\.1:\d+/callback\?code=", ended)
    assert status == 200
    assert tokens.stat().st_mode & 0o777 == 0o600

    held = stored(tokens, "token:")
    assert held["id_token"]
    assert held["refresh_token"]
    access_token = run("token").stdout.strip()
    assert access_token == held["access_token"]
    fields = json.loads(run("token", "--json").stdout)
    assert fields["access_token"] == access_token
    assert fields["token_type"] == "Bearer"
    assert 3500 < fields["expires_in"] <= 3600

    status_lines = run("status").stdout.splitlines()
    for line in (
        f"server: {provider.issuer}",
        f"issuer: {provider.issuer}",
        "subject: test-user",
        "refresh token: yes",
        f"client_id: {stored(tokens, 'registration:')['client_id']}",
    ):
        assert line in status_lines

    claims = json.loads(run("introspect").stdout)
    assert claims["active"] is True
    assert (claims["sub"], claims["aud"]) == ("test-user", provider.default_resource)

    # The native client's registration (its loopback redirect URI) survives an RFC 7592 PUT,
    # and a second sign-in reuses it and its port (RFC 8252 §7.3).
    updated = json.loads(run("clients", "update", "client_name=My laptop").stdout)
    assert updated["redirect_uris"] == [ended.split("?")[0]]
    assert updated["application_type"] == "native"
    mcp_oauth("login", provider.issuer, "--auth-server")
    assert visits(tokens)[1][2].split("?")[0] == ended.split("?")[0]
    assert stored(tokens, "registration:")["client_id"] == updated["client_id"]


def test_device_login_without_scope_then_logout_revokes(
    provider: OidcProvider, tokens: Path
) -> None:
    status, said = device_login(provider, provider.issuer, "--auth-server")
    assert status == 0, said
    assert f"Open {provider.url('/device')} and enter the code" in said
    assert f"Signed in to {provider.issuer}" in said
    assert "Traceback" not in said
    held = stored(tokens, "token:")
    assert held["refresh_token"]
    assert json.loads(run("introspect").stdout)["active"] is True

    # RFC 7009: both tokens revoked at the server, and forgotten here.
    assert "Signed out" in run("logout").stderr
    for revoked in (held["access_token"], held["refresh_token"]):
        assert json.loads(run("introspect", revoked).stdout) == {"active": False}
    assert not any(key.startswith("token:") for key in token_file(tokens))
    after = run("token", code=1)
    assert after.stderr.startswith("Error: ")
    assert "run `mcp-oauth login URL` to sign in" in after.stderr
    assert "Traceback" not in after.output
    assert "signed in: no" in run("status", code=1).stdout


def test_a_refused_device_login_is_one_line_and_exit_status_1(
    provider: OidcProvider, tokens: Path
) -> None:
    status, said = device_login(provider, provider.issuer, approve=False)
    assert status == 1
    last = said.strip().splitlines()[-1]
    assert last.startswith("Error: ")
    assert "access_denied" in last
    assert "Traceback" not in said


def test_an_expired_token_is_refreshed_by_the_token_command(
    provider: OidcProvider, tokens: Path
) -> None:
    mcp_oauth("login", provider.issuer, "--scope", MCP_SCOPES)
    before = stored(tokens, "token:")
    entries = json.loads(tokens.read_text())
    key = next(key for key in entries["entries"] if key.startswith("token:"))
    entries["entries"][key]["expires_at"] = 1.0  # long expired
    tokens.write_text(json.dumps(entries))

    fresh = json.loads(run("token", "--json").stdout)
    after = stored(tokens, "token:")
    assert fresh["access_token"] == after["access_token"] != before["access_token"]
    assert after["refresh_token"] != before["refresh_token"]  # rotated by oidc-provider
    assert fresh["scope"] == MCP_SCOPES
    assert json.loads(run("introspect").stdout)["active"] is True


# ------------------------------------------------------------------------- using the token


def test_login_to_an_mcp_server_and_request_it(
    provider: OidcProvider, mcp_server: McpResource, tokens: Path
) -> None:
    mcp_oauth("login", mcp_server.url)  # probed: an MCP server, whose metadata names the AS
    (opened, _, _) = visits(tokens)[0]
    asked = parse_qs(urlsplit(opened).query)
    assert asked["scope"] == [MCP_SCOPES]  # RFC 9728 scopes_supported
    assert asked["resource"] == [mcp_server.url]  # RFC 8707

    answered = run("request", "GET", mcp_server.url, "-i").stdout
    assert answered.startswith("HTTP/1.1 200 OK\n")
    body = json.loads(answered.split("\n\n", 1)[1])
    assert body["sub"] == "test-user"
    assert body["scope"] == MCP_SCOPES

    posted = run(
        "request",
        "POST",
        mcp_server.url,
        "-H",
        "Content-Type: application/json",
        "-d",
        '{"jsonrpc": "2.0", "id": 1, "method": "ping"}',
    )
    assert json.loads(posted.stdout)["client_id"] == stored(tokens, "registration:")["client_id"]
    assert json.loads(run("introspect").stdout)["aud"] == mcp_server.url

    # oidc-provider's own protected route, userinfo, refuses a token bound to the MCP server:
    # `request` prints its answer, and --fail exits 22 like curl.
    userinfo = run("request", "GET", provider.url("/me"), "--fail", "-i", code=22).stdout
    assert userinfo.startswith("HTTP/1.1 403 Forbidden\n")
    assert "insufficient_scope" in userinfo


# ----------------------------------------------------------------------------- registration


def test_clients_register_show_update_delete(provider: OidcProvider, tokens: Path) -> None:
    registered = run("clients", "register", "--server", provider.issuer).stdout.splitlines()
    assert "client_name: mcp-oauth CLI" in registered
    assert "management: yes" in registered
    first = stored(tokens, "registration:")

    shown = json.loads(run("clients", "show", "-s", provider.issuer).stdout)
    assert shown["client_id"] == first["client_id"]
    assert shown["registration_client_uri"] == provider.url(f"/reg/{first['client_id']}")
    assert "***" in (shown["client_secret"], shown["registration_access_token"])
    assert first["client_secret"] not in json.dumps(shown)

    # RFC 7592 §2.2: a PUT replaces the record; oidc-provider rotates the access token.
    updated = json.loads(
        run(
            "clients",
            "update",
            "-s",
            provider.issuer,
            "client_name=Renamed CLI",
            'contacts=["ops@example.com"]',
        ).stdout
    )
    assert (updated["client_name"], updated["contacts"]) == ("Renamed CLI", ["ops@example.com"])
    assert updated["grant_types"] == shown["grant_types"]  # kept, not reset by the PUT
    rotated = stored(tokens, "registration:")["registration_access_token"]
    assert rotated != first["registration_access_token"]
    assert json.loads(run("clients", "show", "-s", provider.issuer).stdout)["contacts"] == [
        "ops@example.com"
    ]

    assert (
        "Deleted the registration"
        in run("clients", "delete", "-s", provider.issuer, "--yes").stderr
    )
    gone = httpx.get(
        first["registration_client_uri"], headers={"Authorization": f"Bearer {rotated}"}
    )
    assert gone.status_code == 401  # RFC 7592 §2.3: neither the client nor its token is valid
    again = json.loads(run("clients", "show", "-s", provider.issuer).stdout)
    assert again["client_id"] != first["client_id"]  # a fresh registration, on first use
