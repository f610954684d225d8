"""A client regenerated from a user's spec gets the library's transport policy, not less.

The spec says per operation whether a request may be resent (``x-idempotent``); the generated
endpoint clients hand that to a sender. Given the library's ``SyncSender`` / ``AsyncSender``
with a ``RetryConfig``, a ``RateLimit`` and a ``MetricsCollector``, a vendor endpoint that only
the user's spec knows is retried, paced, counted and logged exactly as ``OAuth2Client``'s own
requests are. Against a real loopback server (the scripted one), sync and async.
"""

from __future__ import annotations

import ast
import asyncio
import copy
import importlib
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import yaml

import codegen
from codegen import SpecError
from mcp_oauth_dynamicclient import (
    AsyncSender,
    NetworkError,
    RateLimit,
    RateLimitExceeded,
    RetryConfig,
    SyncSender,
    TokenError,
)
from mcp_oauth_dynamicclient.metrics import MetricsCollector
from tests.scripted_server import Reply, ScriptedServer

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec" / "openapi.yaml"
GENERATED = ROOT / "src" / "mcp_oauth_dynamicclient" / "_generated"
FAST = RetryConfig(max_retries=2, backoff_factor=0.01, jitter=False)


def _spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return loaded


def _vendor_spec() -> dict[str, Any]:
    """Our spec plus two vendor endpoints: a read (safe to resend) and a rotation (not)."""
    spec = copy.deepcopy(_spec())
    spec["components"]["schemas"]["Quota"] = {
        "description": "Vendor: the client's remaining request quota.",
        "type": "object",
        "additionalProperties": True,
        "required": ["remaining"],
        "properties": {"remaining": {"type": "integer"}},
    }
    ok = {
        "description": "The quota.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Quota"}}},
    }
    spec["paths"]["/vendor/quota"] = {
        "get": {
            "operationId": "get_quota",
            "summary": "Read the client's quota (vendor).",
            "x-error-class": "TokenError",
            "x-idempotent": True,
            "responses": {"200": ok, "default": {"description": "Error."}},
        },
        "post": {
            "operationId": "reset_quota",
            "summary": "Reset the client's quota (vendor); each call spends a reset.",
            "x-error-class": "TokenError",
            "x-idempotent": False,
            "responses": {"200": ok, "default": {"description": "Error."}},
        },
    }
    return spec


@pytest.fixture(scope="module")
def vendor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The vendor spec generated into a package of its own, imported."""
    root = tmp_path_factory.mktemp("regenerated")
    spec_path = root / "vendor.yaml"
    spec_path.write_text(yaml.safe_dump(_vendor_spec(), sort_keys=False), encoding="utf-8")
    codegen.generate(spec_path, root / "quota_clients")
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module("quota_clients")
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m.startswith("quota_clients")]:
            del sys.modules[name]


def _quota(remaining: int = 7) -> Reply:
    return Reply.json({"remaining": remaining})


def _busy() -> Reply:
    return Reply.json({"error": "temporarily_unavailable"}, status=503)


def _call(vendor: ModuleType, flavour: str, sender: Any, url: str, name: str) -> Any:
    """``name`` on the vendor endpoint client of ``flavour``, as a user would call it."""
    if flavour == "sync":
        with httpx.Client() as http:
            return getattr(vendor.EndpointClient(http, sender=sender), name)(url)

    async def run() -> Any:
        async with httpx.AsyncClient() as http:
            return await getattr(vendor.AsyncEndpointClient(http, sender=sender), name)(url)

    return asyncio.run(run())


SENDERS = {"sync": SyncSender, "async": AsyncSender}


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_a_vendor_read_is_retried_counted_and_logged(
    vendor: ModuleType,
    scripted: ScriptedServer,
    flavour: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = MetricsCollector()
    sender = SENDERS[flavour](retry_config=FAST, metrics_collector=metrics)
    scripted.reply(_busy(), _busy(), _quota())
    with caplog.at_level(logging.DEBUG, logger="mcp_oauth_dynamicclient"):
        quota = _call(vendor, flavour, sender, scripted.url + "/vendor/quota", "get_quota")

    assert quota.remaining == 7
    assert [r.method for r in scripted.received] == ["GET", "GET", "GET"]
    stats = metrics.get_stats()
    assert stats["retries"] == 2
    assert stats["requests"] == {"get_quota": 3}
    assert stats["errors"] == {}
    retries = [r for r in caplog.records if getattr(r, "event", None) == "retry"]
    assert [(r.operation, r.attempt, r.status_code) for r in retries] == [  # type: ignore[attr-defined]
        ("get_quota", 1, 503),
        ("get_quota", 2, 503),
    ]


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_a_vendor_write_the_spec_calls_unsafe_is_not_resent(
    vendor: ModuleType, scripted: ScriptedServer, flavour: str
) -> None:
    metrics = MetricsCollector()
    sender = SENDERS[flavour](retry_config=FAST, metrics_collector=metrics)
    scripted.reply(_busy(), _quota())
    with pytest.raises(TokenError) as raised:
        _call(vendor, flavour, sender, scripted.url + "/vendor/quota", "reset_quota")

    assert raised.value.status_code == 503
    assert [r.method for r in scripted.received] == ["POST"]
    assert metrics.get_stats()["errors"] == {"temporarily_unavailable": 1}


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_a_vendor_write_is_resent_when_the_connection_was_never_made(
    vendor: ModuleType, flavour: str
) -> None:
    """Nothing listens on the port: no byte can have reached a server, so even an unsafe
    request is tried again, as the library's own registration is."""
    metrics = MetricsCollector()
    sender = SENDERS[flavour](retry_config=FAST, metrics_collector=metrics)
    with pytest.raises(NetworkError):
        _call(vendor, flavour, sender, "http://127.0.0.1:9/vendor/quota", "reset_quota")
    assert metrics.get_stats()["requests"] == {"reset_quota": 3}


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_a_vendor_request_is_paced_by_the_rate_limit(
    vendor: ModuleType, scripted: ScriptedServer, flavour: str
) -> None:
    metrics = MetricsCollector()
    limit = RateLimit(requests_per_second=0.01, burst=1, max_wait=1.0)
    sender = SENDERS[flavour](rate_limit=limit, metrics_collector=metrics)
    scripted.reply(_quota())
    url = scripted.url + "/vendor/quota"
    assert _call(vendor, flavour, sender, url, "get_quota").remaining == 7
    with pytest.raises(RateLimitExceeded):
        _call(vendor, flavour, sender, url, "get_quota")

    assert len(scripted.received) == 1
    stats = metrics.get_stats()
    assert (stats["rate_limited"], stats["errors"]) == (1, {"RateLimitExceeded": 1})


def test_without_a_sender_a_regenerated_client_sends_once(
    vendor: ModuleType, scripted: ScriptedServer
) -> None:
    scripted.reply(_busy(), _quota())
    with httpx.Client() as http, pytest.raises(TokenError):
        vendor.EndpointClient(http).get_quota(scripted.url + "/vendor/quota")
    assert len(scripted.received) == 1


# ------------------------------------------------------------- idempotency in the spec


def test_every_operation_of_our_spec_says_whether_it_may_be_resent() -> None:
    for path, item in _spec()["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "operationId" in operation:
                assert isinstance(operation.get("x-idempotent"), bool), (path, method)
                reason = operation["description"]
                assert "resen" in reason, (path, method)
                assert "RFC" in reason, (path, method)


def test_the_generated_clients_carry_each_operations_idempotency() -> None:
    source = (GENERATED / "clients.py").read_text(encoding="utf-8")
    calls = {
        node.args[1].value: ast.unparse(keyword.value)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and ast.unparse(node.func) == "self.sender.send"
        and isinstance(node.args[1], ast.Constant)
        for keyword in node.keywords
        if keyword.arg == "idempotent"
    }
    assert calls == {
        "get_authorization_server_metadata": "True",
        "get_protected_resource_metadata": "True",
        "get_jwks": "True",
        "register_client": "False",
        "read_client": "True",
        "update_client": "False",
        "delete_client": "False",
        "request_token": "isinstance(body, (ClientCredentialsTokenRequest,))",
        "revoke_token": "True",
        "introspect_token": "True",
        "request_device_authorization": "False",
    }


def test_a_spec_that_leaves_it_out_generates_a_client_that_never_resends(
    tmp_path: Path,
) -> None:
    spec = _vendor_spec()
    del spec["paths"]["/vendor/quota"]["get"]["x-idempotent"]
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    source = codegen.render(spec_path)["clients.py"]
    start = source.index("def get_quota")
    assert "idempotent=False" in source[start : source.index("def ", start + 10)]


def test_a_spec_with_a_non_boolean_idempotency_is_refused(tmp_path: Path) -> None:
    spec = _vendor_spec()
    spec["paths"]["/vendor/quota"]["get"]["x-idempotent"] = "yes"
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    with pytest.raises(SpecError, match=r"vendor/quota\.get\.x-idempotent: expected true or false"):
        codegen.render(spec_path)


# -------------------------------------------------------- the runtime contract of generated code


def _library_imports(path: Path) -> set[str]:
    """The modules of the library a generated file imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "mcp_oauth_dynamicclient":
                found.update(f"mcp_oauth_dynamicclient.{alias.name}" for alias in node.names)
            elif node.module.startswith("mcp_oauth_dynamicclient."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("mcp_oauth_dynamicclient"))
    return found


@pytest.mark.parametrize("package", ["ours", "regenerated"])
def test_generated_code_imports_only_the_public_runtime_and_exceptions(
    package: str, vendor: ModuleType
) -> None:
    folder = GENERATED if package == "ours" else Path(str(vendor.__file__)).parent
    imported = set().union(*(_library_imports(path) for path in folder.glob("*.py")))
    assert imported == {
        "mcp_oauth_dynamicclient.runtime",
        "mcp_oauth_dynamicclient.exceptions",
    }


def test_a_regenerated_package_type_checks_against_the_public_runtime(vendor: ModuleType) -> None:
    folder = Path(str(vendor.__file__)).parent
    mypy = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(folder)],
        capture_output=True,
        text=True,
        check=False,
        cwd=folder.parent,
    )
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr
