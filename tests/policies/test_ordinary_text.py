"""Ordinary traffic through the default chain's text policies: precision and recall.

`BENIGN` texts are what platform teams send all day (numbers in prose, code, ops requests,
developer questions); the default `pii-detector` must leave them as written and
`prompt-injection` must let them through. `PII` lists values written in common notations
that the default `pii-detector` must redact whole. Each case is a regression test for a
finding of the policy-semantics audit (see the commit that added it).
"""

from __future__ import annotations

import pytest

from keeptrusts.pipeline.textscan import apply
from keeptrusts.pipeline.verdict import Stage
from keeptrusts.policies import injection, pii

PII = pii.PiiDetector(pii.Settings())
INJECTION = injection.PromptInjection(injection.Settings())

BENIGN_NUMBERS = [
    # runs of small numbers are lists, not phone numbers written in groups
    "1 2 3 4 5 6 7 8 9 10",
    "primes 2 3 5 7 11 13 17 19 23 29",
    "The sequence goes 1 1 2 3 5 8 13 21 34 55 89 144",
    "Roll results: 6 2 4 1 3 5 6 6 2 1",
]

#: (text, the value that must be redacted, its entity)
PII_CASES = [
    # the international call prefix `00` written for `+`, as across Europe
    ("call 0033 1 23 45 67 89 today", "0033 1 23 45 67 89", "phone"),
    ("Tel. 0049 30 901820", "0049 30 901820", "phone"),
    ("ring 0044 20 7946 0958", "0044 20 7946 0958", "phone"),
    ("+33 1 23 45 67 89", "+33 1 23 45 67 89", "phone"),
    ("+33 (0)1 23 45 67 89", "+33 (0)1 23 45 67 89", "phone"),
    ("1 800 555 0199", "1 800 555 0199", "phone"),
]


@pytest.mark.parametrize("text", BENIGN_NUMBERS)
def test_benign_numbers_are_left_as_written(text: str) -> None:
    assert PII.find(text, Stage.REQUEST) == []


@pytest.mark.parametrize(("text", "value", "entity"), PII_CASES)
def test_pii_in_common_notations_is_redacted_whole(text: str, value: str, entity: str) -> None:
    matches = PII.find(text, Stage.REQUEST)
    assert [(text[m.start : m.end], m.reason_code) for m in matches] == [(value, f"pii.{entity}")]
    assert value not in apply(text, matches)
