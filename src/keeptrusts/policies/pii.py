"""`pii-detector`: e-mail, phone, card, IBAN, SSN, IP addresses and credentials in any text.

Every built-in entity is on by default (`entities` narrows the list); `detect_patterns` adds
RE2 patterns, plain or named. Findings are redacted with a marker (`[REDACTED:EMAIL]` by
default) or block the text (`action: block`).

Cost: each detector is gated by something cheap to test first (an `@`, enough digits, two
colons, a literal prefix such as `sk-`), so most texts pay a few substring checks, one
UTF-8 encode and one RE2 pass for digit runs. Plain prose (`prose`: no digit, `@`, bracket,
`|`, bare ` at ` or non-ASCII character; most of a streamed answer's deltas) is told apart in
one pass and pays only the token scan, in a stream's hold point and read-back too.

Streaming hold-back (`holdback`, HOLDBACK characters): the longest text that can still turn
into a match when more arrives (an e-mail address is at most 254 characters; keys and
tokens are far shorter before they first match). Spans that can keep growing (a private
key block without its END line, a JWT) match through the end of the text, so a stream
must never release text inside a match that touches its end.
"""

from __future__ import annotations

import re

from keeptrusts.detect import (
    cells,
    contact,
    gaps,
    holdpoint,
    invisible,
    lookalikes,
    numbers,
    prose,
    secrets,
    spelled,
)
from keeptrusts.detect.engine import Encoded, Pattern, compile_pattern
from keeptrusts.detect.findings import Finding
from keeptrusts.detect.invisible import Visible
from keeptrusts.detect.phone import PhoneValidator
from keeptrusts.detect.tokens import TokenScanner
from keeptrusts.pipeline.stage import BOTH_STAGES, Policy
from keeptrusts.pipeline.verdict import Match, Result, Stage
from keeptrusts.policies.pii_settings import (
    BUILT_IN,
    Entity,
    NamedPattern,
    PatternEntry,
    Redaction,
    RegexText,
    Settings,
    StageName,
    both_stages,
    pattern_name,
)
from keeptrusts.policies.registry import BuildContext, PolicyKind

__all__ = [
    "BUILT_IN",
    "HOLDBACK",
    "Entity",
    "NamedPattern",
    "PatternEntry",
    "PiiDetector",
    "Redaction",
    "RegexText",
    "Settings",
    "StageName",
    "both_stages",
]

#: characters a stream holds back for this policy (see the module docstring)
HOLDBACK = 256

_DIGIT_BYTES = b"0123456789"
_LAST_CHARS = spelled.LAST_CHARS
_DIGIT = re.compile(r"\d")  # a character class: linear (any script's digits, as `lookalikes`)


class PiiDetector(Policy):
    kind = "pii-detector"
    inspects_text = True

    def __init__(self, settings: Settings, name: str = "pii-detector") -> None:
        super().__init__(name, frozenset(Stage(s) for s in settings.stages) or BOTH_STAGES)
        self.action = Result(settings.action)
        enabled: set[str] = set(settings.entities)
        if "secrets" in enabled:
            enabled |= set(secrets.SECRETS)
        if not settings.pci_mode:
            enabled.discard("credit_card")
        self.entities = frozenset(e for e in BUILT_IN if e in enabled)
        phones = PhoneValidator(settings.phone_regions) if "phone" in enabled else None
        self._numbers = numbers.NumberScanner(self.entities, phones)
        self._number_min_digits = 4 if self._numbers.ipv4 else numbers.MIN_WINDOW_DIGITS
        self._numbers_on = self._numbers.windows or self._numbers.ipv4
        self._tokens = TokenScanner(self.entities)
        self._emails = "email" in self.entities
        self._gapped = not gaps.WIDE_ENTITIES.isdisjoint(self.entities)
        self._custom: list[tuple[str, Pattern]] = [
            (pattern_name(p), compile_pattern(p.pattern)) for p in settings.detect_patterns
        ]
        self._redaction = settings.redaction
        names = [*self.entities, *(n for n, _ in self._custom)]
        self._markers = {e: _marker(settings.redaction, e) for e in names}
        self._reasons = {e: f"pii.{e}" for e in names}
        self.holdback = HOLDBACK

    def hold_from(self, text: str) -> int:
        if not self._custom and prose.plain(text):  # (most deltas: one pass, see `prose`)
            at = holdpoint.pending_start(text, self.holdback)
            if self._emails and text[-1:] in _LAST_CHARS:  # (`info `: an `at` may follow)
                at = min(at, spelled.local_start(text, max(0, len(text) - self.holdback)))
            return at
        return invisible.hold_from(lookalikes.fold(text), self._hold_from, numbers=True)

    def _hold_from(self, text: str) -> int:
        if self._custom:  # custom patterns: shape unknown, hold the full bound
            return max(0, len(text) - self.holdback)
        at = holdpoint.pending_start(text, self.holdback)
        # (the cheap tests of `spelled.hold_start` and `gaps.may_have`, inline: this runs on
        # every streamed delta that is not plain prose)
        if self._emails and (
            "(" in text
            or "[" in text
            or " at " in text
            or " AT " in text
            or text[-1:] in _LAST_CHARS
        ):  # an address written with spaces (`info [at] firma (dot) de`)
            at = min(at, spelled.hold_start(text, max(0, len(text) - self.holdback)))
        wide = None
        if (
            self._gapped
            and (not text.isprintable() or "  " in text or "|" in text)
            and _DIGIT.search(text)
        ):
            wide = gaps.Gapped.of(text, hold=True)
        if wide is not None:  # groups split by wide gaps (see `gaps`), as the text reads closed up
            gapped = wide.index(holdpoint.pending_start(wide.text, self.holdback))
            at = min(at, max(gapped, len(text) - self.holdback))
        return at

    def read_back(self, released: str, held: str) -> str:
        # labels before a number (`order`, `version`, `phone`) are read 32 characters back,
        # the word before an address written out in bare words too (`job hunting at ...`:
        # `spelled`), and `detect_patterns` may look anywhere; every other reading looks at
        # two characters before a value at most (`clear_before`)
        if self._custom:
            return released
        if prose.plain(held) or not (_DIGIT.search(held) or " at " in held or " AT " in held):
            return released[-2:]  # (plain prose: one pass, `\d` on all scripts costs more)
        return released

    def find(self, text: str, stage: Stage) -> list[Match]:
        found = self.findings(text)
        if not found:
            return []
        if self.action is Result.BLOCK:
            first = min(found)
            return [Match(first.start, first.end, Result.BLOCK, self._reasons[first.entity])]
        found.sort()
        return [
            Match(f.start, f.end, Result.REDACT, self._reasons[f.entity], self._replace(text, f))
            for f in found
        ]

    def findings(self, text: str) -> list[Finding]:
        """Every entity found in `text`, in no particular order (spans may overlap). Look-alike
        separators and full-width characters are read as ASCII (`lookalikes`); a text with
        invisible characters, or marks and emoji on a number's digits, is also read as it shows
        without them (`invisible`); one whose number groups are split by wide gaps (two spaces,
        tabs, a line break) is also read with them closed up (`gaps`)."""
        folded = lookalikes.fold(text)
        enc = Encoded(folded)
        if prose.plain(folded, enc.data):  # (no number, address, gap, hidden character)
            return self._scan(enc, 0, plain=True)
        digits = len(enc.data) - len(enc.data.translate(None, _DIGIT_BYTES))
        out = self._scan(enc, digits)
        seen = Visible.of(folded, numbers=True)
        changed = seen.changed
        if changed:
            again = self._scan(Encoded(seen.text), digits)
            out += [Finding(*seen.span(f.start, f.end), f.entity) for f in again]
        # (a value read across a gap has 7 digits at least: an IBAN has more)
        wide = None
        if self._gapped and digits >= numbers.MIN_WINDOW_DIGITS and gaps.may_have(seen.text):
            wide = gaps.Gapped.of(seen.text)
        if wide is not None:
            for f in self._scan(Encoded(wide.text), digits):
                start, end = wide.span(f.start, f.end)
                if wide.allowed(start, end, f.entity):  # (one finding a table cell: `cells`)
                    for a, b in cells.parts(wide.original, start, end):
                        out.append(Finding(*seen.span(a, b), f.entity))
        if changed or wide is not None:
            out = list(dict.fromkeys(out))
        return out

    def _scan(self, enc: Encoded, digits: int, plain: bool = False) -> list[Finding]:
        """What `enc` holds; `digits`: how many ASCII digits it has; `plain`: it is plain
        prose (`prose`), where no address can be."""
        out: list[Finding] = []
        if self._emails and not plain:
            contact.emails(enc, out)
            if " at " in enc.text or " AT " in enc.text:  # (written out in words: `spelled`)
                spelled.emails(enc, out)
        if self._numbers_on and digits >= self._number_min_digits:
            self._numbers.scan(enc, out)
        self._tokens.scan(enc, out)
        for name, pattern in self._custom:
            for spans in pattern.iter(enc):
                start, end = enc.span(spans[0])
                if end > start:
                    out.append(Finding(start, end, name))
        return out

    def _replace(self, text: str, f: Finding) -> str:
        marker = self._markers[f.entity]
        return marker if marker else "*" * (f.end - f.start)

    def describe(self) -> dict[str, object]:
        return {
            **super().describe(),
            "action": self.action.value,
            "entities": sorted(self.entities),
            "detect_patterns": len(self._custom),
            "holdback": self.holdback,
        }


def _marker(redaction: Redaction, entity: str) -> str:
    """The replacement for `entity`; empty means one `*` per character."""
    custom = next((m for k, m in redaction.custom_markers.items() if k.lower() == entity), None)
    if custom is not None:
        return custom
    fmt = redaction.marker_format
    if redaction.preserve_length or fmt in ("asterisks", "asterisk", "mask"):
        return ""
    if fmt == "label":
        fmt = "[REDACTED:{entity}]"
    return fmt.replace("{entity}", entity.upper())


def build(settings: Settings, ctx: BuildContext) -> Policy:
    return PiiDetector(settings)


KIND = PolicyKind("pii-detector", Settings, build)
