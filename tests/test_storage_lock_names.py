"""The Redis key of a lock lands in the cluster slot of the entry it guards, for any key
(issue 12, item 13): property-based, against redis-py's own slot function.

A lock name is ``prefix + "__lock__:" + "{" + tag + "}" + key``; entry names stay
``prefix + key``, as earlier versions stored them. These properties hold for every prefix the
storage accepts and every key: the two names share a slot, lock names of different keys
differ, and no lock name is the name of an entry.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from redis.crc import key_slot as redis_key_slot

from mcp_oauth_dynamicclient._storage_format import (
    LOCK_PREFIX,
    checked_prefix,
    key_slot,
    redis_lock_name,
    redis_name,
)
from mcp_oauth_dynamicclient.exceptions import ConfigurationError, ValidationError

# Text rich in the characters that matter: braces, and a few others.
TEXT = st.text(alphabet=st.sampled_from("{}ab:é☃_ 0"), max_size=12) | st.text(max_size=30)
KEYS = TEXT.filter(lambda key: not key.startswith(LOCK_PREFIX))


def valid_prefix(prefix: str) -> bool:
    try:
        checked_prefix(prefix)
    except ConfigurationError:
        return False
    return True


PREFIXES = TEXT.filter(valid_prefix)


def slot(name: str) -> int:
    """The slot redis-py computes for ``name`` (UTF-8, as it sends a str key)."""
    return int(redis_key_slot(name.encode("utf-8")))


@settings(max_examples=200, deadline=None)
@given(prefix=PREFIXES, key=KEYS)
@example(prefix="oauth_tokens:", key="token:https://as.example:client-1")
@example(prefix="p:", key="a{b}c")
@example(prefix="p:", key="x}y")
@example(prefix="p:", key="{}")
@example(prefix="", key="")
@example(prefix="tokens:{app}:", key="x}y")
def test_the_lock_shares_the_slot_of_its_entry(prefix: str, key: str) -> None:
    entry, lock = redis_name(prefix, key), redis_lock_name(prefix, key)
    assert slot(lock) == slot(entry) == key_slot(entry)
    assert lock.startswith(prefix + LOCK_PREFIX)
    assert lock.endswith(key)


@settings(max_examples=100, deadline=None)
@given(prefix=PREFIXES, keys=st.lists(KEYS, min_size=2, max_size=5, unique=True))
@example(prefix="p:", keys=["a", "{p:a}"])
def test_lock_names_of_different_keys_differ_and_are_no_entry_names(
    prefix: str, keys: list[str]
) -> None:
    locks = [redis_lock_name(prefix, key) for key in keys]
    assert len(set(locks)) == len(keys)
    for lock in locks:
        with pytest.raises(ValidationError, match="reserved"):
            redis_name(prefix, lock[len(prefix) :])  # the key that would be named so


@settings(max_examples=200, deadline=None)
@given(name=TEXT)
def test_our_slot_function_is_redis_pys(name: str) -> None:
    assert key_slot(name) == slot(name)


@pytest.mark.parametrize("prefix", ["a{", "a{}b:", "{", "x{}", "p:{}{tag}:"])
def test_a_prefix_whose_brace_opens_no_hash_tag_is_refused(prefix: str) -> None:
    with pytest.raises(ConfigurationError, match="opens no hash tag") as raised:
        checked_prefix(prefix)
    assert "tokens:{app}:" in str(raised.value)


@pytest.mark.parametrize("prefix", ["tokens:", "tokens:{app}:", "a}b:", "{x}{", ""])
def test_prefixes_without_a_brace_or_with_a_whole_tag_are_fine(prefix: str) -> None:
    assert checked_prefix(prefix) == prefix


def test_keys_and_prefixes_redis_cannot_send_are_refused() -> None:
    with pytest.raises(ValidationError, match="encodable as UTF-8"):
        redis_name("p:", "bad\udcff")
    with pytest.raises(ConfigurationError, match="encodable as UTF-8"):
        checked_prefix("bad\udcff:")
    with pytest.raises(ConfigurationError, match="must be a str"):
        checked_prefix(b"p:")  # type: ignore[arg-type]
