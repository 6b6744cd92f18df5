"""Plain prose, told in one pass: a text with no digit, `@`, bracket, `|`, bare ` at ` or
character outside printable ASCII, tabs and line breaks skips every `pii-detector` reading but
the token scan; on such a text, the policy finds and holds what it did with every reading."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keeptrusts.detect import prose
from keeptrusts.pipeline.verdict import Stage
from keeptrusts.policies.pii import PiiDetector, Settings

PII = PiiDetector(Settings())
#: every character that keeps a text from being plain
NOT_PLAIN = "0123456789@()[]|\x00\x0b\x7f\u00e9\u200b\uff14"


@pytest.mark.parametrize(
    "text",
    [
        "The weather today is mild and pleasant, ",
        '## Steps\n\n- *first*, run `make`;\n\t- then: ok? yes! "done" <br> {x} ~ ^ _ \\ / = + %',
    ],
)
def test_prose_with_markdown_is_plain(text: str) -> None:
    assert prose.plain(text)


@pytest.mark.parametrize("char", list(NOT_PLAIN))
def test_a_digit_an_at_a_bracket_a_bar_or_other_characters_are_not_plain(char: str) -> None:
    assert not prose.plain(f"some words {char} more words")


@pytest.mark.parametrize("text", ["info at firma", "INFO AT FIRMA", "info  at  firma"])
def test_a_bare_at_is_not_plain(text: str) -> None:
    assert not prose.plain(text)


def test_keys_and_tokens_in_plain_prose_are_still_found() -> None:
    text = "the key sk-proj-abcdefghijklmnopqrstuvwxyzABCD leaked"
    assert prose.plain(text)
    assert [m.reason_code for m in PII.find(text, Stage.RESPONSE)] == ["pii.openai_key"]


PIECES = [*"abc xyz-_.,:;!?'\"*#\n\t", "at", "AT", "info", "dot", "de", "  ", "sk-", "eyJ"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=30).map("".join))
def test_plain_prose_is_held_where_every_reading_holds_it(text: str) -> None:
    """The one-pass path and the path of every reading give the same hold point."""
    assert PII.hold_from(text) == PII._hold_from(text)
