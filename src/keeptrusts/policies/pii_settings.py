"""`pii-detector` settings: the entities, markers, custom patterns and regions a config names.

Validated strictly (an unknown key, entity, region or marker keyword is a config error naming
its place); `pii.PiiDetector` compiles them once.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, field_validator
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

from keeptrusts.config.fields import Strict
from keeptrusts.detect.engine import PatternError, compile_pattern
from keeptrusts.detect.phone import SUPPORTED_REGIONS

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
        known = list(dict.fromkeys([*BUILT_IN, *(pattern_name(p) for p in patterns)]))
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


def pattern_name(p: NamedPattern) -> str:
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
