"""The generator: committed output is fresh, reruns are identical, users can regenerate.

The regeneration test is what a user does when their server grows a vendor field and an extra
endpoint: edit the spec, generate into their own folder, type-check and call it over HTTP.
"""

from __future__ import annotations

import copy
import importlib
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from openapi_spec_validator import validate

import codegen
from codegen import unasync
from codegen.__main__ import main
from tests.scripted_server import Reply, ScriptedServer

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec" / "openapi.yaml"
GENERATED = ROOT / "src" / "mcp_oauth_dynamicclient" / "_generated"


@pytest.fixture
def in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """The header names the spec relative to the working directory, as nox runs it."""
    monkeypatch.chdir(ROOT)


def _spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return loaded


def test_spec_is_valid_openapi_3_1() -> None:
    document = _spec()
    validate(document)
    assert document["openapi"] == "3.1.0"


def test_every_schema_cites_its_source() -> None:
    for name, schema in _spec()["components"]["schemas"].items():
        description = schema.get("description", "")
        assert any(s in description for s in ("RFC ", "OpenID", "MCP")), name


@pytest.mark.usefixtures("in_root")
def test_committed_output_is_what_the_spec_generates() -> None:
    """The golden test: regenerate in memory and compare with ``_generated/``."""
    files = codegen.render(Path("spec/openapi.yaml"))
    committed = {p.name for p in GENERATED.glob("*.py")}
    assert committed == set(files)
    for name, content in files.items():
        assert (GENERATED / name).read_text(encoding="utf-8") == content, (
            f"{name} is stale: run `nox -s codegen`"
        )
    assert all(
        content.startswith("# Generated from spec/openapi.yaml") for content in files.values()
    )


@pytest.mark.usefixtures("in_root")
def test_reruns_are_byte_identical(tmp_path: Path) -> None:
    first = tmp_path / "first"
    second = tmp_path / "second"
    assert main(["--out", str(first)]) == 0
    assert main(["--out", str(second)]) == 0
    for path in first.iterdir():
        assert path.read_bytes() == (second / path.name).read_bytes()
    assert codegen.generate(Path("spec/openapi.yaml"), first) == []


@pytest.mark.usefixtures("in_root")
def test_check_reports_stale_files_and_generate_fixes_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "pkg"
    assert main(["--out", str(out)]) == 0
    (out / "models.py").write_text("# edited by hand\n", encoding="utf-8")
    leftover = out / "old_module.py"
    leftover.write_text("# Generated from x by mcp-oauth-dynamicclient codegen. Do not edit.\n")
    users_own = out / "helpers.py"
    users_own.write_text("# mine\n")

    assert main(["--check", "--out", str(out)]) == 1
    assert "models.py, old_module.py" in capsys.readouterr().err
    assert main(["--out", str(out)]) == 0
    assert main(["--check", "--out", str(out)]) == 0
    assert not leftover.exists()
    assert users_own.read_text() == "# mine\n"


# ------------------------------------------------------------------- user regeneration


def _vendor_spec() -> dict[str, Any]:
    """Our spec plus a vendor field in the registration response and a userinfo endpoint."""
    spec = copy.deepcopy(_spec())
    schemas = spec["components"]["schemas"]
    schemas["ClientInformationResponse"]["allOf"][1]["properties"]["x_tenant_id"] = {
        "type": "string",
        "description": "Vendor: the tenant the client was registered in.",
    }
    schemas["UserInfo"] = {
        "description": "OpenID Connect Core §5.3.2 UserInfo response.",
        "type": "object",
        "additionalProperties": True,
        "required": ["sub"],
        "properties": {"sub": {"type": "string"}, "email": {"type": "string"}},
    }
    spec["components"]["securitySchemes"]["accessToken"] = {
        "type": "http",
        "scheme": "bearer",
        "x-parameter-name": "access_token",
    }
    spec["paths"]["/userinfo"] = {
        "get": {
            "operationId": "get_userinfo",
            "summary": "Fetch the UserInfo claims (OpenID Connect Core §5.3).",
            "security": [{"accessToken": []}],
            "parameters": [{"name": "locale", "in": "query", "schema": {"type": "string"}}],
            "responses": {
                "200": {
                    "description": "Claims.",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/UserInfo"}}
                    },
                },
                "default": {"description": "Error."},
            },
        }
    }
    return spec


@pytest.fixture
def vendor_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The vendor spec generated into ``tmp_path/vendor_clients`` and importable."""
    spec_path = tmp_path / "vendor.yaml"
    spec_path.write_text(yaml.safe_dump(_vendor_spec(), sort_keys=False), encoding="utf-8")
    out = tmp_path / "vendor_clients"
    monkeypatch.chdir(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "codegen", "--spec", "vendor.yaml", "--out", "vendor_clients"],
        capture_output=True,
        text=True,
        check=False,
        env={**_env(), "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    monkeypatch.syspath_prepend(str(tmp_path))
    yield out
    for name in [m for m in sys.modules if m.startswith("vendor_clients")]:
        del sys.modules[name]


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def test_regenerated_vendor_clients_type_check_and_work(
    vendor_package: Path, scripted: ScriptedServer
) -> None:
    assert (vendor_package / "models.py").read_text().startswith("# Generated from vendor.yaml")
    mypy = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(vendor_package)],
        capture_output=True,
        text=True,
        check=False,
        cwd=vendor_package.parent,
    )
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr

    vendor = importlib.import_module("vendor_clients")
    scripted.reply(
        Reply.json({"sub": "user-1", "email": "u@example.com", "locale_used": "fr"}),
        Reply.json({"client_id": "c-1", "x_tenant_id": "t-9"}, status=201),
    )
    with httpx.Client() as http:
        client = vendor.EndpointClient(http)
        info = client.get_userinfo(scripted.url + "/userinfo", access_token="at", locale="fr")
        registered = client.register_client(scripted.url + "/register", vendor.ClientMetadata())

    assert (info.sub, info.email, info.extra) == ("user-1", "u@example.com", {"locale_used": "fr"})
    assert registered.x_tenant_id == "t-9"
    assert registered.extra == {}
    userinfo_request = scripted.received[0]
    assert userinfo_request.headers["authorization"] == "Bearer at"
    assert userinfo_request.query == {"locale": ["fr"]}


# -------------------------------------------------------------------------- bad specs


def _broken(change: str) -> dict[str, Any]:
    spec = copy.deepcopy(_spec())
    schemas = spec["components"]["schemas"]
    token_post = spec["paths"]["/token"]["post"]
    if change == "inline object":
        schemas["TokenResponse"]["properties"]["nested"] = {
            "type": "object",
            "properties": {"a": {"type": "string"}},
        }
    elif change == "unknown ref":
        schemas["TokenResponse"]["properties"]["x"] = {"$ref": "#/components/schemas/Nope"}
    elif change == "remote ref":
        schemas["TokenResponse"]["properties"]["x"] = {"$ref": "other.yaml#/X"}
    elif change == "bad error class":
        token_post["x-error-class"] = "KeyError"
    elif change == "bad operationId":
        token_post["operationId"] = "request-token"
    elif change == "duplicate operationId":
        token_post["operationId"] = "revoke_token"
    elif change == "required but undefined":
        schemas["TokenResponse"]["required"].append("expires_at")
    elif change == "property named extra":
        schemas["TokenResponse"]["properties"]["extra"] = {"type": "string"}
    elif change == "xml body":
        token_post["requestBody"]["content"] = {"application/xml": {"schema": {}}}
    elif change == "unknown security scheme":
        token_post["security"] = [{"mutualTls": []}]
    return spec


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("inline object", "TokenResponse.properties.nested: move this inline object schema"),
        ("unknown ref", "reference to an unknown schema 'Nope'"),
        ("remote ref", "only local schema references are supported"),
        ("bad error class", "x-error-class: expected one of OAuth2Error"),
        ("bad operationId", "'request-token' is not a Python identifier"),
        ("duplicate operationId", "duplicate operationId"),
        ("required but undefined", "required but not defined: ['expires_at']"),
        ("property named extra", "'extra' is reserved"),
        ("xml body", "requestBody: expected one of"),
        ("unknown security scheme", "unknown scheme 'mutualTls'"),
    ],
)
def test_unsupported_specs_are_refused_with_the_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: str, message: str
) -> None:
    spec_path = tmp_path / "broken.yaml"
    spec_path.write_text(yaml.safe_dump(_broken(change), sort_keys=False), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["--spec", str(spec_path), "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("text", ["openapi: [unclosed", "just a string", "swagger: '2.0'"])
def test_unreadable_specs_are_refused(tmp_path: Path, text: str) -> None:
    spec_path = tmp_path / "bad.yaml"
    spec_path.write_text(text, encoding="utf-8")
    with pytest.raises(codegen.SpecError):
        codegen.render(spec_path)


def test_missing_spec_is_refused(tmp_path: Path) -> None:
    with pytest.raises(codegen.SpecError, match="cannot read the spec"):
        codegen.render(tmp_path / "nope.yaml")


# ------------------------------------------------------------------------- packaging


def test_the_wheel_ships_the_generator_and_its_templates(tmp_path: Path) -> None:
    """Users regenerate with ``mcp-oauth-codegen`` from the installed package."""
    result = subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        scripts = archive.read(entry_points).decode()
    assert "mcp_oauth_dynamicclient/codegen/__main__.py" in names
    assert "mcp_oauth_dynamicclient/codegen/templates/models.py.j2" in names
    assert "mcp_oauth_dynamicclient/_generated/clients.py" in names
    assert "mcp_oauth_dynamicclient/py.typed" in names
    assert "mcp-oauth-codegen = mcp_oauth_dynamicclient.codegen.__main__:main" in scripts


# ---------------------------------------------------------------------------- unasync


@pytest.mark.usefixtures("in_root")
def test_committed_sync_twins_are_what_unasync_generates() -> None:
    """``_sync/`` is generated from ``_async/``: the one source of the blocking API."""
    files = unasync.render()
    committed = {p.name for p in unasync.TARGET.glob("*.py")}
    assert committed == set(files)
    for name, content in files.items():
        assert (unasync.TARGET / name).read_text(encoding="utf-8") == content, (
            f"_sync/{name} is stale: run `nox -s codegen`"
        )
    assert unasync.main(["--check"]) == 0


def test_unasync_rewrites_syntax_and_names_only_as_whole_words() -> None:
    source = (
        "async def fetch(client: httpx.AsyncClient, storage: TokenStorage) -> None:\n"
        "    async with OAuth2Client() as oauth:\n"
        "        await async_sleep(1)\n"
        "        await oauth.aclose()\n"
        "    MyOAuth2ClientHelper = SyncOAuth2Client\n"
    )
    assert unasync.unasync_source(source) == (
        "def fetch(client: httpx.Client, storage: SyncTokenStorage) -> None:\n"
        "    with SyncOAuth2Client() as oauth:\n"
        "        sync_sleep(1)\n"
        "        oauth.close()\n"
        "    MyOAuth2ClientHelper = SyncOAuth2Client\n"
    )
