"""`dlp-filter`: blocked terms (case-insensitive, whole words, optionally fuzzy) and patterns.

- `blocked_terms`: literal terms matched case-insensitively on word boundaries with one
  Aho-Corasick pass. A space in a term matches any run of Unicode whitespace (a
  multi-word term is found through its longest word, the others compared around each hit:
  `detect.terms`); a term matches its own spelling and its full case folding (`straße`:
  `Straße`, `STRASSE`). `fuzzy_matching: true` also catches variants within `max_distance`
  edits (`Atlass`, `pr0ject atlas`): one Aho-Corasick pass finds exact pieces of the terms
  (a string within d edits keeps one of d+1 pieces intact), and only word windows around a
  hit are compared with a banded edit distance.
- `detect_patterns`: RE2 patterns, plain strings or `{name, pattern}`.
- `action`: `redact` (default; `[REDACTED:TERM]`, `[REDACTED:PATTERN]` or the pattern's
  upper-cased name) or `block`.

Hold-back for streams: the longest term (plus `max_distance` when fuzzy) plus one
character for the word-boundary check, and 256 characters when patterns are configured.
When a term has a space, a whitespace run in the held text counts as one character
(`hold_from`), up to `terms.MAX_HOLD` characters.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from keeptrusts.config.fields import Strict
from keeptrusts.detect import fuzzy, holdpoint, invisible, terms
from keeptrusts.detect.engine import Encoded, Pattern, compile_pattern
from keeptrusts.detect.invisible import Visible
from keeptrusts.pipeline.stage import BOTH_STAGES, Policy
from keeptrusts.pipeline.verdict import Match, Result, Stage
from keeptrusts.policies.pii import PatternEntry, StageName, both_stages
from keeptrusts.policies.registry import BuildContext, PolicyKind

#: terms this long or shorter are fuzzy-matched with one substitution only
SHORT_TERM = 5
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
        forms = sorted({form for t in settings.blocked_terms for form in terms.spellings(t)})
        self._terms = terms.BlockedTerms(forms)
        self._term_count = len(
            {" ".join(terms.fold(t).split()) for t in settings.blocked_terms} - {""}
        )
        #: some term has a space: whitespace runs in a text match it, and count as one
        self._spaced = any(" " in form for form in forms)
        self._distance = settings.max_distance if settings.fuzzy_matching else 0
        self._fuzzy = _fuzzy_terms(forms, self._distance)
        self._patterns: list[tuple[str, Pattern]] = [
            ((p.name or "pattern").upper(), compile_pattern(p.pattern))
            for p in settings.detect_patterns
        ]
        longest = max((len(t) for t in forms), default=0)
        self._term_hold = (longest + self._distance + 1) if forms else 0
        self.holdback = self._term_hold
        if self._patterns:
            self.holdback = max(self.holdback, PATTERN_HOLDBACK)

    def hold_from(self, text: str) -> int:
        return invisible.hold_from(text, self._hold_from)

    def _hold_from(self, text: str) -> int:
        at = len(text) - self.holdback
        if self._spaced:  # a term's space may be a long whitespace run: count runs as one
            at = min(at, terms.hold_start(text, self._term_hold))
        if at <= 0:
            return 0
        # from the start of the token: a term begins a word, and the word it would end
        # (`xfalcon`) is only read whole (up to PATTERN_HOLDBACK characters back)
        return holdpoint.token_start(text, max(0, at - PATTERN_HOLDBACK), at)

    def read_back(self, released: str, held: str) -> str:
        # a term (or a fuzzy variant) is held whole: only its word boundary is read before it;
        # patterns may look anywhere
        return released if self._patterns else released[-2:]

    def find(self, text: str, stage: Stage) -> list[Match]:
        """Terms and patterns in `text`; a text with invisible characters is also read as it
        shows without them (`pro\u00adject atlas` is `project atlas`)."""
        out = self._find(text)
        seen = Visible.of(text)
        if seen.changed:
            for m in self._find(seen.text):
                start, end = seen.span(m.start, m.end)
                out.append(m._replace(start=start, end=end))
            out = list(dict.fromkeys(out))
        if self.action is Result.BLOCK and out:
            return [min(out, key=lambda m: m.start)]
        return out

    def _find(self, text: str) -> list[Match]:
        out: list[Match] = []
        if not self._terms.empty:
            self._find_terms(text, out)
        if self._patterns and (not out or self.action is not Result.BLOCK):
            self._find_patterns(text, out)
        return out

    def _find_terms(self, text: str, out: list[Match]) -> None:
        folded = terms.fold(text)
        spans = self._terms.spans(folded)
        for start, end in spans:
            out.append(self._match(start, end, "dlp.blocked_term", "[REDACTED:TERM]"))
        if self._fuzzy and (not out or self.action is not Result.BLOCK):
            taken = set(spans)
            near = [span for f in self._fuzzy for span in f.find(text, folded)]
            for start, end in dict.fromkeys(near):
                if (start, end) not in taken:
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
            "blocked_terms": self._term_count,
            "fuzzy_distance": self._distance,
            "detect_patterns": len(self._patterns),
            "holdback": self.holdback,
        }


def _fuzzy_terms(forms: list[str], distance: int) -> list[fuzzy.FuzzyTerms]:
    """Near-miss finders: long terms within `distance` edits; short terms (SHORT_TERM
    characters or fewer) with one substituted character only, as an insertion or a deletion
    turns them into ordinary words (`atlas`: `alas`; `nova`: `Nov`; `zeus`: `zebus`)."""
    if not distance or not forms:
        return []
    long_terms = [f for f in forms if len(f) > SHORT_TERM]
    short = [f for f in forms if len(f) <= SHORT_TERM]
    out = [fuzzy.FuzzyTerms(long_terms, distance)] if long_terms else []
    if short:
        out.append(fuzzy.FuzzyTerms(short, 1, same_length=True))
    return out


def build(settings: Settings, ctx: BuildContext) -> Policy:
    return DlpFilter(settings)


KIND = PolicyKind("dlp-filter", Settings, build)
