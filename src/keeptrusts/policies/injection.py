"""`prompt-injection`: instruction overrides, system-prompt extraction, role-play jailbreaks
and forged role delimiters, in several languages, after undoing common evasions.

Request stage only. Each text is normalised into a few renderings (`detect.normalize`:
NFKC, invisible characters, combining marks, homoglyphs, leetspeak, letter-spacing, base64
payloads) and every rendering is scanned with one RE2 alternation of the built-in patterns
(`detect.attacks`) plus `detection.attack_patterns` (their combining marks stripped the same
way). A match preceded by a negation ("never reveal your system prompt") does not count.

Texts scanned: what callers and tools wrote (user, assistant and tool messages, prompts).
The operator's own system and developer messages (and tool descriptions) are not scanned:
the application writes them, and they are full of "never reveal..." instructions;
`scan_system_messages: true` scans them too.

On a detection `response.action` decides: `block` (default; 409 `input_blocked` with
`response.message` when set) or `escalate` (let through, flag for review).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from keeptrusts.config.fields import Strict
from keeptrusts.detect import normalize
from keeptrusts.detect.attack_context import is_an_order
from keeptrusts.detect.attacks import (
    ATTACKS,
)
from keeptrusts.detect.engine import Encoded, Pattern, compile_pattern
from keeptrusts.pipeline.stage import Policy
from keeptrusts.pipeline.verdict import Match, Result, Stage
from keeptrusts.policies.pii import RegexText
from keeptrusts.policies.registry import BuildContext, PolicyKind

CUSTOM = "injection.custom_pattern"

# what a rendering already went through
_LEET = 1
_SQUEEZED = 2
_DECODED = 4
#: renderings scanned per text at most, and base64 payloads decoded per rendering
_MAX_RENDERINGS = 24
_MAX_PAYLOADS = 8


class _Signs:
    """Evasions the scan of one rendering noticed (so the next renderings are worth making)."""

    __slots__ = ("base64", "leet", "spaced")

    def __init__(self) -> None:
        self.leet = False
        self.spaced: list[tuple[int, int]] = []
        self.base64: list[tuple[int, int]] = []


_SPACED = ("spaced", normalize.SPACED_PATTERN)
_LEET_SIGN = ("leet", normalize.LEET_PATTERN)
_B64_SIGN = ("base64", normalize.BASE64_PATTERN)


def _payload(decoded: str) -> bytes:
    return normalize.clean(decoded)


_B64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-")


def _b64_run(text: str, start: int, end: int) -> str:
    """The base64 run of the original text around a candidate (markup may have split it)."""
    while start > 0 and text[start - 1] in _B64_CHARS:
        start -= 1
    while end < len(text) and text[end] in _B64_CHARS:
        end += 1
    while end < len(text) and text[end] == "=" and end - start < len(text):
        end += 1
    return text[start:end]


class Detection(Strict):
    #: extra RE2 patterns (matched case-insensitively against the normalised text)
    attack_patterns: list[RegexText] = Field(default_factory=list)
    #: the built-in catalogue (detect/attacks.py); false leaves only attack_patterns
    builtin_patterns: bool = True


class Encoding(Strict):
    decode_base64: bool = True
    normalize_unicode: bool = True
    detect_homoglyphs: bool = True


class Response(Strict):
    action: Literal["block", "escalate"] = "block"
    message: str | None = None


class Settings(Strict):
    detection: Detection = Detection()
    encoding: Encoding = Encoding()
    response: Response = Response()
    #: also scan the operator's system/developer messages and tool descriptions
    scan_system_messages: bool = False


class PromptInjection(Policy):
    kind = "prompt-injection"
    inspects_text = True
    #: the operator's own system/developer prompt is trusted; callers and tools are not
    scans_operator_messages = False

    def __init__(self, settings: Settings, name: str = "prompt-injection") -> None:
        super().__init__(name, frozenset({Stage.REQUEST}))
        self.action = Result.BLOCK if settings.response.action == "block" else Result.ESCALATE
        self.block_message = settings.response.message
        self.encoding = settings.encoding
        # a per-instance choice over the class default (which the chain reads)
        self.scans_operator_messages = settings.scan_system_messages
        # the text loses its combining marks (normalize.clean): so do the patterns
        marks = normalize.strip_marks if settings.encoding.normalize_unicode else str
        reasons: list[str] = []
        alternatives: list[str] = []
        if settings.detection.builtin_patterns:
            for reason, patterns in ATTACKS.items():
                reasons.append(reason)
                alternatives.append("|".join(f"(?:{marks(p)})" for p in patterns))
        for p in settings.detection.attack_patterns:
            reasons.append(CUSTOM)
            alternatives.append(f"(?i:{marks(p)})")
        self.reasons = tuple(reasons)
        self._attacks: Pattern | None = (
            compile_pattern("|".join(f"({a})" for a in alternatives)) if alternatives else None
        )
        # evasion signs are looked for by a second, small pattern (matching them inside the
        # large one would pay its submatch cost per sign); one variant per set of signs still
        # worth reporting: once leetspeak was seen, or enough base64 runs were collected, the
        # scan stops matching them
        self._signs: dict[tuple[bool, bool], tuple[Pattern, tuple[str, ...]]] = {}
        for leet in (True, False):
            for b64 in (True, False):
                signs = [_SPACED]
                signs += [_LEET_SIGN] if leet else []
                signs += [_B64_SIGN] if b64 else []
                pattern = "|".join(f"({p})" for _, p in signs)
                self._signs[(leet, b64)] = (compile_pattern(pattern), tuple(k for k, _ in signs))

    def find(self, text: str, stage: Stage) -> list[Match]:
        reason = self.detect(text)
        if reason is None:
            return []
        return [Match(0, len(text), self.action, reason)]

    def detect(self, text: str) -> str | None:
        """The reason code of the first attack found in `text`, or None."""
        if self._attacks is None:
            return None
        enc = self.encoding
        cleaned = normalize.clean(text, unicode=enc.normalize_unicode)
        queue = [(cleaned, 0)]
        if enc.detect_homoglyphs and not cleaned.isascii():
            folded = normalize.fold_homoglyphs(cleaned)
            if folded != cleaned:
                queue.append((folded, 0))
        if enc.decode_base64 and not text.isascii():
            queue.extend((_payload(p), _DECODED) for p in normalize.decoded_payloads(text))
        seen = 0
        while queue and seen < _MAX_RENDERINGS:
            data, flags = queue.pop(0)
            seen += 1
            found = self._scan(data, flags)
            if isinstance(found, str):
                return found
            queue.extend(self._renderings(text, data, flags, found))
        return None

    def _scan(self, data: bytes, flags: int) -> str | _Signs:
        """The first attack's reason, or the signs of evasion worth another rendering."""
        assert self._attacks is not None
        enc = Encoded.from_bytes(data)
        pos = 0
        while pos <= len(data):
            spans = self._attacks.search(enc, pos)
            if spans is None:
                break
            start, end = spans[0]
            reason = self.reasons[_group(spans) - 1]
            if is_an_order(data, start, end, reason):
                return reason
            pos = end if end > start else end + 1
        return self._evasions(enc, flags)

    def _evasions(self, enc: Encoded, flags: int) -> _Signs:
        signs = _Signs()
        want_leet = not flags & _LEET
        want_b64 = self.encoding.decode_base64 and not flags
        pattern, kinds = self._signs[(want_leet, want_b64)]
        seen: set[bytes] = set()
        pos = 0
        while pos <= len(enc.data):
            spans = pattern.search(enc, pos)
            if spans is None:
                break
            start, end = spans[0]
            pos = end if end > start else end + 1
            kind = kinds[_group(spans) - 1]
            if kind == "spaced":
                signs.spaced.append((start, end))
                continue
            if kind == "leet":
                signs.leet = True
                want_leet = False
            elif enc.data[start:end] not in seen:
                seen.add(enc.data[start:end])
                signs.base64.append((start, end))
                want_b64 = len(signs.base64) < _MAX_PAYLOADS
            pattern, kinds = self._signs[(want_leet, want_b64)]
        return signs

    def _renderings(
        self, text: str, data: bytes, flags: int, signs: _Signs
    ) -> list[tuple[bytes, int]]:
        out: list[tuple[bytes, int]] = []
        if signs.leet and not flags & _LEET:
            out.append((normalize.fold_leet(data), flags | _LEET))
        if signs.spaced and not flags & _SQUEEZED:
            out.append((normalize.squeeze(data, signs.spaced), flags | _SQUEEZED))
        # renderings of an ASCII text keep its offsets: decode the original-case run
        if signs.base64 and self.encoding.decode_base64 and not flags and text.isascii():
            budget = normalize.MAX_DECODED
            for start, end in signs.base64[:_MAX_PAYLOADS]:
                run = _b64_run(text, start, end)
                budget -= len(run)
                if budget < 0:
                    break
                payload = normalize.decode_payload(run)
                if payload is not None:
                    out.append((_payload(payload), _DECODED))
        return out

    def describe(self) -> dict[str, object]:
        return {
            **super().describe(),
            "action": self.action.value,
            "patterns": len(self.reasons),
            "encoding": self.encoding.model_dump(),
            "scan_system_messages": self.scans_operator_messages,
        }


def _group(spans: list[tuple[int, int]]) -> int:
    for i in range(1, len(spans)):
        if spans[i][0] >= 0:
            return i
    return 1


def build(settings: Settings, ctx: BuildContext) -> Policy:
    return PromptInjection(settings)


KIND = PolicyKind("prompt-injection", Settings, build)
