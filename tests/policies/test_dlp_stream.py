"""dlp-filter through the stream guard: a streamed response reads as the whole response does,
when a multi-word term's words are spread by whitespace runs, whatever the chunking."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keeptrusts.pipeline.textscan import scan
from keeptrusts.pipeline.verdict import Stage
from keeptrusts.policies.dlp import DlpFilter, Settings
from keeptrusts.streaming.guard import StreamBlocked, StreamGuard

TERMS = ["project atlas", "blue heron plan", "straße"]
POLICIES = {
    f"{'fuzzy' if fuzzy else 'exact'}-{action}": DlpFilter(
        Settings(blocked_terms=TERMS, fuzzy_matching=fuzzy, action=action)
    )
    for fuzzy, action in itertools.product((False, True), ("redact", "block"))
}
GAPS = [" ", "  ", "\n", "\n" * 20, " " * 40, "\t", "\u00a0", "\r\n \r\n", "\u2003\u3000"]


def whole(policy: DlpFilter, text: str) -> str | None:
    result = scan([policy], text, Stage.RESPONSE)
    return None if result.blocked_by else result.text


def streamed(policy: DlpFilter, pieces: list[str]) -> str | None:
    guard = StreamGuard([policy], policy.holdback)
    try:
        out = [guard.feed("c", p) for p in pieces]
        out.append(guard.flush("c"))
    except StreamBlocked:
        return None
    return "".join(out)


def split_at(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts})
    return [text[a:b] for a, b in itertools.pairwise([0, *points, len(text)])]


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_reviewer_case_project_newlines_atlas(name: str) -> None:
    policy = POLICIES[name]
    text = "The codename is Project" + "\n" * 20 + "Atlas, keep it quiet."
    pieces = ["The codename is Project", *["\n"] * 20, "Atlas, keep it quiet."]
    expected = whole(policy, text)
    assert expected is None or "Atlas" not in expected
    assert streamed(policy, pieces) == expected
    assert streamed(policy, list(text)) == expected


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from(GAPS), min_size=4, max_size=4),
    st.lists(st.integers(0, 400), max_size=30),
    st.sampled_from(sorted(POLICIES)),
)
def test_stream_equals_whole_text(gaps: list[str], cuts: list[int], name: str) -> None:
    policy = POLICIES[name]
    text = (
        f"Notes: Project{gaps[0]}Atlas ships, the Blue{gaps[1]}Heron{gaps[2]}Plan waits,"
        f" Straße{gaps[3]}closed and pr0ject{gaps[0]}atlass too."
    )
    assert streamed(policy, split_at(text, cuts)) == whole(policy, text)


def test_whitespace_hold_is_bounded() -> None:
    policy = POLICIES["exact-redact"]
    guard = StreamGuard([policy], policy.holdback)
    released = guard.feed("c", "Project" + "\n" * 20_000)
    assert 20_007 - len(released) <= 8192
