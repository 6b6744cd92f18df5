"""`pii-detector`: e-mail, phone, card, IBAN, SSN, IP addresses and credentials in any text.

Every built-in entity is on by default (`entities` narrows the list); `detect_patterns` adds
RE2 patterns, plain or named. Findings are redacted with a marker (`[REDACTED:EMAIL]` by
default) or block the text (`action: block`).

Cost: each detector is gated by something cheap to test first (an `@`, enough digits, two
colons, a literal prefix such as `sk-`), so most texts pay a few substring checks, one
UTF-8 encode and one RE2 pass for digit runs.

Streaming hold-back (`holdback`, HOLDBACK characters): the longest text that can still turn
into a match when more arrives (an e-mail address is at most 254 characters; keys and
tokens are far shorter before they first match). Spans that can keep growing (a private
key block without its END line, a JWT) match through the end of the text, so a stream
must never release text inside a match that touches its end.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, field_validator
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

from keeptrusts.config.fields import Strict
from keeptrusts.detect import contact, holdpoint, invisible, lookalikes, numbers, secrets
from keeptrusts.detect.engine import Encoded, Pattern, PatternError, compile_pattern
from keeptrusts.detect.findings import Finding
from keeptrusts.detect.invisible import Visible
from keeptrusts.detect.phone import SUPPORTED_REGIONS, PhoneValidator
from keeptrusts.detect.tokens import TokenScanner
from keeptrusts.pipeline.stage import BOTH_STAGES, Policy
from keeptrusts.pipeline.verdict import Match, Result, Stage
from keeptrusts.policies.registry import BuildContext, PolicyKind

#: characters a stream holds back for this policy (see the module docstring)
HOLDBACK = 256

Entity = Literal[
    "email",
    "phone",
    "credit_card",
    "iban",
    "ssn",
    "ip_address",
    "openai_key",
    "anthropic_key",
    "aws_access_key",
    "github_token",
    "slack_token",
    "stripe_key",
    "google_api_key",
    "gitlab_token",
    "npm_token",
    "huggingface_token",
    "private_key",
    "jwt",
    "secrets",
]
BUILT_IN: tuple[Entity, ...] = tuple(e for e in get_args(Entity) if e != "secrets")
StageName = Literal["request", "response"]


def both_stages() -> list[StageName]:
    return ["request", "response"]


def _all_entities() -> list[Entity]:
    return list(BUILT_IN)


_DIGIT_BYTES = b"0123456789"
_DIGIT = re.compile(r"\d")  # a character class: linear (any script's digits, as `lookalikes`)


def _re2_pattern(value: str) -> str:
    try:
        compile_pattern(value)
    except PatternError as exc:
        raise ValueError(f"not a valid RE2 pattern: {exc}") from None
    return value


RegexText = Annotated[str, AfterValidator(_re2_pattern)]


class NamedPattern(Strict):
    """A `detect_patterns` entry: a plain RE2 string, or `{name, pattern}`."""

    name: str | None = Field(None, pattern=r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
    pattern: RegexText


def _pattern_entry(value: object) -> object:
    return {"pattern": value} if isinstance(value, str) else value


PatternEntry = Annotated[NamedPattern, BeforeValidator(_pattern_entry)]


#: `marker_format` keywords (anything else is a template or a literal marker)
MARKER_KEYWORDS = ("label", "asterisks", "asterisk", "mask")


def _marker_format(value: str) -> str:
    # a bare lower-case word that is no keyword (`partial`, `hash`, `redact`) was meant as a
    # keyword: used literally it would replace every value with that word
    if value.isidentifier() and value.islower() and value not in MARKER_KEYWORDS:
        raise ValueError(
            f"{value!r} is not a marker format: write label, asterisks, or a template such as "
            "'[REDACTED:{entity}]' or '[{entity}]' (partial masking is not offered: a value "
            "is always replaced whole)"
        )
    return value


class Redaction(Strict):
    #: `[REDACTED:{entity}]` style template ({entity} is the upper-case entity name),
    #: `label` (the same), or `asterisks` (one `*` per redacted character)
    marker_format: Annotated[str, AfterValidator(_marker_format)] = "[REDACTED:{entity}]"
    #: entity -> marker, overriding marker_format for that entity: a built-in entity or a
    #: `detect_patterns` name (`custom` for unnamed ones), in any case
    custom_markers: dict[str, str] = Field(default_factory=dict)
    #: replace with as many `*` as the value had characters
    preserve_length: bool = False
    #: decision events always record what was found (`pii.<entity>` reason codes, never the
    #: values); accepted only as `true`, as the Keeptrusts docs write it
    include_metadata: bool = True

    @field_validator("include_metadata")
    @classmethod
    def _metadata_always(cls, v: bool) -> bool:
        if not v:
            raise ValueError(
                "not supported: decision events always record the reason codes of what was "
                "found (never the values); remove the key"
            )
        return v


class Settings(Strict):
    action: Literal["redact", "block"] = "redact"
    entities: list[Entity] = Field(default_factory=_all_entities)
    detect_patterns: list[PatternEntry] = Field(default_factory=list)
    redaction: Redaction = Redaction()
    #: regions whose national formats are read as phone numbers (`+` numbers: any region)
    phone_regions: list[str] = Field(default_factory=lambda: ["US", "GB"])
    stages: list[StageName] = Field(default_factory=both_stages)
    #: payment-card numbers (the `credit_card` entity); `false` leaves them out. CVVs and
    #: cardholder names are not detected (docs/policies.md)
    pci_mode: bool = True
    #: not offered (no built-in MRN, insurance-id or NPI detection): accepted only as `false`
    healthcare_mode: bool = False

    @field_validator("healthcare_mode")
    @classmethod
    def _no_healthcare_mode(cls, v: bool) -> bool:
        if v:
            raise ValueError(
                "not offered: there is no built-in MRN, insurance-id or NPI detection; add "
                "them as detect_patterns ({name: mrn, pattern: 'MRN[0-9]{8}'}) and remove the key"
            )
        return v

    @field_validator("redaction")
    @classmethod
    def _known_marker_keys(cls, redaction: Redaction, info: ValidationInfo) -> Redaction:
        patterns: list[NamedPattern] | None = info.data.get("detect_patterns")
        if patterns is None:  # detect_patterns was refused: that is the error to read
            return redaction
        known = list(dict.fromkeys([*BUILT_IN, *(_pattern_name(p) for p in patterns)]))
        errors = [
            _marker_key_error(key, known)
            for key in redaction.custom_markers
            if key.lower() not in known
        ]
        if errors:
            raise ValidationError.from_exception_data("Redaction", errors)
        return redaction

    @field_validator("phone_regions")
    @classmethod
    def _known_regions(cls, regions: list[str]) -> list[str]:
        unknown = [r for r in regions if r not in SUPPORTED_REGIONS]
        if unknown:
            raise ValueError(f"unknown region code(s) {unknown}; use ISO 3166 codes like US, GB")
        return regions


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
        self._custom: list[tuple[str, Pattern]] = [
            (_pattern_name(p), compile_pattern(p.pattern)) for p in settings.detect_patterns
        ]
        self._redaction = settings.redaction
        names = [*self.entities, *(n for n, _ in self._custom)]
        self._markers = {e: _marker(settings.redaction, e) for e in names}
        self._reasons = {e: f"pii.{e}" for e in names}
        self.holdback = HOLDBACK

    def hold_from(self, text: str) -> int:
        return invisible.hold_from(lookalikes.fold(text), self._hold_from, numbers=True)

    def _hold_from(self, text: str) -> int:
        if self._custom:  # custom patterns: shape unknown, hold the full bound
            return max(0, len(text) - self.holdback)
        return holdpoint.pending_start(text, self.holdback)

    def read_back(self, released: str, held: str) -> str:
        # labels before a number (`order`, `version`, `phone`) are read 32 characters back,
        # and `detect_patterns` may look anywhere; every other reading looks at two
        # characters before a value at most (`clear_before`)
        return released if self._custom or _DIGIT.search(held) else released[-2:]

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
        without them (`invisible`)."""
        folded = lookalikes.fold(text)
        out = self._scan(folded)
        seen = Visible.of(folded, numbers=True)
        if seen.changed:
            out += [Finding(*seen.span(f.start, f.end), f.entity) for f in self._scan(seen.text)]
            out = list(dict.fromkeys(out))
        return out

    def _scan(self, text: str) -> list[Finding]:
        enc = Encoded(text)
        out: list[Finding] = []
        if "email" in self.entities:
            contact.emails(enc, out)
        data = enc.data
        digits = len(data) - len(data.translate(None, _DIGIT_BYTES))
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


def _pattern_name(p: NamedPattern) -> str:
    """The entity name a `detect_patterns` entry reports (`pii.<name>`, `[REDACTED:NAME]`)."""
    return (p.name or "custom").lower()


def _marker_key_error(key: str, known: list[str]) -> InitErrorDetails:
    """A `custom_markers` key naming no entity, located at that key."""
    message = "'{key}' is not an entity this policy reports; known: {known}"
    ctx = {"key": key, "known": ", ".join(known)}
    return InitErrorDetails(
        type=PydanticCustomError("value_error", message, ctx),
        loc=("custom_markers", key),
        input=key,
    )


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
