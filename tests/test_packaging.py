"""The package as users get it: the sdist, the wheel built from it, and regeneration from a wheel.

A user never has our checkout. The sdist alone must build the wheel (with nothing from the
repository beside it), and that wheel, installed into a fresh venv (not editable), must carry
the spec, the generator and ``py.typed``: ``mcp-oauth-codegen --init-spec`` copies the spec,
the user describes their server in it, ``mcp-oauth-codegen`` writes their package, and their
application imports it, type-checks it and calls ``MockAuthServer`` with it. Built with uv (the
``uv`` package of the dev extra), which resolves the build backend from the package index.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml

import codegen
from codegen.__main__ import main
from mcp_oauth_dynamicclient import exceptions, runtime

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec" / "openapi.yaml"
PACKAGE = "mcp_oauth_dynamicclient"


@attrs.frozen
class Dist:
    """What ``uv build`` made: the sdist, and the wheel built from it alone."""

    sdist: Path
    wheel: Path


def _env() -> dict[str, str]:
    """Our environment minus what would point a child at the checkout or at our venv."""
    dropped = ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "UV_PROJECT_ENVIRONMENT")
    return {
        name: value
        for name, value in os.environ.items()
        if name not in dropped and not name.startswith(("COV_CORE", "COVERAGE_"))
    }


def _run(*command: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env=_env(),
    )


def _ok(*command: str | Path, cwd: Path) -> str:
    result = _run(*command, cwd=cwd)
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _uv(*arguments: str | Path, cwd: Path) -> str:
    return _ok(sys.executable, "-m", "uv", *arguments, cwd=cwd)


def _one(folder: Path, pattern: str) -> Path:
    (found,) = folder.glob(pattern)
    return found


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    out = tmp_path_factory.mktemp("dist")
    _uv("build", "--quiet", "--sdist", "--out-dir", out / "sdist", ROOT, cwd=out)
    sdist = _one(out / "sdist", "*.tar.gz")
    # uv unpacks the archive into a folder of its own: the checkout is nowhere near the build.
    _uv("build", "--quiet", "--wheel", "--out-dir", out / "wheel", sdist, cwd=out)
    return Dist(sdist=sdist, wheel=_one(out / "wheel", "*.whl"))


def _contents(wheel: Path) -> dict[str, bytes]:
    """Each file of ``wheel`` by name."""
    with zipfile.ZipFile(wheel) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _sources(sdist: Path) -> dict[str, bytes]:
    """Each file of ``sdist`` by its path in the project (the top folder left out)."""
    files: dict[str, bytes] = {}
    with tarfile.open(sdist) as archive:
        for member in archive.getmembers():
            extracted = archive.extractfile(member) if member.isfile() else None
            if extracted is not None:
                files[member.name.split("/", 1)[1]] = extracted.read()
    return files


# ------------------------------------------------------------------------ the archives


def test_the_wheel_ships_the_spec_the_generator_and_py_typed(dist: Dist) -> None:
    files = _contents(dist.wheel)
    assert yaml.safe_load(files[f"{PACKAGE}/spec/openapi.yaml"])["openapi"] == "3.1.0"
    assert f"{PACKAGE}/py.typed" in files
    assert f"{PACKAGE}/runtime.py" in files
    assert f"{PACKAGE}/codegen/__main__.py" in files
    assert f"{PACKAGE}/codegen/templates/clients.py.j2" in files
    # Only the package: no tests, no top-level codegen beside it.
    assert {name.split("/")[0] for name in files} == {
        PACKAGE,
        dist.wheel.name.split("-py3")[0] + ".dist-info",
    }


def test_the_sdist_alone_builds_a_wheel_of_all_the_package_it_holds(dist: Dist) -> None:
    """The package, the generator beside it and the spec: each file as the sdist has it."""
    sources = _sources(dist.sdist)
    expected = {f"{PACKAGE}/spec/openapi.yaml": sources["spec/openapi.yaml"]}
    for name, content in sources.items():
        if name.startswith(f"src/{PACKAGE}/"):
            expected[name.removeprefix("src/")] = content
        elif name.startswith("codegen/"):
            expected[f"{PACKAGE}/{name}"] = content
    shipped = _contents(dist.wheel)
    assert {name: data for name, data in shipped.items() if ".dist-info/" not in name} == expected


def test_the_sdist_carries_what_the_wheel_and_the_tests_are_built_from(dist: Dist) -> None:
    names = set(_sources(dist.sdist))
    assert {"pyproject.toml", "spec/openapi.yaml", "codegen/__main__.py", "noxfile.py"} <= names
    assert {"README.md", "CHANGELOG.md", "SECURITY.md", "tests/test_packaging.py"} <= names
    assert "examples/quickstart.py" in names
    # Nothing git ignores, by any .gitignore (hatch reads only the top one): no venvs, locks,
    # node_modules, builds of the docs, mutation work folders.
    ignored = subprocess.run(
        ["git", "check-ignore", "--stdin"],
        input="\n".join(sorted(names - {"PKG-INFO"})),
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert ignored.returncode == 1, f"the sdist holds files git ignores:\n{ignored.stdout}"


# ---------------------------------------------------------------- a user's regeneration

# The user's application: strict-typed, it uses only public names of the installed library and
# of the package it generated, and prints what the test checks.
APP = '''
import asyncio
import json

import httpx

import mcp_oauth_dynamicclient
from mcp_oauth_dynamicclient import AsyncSender, RetryConfig, TokenError
from mcp_oauth_dynamicclient.runtime import FormValue
from mcp_oauth_dynamicclient.testing import MockAuthServer
from myapp.oauth_clients import (
    AsyncEndpointClient,
    ClientCredentialsTokenRequest,
    ClientMetadata,
    EndpointClient,
    TokenResponse,
    operations,
)


class SecretPost:
    """client_secret_post (RFC 6749 §2.3.1): the application's own ``runtime.ClientAuth``."""

    def __init__(self, client_id: str, client_secret: str) -> None:
        self.client_id = client_id
        self.client_secret = client_secret

    def apply(self, url: str, form: dict[str, FormValue], headers: dict[str, str]) -> None:
        form["client_id"] = self.client_id
        form["client_secret"] = self.client_secret


async def token(url: str, auth: SecretPost) -> TokenResponse:
    async with httpx.AsyncClient() as http:
        sender = AsyncSender(retry_config=RetryConfig(max_retries=1))
        endpoints = AsyncEndpointClient(http, sender=sender)
        return await endpoints.request_token(url, ClientCredentialsTokenRequest(), client_auth=auth)


with MockAuthServer() as server, httpx.Client() as http:
    endpoints = EndpointClient(http)
    metadata = endpoints.get_authorization_server_metadata(server.metadata_url)
    assert metadata.registration_endpoint is not None
    assert metadata.token_endpoint is not None
    body = ClientMetadata(
        client_name="nightly report",
        grant_types=["client_credentials"],
        token_endpoint_auth_method="client_secret_post",
        x_tenant="tenant-7",  # the vendor field the user added to the spec
    )
    sent = operations.build_register_client(metadata.registration_endpoint, body)
    client = endpoints.register_client(metadata.registration_endpoint, body)
    assert client.client_secret is not None
    credentials = SecretPost(client.client_id, client.client_secret)
    issued = asyncio.run(token(metadata.token_endpoint, credentials))
    try:
        asyncio.run(token(metadata.token_endpoint, SecretPost(client.client_id, "wrong")))
        refused = None
    except TokenError as exc:
        refused = exc.error_code
    print(json.dumps({
        "library": mcp_oauth_dynamicclient.__file__,
        "issuer_matches": metadata.issuer == server.issuer,
        "vendor_field_sent": json.loads(sent.content)["x_tenant"],
        "token_type": issued.token_type,
        "has_access_token": bool(issued.access_token),
        "refused": refused,
    }))
'''


def _describe_the_vendor_field(spec_path: Path) -> None:
    """The user's edit: a vendor member of the registration request."""
    spec: dict[str, Any] = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    spec["components"]["schemas"]["ClientMetadata"]["properties"]["x_tenant"] = {
        "type": "string",
        "description": "Vendor: the tenant to register the client in.",
    }
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")


def test_a_user_regenerates_and_calls_a_server_from_the_installed_wheel(
    dist: Dist, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    _uv("venv", "--quiet", "--python", sys.executable, venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    _uv(
        "pip",
        "install",
        "--quiet",
        "--python",
        python,
        f"{dist.wheel}[codegen,testing]",
        cwd=tmp_path,
    )
    command = venv / "bin" / "mcp-oauth-codegen"

    # The README's steps: a copy of the spec to start from, the edit, the package.
    spec_path = tmp_path / "specs" / "my-server.yaml"
    _ok(command, "--init-spec", spec_path, cwd=tmp_path)
    assert spec_path.read_bytes() == _contents(dist.wheel)[f"{PACKAGE}/spec/openapi.yaml"]
    _describe_the_vendor_field(spec_path)
    refused = _run(command, "--init-spec", spec_path, cwd=tmp_path)
    assert refused.returncode == 2
    assert "exists: pass --force" in refused.stderr
    (tmp_path / "myapp").mkdir()
    (tmp_path / "myapp" / "__init__.py").write_text("", encoding="utf-8")
    missing_out = _run(command, "--spec", spec_path, cwd=tmp_path)
    assert missing_out.returncode == 2
    assert "--out is required" in missing_out.stderr
    _ok(command, "--spec", "specs/my-server.yaml", "--out", "myapp/oauth_clients", cwd=tmp_path)

    generated = tmp_path / "myapp" / "oauth_clients"
    for path in generated.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert f"{PACKAGE}._" not in text, f"{path.name} imports a private module"
    app = tmp_path / "app.py"
    app.write_text(APP, encoding="utf-8")

    result = json.loads(_ok(python, app, cwd=tmp_path))
    assert Path(result.pop("library")).is_relative_to(venv)  # the wheel's copy, not the checkout
    assert result == {
        "issuer_matches": True,
        "vendor_field_sent": "tenant-7",
        "token_type": "Bearer",
        "has_access_token": True,
        "refused": "invalid_client",
    }

    # py.typed: the installed library, its testing module and the generated package type-check.
    _ok(
        sys.executable,
        "-m",
        "mypy",
        "--strict",
        "--no-incremental",
        "--python-executable",
        python,
        app,
        "myapp",
        cwd=tmp_path,
    )


# ------------------------------------------------------------------------ --init-spec


def test_init_spec_copies_the_library_spec_and_keeps_an_existing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "new" / "folder" / "server.yaml"
    assert main(["--init-spec", str(target)]) == 0
    assert target.read_bytes() == SPEC.read_bytes()
    assert f"--spec {target} --out" in capsys.readouterr().out

    target.write_text("mine: true\n", encoding="utf-8")
    assert main(["--init-spec", str(target)]) == 2
    assert "exists: pass --force to overwrite it" in capsys.readouterr().err
    assert target.read_text(encoding="utf-8") == "mine: true\n"
    assert main(["--init-spec", str(target), "--force"]) == 0
    assert target.read_bytes() == SPEC.read_bytes()
    assert [p.name for p in target.parent.iterdir()] == ["server.yaml"]  # no temporary left


def test_init_spec_refuses_a_folder_and_an_unwritable_place(tmp_path: Path) -> None:
    with pytest.raises(codegen.SpecError, match="is a folder: give the path of the YAML file"):
        codegen.init_spec(tmp_path, force=True)
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(codegen.SpecError, match=r"cannot write .*a-file/server\.yaml"):
        codegen.init_spec(blocker / "server.yaml")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--init-spec", "x.yaml", "--out", "pkg"], "--init-spec writes a spec, not a package"),
        (["--force", "--out", "pkg"], "--force only applies to --init-spec"),
        (["--init-spec", "x.yaml", "--check"], "not allowed with argument"),
    ],
)
def test_init_spec_arguments_that_do_not_go_together_are_refused(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(arguments)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(("module", "distribution"), [("jinja2", "Jinja2"), ("yaml", "PyYAML")])
def test_without_the_codegen_extra_init_spec_works_and_generating_says_what_to_install(
    module: str, distribution: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed: importing it fails
    assert main(["--init-spec", str(tmp_path / "server.yaml")]) == 0
    install = re.escape("pip install 'mcp-oauth-dynamicclient[codegen]'")
    with pytest.raises(
        codegen.SpecError, match=f"needs {distribution}, of the codegen extra: {install}"
    ):
        codegen.render(tmp_path / "server.yaml")


def test_without_ruff_generating_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ruff runs as ``python -m ruff``: an interpreter without it answers as Python does."""
    python = tmp_path / "python"
    python.write_text(f"#!/bin/sh\necho '{python}: No module named ruff' >&2\nexit 1\n")
    python.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(python))
    with pytest.raises(codegen.SpecError, match="needs ruff, of the codegen extra"):
        codegen.render(SPEC)


def test_the_bundled_spec_is_the_repository_spec_in_a_checkout() -> None:
    assert codegen.BUNDLED_SPEC.resolve() == SPEC


# ------------------------------------------------------------- the compatibility promise


def _library_names(path: Path) -> set[tuple[str, str]]:
    """(module, name) for each name of the library that a generated file uses."""
    used: set[tuple[str, str]] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE):
            used.update((str(node.module), alias.name) for alias in node.names)
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "runtime"
        ):
            used.add((f"{PACKAGE}.runtime", node.attr))
    return used


def test_generated_code_uses_only_names_the_runtime_and_exceptions_export() -> None:
    """The promise covers ``__all__`` of the two modules: generated code may use nothing else."""
    generated = ROOT / "src" / PACKAGE / "_generated"
    used = set().union(*(_library_names(path) for path in generated.glob("*.py")))
    exported = {
        f"{PACKAGE}.runtime": set(runtime.__all__),
        f"{PACKAGE}.exceptions": set(exceptions.__all__),
        PACKAGE: {"runtime"},
    }
    outside = sorted(f"{module}.{name}" for module, name in used if name not in exported[module])
    assert not outside, f"generated code uses names outside the public runtime: {outside}"
    assert {name for module, name in used if module.endswith("runtime")} >= {
        "build_request",
        "parse_model",
        "make_converter",
        "DirectSender",
        "AsyncDirectSender",
        "lazy_getattr",
    }
