"""PKCE and the request's random values, pinned exactly (issue 12, item 17).

RFC 7636 Appendix B gives a verifier and its S256 challenge; the generators' lengths follow
from the bytes they draw (48 for the verifier: 64 characters, 384 bits; 32 for state and nonce:
43 characters, 256 bits). Mutation testing found the sizes and the verifier's alphabet edges
unpinned; ``same_secret`` must compare any two strings, lone surrogates included.
"""

from __future__ import annotations

import re

import pytest

from mcp_oauth_dynamicclient import ValidationError
from mcp_oauth_dynamicclient._pkce import (
    VERIFIER_LENGTH,
    _b64url,
    code_challenge,
    make_code_verifier,
    make_nonce,
    make_state,
    same_secret,
)

B64URL = re.compile(r"[A-Za-z0-9_-]+")


def test_the_rfc_7636_appendix_b_example() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


@pytest.mark.parametrize("length", [43, 128])
def test_verifiers_of_43_to_128_unreserved_characters_are_accepted(length: int) -> None:
    verifier = ("aZ09-._~" * 16)[:length]
    assert len(code_challenge(verifier)) == 43


@pytest.mark.parametrize(
    "verifier", ["a" * 42, "a" * 129, "a" * 42 + "+", "a" * 42 + "=", "é" * 43, "", None, b"a" * 43]
)
def test_other_verifiers_are_refused(verifier: object) -> None:
    with pytest.raises(ValidationError) as caught:
        code_challenge(verifier)  # type: ignore[arg-type]
    assert str(caught.value) == (
        "code_verifier: expected 43-128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 §4.1)"
    )


@pytest.mark.parametrize(
    ("data", "text"),
    [(b"\x00\x00\x17", "AAAX"), (b"\x00", "AA"), (b"\x00\x00", "AAA"), (b"\xfb\xff", "-_8")],
)
def test_base64url_without_padding(data: bytes, text: str) -> None:
    """RFC 7636 §3 / RFC 7515 Appendix C: ``=`` padding is removed, and nothing else."""
    assert _b64url(data) == text


def test_a_verifier_is_64_characters_of_384_random_bits() -> None:
    verifiers = {make_code_verifier() for _ in range(50)}
    assert len(verifiers) == 50
    assert VERIFIER_LENGTH == 64
    for verifier in verifiers:
        assert len(verifier) == VERIFIER_LENGTH
        assert B64URL.fullmatch(verifier)
        assert len(code_challenge(verifier)) == 43


@pytest.mark.parametrize("make", [make_state, make_nonce])
def test_state_and_nonce_are_43_characters_of_256_random_bits(make: object) -> None:
    values = {make() for _ in range(50)}  # type: ignore[operator]
    assert len(values) == 50
    for value in values:
        assert len(value) == 43
        assert B64URL.fullmatch(value)


def test_same_secret_compares_any_strings() -> None:
    assert same_secret("state-1", "state-1")
    assert not same_secret("state-1", "state-2")
    assert not same_secret("state-1", "state-10")
    assert not same_secret("", "x")
    assert same_secret("", "")
    assert same_secret("\ud800x", "\ud800x")  # lone surrogates: comparable, not an error
    assert not same_secret("\ud800", "\udc00")
    assert same_secret("é", "é")
