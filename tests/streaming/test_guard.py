"""The stream guard: whatever the chunking, a redactable value is never released in the clear."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keeptrusts.pipeline.textscan import scan
from keeptrusts.pipeline.verdict import Stage
from keeptrusts.policies.dlp import DlpFilter, Settings
from keeptrusts.streaming.guard import StreamBlocked, StreamGuard

TERMS = ["project atlas", "falcon", "blue heron plan"]
REDACT = DlpFilter(Settings(blocked_terms=TERMS, action="redact"))
BLOCK = DlpFilter(Settings(blocked_terms=["launch codes"], action="block"))

TEXT = (
    "Our roadmap mentions Project Atlas twice: project atlas ships in May, while falcon "
    "and the Blue Heron Plan wait. Falconry is fine, atlases are fine. End with falcon"
)


def stream_through(guard: StreamGuard, pieces: list[str]) -> str:
    out = [guard.feed("c", p) for p in pieces]
    out.append(guard.flush("c"))
    return "".join(out)


def split_at(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts})
    bounds = [0, *points, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def whole(text: str) -> str:
    return scan([REDACT], text, Stage.RESPONSE).text


def test_every_single_split_point_matches_whole_text_redaction() -> None:
    expected = whole(TEXT)
    assert "atlas" not in expected.lower().replace("atlases", "")
    for i in range(len(TEXT) + 1):
        guard = StreamGuard([REDACT], REDACT.holdback)
        assert stream_through(guard, [TEXT[:i], TEXT[i:]]) == expected, i


def test_character_by_character() -> None:
    guard = StreamGuard([REDACT], REDACT.holdback)
    assert stream_through(guard, list(TEXT)) == whole(TEXT)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(TEXT)), max_size=25))
def test_any_chunking_gives_the_same_text(cuts: list[int]) -> None:
    guard = StreamGuard([REDACT], REDACT.holdback)
    released = stream_through(guard, split_at(TEXT, cuts))
    assert released == whole(TEXT)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(TEXT)), max_size=25))
def test_no_prefix_ever_shows_a_term(cuts: list[int]) -> None:
    guard = StreamGuard([REDACT], REDACT.holdback)
    seen = ""
    for piece in split_at(TEXT, cuts):
        seen += guard.feed("c", piece)
        low = seen.lower()
        assert "project atlas" not in low and "blue heron plan" not in low


def test_release_is_bounded_by_holdback() -> None:
    guard = StreamGuard([REDACT], REDACT.holdback)
    text = "word " * 200
    released = guard.feed("c", text)
    assert len(text) - len(released) <= REDACT.holdback


def test_block_in_stream_raises() -> None:
    guard = StreamGuard([REDACT, BLOCK], max(REDACT.holdback, BLOCK.holdback))
    with pytest.raises(StreamBlocked) as err:
        stream_through(guard, ["here are the laun", "ch codes for you and more text " * 3])
    assert err.value.policy is BLOCK
