"""Invisible characters: the text as it shows without them, and the way back to the text as
written (spans and hold points found in the visible text apply to the original)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keeptrusts.detect.invisible import CODEPOINTS, Visible
from keeptrusts.pipeline.textscan import scan
from keeptrusts.pipeline.verdict import Stage
from keeptrusts.policies import dlp, pii

INVISIBLE = "".join(chr(c) for c in CODEPOINTS[:40])


def test_text_without_invisible_characters_is_itself() -> None:
    for text in ("ascii", "caf\u00e9 \u65e5\u672c"):
        seen = Visible.of(text)
        assert seen.text is text and not seen.changed
        assert seen.span(1, 3) == (1, 3) and seen.index(len(text)) == len(text)


def test_spans_cover_the_invisible_characters_inside_them() -> None:
    text = "\u200bab\u00ad\u200dcd\ufeff"
    seen = Visible.of(text)
    assert seen.text == "abcd"
    assert seen.span(0, 4) == (1, 7)  # leading and trailing ones stay outside
    assert seen.span(1, 3) == (2, 6)
    assert seen.index(4) == len(text) and seen.span(2, 2) == (5, 5)


@given(st.text(alphabet=st.sampled_from("ab4 \u00e9" + INVISIBLE), max_size=40))
def test_every_visible_character_maps_back_to_itself(text: str) -> None:
    seen = Visible.of(text)
    assert seen.text == "".join(c for c in text if ord(c) not in CODEPOINTS)
    for i, ch in enumerate(seen.text):
        assert text[seen.index(i)] == ch
        start, end = seen.span(i, i + 1)
        assert text[start:end] == ch


@pytest.mark.parametrize(
    ("text", "entity", "leftover"),
    [
        ("card 4111\u200b1111\u200b1111\u200b1111 ok", "CREDIT_CARD", "1111"),
        ("ssn 123\u200d-45\u2060-6789", "SSN", "6789"),
        ("mail bob\u200b@example\u00ad.com", "EMAIL", "bob"),
        ("call +1\u200b415\u200b555\u200b2671", "PHONE", "2671"),
    ],
)
def test_pii_split_by_invisible_characters_is_redacted_as_written(
    text: str, entity: str, leftover: str
) -> None:
    out = scan([pii.PiiDetector(pii.Settings())], text, Stage.REQUEST).text
    assert f"[REDACTED:{entity}]" in out and leftover not in out, out


def test_blocked_terms_split_by_invisible_characters_are_found() -> None:
    policy = dlp.DlpFilter(dlp.Settings(blocked_terms=["project atlas"], action="redact"))
    out = scan([policy], "a pro\u00adject\u200d atlas\u200b b", Stage.REQUEST).text
    assert out == "a [REDACTED:TERM]\u200b b"


def test_an_invisible_word_break_still_separates_words() -> None:
    """Some scripts break words with U+200B: a term standing between such breaks is found in
    the text as written, even though its visible rendering joins the words."""
    policy = dlp.DlpFilter(dlp.Settings(blocked_terms=["atlas"], action="block"))
    verdict = scan([policy], "\u0e44\u0e17\u0e22\u200batlas\u200b\u0e44\u0e17\u0e22", Stage.REQUEST)
    assert verdict.blocked_by is policy


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("4\u0301155552671", "4155552671"),  # a mark drawn on a digit
        ("4\ufe0f\u20e31\ufe0f\u20e3", "41"),  # keycap digits
        ("Jose\u0301@example.com", "Jose@example.com"),  # decomposed (NFD) text
        ("415 \U0001f3fd555", "415 555"),  # an emoji (made a space) loses its skin tone
        ("415 \u200d \u200d 555", "415 555"),  # ... and the rest of its ZWJ sequence
        ("4155\U000e0030552671", "4155552671"),  # a tag character shows nothing
        ("\u0928\u092e\u0938\u094d\u0924\u0947", "\u0928\u092e\u0938\u094d\u0924\u0947"),
    ],
)
def test_numbers_read_without_what_is_drawn_on_their_characters(text: str, shown: str) -> None:
    """Before: `4\\u0301155552671` and keycap digits read as no number (`pii-detector` reads
    numbers, addresses and keys as they show; other scripts keep their own marks)."""
    seen = Visible.of(text, numbers=True)
    assert seen.text == shown
    for i, ch in enumerate(seen.text):
        assert text[seen.index(i)] == ch
