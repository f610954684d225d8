"""The public surface: what ``import mcp_oauth_dynamicclient`` offers, and nothing by accident."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import mcp_oauth_dynamicclient
from mcp_oauth_dynamicclient import exceptions
from mcp_oauth_dynamicclient.runtime import LazyConverter

EXPECTED = {
    "AsyncSender",
    "BearerChallenge",
    "Challenge",
    "parse_bearer_challenge",
    "parse_www_authenticate",
    "AuthorizationError",
    "CodeExchangeError",
    "RateLimitExceeded",
    "DeadlineExceeded",
    "ResponseTooLarge",
    "SyncSender",
    "ClientRegistration",
    "DeviceAuthorization",
    "OAuth2Client",
    "OAuth2Config",
    "RateLimit",
    "RetryConfig",
    "JsonFormatter",
    "SyncOAuth2Client",
    "SyncTokenManager",
    "TokenManager",
    "TokenResponse",
    "ConfigurationError",
    "DiscoveryError",
    "NetworkError",
    "OAuth2Error",
    "RegistrationError",
    "StorageError",
    "TokenError",
    "ValidationError",
    "__version__",
}


def test_exported_names_are_exactly_the_curated_ones() -> None:
    assert set(mcp_oauth_dynamicclient.__all__) == EXPECTED
    for name in mcp_oauth_dynamicclient.__all__:
        assert hasattr(mcp_oauth_dynamicclient, name)


def test_public_names_are_not_private_modules() -> None:
    public = {n for n in dir(mcp_oauth_dynamicclient) if not n.startswith("_")}
    assert public - EXPECTED <= {"exceptions", "runtime", "storage", "testing"}


def test_exported_classes_show_their_public_module() -> None:
    """As httpx and openai do: reprs, tracebacks and pickles name the module users import."""
    from mcp_oauth_dynamicclient import storage

    for module in (mcp_oauth_dynamicclient, storage, exceptions):
        for name in module.__all__:
            value = getattr(module, name)
            if isinstance(value, type):
                assert value.__module__ in (module.__name__, exceptions.__name__), name


def test_the_stored_result_types_still_load_after_taking_the_public_module() -> None:
    """Their annotations were resolved before ``__module__`` changed (cattrs needs them)."""
    token = mcp_oauth_dynamicclient.TokenResponse.from_dict(
        {"access_token": "a", "expires_in": 60}, now=0.0
    )
    assert token.expires_at == 60.0


def test_every_exception_derives_from_the_base_and_is_exported() -> None:
    for name in exceptions.__all__:
        cls = getattr(exceptions, name)
        assert issubclass(cls, exceptions.OAuth2Error)
        assert getattr(mcp_oauth_dynamicclient, name) is cls


def test_errors_carry_the_oauth_fields_and_a_safe_repr() -> None:
    error = exceptions.TokenError(
        "request_token failed with HTTP 400: invalid_grant",
        error_code="invalid_grant",
        error_description="expired",
        status_code=400,
    )
    assert (error.error_code, error.error_description, error.status_code) == (
        "invalid_grant",
        "expired",
        400,
    )
    assert repr(error) == (
        "TokenError('request_token failed with HTTP 400: invalid_grant', "
        "error_code='invalid_grant', status_code=400)"
    )


# ------------------------------------------------------------ what importing costs (issue 4)

#: Modules a program pays for only when it uses them: the generated attrs models (built on the
#: first call to a server), cattrs (first parse), tenacity (first retry policy), the JWT code,
#: and the optional backends.
ON_FIRST_USE = (
    "mcp_oauth_dynamicclient._generated.models",
    "mcp_oauth_dynamicclient._generated.operations",
    "mcp_oauth_dynamicclient._jwt",
    "cattrs",
    "tenacity",
    "jwt",
    "cryptography",
    "filelock",
    "redis",
    "jinja2",
    "starlette",
    "uvicorn",
)


def _loaded_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nprint(' '.join(m for m in {ON_FIRST_USE!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    return result.stdout.split()


@pytest.mark.parametrize("name", ["OAuth2Client", "SyncOAuth2Client"])
def test_importing_and_building_a_client_loads_nothing_optional(name: str) -> None:
    code = (
        f"from mcp_oauth_dynamicclient import {name}\n"
        f"client = {name}('https://auth.example.com', client_name='probe', "
        "redirect_uris=['http://127.0.0.1:8765/callback'])"
    )
    assert _loaded_after(code) == []


def test_importing_the_clients_loads_no_attrs_class() -> None:
    """attrs and the classes it builds (~14 ms) load when the first client is built."""
    probe = (
        "import sys\n"
        "from mcp_oauth_dynamicclient import OAuth2Client, SyncOAuth2Client\n"
        "print('attr' in sys.modules)\n"
        "OAuth2Client('https://auth.example.com')\n"
        "print('attr' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "True"]


def test_the_first_call_to_a_server_loads_the_generated_models() -> None:
    code = (
        "from mcp_oauth_dynamicclient import SyncOAuth2Client\n"
        "from mcp_oauth_dynamicclient.testing import MockAuthServer\n"
        "with MockAuthServer() as server, SyncOAuth2Client(server.url) as client:\n"
        "    client.discover()"
    )
    loaded = _loaded_after(code)
    assert "mcp_oauth_dynamicclient._generated.models" in loaded
    assert "cattrs" in loaded


def test_the_generated_package_loads_each_name_on_first_use() -> None:
    from mcp_oauth_dynamicclient import _generated

    assert set(dir(_generated)) >= set(_generated.__all__) | {"models", "operations"}
    from mcp_oauth_dynamicclient._generated import clients, models

    for name in _generated.__all__:
        source = next((m for m in (models, clients) if hasattr(m, name)), None)
        expected = _generated.converter if source is None else getattr(source, name)
        assert getattr(_generated, name) is expected
    assert isinstance(_generated.converter, LazyConverter)
    assert _generated.operations.__name__ == "mcp_oauth_dynamicclient._generated.operations"
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _generated.Nope  # type: ignore[attr-defined]  # noqa: B018


def test_type_checkers_see_the_lazy_names_and_refuse_misspelt_ones(tmp_path: Path) -> None:
    """The PEP 562 hooks are hidden from type checkers: a typo is an error, not ``Any``."""
    from mypy import api

    code = (
        "from mcp_oauth_dynamicclient import OAuth2Client, __version__\n"
        "from mcp_oauth_dynamicclient.storage import FileStorage\n"
        "from mcp_oauth_dynamicclient._generated import TokenResponse, operations\n"
        "reveal_type(OAuth2Client.register)\n"
        "reveal_type(__version__)\n"
        "reveal_type(FileStorage.store_token)\n"
        "reveal_type(operations.build_get_jwks)\n"
        "from mcp_oauth_dynamicclient import OAuth2Clinet\n"
        "from mcp_oauth_dynamicclient.storage import FileStorge\n"
        "from mcp_oauth_dynamicclient._generated import TokenRespons\n"
    )
    program = tmp_path / "program.py"
    program.write_text(code)
    out, err, status = api.run(["--strict", "--no-incremental", str(program)])
    assert status == 1, out + err
    revealed = [
        line.split("Revealed type is ", 1)[1] for line in out.splitlines() if "Revealed" in line
    ]
    for shown, expected in zip(
        revealed,
        ("_models.ClientRegistration]", '"str"', "FileStorage", "-> httpx._models.Request"),
        strict=True,
    ):
        assert expected in shown, out
    for typo in ("OAuth2Clinet", "FileStorge", "TokenRespons"):
        assert f'has no attribute "{typo}"' in out
    assert "Found 3 errors" in out
