"""Fuzz the authorization callback: ``parse_callback`` and ``exchange_code`` (issue 12, item 16).

What reaches the redirect URI is the attacker's to write (RFC 6749 §10.12, RFC 9700 §4.7): any
query, parameters repeated, percent-escapes that decode to nothing, no ``state``, a foreign
``iss``. ``parse_callback`` returns a :class:`Callback` or raises ``ValidationError``; and
``exchange_code``, given the real callback of a real authorization at ``MockAuthServer`` with a
few parts changed, returns a token or raises one of the package's exceptions, sync and async.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_oauth_dynamicclient import TokenResponse
from mcp_oauth_dynamicclient._authorization import Callback, parse_callback
from mcp_oauth_dynamicclient.exceptions import ValidationError
from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.clients import REDIRECT, follow, make
from tests.flavours import ClientProxy, flavour
from tests.fuzzing import FUZZ, only_ours

NAMES = st.sampled_from(["code", "state", "iss", "error", "error_description", "error_uri", "x"])
VALUES = st.text(max_size=12) | st.sampled_from(["", "%", "%zz", "%00", "%ff", "\x00", "a&b=c"])
PREFIXES = st.sampled_from(
    [REDIRECT + "?", "https://app.example/cb?", "?", "http://[::1/cb?", "http://", "", "https:?"]
)


@st.composite
def callback_urls(draw: st.DrawFn) -> str:
    """A callback URL as an attacker may write it: known and unknown parameters, repeated,
    escaped or not."""
    pairs = draw(st.lists(st.tuples(NAMES, VALUES), max_size=5))
    if draw(st.booleans()):
        query = urlencode(pairs)
    else:
        query = "&".join(f"{name}={value}" for name, value in pairs)
    return draw(PREFIXES) + query + draw(st.sampled_from(["", "#frag", "#code=1"]))


@FUZZ
@given(value=callback_urls() | st.text(max_size=60))
def test_parse_callback_returns_a_callback_or_refuses(value: str) -> None:
    with only_ours(ValidationError):
        callback = parse_callback(value)
        assert isinstance(callback, Callback)
        assert callback.code is not None or callback.error is not None
        if not callback.from_url:
            assert callback.code == value


@FUZZ
@given(value=callback_urls())
def test_a_parameter_given_twice_is_refused(value: str) -> None:
    """RFC 6749 §3.1: parameters MUST NOT be included more than once."""
    try:
        callback = parse_callback(value)
    except ValidationError as exc:
        refused = str(exc)
        assert any(why in refused for why in ("twice", "neither", "not a valid", "non-empty"))
        return
    if callback.from_url:
        query = urlsplit(value).query if "://" in value else value.lstrip("?")
        names = [name for name, _ in parse_qsl(query.split("#")[0], keep_blank_values=True)]
        assert len(names) == len(set(names))


# ------------------------------------------------------------------ end to end, both APIs


@pytest.fixture(scope="module")
def mock() -> Iterator[MockAuthServer]:
    with MockAuthServer() as server:
        yield server


@pytest.fixture(scope="module", params=["sync", "async"])
def client(request: pytest.FixtureRequest, mock: MockAuthServer) -> Iterator[ClientProxy]:
    with flavour(request.param) as api:
        made = make(api, mock)
        made.register()
        yield made


def _mutated(callback: str, changes: list[tuple[str, str | None]], repeat: str | None) -> str:
    """``callback`` with parameters replaced (None removes one) and one maybe repeated."""
    parts = urlsplit(callback)
    params: dict[str, str] = dict(parse_qsl(parts.query, keep_blank_values=True))
    for name, value in changes:
        if value is None:
            params.pop(name, None)
        else:
            params[name] = value
    query = "&".join(f"{name}={quote(value, safe='')}" for name, value in params.items())
    if repeat is not None and repeat in params:
        query += f"&{repeat}={quote(params[repeat], safe='')}"
    return parts._replace(query=query).geturl()


@settings(FUZZ, max_examples=60)  # each example is two round trips to the server
@given(
    changes=st.lists(st.tuples(NAMES, st.none() | VALUES), max_size=2),
    repeat=st.none() | NAMES,
    bare=st.booleans(),
)
def test_exchange_code_with_a_tampered_callback(
    client: ClientProxy,
    mock: MockAuthServer,
    changes: list[tuple[str, str | None]],
    repeat: str | None,
    bare: bool,
) -> None:
    callback = follow(client.get_authorization_url())
    tampered = _mutated(callback, changes, repeat)
    with only_ours():
        if bare:  # the code and state as separate arguments
            params = dict(parse_qsl(urlsplit(tampered).query, keep_blank_values=True))
            kwargs: dict[str, Any] = {"state": params.get("state") or None}
            token = client.exchange_code(params.get("code") or "x", **kwargs)
        else:
            token = client.exchange_code(tampered)
        assert isinstance(token, TokenResponse)
        assert not any(name in ("code", "state") and value for name, value in changes)
    assert mock.errors == []
