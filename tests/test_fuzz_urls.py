"""Fuzz the URL rules and PKCE (issue 12, item 16).

Every URL the client is given or told about passes ``_urls``: an https URL, or http on loopback
(OAuth 2.1 §1.5, RFC 8252 §7.3). Fed any text and URLs built from hostile parts (NUL bytes,
unclosed IPv6 brackets, ports past 65535, ``javascript:``), the rules accept or raise the error
class they were given, and an http URL they accept is on loopback. PKCE (RFC 7636) accepts
only verifiers of §4.1, and comparing secrets never raises.
"""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlsplit

from hypothesis import given
from hypothesis import strategies as st

from mcp_oauth_dynamicclient._pkce import (
    code_challenge,
    make_code_verifier,
    make_nonce,
    make_state,
    same_secret,
)
from mcp_oauth_dynamicclient._urls import (
    is_loopback,
    refuse_redirects,
    require_bearer_url,
    require_redirect_uri,
    require_secure_url,
)
from mcp_oauth_dynamicclient.exceptions import DiscoveryError, ValidationError
from tests.fuzzing import FUZZ, only_ours

HOSTS = st.sampled_from(
    [
        "localhost",
        "LOCALHOST",
        "127.0.0.1",
        "127.1.2.3",
        "[::1]",
        "[::1",
        "::1",
        "[::ffff:127.0.0.1]",
        "10.0.0.5",
        "169.254.169.254",
        "as.example",
        "exa\x00mple.com",
        "xn--nxasmq6b",
        "bücher.example",
        "user:pass@as.example",
        "",
        "%00",
        "a" * 300,
    ]
)
URLS = st.builds(
    lambda scheme, host, port, path, query: f"{scheme}{host}{port}{path}{query}",
    st.sampled_from(
        ["https://", "http://", "HTTPS://", "javascript:", "data:", "//", "ftp://", ""]
    ),
    HOSTS | st.text(max_size=12),
    st.sampled_from(["", ":0", ":443", ":65535", ":65536", ":99999", ":-1", ":abc", ":"]),
    st.sampled_from(["", "/", "/cb", "/a\x00b", "/\r\n", "/#frag", "/%zz"]) | st.text(max_size=10),
    st.sampled_from(["", "?", "?code=x", "?a=\x00"]),
)


@FUZZ
@given(url=URLS | st.text(max_size=60))
def test_secure_url_rule_accepts_or_raises_the_given_error(url: str) -> None:
    with only_ours(DiscoveryError):
        parsed = require_secure_url(url, "metadata token_endpoint", error=DiscoveryError)
        assert parsed.scheme == "https" or (parsed.scheme == "http" and is_loopback(parsed.host))
        assert parsed.port is None or 0 < parsed.port <= 65535
    with only_ours(ValidationError):
        require_redirect_uri(url)


@FUZZ
@given(url=URLS | st.text(max_size=60))
def test_bearer_url_rule_sends_http_only_to_loopback(url: str) -> None:
    with only_ours(ValidationError):
        require_bearer_url(url)
        if not url.startswith("https://"):
            assert url.startswith("http://")
            host = urlsplit(url).hostname
            assert host is not None
            assert is_loopback(host)


@FUZZ
@given(host=HOSTS | st.text(max_size=20))
def test_is_loopback_never_raises(host: str) -> None:
    assert is_loopback(host) in (True, False)


@FUZZ
@given(
    follow=st.none() | st.booleans() | st.integers(), other=st.dictionaries(st.text(), st.none())
)
def test_redirects_are_refused_only_when_asked_for(follow: object, other: dict[str, None]) -> None:
    options = {**other, "follow_redirects": follow}
    try:
        refuse_redirects(options)
    except ValidationError:
        assert follow
    else:
        assert not follow
        assert "follow_redirects" not in options


# ------------------------------------------------------------------------------------ PKCE

VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


@FUZZ
@given(verifier=st.text(max_size=140) | st.from_regex(VERIFIER, fullmatch=True))
def test_code_challenge_takes_rfc_7636_verifiers_only(verifier: str) -> None:
    with only_ours(ValidationError):
        challenge = code_challenge(verifier)
        assert VERIFIER.fullmatch(verifier)
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        assert challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@FUZZ
@given(a=st.text(max_size=20), b=st.text(max_size=20))
def test_same_secret_is_equality_for_any_text(a: str, b: str) -> None:
    assert same_secret(a, b) is (a == b)
    assert same_secret(a, a)


def test_made_values_are_what_the_rfcs_ask() -> None:
    verifier = make_code_verifier()
    assert VERIFIER.fullmatch(verifier)
    assert len(code_challenge(verifier)) == 43
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", make_state())
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", make_nonce())
    assert same_secret("\ud800", "\ud800")
    assert not same_secret("\ud800", "\ud801")
