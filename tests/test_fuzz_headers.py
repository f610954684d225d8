"""Fuzz the header parsers: ``WWW-Authenticate`` and ``Retry-After`` (issue 12, item 16).

``tests/test_www_authenticate.py`` already feeds the challenge parser arbitrary and broken
text; here every well-formed header the grammar of RFC 9110 §11.6.1 allows reads back as the
challenges it was written from, and ``Retry-After`` (RFC 9110 §10.2.3) gives None or a finite
wait, never an exception, whatever a server puts in it.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import format_datetime

from hypothesis import given
from hypothesis import strategies as st

from mcp_oauth_dynamicclient import Challenge, parse_bearer_challenge, parse_www_authenticate
from mcp_oauth_dynamicclient.runtime import parse_retry_after, retry_after_of
from tests.fuzzing import FUZZ

# RFC 9110 §5.6.2 tchar, and RFC 9110 §11.2 token68.
TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
TOKEN = st.text(alphabet=TCHAR, min_size=1, max_size=10)
TOKEN68 = st.builds(
    lambda body, pad: body + "=" * pad,
    st.text(
        alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~+/",
        min_size=1,
        max_size=20,
    ),
    st.integers(min_value=0, max_value=2),
)
BWS = st.sampled_from(["", " ", "\t"])
# qdtext and quoted-pair (RFC 9110 §5.6.4): any visible character, space, tab, obs-text.
QUOTED_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f")
    | st.just("\t"),
    max_size=20,
)


def quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@st.composite
def challenges(draw: st.DrawFn) -> tuple[str, Challenge]:
    """A challenge as a server writes it, and the :class:`Challenge` it stands for."""
    scheme = draw(TOKEN)
    form = draw(st.sampled_from(["bare", "token68", "params"]))
    if form == "bare":
        return scheme, Challenge(scheme.lower(), {})
    if form == "token68":
        token68 = draw(TOKEN68)
        return f"{scheme} {token68}", Challenge(scheme.lower(), {}, token68)
    names = draw(st.lists(TOKEN, min_size=1, max_size=4, unique_by=str.lower))
    params: dict[str, str] = {}
    written = []
    for name in names:
        value = draw(QUOTED_TEXT | TOKEN)
        as_token = value != "" and all(char in TCHAR for char in value) and draw(st.booleans())
        text = value if as_token else quoted(value)
        written.append(f"{name}{draw(BWS)}={draw(BWS)}{text}")
        params[name.lower()] = value
    separator = draw(st.sampled_from([", ", ",", " , "]))
    return f"{scheme} {separator.join(written)}", Challenge(scheme.lower(), params)


@FUZZ
@given(st.lists(challenges(), min_size=1, max_size=4), st.booleans())
def test_well_formed_challenges_read_back(
    written: list[tuple[str, Challenge]], one_header: bool
) -> None:
    texts = [text for text, _ in written]
    header: str | list[str] = ", ".join(texts) if one_header else texts
    assert parse_www_authenticate(header) == [challenge for _, challenge in written]
    bearer = next((c for _, c in written if c.scheme == "bearer"), None)
    found = parse_bearer_challenge(header)
    assert (found.params if found else None) == (bearer.params if bearer else None)


@FUZZ
@given(
    value=st.one_of(
        st.text(max_size=40),
        st.text(alphabet="0123456789 ²³¹٣", max_size=400),
        st.from_regex(
            r"[A-Za-z]{3}, [0-9]{1,3} [A-Za-z]{3} [0-9]{1,5} [0-9:]{1,9} [A-Z+-0-9]{0,6}"
        ),
    ),
    date=st.none() | st.text(max_size=40),
    now=st.floats(min_value=0, max_value=2**40),
)
def test_retry_after_is_none_or_a_finite_wait(value: str, date: str | None, now: float) -> None:
    wait = parse_retry_after(value, date=date, now=now)
    assert wait is None or (math.isfinite(wait) and 0 <= wait <= max(2**31, 2**40 + 2**38))


@FUZZ
@given(
    delay=st.integers(min_value=0, max_value=10**30),
    spaces=st.sampled_from(["", " ", "  "]),
)
def test_delay_seconds_are_read_and_capped(delay: int, spaces: str) -> None:
    """RFC 9110 §10.2.3 delay-seconds; a wait past 2**31 s reads as 2**31 (RFC 9111 §1.2.2)."""
    assert parse_retry_after(f"{spaces}{delay}{spaces}") == min(float(delay), 2.0**31)


@FUZZ
@given(
    when=st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 1, 1)),
    sent=st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 1, 1)),
)
def test_http_dates_are_measured_from_the_date_header(when: datetime, sent: datetime) -> None:
    when, sent = when.replace(tzinfo=UTC, microsecond=0), sent.replace(tzinfo=UTC, microsecond=0)
    headers = {
        "retry-after": format_datetime(when, usegmt=True),
        "date": format_datetime(sent, usegmt=True),
    }
    assert retry_after_of(headers) == max(0.0, (when - sent).total_seconds())
