"""Bounded edit distance and word windows."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from keeptrusts.detect.fuzzy import windows, within, words


def _levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def test_within() -> None:
    assert within("atlas", "atlas", 0)
    assert within("atlass", "atlas", 1)
    assert within("atls", "atlas", 1)
    assert not within("atl", "atlas", 1)
    assert within("pr0ject atlas", "project atlas", 1)


@given(st.text("abc", max_size=8), st.text("abc", max_size=8), st.integers(0, 3))
def test_within_agrees_with_full_distance(a: str, b: str, limit: int) -> None:
    assert within(a, b, limit) == (_levenshtein(a, b) <= limit)


def test_words_and_windows() -> None:
    text = "Hello, (project)  atlas!"
    spans = words(text)
    assert [text[a:b] for a, b in spans] == ["Hello", "project", "atlas"]
    assert [text[a:b] for a, b in windows(spans, 2)] == ["Hello, (project", "project)  atlas"]


def test_pieces() -> None:
    from keeptrusts.detect.fuzzy import pieces

    assert pieces("atlas", 2) == ["atl", "as"]
    assert pieces("ab", 5) == ["a", "b"]
    assert "".join(pieces("project atlas", 3)) == "project atlas"


@given(
    st.lists(st.sampled_from(["atlas", "atlss", "atl4s", "xatlas", "project", "proj3ct", "a", "z"]),
             max_size=12),
    st.integers(0, 2),
)  # fmt: skip
def test_fuzzy_terms_match_brute_force(tokens: list[str], limit: int) -> None:
    from keeptrusts.detect.fuzzy import FuzzyTerms

    text = " ".join(tokens)
    terms = ["atlas", "project atlas"]
    found = set(FuzzyTerms(terms, limit).find(text, text))
    spans = words(text)
    expected = set()
    for term in terms:
        count = len(term.split())
        for a, b in windows(spans, count):
            if within(" ".join(text[a:b].split()), term, limit):
                expected.add((a, b))
    assert found == expected


def test_fuzzy_terms_across_whitespace_runs() -> None:
    from keeptrusts.detect.fuzzy import FuzzyTerms

    ft = FuzzyTerms(["project atlas"], 1)
    for gap in [" ", "\n", "  ", "\t\n\u00a0", "\n" * 20]:
        text = f"see pr0ject{gap}atlas now"
        assert ft.find(text, text) == [(4, 16 + len(gap) - 1 + 1)], repr(gap)


def test_whitespace_is_every_character_split_splits_on() -> None:
    from keeptrusts.detect.fuzzy import WHITESPACE

    assert "".join(c for c in map(chr, range(0x110000)) if c.isspace()) == WHITESPACE


@given(
    st.lists(st.sampled_from(["ab", "cd", "xy", "zw", "abc", "c"]), min_size=1, max_size=8),
    st.lists(st.sampled_from([" ", "\n", "\t", "\u00a0", " \n ", "\u3000"]), min_size=8,
             max_size=8),
    st.integers(1, 4),
)  # fmt: skip
def test_short_terms_match_across_any_whitespace(
    tokens: list[str], gaps: list[str], limit: int
) -> None:
    """Before: a piece that was only a space (short terms, large distances) was looked for
    as a space, so a window whose only unchanged piece was a line break went unseen."""
    from keeptrusts.detect.fuzzy import FuzzyTerms

    text = "".join(t + g for t, g in zip(tokens, gaps, strict=False)).rstrip()
    terms = ["ab cd"]
    found = set(FuzzyTerms(terms, limit).find(text, text))
    expected = {
        (a, b)
        for a, b in windows(words(text), 2)
        if within(" ".join(text[a:b].split()), terms[0], limit)
    }
    assert found == expected
