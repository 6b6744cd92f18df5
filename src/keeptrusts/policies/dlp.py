"""`dlp-filter`: blocked terms (case-insensitive, whole words) and extra patterns."""

from __future__ import annotations

from typing import Literal

import ahocorasick
from pydantic import Field

from keeptrusts.config.model import Strict
from keeptrusts.pipeline.stage import BOTH_STAGES, Policy
from keeptrusts.pipeline.verdict import Match, Result, Stage
from keeptrusts.policies.registry import BuildContext, PolicyKind


class Settings(Strict):
    blocked_terms: list[str] = Field(default_factory=list)
    action: Literal["redact", "block"] = "block"
    stages: list[Literal["request", "response"]] = Field(
        default_factory=lambda: ["request", "response"]
    )


class DlpFilter(Policy):
    kind = "dlp-filter"
    inspects_text = True

    def __init__(self, settings: Settings) -> None:
        super().__init__(self.kind, frozenset(Stage(s) for s in settings.stages) or BOTH_STAGES)
        self.action = Result(settings.action)
        self._automaton = ahocorasick.Automaton()
        longest = 0
        for term in settings.blocked_terms:
            key = term.casefold().strip()
            if key:
                self._automaton.add_word(key, len(key))
                longest = max(longest, len(key))
        self._empty = longest == 0
        if not self._empty:
            self._automaton.make_automaton()
        self.holdback = longest + 1

    def find(self, text: str, stage: Stage) -> list[Match]:
        if self._empty:
            return []
        folded = text.casefold()
        if len(folded) != len(text):
            folded = text.lower()
        out: list[Match] = []
        for end_idx, length in self._automaton.iter(folded):
            start = end_idx - length + 1
            end = end_idx + 1
            if _word_edge(folded, start - 1) and _word_edge(folded, end):
                out.append(Match(start, end, self.action, "dlp.blocked_term", "[REDACTED:TERM]"))
        return out


def _word_edge(text: str, i: int) -> bool:
    return i < 0 or i >= len(text) or not text[i].isalnum()


def build(settings: Settings, ctx: BuildContext) -> Policy:
    return DlpFilter(settings)


KIND = PolicyKind("dlp-filter", Settings, build)
