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
