"""A streamed answer and the same answer as JSON get the same verdict and the same text, for
the same chain, however the stream is cut into chunks (property tests over generated answers).

Before: the stream guard ran every policy on the held text at once, while the JSON chain gives
each policy the text the one before redacted, so a blocked term inside an e-mail address
`pii-detector` had redacted blocked the stream only; and a stream read no further back than
its held text, so it redacted `order 4155552671` (an identifier) and `version 1.2.3.4` (a
version) where the JSON answer kept them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.streaming.answers import (
    as_json,
    cuts,
    runtime,
    split_at,
    streamed,
)
from tests.streaming.fragments import answers

CHAINS = {
    "pii-then-dlp-block": runtime(
        "policies: {chain: [pii-detector, dlp-filter]}\n"
        "policy:\n"
        "  pii-detector: {phone_regions: [US, DE]}\n"
        "  dlp-filter: {blocked_terms: [acme, project atlas, falcon], action: block}\n"
    ),
    "dlp-redact-then-pii": runtime(
        "policies: {chain: [dlp-filter, pii-detector]}\n"
        "policy:\n"
        "  dlp-filter: {blocked_terms: [example, jane, project atlas], fuzzy_matching: true}\n"
    ),
    "pii-block-then-dlp-redact": runtime(
        "policies: {chain: [pii-detector, dlp-filter]}\n"
        "policy:\n"
        "  pii-detector: {action: block, entities: [credit_card, iban]}\n"
        "  dlp-filter: {blocked_terms: [falcon, order]}\n"
    ),
}


@pytest.mark.parametrize("chain", sorted(CHAINS))
@settings(max_examples=150, deadline=None)
@given(text=answers, points=cuts, finish=st.booleans())
def test_a_streamed_answer_reads_as_the_whole_answer(
    chain: str, text: str, points: list[int], finish: bool
) -> None:
    rt = CHAINS[chain]
    assert streamed(rt, [split_at(text, points)], finish) == as_json(rt, [text])


@pytest.mark.parametrize("chain", sorted(CHAINS))
@settings(max_examples=60, deadline=None)
@given(texts=st.lists(answers, min_size=2, max_size=3), points=cuts)
def test_choices_streamed_together_read_as_the_whole_answer(
    chain: str, texts: list[str], points: list[int]
) -> None:
    rt = CHAINS[chain]
    assert streamed(rt, [split_at(t, points) for t in texts]) == as_json(rt, texts)


@pytest.mark.parametrize(
    ("chain", "text"),
    [
        ("pii-then-dlp-block", "Write to bob@acme.com today."),
        ("pii-then-dlp-block", "Your order 4155552671 ships today."),
        ("pii-then-dlp-block", "Out now: version 1.2.3.4 of the app."),
        ("dlp-redact-then-pii", "Mail jane.doe@example.com now."),
        # a term at the end of a longer word is no term, however the word is cut
        ("pii-block-then-dlp-redact", "xfalcon \U0001f44d ok"),
        ("pii-then-dlp-block", "xfalcon xfalcon, ok"),
        ("dlp-redact-then-pii", "\u00e9t\u00e9jane.doe@example.com ok"),
        # a word of telephony read back across an address released in between
        ("dlp-redact-then-pii", "call 4155552671  bob@acme.com 4155552671 cents ok"),
        # before: read as no number (a mark on a digit, keycaps, an emoji sequence inside)
        (
            "pii-then-dlp-block",
            "call 4\u0301155552671 or 4\ufe0f\u20e31\ufe0f\u20e35\ufe0f\u20e35\ufe0f\u20e35\ufe0f\u20e35\ufe0f\u20e32\ufe0f\u20e36\ufe0f\u20e37\ufe0f\u20e31\ufe0f\u20e3 ok",
        ),
        ("pii-then-dlp-block", "call 415\U0001f468\u200d\U0001f469\u200d\U0001f467555 0132 ok"),
        ("dlp-redact-then-pii", "mail Jose\u0301@example.com ok"),
        # a slash after a number ends it; after a word it glues the next one to that word
        ("dlp-redact-then-pii", "atlas/+49 30 901821 or 030 901820/+49 30 901821 ok"),
        # a number glued to a bracket or a slash after letters: held from its first digit
        (
            "pii-then-dlp-block",
            "(x)+33 6 12 34 56 78, DE89.3704.0044.0532.0130.00/+49 30 901821 ok",
        ),
        ("pii-then-dlp-block", "(x)DE89 3704 0044 0532 0130 00 or (x)DE 89 3704 0044 0532 0130 00"),
        # written-out addresses longer than what a stream reads back, glued to the next one
        ("dlp-redact-then-pii", "info [ at ] firma [ dot ] deinfo(at)firma.de +1 415 555 0132 ok"),
        ("dlp-redact-then-pii", "info [ at ] firma [ dot ] debob@acme.com +1 415 555 0132 ok"),
        (
            "pii-then-dlp-block",
            "write info at firma dot de, jane at mail dot example dot co dot uk",
        ),
        ("pii-then-dlp-block", "write info  at  firma  dot  de or info [at]  firma [dot] de ok"),
        # the word before an address in -ing is read back (prose after `job`, not after `to`)
        ("dlp-redact-then-pii", "job hunting at acme dot com, write to billing at acme dot com"),
        ("pii-then-dlp-block", "card 4111 1111\n1111 1111 and +49  30  901820 ok"),
        (
            "pii-then-dlp-block",
            "| card | 4111 | 1111 | 1111 | 1111 |\n| 4111 1111 | 1111 1111 | 123 |\n| x |",
        ),
        # a value overlapping one released redacted (an IBAN running on from an address's
        # `de`): one replacement, as the whole answer merges them (found by hypothesis)
        (
            "dlp-redact-then-pii",
            "info(at)firma.de415\U0001f44d\U0001f3fd555 0132 4155552671 cents ",
        ),
        ("pii-then-dlp-block", "info(at)firma.de415\U0001f44d\U0001f3fd555 0132 4155552671 cents "),
    ],
)
def test_every_split_of_a_known_case_reads_as_the_whole_answer(chain: str, text: str) -> None:
    rt = CHAINS[chain]
    expected = as_json(rt, [text])
    assert not isinstance(expected, str) or not expected.startswith("blocked")
    for i in range(len(text) + 1):
        assert streamed(rt, [[text[:i], text[i:]]]) == expected, i


def test_a_word_cut_at_the_start_of_what_a_policy_reads_back_hides_no_later_term() -> None:
    """`xfalcon` read back from its middle is `falcon`: a blocking policy reports its first
    match only, and that one must not hide the blocked term that follows."""
    rt = CHAINS["pii-then-dlp-block"]
    text = "xfalcon falcon415\U0001f44d555 0132  415\U0001f44d555 0132, acme "
    assert as_json(rt, [text]) == "blocked:dlp-filter"
    assert streamed(rt, [list(text)]) == "blocked:dlp-filter"


@pytest.mark.parametrize("field", ["content", "reasoning_content", "reasoning", "refusal"])
def test_every_text_field_of_two_choices_split_at_every_offset_reads_as_the_whole_answer(
    field: str,
) -> None:
    rt = CHAINS["pii-then-dlp-block"]
    texts = ["Mail jane.doe@example.com, or (+49)/30/901820.", "Call 415\U0001f44d555 0132 now"]
    expected = as_json(rt, texts, field)
    assert isinstance(expected, list) and "jane" not in expected[0]
    for i in range(len(texts[0]) + 1):
        pieces = [[t[:i], t[i:]] for t in texts]
        assert streamed(rt, pieces, field=field) == expected, i


def test_a_custom_pattern_split_at_every_offset_reads_as_the_whole_answer() -> None:
    """A `detect_patterns` entry (a label and a value) cut at every offset, and sent a
    character a chunk: a stream redacts what the JSON answer redacts, and keeps what it
    keeps (`MRN: 1234` is too short)."""
    rt = runtime(
        "policies: {chain: [pii-detector]}\n"
        "policy:\n"
        "  pii-detector:\n"
        "    entities: [email]\n"
        "    detect_patterns: [{name: mrn, pattern: 'MRN: [0-9]{8}'}]\n"
    )
    text = "the chart of patient MRN: 12345678 was updated, MRN: 1234 was not"
    expected = as_json(rt, [text])
    assert expected == ["the chart of patient [REDACTED:MRN] was updated, MRN: 1234 was not"]
    for i in range(len(text) + 1):
        assert streamed(rt, [[text[:i], text[i:]]]) == expected, i
    assert streamed(rt, [list(text)]) == expected


PATTERNS = runtime(
    "policies: {chain: [pii-detector]}\n"
    "policy:\n"
    "  pii-detector:\n"
    "    entities: [email]\n"
    "    detect_patterns:\n"
    "      - {name: mrn, pattern: '\\bMRN: [0-9]{8}\\b'}\n"
    "      - {name: head, pattern: '^Confidential: [a-z ]{20,60}'}\n"
    "      - {name: first, pattern: '\\AStart [a-z]+'}\n"
    "      - {name: line, pattern: '(?m)^REF [0-9]{3}'}\n"
    "      - {name: acct, pattern: 'acct [0-9]{4}(?: [0-9]{4}){3}'}\n"
    "      - {name: words, pattern: '\\bsecret(?: [a-z]+){4}'}\n"
)
PATTERN_FRAGMENTS = [
    "Confidential: ",
    "Start here",
    "alpha beta gamma delta",
    "REF 123",
    "MRN: 12345678",
    "MRN: 123456789",
    "acct 1234 5678 9012 3456",
    "secret",
    "jane@example.com",
    "x" * 40,
]
long_answers = st.lists(
    st.tuples(st.sampled_from(PATTERN_FRAGMENTS), st.sampled_from([" ", "\n", "", ", "])),
    min_size=4,
    max_size=30,
).map(lambda parts: "".join(f + s for f, s in parts))


@settings(max_examples=150, deadline=None)
@given(text=long_answers, points=cuts)
def test_detect_patterns_read_back_released_text_as_the_whole_answer(
    text: str, points: list[int]
) -> None:
    """`detect_patterns` entries (anchored, bounded by words, spanning several words) over
    answers longer than the hold-back, so a stream reads each pattern after what it released.
    Before: a stream read the start of what it read back as the start of the text, so
    `^Confidential: ...` matched mid-answer there (a redaction the JSON answer did not make)."""
    assert streamed(PATTERNS, [split_at(text, points)]) == as_json(PATTERNS, [text])


def test_an_anchored_pattern_matches_only_at_the_start_of_a_streamed_answer() -> None:
    text = "acct 1234 5678 9012 3456 REF 123 Confidential: alpha beta gamma deltaacct " + (
        "x" * 300
    )
    expected = as_json(PATTERNS, [text])
    assert expected == [text.replace("acct 1234 5678 9012 3456", "[REDACTED:ACCT]", 1)]
    assert streamed(PATTERNS, [[text[:10], text[10:]]]) == expected
    assert streamed(PATTERNS, [list(text)]) == expected
