"""The forms of a callback ``exchange_code`` accepts, and the ones it refuses (issue 12, item 17).

RFC 6749 §4.1.2: the authorization server redirects to the client's redirect URI with ``code``
and ``state`` (and RFC 9207 ``iss``) in the query, each at most once (§3.1); an error response
(§4.1.2.1) carries ``error`` instead of ``code``. ``exchange_code`` takes that URL whole, an
``https://`` one as well as a loopback ``http://`` one, or only its query (``?code=…``), and
refuses, before anything is sent and without spending the pending request, a URL that is not
such a response. A mutation test found none of these forms tested; each is here, against a
real authorization at MockAuthServer, sync and async.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from mcp_oauth_dynamicclient import AuthorizationError, TokenResponse, ValidationError
from mcp_oauth_dynamicclient._authorization import Callback, parse_callback
from mcp_oauth_dynamicclient.testing import MockAuthServer
from tests.clients import follow, make
from tests.flavours import ClientProxy, Flavour

HTTPS_REDIRECT = "https://app.example/callback"


def token_posts(server: MockAuthServer) -> int:
    return server.requests.count("/token", method="POST")


def params_of(callback: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(callback).query, keep_blank_values=True))


def pending(api: Flavour, server: MockAuthServer, **settings: object) -> tuple[ClientProxy, str]:
    """A client with one pending authorization request, and the callback URL it came back to."""
    client = make(api, server, **settings)
    return client, follow(client.get_authorization_url())


def exchanged(server: MockAuthServer, token: TokenResponse, code: str) -> None:
    """``token`` came from one POST /token that redeemed exactly ``code``."""
    assert token.access_token
    assert token_posts(server) == 1
    assert server.requests.last("/token", method="POST").param("code") == code


# ------------------------------------------------------------------------- accepted forms


def test_an_https_callback_url_is_read_as_a_url(api: Flavour, server: MockAuthServer) -> None:
    client, callback = pending(api, server, redirect_uris=[HTTPS_REDIRECT])
    assert callback.startswith(HTTPS_REDIRECT + "?")
    params = params_of(callback)
    exchanged(server, client.exchange_code(callback), params["code"])


def test_a_bare_query_is_read_as_a_callback(api: Flavour, server: MockAuthServer) -> None:
    client, callback = pending(api, server)
    query = urlsplit(callback).query
    assert "state=" in query
    assert "iss=" in query
    exchanged(server, client.exchange_code("?" + query), params_of(callback)["code"])


def test_a_bare_query_with_a_state_of_another_request_is_refused(
    api: Flavour, server: MockAuthServer
) -> None:
    """The query's state is checked, not ignored for the last pending request's."""
    client, callback = pending(api, server)
    params = params_of(callback)
    with pytest.raises(AuthorizationError, match="no pending authorization") as caught:
        client.exchange_code("?" + urlencode({**params, "state": "forged-" + params["state"]}))
    assert caught.value.error_code == "invalid_state"
    assert token_posts(server) == 0


# -------------------------------------------------------------------------- refused forms


@pytest.mark.parametrize("code", ["", None], ids=["empty-string", "not-a-string"])
def test_an_empty_code_is_refused(api: Flavour, server: MockAuthServer, code: str | None) -> None:
    client, callback = pending(api, server)
    with pytest.raises(ValidationError, match="expected a non-empty code or callback URL"):
        client.exchange_code(code)
    assert token_posts(server) == 0
    # The pending request was not spent: the real callback still goes through.
    exchanged(server, client.exchange_code(callback), params_of(callback)["code"])


def test_a_callback_url_with_an_empty_code_is_refused_before_anything_is_sent(
    api: Flavour, server: MockAuthServer
) -> None:
    client, callback = pending(api, server)
    emptied = "?" + urlencode({**params_of(callback), "code": ""})
    with pytest.raises(ValidationError):
        client.exchange_code(emptied)
    assert token_posts(server) == 0
    exchanged(server, client.exchange_code(callback), params_of(callback)["code"])


@pytest.mark.parametrize("name", ["code", "state", "iss", "error"])
def test_a_duplicated_callback_parameter_is_refused(
    api: Flavour, server: MockAuthServer, name: str
) -> None:
    """RFC 6749 §3.1: request and response parameters MUST NOT be included more than once;
    which of two codes or states is "the" one is the attacker's choice."""
    client, callback = pending(api, server)
    params = params_of(callback)
    value = params.get(name, "access_denied")  # a callback has no error: add two
    doubled = callback + "&" + urlencode([(name, value)] * (1 if name in params else 2))
    with pytest.raises(ValidationError, match=f"the '{name}' parameter appears twice"):
        client.exchange_code(doubled)
    assert token_posts(server) == 0
    exchanged(server, client.exchange_code(callback), params["code"])


@pytest.mark.parametrize(
    "kept", [("state", "iss"), ("state",), ()], ids=["state-and-iss", "state", "nothing"]
)
def test_a_callback_with_neither_code_nor_error_is_refused(
    api: Flavour, server: MockAuthServer, kept: tuple[str, ...]
) -> None:
    client, callback = pending(api, server)
    params = params_of(callback)
    base = callback.split("?", 1)[0]
    stripped = base + "?" + urlencode({name: params[name] for name in kept})
    with pytest.raises(ValidationError, match="carries neither a code nor an error"):
        client.exchange_code(stripped)
    assert token_posts(server) == 0
    exchanged(server, client.exchange_code(callback), params["code"])


def test_an_error_callback_is_the_servers_refusal(api: Flavour, server: MockAuthServer) -> None:
    """An error response (§4.1.2.1) without a code is read, and raised as the server's
    refusal with its code, description and URI; nothing is sent to the token endpoint."""
    client, callback = pending(api, server)
    params = params_of(callback)
    refusal = {
        "error": "access_denied",
        "error_description": "the user said no",
        "error_uri": "https://as.example/why",
        "state": params["state"],
        "iss": params["iss"],
    }
    with pytest.raises(AuthorizationError, match="refused: access_denied: the user said no") as e:
        client.exchange_code("?" + urlencode(refusal))
    assert (e.value.error_code, e.value.error_description, e.value.error_uri) == (
        "access_denied",
        "the user said no",
        "https://as.example/why",
    )
    assert token_posts(server) == 0


# ------------------------------------------------------------------------ the parser alone


@pytest.mark.parametrize(
    "value",
    [
        "https://app.example/cb?code=c1&state=s1&iss=https%3A%2F%2Fas.example",
        "http://127.0.0.1:8080/cb?code=c1&state=s1&iss=https%3A%2F%2Fas.example",
        "?code=c1&state=s1&iss=https%3A%2F%2Fas.example",
        "?iss=https%3A%2F%2Fas.example&state=s1&code=c1#ignored",
    ],
    ids=["https", "http-loopback", "bare-query", "reordered-with-fragment"],
)
def test_parse_callback_reads_each_url_form(value: str) -> None:
    assert parse_callback(value) == Callback(
        code="c1", state="s1", iss="https://as.example", from_url=True
    )


def test_parse_callback_reads_an_error_response_whole() -> None:
    value = "?error=access_denied&error_description=no%20way&error_uri=https%3A%2F%2Fx&state=s"
    assert parse_callback(value) == Callback(
        state="s",
        error="access_denied",
        error_description="no way",
        error_uri="https://x",
        from_url=True,
    )


@pytest.mark.parametrize("code", ["c1", "code=c1", "HTTPS://app.example/cb?code=c1", "/cb?c=1"])
def test_parse_callback_returns_anything_else_as_a_bare_code(code: str) -> None:
    assert parse_callback(code) == Callback(code=code, from_url=False)


NOT_A_CODE = "authorization_code: expected a non-empty code or callback URL"
NEITHER = "callback URL: it carries neither a code nor an error"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", NOT_A_CODE),
        (b"?code=c1", NOT_A_CODE),
        ("http://[::1/cb?code=c1&state=s", "callback URL: not a valid URL"),
        ("?code=a&code=b&state=s", "callback URL: the 'code' parameter appears twice"),
        ("?code=a&state=s&state=s", "callback URL: the 'state' parameter appears twice"),
        ("?code=a&state=s&iss=x&iss=x", "callback URL: the 'iss' parameter appears twice"),
        ("?error=x&error=y", "callback URL: the 'error' parameter appears twice"),
        ("?state=s&iss=x", NEITHER),
        ("https://app.example/cb", NEITHER),
        ("?", NEITHER),
    ],
)
def test_parse_callback_refuses(value: object, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_callback(value)  # type: ignore[arg-type]
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "value",
    [
        "https://app.example/cb#x&code=abc&state=xyz",
        "http://127.0.0.1:8080/callback#&code=abc&state=xyz",
    ],
)
def test_parameters_in_the_fragment_are_not_the_response(value: str) -> None:
    """RFC 6749 §4.1.2: the authorization code response is in the query component."""
    with pytest.raises(ValidationError):
        parse_callback(value)
