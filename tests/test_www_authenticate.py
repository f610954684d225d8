"""``WWW-Authenticate`` parsing (RFC 9110 §11.6.1, RFC 6750 §3, RFC 9728 §5.1), as servers send it.

The variants below were seen from real servers or are allowed by the grammar; the property tests
check that no input, however broken, makes the parser raise or loop.
"""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_oauth_dynamicclient import (
    BearerChallenge,
    Challenge,
    TokenError,
    parse_bearer_challenge,
    parse_www_authenticate,
)
from mcp_oauth_dynamicclient.runtime import error_from_response

PRM = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"


def test_the_mcp_401_challenge() -> None:
    challenge = parse_bearer_challenge(
        f'Bearer realm="mcp", error="invalid_token", '
        f'error_description="The access token expired", resource_metadata="{PRM}"'
    )
    assert challenge == BearerChallenge(
        error="invalid_token",
        error_description="The access token expired",
        resource_metadata=PRM,
        realm="mcp",
        params={
            "realm": "mcp",
            "error": "invalid_token",
            "error_description": "The access token expired",
            "resource_metadata": PRM,
        },
    )


def test_the_403_step_up_challenge_names_the_scopes() -> None:
    challenge = parse_bearer_challenge(
        f'Bearer error="insufficient_scope", scope="mcp:read mcp:admin", resource_metadata="{PRM}"'
    )
    assert challenge is not None
    assert challenge.error == "insufficient_scope"
    assert challenge.scopes == ["mcp:read", "mcp:admin"]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Bearer", {}),
        ("bearer", {}),
        ("BEARER realm=example", {"realm": "example"}),
        (f"Bearer resource_metadata={PRM}", {"resource_metadata": PRM}),
        ('Bearer realm="a" error="invalid_token"', {"realm": "a", "error": "invalid_token"}),
        ('Bearer  realm = "a" ,error= "b"', {"realm": "a", "error": "b"}),
        ('Bearer ERROR="invalid_token"', {"error": "invalid_token"}),
        (
            'Bearer error_description="say \\"no\\", twice"',
            {"error_description": 'say "no", twice'},
        ),
        ('Bearer error="a", error="b"', {"error": "a"}),
        ('Bearer error="unterminated', {"error": "unterminated"}),
        ('Bearer error="", scope="x"', {"error": "", "scope": "x"}),
        ("Bearer ,, error=x,,", {"error": "x"}),
    ],
)
def test_real_world_variants(header: str, expected: dict[str, str]) -> None:
    challenge = parse_bearer_challenge(header)
    assert challenge is not None
    assert dict(challenge.params) == expected


def test_several_challenges_in_one_header_and_in_several_headers() -> None:
    one = 'Basic realm="api", Bearer error="invalid_token", DPoP algs="ES256 PS256"'
    assert parse_www_authenticate(one) == [
        Challenge("basic", {"realm": "api"}),
        Challenge("bearer", {"error": "invalid_token"}),
        Challenge("dpop", {"algs": "ES256 PS256"}),
    ]
    several = ['Basic realm="api"', f'Bearer resource_metadata="{PRM}"']
    challenge = parse_bearer_challenge(several)
    assert challenge is not None
    assert challenge.resource_metadata == PRM


def test_token68_challenges_are_kept_apart_from_auth_params() -> None:
    assert parse_www_authenticate("Negotiate YIIBhgYGKwYBBQUC==, Bearer") == [
        Challenge("negotiate", {}, "YIIBhgYGKwYBBQUC=="),
        Challenge("bearer", {}),
    ]
    assert parse_www_authenticate("Basic dXNlcg==") == [Challenge("basic", {}, "dXNlcg==")]


@pytest.mark.parametrize("header", ["", "   ", ",", 'Basic realm="x"', "=", '="x"', "Bearerx"])
def test_no_bearer_challenge_is_none(header: str) -> None:
    assert parse_bearer_challenge(header) is None


def test_an_error_response_reads_its_code_from_the_challenge() -> None:
    response = httpx.Response(
        401,
        headers=[
            ("WWW-Authenticate", 'Basic realm="x"'),
            ("WWW-Authenticate", 'Bearer error=invalid_token, error_description="expired"'),
        ],
    )
    error = error_from_response(response, TokenError, "introspect_token")
    assert (error.error_code, error.error_description) == ("invalid_token", "expired")


# ------------------------------------------------------------------------ hostile input

_PIECES = st.sampled_from(
    ["Bearer", "Basic", " ", ",", "=", '"', "\\", "error", "scope", "x", "é", "\t", "==", "a=b"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=40).map("".join))
def test_near_valid_headers_never_raise(header: str) -> None:
    for challenge in parse_www_authenticate(header):
        assert challenge.scheme
        assert challenge.scheme == challenge.scheme.lower()
    parse_bearer_challenge(header)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=200), max_size=3))
def test_arbitrary_headers_never_raise(headers: list[str]) -> None:
    parse_www_authenticate(headers)
    parse_bearer_challenge(headers)


def test_a_long_header_is_read_in_linear_time() -> None:
    header = "Bearer " + ", ".join(f'p{n}="{"v" * 50}"' for n in range(20_000))
    challenge = parse_bearer_challenge(header)
    assert challenge is not None
    assert len(challenge.params) == 20_000
