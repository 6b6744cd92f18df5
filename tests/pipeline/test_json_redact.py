"""Redactions applied to JSON text token by token: the text stays valid JSON."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keeptrusts.pipeline.json_redact import redact
from keeptrusts.pipeline.verdict import Match, Result
from keeptrusts.streaming.json_escapes import view


def m(text: str, value: str, replacement: str = "[X]") -> Match:
    start = text.index(value)
    return Match(start, start + len(value), Result.REDACT, "r", replacement)


@pytest.mark.parametrize(
    ("raw", "value", "replacement", "expected"),
    [
        ('{"n": 4155552671}', "4155552671", "[X]", {"n": "[X]"}),
        ('{"n": 14155552671}', "4155552671", "[X]", {"n": "1[X]"}),  # part of a number
        ('{"a": "call 415"}', "415", 'a "quoted" \\ marker', {"a": 'call a "quoted" \\ marker'}),
        ('{"a": "secret x", "b": 1, "c": 2}', 'secret x", "b": 1', "[X]", {"a": "[X]", "": "", "c": 2}),
        ('{"a": "x\\"y 415"}', "415", "[X]", {"a": 'x"y [X]'}),  # an escaped quote stays inside
    ],
)  # fmt: skip
def test_a_redaction_leaves_valid_json(raw: str, value: str, replacement: str, expected: object) -> None:  # fmt: skip
    assert json.loads(redact(raw, [m(raw, value, replacement)])) == expected


def test_a_text_that_begins_inside_a_string() -> None:
    """A stream's held text may begin inside a string (`opened`)."""
    raw = 'doe@example.com", "n": 7}'
    assert redact(raw, [m(raw, "doe@example.com")], opened=True) == '[X]", "n": 7}'


values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='ab "\\\n4'),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(value=values, a=st.integers(min_value=0), b=st.integers(min_value=0))
def test_any_span_of_any_json_leaves_valid_json(value: object, a: int, b: int) -> None:
    """Spans as the policies report them: between characters of the decoded text, so never
    inside an escape (`json_escapes.view` maps them back)."""
    raw = json.dumps(value)
    at = view(raw)[1]
    start, end = sorted((at[a % len(at)], at[b % len(at)]))
    json.loads(redact(raw, [Match(start, end, Result.REDACT, "r", "[X]")]))
