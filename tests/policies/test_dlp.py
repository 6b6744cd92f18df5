"""dlp-filter: blocked terms, fuzzy matching, patterns, actions, hold-back."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from keeptrusts.pipeline.textscan import apply
from keeptrusts.pipeline.verdict import Result, Stage
from keeptrusts.policies.dlp import DlpFilter, Settings


def run(policy: DlpFilter, text: str) -> str:
    return apply(text, policy.find(text, Stage.RESPONSE))


def test_terms_whole_words_case_insensitive() -> None:
    p = DlpFilter(Settings(blocked_terms=["Project Atlas", "zeus"]))
    assert run(p, "About PROJECT atlas.") == "About [REDACTED:TERM]."
    assert run(p, "zeus, Zeus; ZEUS") == "[REDACTED:TERM], [REDACTED:TERM]; [REDACTED:TERM]"
    assert run(p, "zeusx projectatlas superzeus") == "zeusx projectatlas superzeus"
    assert run(p, "İstanbul zeus") == "İstanbul [REDACTED:TERM]"


def test_default_action_is_redact_and_block_works() -> None:
    assert DlpFilter(Settings()).action is Result.REDACT
    p = DlpFilter(Settings(blocked_terms=["atlas"], action="block"))
    [m] = p.find("atlas and atlas", Stage.REQUEST)
    assert m.action is Result.BLOCK
    assert m.reason_code == "dlp.blocked_term"


def test_fuzzy() -> None:
    p = DlpFilter(Settings(blocked_terms=["project atlas"], fuzzy_matching=True, max_distance=1))
    assert run(p, "see pr0ject atlas now") == "see [REDACTED:TERM] now"
    assert run(p, "see project  atlass") == "see [REDACTED:TERM]"
    assert run(p, "see projects atlases") == "see projects atlases"
    exact_only = DlpFilter(Settings(blocked_terms=["project atlas"]))
    assert run(exact_only, "pr0ject atlas") == "pr0ject atlas"


def test_patterns() -> None:
    p = DlpFilter(
        Settings.model_validate(
            {"detect_patterns": ["ACME-[0-9]{6}", {"name": "ticket", "pattern": "TCK-[0-9]+"}]}
        )
    )
    out = p.find("ACME-123456 and TCK-9", Stage.REQUEST)
    assert [m.reason_code for m in out] == ["dlp.pattern", "dlp.pattern.ticket"]
    assert run(p, "ACME-123456 and TCK-9") == "[REDACTED:PATTERN] and [REDACTED:TICKET]"


def test_holdback() -> None:
    assert DlpFilter(Settings()).holdback == 0
    assert DlpFilter(Settings(blocked_terms=["abc", "project atlas"])).holdback == 14
    fuzzy = DlpFilter(Settings(blocked_terms=["abc"], fuzzy_matching=True, max_distance=2))
    assert fuzzy.holdback == 6
    assert DlpFilter(Settings.model_validate({"detect_patterns": ["x+"]})).holdback == 256


def test_no_terms_is_free() -> None:
    assert DlpFilter(Settings()).find("anything at all", Stage.REQUEST) == []


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_find_never_raises(text: str) -> None:
    p = DlpFilter(Settings(blocked_terms=["atlas", "a b"], fuzzy_matching=True, max_distance=2))
    for m in p.find(text, Stage.REQUEST):
        assert 0 <= m.start < m.end <= len(text)


def test_a_space_in_a_term_matches_any_whitespace_run() -> None:
    p = DlpFilter(Settings(blocked_terms=["Project Atlas", "blue heron plan", "zeus"]))
    for gap in ["  ", "\n", "\t", "\u00a0", "\r\n", " \u3000\n ", "\n" * 20, "\u2028"]:
        assert run(p, f"see Project{gap}Atlas now") == "see [REDACTED:TERM] now", repr(gap)
    assert run(p, "  the blue\n\nheron \t plan\n") == "  the [REDACTED:TERM]\n"
    assert (
        run(p, "zeus\n\nzeus and projectatlas")
        == "[REDACTED:TERM]\n\n[REDACTED:TERM] and projectatlas"
    )
    assert run(p, "Project\n\nAtlases") == "Project\n\nAtlases"  # still whole words
    block = DlpFilter(Settings(blocked_terms=["project atlas"], action="block"))
    [m] = block.find("ok.\nProject\n\tAtlas", Stage.REQUEST)
    assert (m.start, m.end, m.reason_code) == (4, 18, "dlp.blocked_term")


def test_a_term_matches_its_own_spelling_and_its_case_folding() -> None:
    p = DlpFilter(Settings(blocked_terms=["straße"]))
    for word in ["Straße", "STRASSE", "Strasse", "STRAẞE", "straße"]:
        assert run(p, f"Die {word} ist zu") == "Die [REDACTED:TERM] ist zu", word
    assert run(p, "Straßenbahn") == "Straßenbahn"
    both = DlpFilter(Settings(blocked_terms=["große straße"]))
    assert run(both, "die GROSSE\nStraße.") == "die [REDACTED:TERM]."
    assert both.describe()["blocked_terms"] == 1


def test_hold_from_counts_a_whitespace_run_as_one_character() -> None:
    p = DlpFilter(Settings(blocked_terms=["project atlas"], fuzzy_matching=True))
    assert p.holdback == 15
    text = "The codename is Project" + "\n" * 20
    assert p.hold_from(text) <= text.index("Project")
    assert p.hold_from("word " * 50) == len("word " * 50) - 15  # plain text: plain count
    # bounded in other characters, whatever the whitespace (from the start of the word the
    # bound falls in: a term begins a word)
    spread = "x" * 100 + " \n " * 30 + "abcdefghijklmnop"
    assert p.hold_from(spread) == spread.index("abcdefghijklmnop")
    # single-word terms cannot span whitespace: no change
    single = DlpFilter(Settings(blocked_terms=["zeus"]))
    assert single.hold_from("zeus" + " " * 40) == 39


def test_a_term_written_decomposed_or_composed_is_found_either_way() -> None:
    """Before: `café` written as `cafe` + U+0301 (decomposed, as macOS and some models write
    it) passed a `café` term, and a term configured decomposed missed composed text."""
    p = DlpFilter(Settings(blocked_terms=["café", "nai\u0308ve plan"]))
    assert run(p, "at the cafe\u0301 now") == "at the [REDACTED:TERM] now"
    assert run(p, "CAFE\u0301 and café") == "[REDACTED:TERM] and [REDACTED:TERM]"
    assert run(p, "a naïve plan, a nai\u0308ve  plan") == "a [REDACTED:TERM], a [REDACTED:TERM]"
    # a combining mark after a word makes another word, as the composed letter would
    q = DlpFilter(Settings(blocked_terms=["cafe"]))
    assert run(q, "the cafe\u0301 and the café") == "the cafe\u0301 and the café"
