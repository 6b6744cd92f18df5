"""The stream hold point against a plain character-by-character statement of the rule."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from keeptrusts.detect.holdpoint import BEGIN, pending_start

NUMBERISH = set("0123456789+()-./")
GROUP = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _reference(text: str, cap: int) -> int:
    n = len(text)
    floor = max(0, n - cap)
    i = n
    while i > floor and not text[i - 1].isspace():
        i -= 1
    while i > floor:
        j = i - 1
        if text[j] != " " or j == 0 or text[j - 1].isspace():
            break
        k = j
        while k > floor and not text[k - 1].isspace():
            k -= 1
        token = text[k:j]
        grouped = (
            bool(token) and all(c in NUMBERISH for c in token) and any(c.isdigit() for c in token)
        ) or (0 < len(token) <= 4 and all(c in GROUP for c in token))
        if not grouped:
            break
        i = k
    at = text.rfind(BEGIN, floor)
    if at >= 0 and "-----" not in text[at + len(BEGIN) :].split("\n", 1)[0]:
        i = min(i, at)
    return i


ALPHABET = st.sampled_from(
    [*"0123456789+()-./ABCDxyz@:_", " ", "  ", "\n", "\t", "\u00a0", "\u2003", "-----BEGIN"]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(ALPHABET, max_size=60).map("".join), st.integers(min_value=1, max_value=40))
def test_pending_start_follows_the_rule(text: str, cap: int) -> None:
    assert pending_start(text, cap) == _reference(text, cap)


def test_examples() -> None:
    assert pending_start("call me at +1 415 555", 256) == len("call me at ")
    assert pending_start("winter flowers", 256) == len("winter ")
    assert pending_start("ends with a space ", 256) == len("ends with a space ")
    assert pending_start("card 4111 1111 11", 256) == len("card ")
