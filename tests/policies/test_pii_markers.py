"""pii-detector `custom_markers`: a key must name an entity the policy reports (a typo is an
error at its own key, not silently ignored), and pattern names match in any case."""

from __future__ import annotations

from typing import Any

import pytest

from keeptrusts.config.load import ConfigError, load_texts
from keeptrusts.pipeline.textscan import apply
from keeptrusts.pipeline.verdict import Stage
from keeptrusts.policies.pii import PiiDetector, Settings

HEAD = "pack: {name: t}\npolicies: {chain: [pii-detector]}\npolicy:\n  pii-detector:\n"


def problems(body: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_texts([("cfg.yaml", HEAD + body)])
    return info.value.problems


def redact(settings: dict[str, Any], text: str) -> str:
    policy = PiiDetector(Settings.model_validate(settings))
    return apply(text, policy.find(text, Stage.REQUEST))


def test_a_misspelt_entity_is_refused_at_its_key() -> None:
    body = "    redaction:\n      custom_markers:\n        email: '[mail]'\n        emial: '[x]'\n"
    [problem] = problems(body)
    assert problem.startswith(
        "cfg.yaml:8: policy.pii-detector.redaction.custom_markers.emial: "
        "'emial' is not an entity this policy reports; known: email, phone,"
    )


def test_every_unknown_key_is_reported() -> None:
    body = "    redaction: {custom_markers: {emial: a, sn: b, secrets: c}}\n"
    found = problems(body)
    assert [p.split(": ")[1] for p in found] == [
        "policy.pii-detector.redaction.custom_markers.emial",
        "policy.pii-detector.redaction.custom_markers.sn",
        "policy.pii-detector.redaction.custom_markers.secrets",
    ]


def test_pattern_names_are_known_and_listed() -> None:
    body = (
        "    detect_patterns: [{name: Mrn, pattern: 'MRN[0-9]{8}'}]\n"
        "    redaction: {custom_markers: {mnr: x}}\n"
    )
    [problem] = problems(body)
    assert problem.endswith(", jwt, mrn")
    assert problem.startswith("cfg.yaml:6: policy.pii-detector.redaction.custom_markers.mnr: ")


def test_custom_is_known_only_with_an_unnamed_pattern() -> None:
    [problem] = problems("    redaction: {custom_markers: {custom: x}}\n")
    assert "'custom' is not an entity" in problem
    settings = {
        "detect_patterns": ["EMP-[0-9]{6}"],
        "redaction": {"custom_markers": {"custom": "<emp>"}},
    }
    assert redact(settings, "id EMP-123456") == "id <emp>"


def test_a_bad_pattern_is_the_only_error() -> None:
    body = "    detect_patterns: ['(a']\n    redaction: {custom_markers: {custom: x}}\n"
    [problem] = problems(body)
    assert "detect_patterns[0].pattern: not a valid RE2 pattern" in problem


@pytest.mark.parametrize("key", ["mrn", "MRN", "Mrn"])
def test_marker_keys_match_pattern_names_in_any_case(key: str) -> None:
    settings = {
        "detect_patterns": [{"name": "MRN", "pattern": "MRN[0-9]{8}"}],
        "redaction": {"custom_markers": {key: "<mrn>", "EMAIL": "<mail>"}},
    }
    assert redact(settings, "MRN12345678 a@b.io") == "<mrn> <mail>"


def test_markers_for_entities_left_out_of_entities_are_allowed() -> None:
    loaded = load_texts(
        [
            (
                "cfg.yaml",
                HEAD + "    entities: [email]\n    redaction: {custom_markers: {phone: p}}\n",
            )
        ]
    )
    assert "pii-detector" in loaded.settings
