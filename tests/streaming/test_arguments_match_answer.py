"""Tool-call arguments: streamed and whole answers read them alike, as JSON with escapes
decoded and each value after its key, however the stream is cut (property tests and every
offset of known cases), and redactions keep them valid JSON."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.streaming.answers import (
    arguments_as_json,
    arguments_streamed,
    cuts,
    runtime,
    split_at,
)


@pytest.mark.parametrize(
    "arguments",
    [
        '{"to": "jane.doe\\u0040example.com", "n": "call +1 415 555 0132"}',
        '{"note": "Project\\nAtlas", "k": "bob@acme.com", "c": "cafe\\u0301 ok"}',
        '{"e": "\\ud83d\\ude00 jane.doe@example.com \\ud83d\\ude00", "ip": "10.1.2.3/24"}',
        '{"iban": "DE89.3704.0044.0532.0130.00", "tel": "(+49)/30/901820"}',
        '{"a": ["4111 1111 1111 1111", 4111111111111111]}',
    ],
)
def test_tool_call_arguments_split_at_every_offset_read_as_the_whole_answer(
    arguments: str,
) -> None:
    """Escapes (`\\u0040`, a surrogate pair) and values cut anywhere between two deltas."""
    rt = runtime(
        "policies: {chain: [pii-detector, dlp-filter]}\n"
        "policy: {dlp-filter: {blocked_terms: [project atlas, acme, caf\u00e9]}}\n"
    )
    expected = arguments_as_json(rt, arguments)
    assert "jane" not in str(expected) and "acme" not in str(expected)
    for i in range(len(arguments) + 1):
        assert arguments_streamed(rt, [arguments[:i], arguments[i:]]) == expected, i
    assert arguments_streamed(rt, list(arguments)) == expected


ARGUMENT_CHAINS = {
    "pii": runtime("policies: {chain: [pii-detector]}\n"),
    "pattern-then-dlp": runtime(
        "policies: {chain: [pii-detector, dlp-filter]}\n"
        "policy:\n"
        "  pii-detector: {detect_patterns: [{name: code, pattern: 'secret [a-z]+.{0,12}'}]}\n"
        "  dlp-filter: {blocked_terms: [acme]}\n"
    ),
}
KEYS = ["order_id", "id", "orderRef", "phone", "tel", "n", "note", "ids"]
VALUES = st.sampled_from(
    [
        4155552671,
        "4155552671",
        "call 4155552671",
        "+1 415 555 0132",
        "jane.doe@example.com",
        "secret alpha",
        "acme",
        'say "hi"\n',
        [4155552671, "x"],
        {"id": 4155552671},
        7,
    ]
)
arguments = st.tuples(
    st.dictionaries(st.sampled_from(KEYS), VALUES, min_size=1, max_size=4),
    st.sampled_from([(", ", ": "), (",", ":")]),
    st.booleans(),
).map(lambda a: json.dumps(a[0], separators=a[1], ensure_ascii=a[2]))


@pytest.mark.parametrize("chain", sorted(ARGUMENT_CHAINS))
@settings(max_examples=120, deadline=None)
@given(args=arguments, points=cuts)
def test_streamed_tool_arguments_read_as_the_whole_answer(
    chain: str, args: str, points: list[int]
) -> None:
    """Before: the whole answer read each argument value without its key, so
    `{"order_id": 4155552671}` lost its identifier to `[REDACTED:PHONE]` there while a stream
    kept it; and a `detect_patterns` match running out of a string broke the streamed JSON."""
    rt = ARGUMENT_CHAINS[chain]
    assert arguments_streamed(rt, split_at(args, points)) == arguments_as_json(rt, args)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('{"order_id": 4155552671}', {"order_id": 4155552671}),
        ('{"order_id":"4155552671"}', {"order_id": "4155552671"}),
        ('{"phone": 4155552671}', {"phone": "[REDACTED:PHONE]"}),
        ('{"to": {"tel": "4155552671"}}', {"to": {"tel": "[REDACTED:PHONE]"}}),
        ('{"order_id": 4155552671, "phone": 4155552671}',
         {"order_id": 4155552671, "phone": "[REDACTED:PHONE]"}),
    ],
)  # fmt: skip
def test_a_number_is_read_after_its_key_in_both_paths(arguments: str, expected: object) -> None:
    rt = ARGUMENT_CHAINS["pii"]
    assert arguments_as_json(rt, arguments) == expected
    for i in range(len(arguments) + 1):
        assert arguments_streamed(rt, [arguments[:i], arguments[i:]]) == expected, i


def test_a_pattern_running_out_of_a_string_leaves_valid_json_in_both_paths() -> None:
    """The match `secret alpha", "n": 7` covers a key and a number: each token it covers is
    cut (the replacement goes in the first), the JSON punctuation between them stays."""
    rt = ARGUMENT_CHAINS["pattern-then-dlp"]
    args = '{"note": "secret alpha", "n": 7, "k": "ok"}'
    expected = {"note": "[REDACTED:CODE]", "": "", "k": "ok"}
    assert arguments_as_json(rt, args) == expected
    for i in range(len(args) + 1):
        assert arguments_streamed(rt, [args[:i], args[i:]]) == expected, i
