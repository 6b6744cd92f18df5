"""`dlp-filter`: blocked terms (case-insensitive, whole words, optionally fuzzy) and patterns.

- `blocked_terms`: literal terms matched case-insensitively on word boundaries with one
  Aho-Corasick pass. `fuzzy_matching: true` also catches variants within `max_distance`
  edits (`Atlass`, `pr0ject atlas`): one Aho-Corasick pass finds exact pieces of the terms
  (a string within d edits keeps one of d+1 pieces intact), and only word windows around a
  hit are compared with a banded edit distance.
- `detect_patterns`: RE2 patterns, plain strings or `{name, pattern}`.
- `action`: `redact` (default; `[REDACTED:TERM]`, `[REDACTED:PATTERN]` or the pattern's
  upper-cased name) or `block`.

Hold-back for streams: the longest term (plus `max_distance` when fuzzy) plus one
character for the word-boundary check, and 256 characters when patterns are configured.
"""

from __future__ import annotations

from typing import Literal

import ahocorasick
from pydantic import Field

from keeptrusts.config.model import Strict
from keeptrusts.detect import fuzzy
from keeptrusts.detect.engine import Encoded, Pattern, compile_pattern
from keeptrusts.pipeline.stage import BOTH_STAGES, Policy
from keeptrusts.pipeline.verdict import Match, Result, Stage
from keeptrusts.policies.pii import PatternEntry, StageName, both_stages
from keeptrusts.policies.registry import BuildContext, PolicyKind

#: hold-back assumed for configured patterns (their matches are not otherwise bounded)
PATTERN_HOLDBACK = 256


class Settings(Strict):
    blocked_terms: list[str] = Field(default_factory=list)
    fuzzy_matching: bool = False
    max_distance: int = Field(1, ge=0, le=8)
    detect_patterns: list[PatternEntry] = Field(default_factory=list)
    action: Literal["redact", "block"] = "redact"
    stages: list[StageName] = Field(default_factory=both_stages)


class DlpFilter(Policy):
    kind = "dlp-filter"
    inspects_text = True

    def __init__(self, settings: Settings, name: str = "dlp-filter") -> None:
        super().__init__(name, frozenset(Stage(s) for s in settings.stages) or BOTH_STAGES)
        self.action = Result(settings.action)
        self._automaton = ahocorasick.Automaton()
        terms = sorted({t.casefold().strip() for t in settings.blocked_terms} - {""})
        for term in terms:
            self._automaton.add_word(term, len(term))
        self._empty = not terms
        if terms:
            self._automaton.make_automaton()
        self._distance = settings.max_distance if settings.fuzzy_matching else 0
        self._fuzzy = (
            fuzzy.FuzzyTerms([" ".join(t.split()) for t in terms], self._distance)
            if self._distance and terms
            else None
        )
        self._patterns: list[tuple[str, Pattern]] = [
            ((p.name or "pattern").upper(), compile_pattern(p.pattern))
            for p in settings.detect_patterns
        ]
        longest = max((len(t) for t in terms), default=0)
        self.holdback = (longest + self._distance + 1) if terms else 0
        if self._patterns:
            self.holdback = max(self.holdback, PATTERN_HOLDBACK)

    def find(self, text: str, stage: Stage) -> list[Match]:
        out: list[Match] = []
        if not self._empty:
            self._exact(_fold(text), out)
            if self._fuzzy is not None and (not out or self.action is not Result.BLOCK):
                self._fuzzy_terms(text, out)
        if self._patterns and (not out or self.action is not Result.BLOCK):
            self._find_patterns(text, out)
        if self.action is Result.BLOCK and out:
            return [min(out, key=lambda m: m.start)]
        return out

    def _exact(self, folded: str, out: list[Match]) -> None:
        for end_idx, length in self._automaton.iter(folded):
            start = end_idx - length + 1
            end = end_idx + 1
            if _word_edge(folded, start - 1) and _word_edge(folded, end):
                out.append(self._match(start, end, "dlp.blocked_term", "[REDACTED:TERM]"))

    def _fuzzy_terms(self, text: str, out: list[Match]) -> None:
        assert self._fuzzy is not None
        taken = {(m.start, m.end) for m in out}
        for start, end in self._fuzzy.find(text, _fold(text)):
            if (start, end) not in taken:
                taken.add((start, end))
                out.append(self._match(start, end, "dlp.fuzzy_term", "[REDACTED:TERM]"))

    def _find_patterns(self, text: str, out: list[Match]) -> None:
        enc = Encoded(text)
        for label, pattern in self._patterns:
            reason = "dlp.pattern" if label == "PATTERN" else f"dlp.pattern.{label.lower()}"
            for spans in pattern.iter(enc):
                start, end = enc.span(spans[0])
                if end > start:
                    out.append(self._match(start, end, reason, f"[REDACTED:{label}]"))

    def _match(self, start: int, end: int, reason: str, marker: str) -> Match:
        return Match(start, end, self.action, reason, marker)

    def describe(self) -> dict[str, object]:
        return {
            **super().describe(),
            "action": self.action.value,
            "blocked_terms": 0 if self._empty else len(self._automaton),
            "fuzzy_distance": self._distance,
            "detect_patterns": len(self._patterns),
            "holdback": self.holdback,
        }


def _fold(text: str) -> str:
    """Case-folded text of the same length (characters whose folding grows stay as they are)."""
    folded = text.casefold()
    if len(folded) == len(text):
        return folded
    return "".join(f if len(f := c.casefold()) == 1 else c for c in text)


def _word_edge(text: str, i: int) -> bool:
    return i < 0 or i >= len(text) or not text[i].isalnum()


def build(settings: Settings, ctx: BuildContext) -> Policy:
    return DlpFilter(settings)


KIND = PolicyKind("dlp-filter", Settings, build)
