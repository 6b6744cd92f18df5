"""Configs as the public Keeptrusts docs write them (docs.keeptrusts.com).

The pii-detector page's example loads and means what it says (`pci_mode`); keys and kinds
the docs describe but this gateway does not offer are refused with a message that says so
and what to write instead, never "check its spelling" (docs/policies.md).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from keeptrusts.cli_policy import build_policies
from keeptrusts.config.load import ConfigError, load_texts
from keeptrusts.pipeline.textscan import apply
from keeptrusts.pipeline.verdict import Stage

#: the pii-detector page's configuration example, as written there
PII_DOCS_EXAMPLE = """\
pack:
  name: "pii-protection"
  version: "0.1.0"
  enabled: true
  description: Redact PII before it reaches the provider

policies:
  chain:
    - pii-detector

policy:
  pii-detector:
    action: "redact"
    healthcare_mode: false
    pci_mode: true
    detect_patterns: []
    redaction:
      marker_format: "label"
      include_metadata: true
      preserve_length: false
      custom_markers: {}
"""

TEXT = "card 4111 1111 1111 1111, mail jane@example.com"


def _redacted(config: str) -> str:
    (pii,) = build_policies(load_texts([("cfg.yaml", config)]))
    return apply(TEXT, pii.find(TEXT, Stage.REQUEST))


def test_the_pii_docs_example_loads_and_redacts() -> None:
    assert _redacted(PII_DOCS_EXAMPLE) == "card [REDACTED:CREDIT_CARD], mail [REDACTED:EMAIL]"


def test_pci_mode_false_leaves_card_numbers_out() -> None:
    config = PII_DOCS_EXAMPLE.replace("pci_mode: true", "pci_mode: false")
    assert _redacted(config) == "card 4111 1111 1111 1111, mail [REDACTED:EMAIL]"


def _problems(config: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_texts([("cfg.yaml", config)])
    return str(info.value)


@pytest.mark.parametrize(
    ("old", "new", "key", "words"),
    [
        (
            "healthcare_mode: false",
            "healthcare_mode: true",
            "policy.pii-detector.healthcare_mode",
            "not offered: there is no built-in MRN",
        ),
        (
            'marker_format: "label"',
            'marker_format: "partial"',
            "policy.pii-detector.redaction.marker_format",
            "'partial' is not a marker format: write label, asterisks, or a template",
        ),
        (
            "include_metadata: true",
            "include_metadata: false",
            "policy.pii-detector.redaction.include_metadata",
            "decision events always record the reason codes",
        ),
    ],
)
def test_pii_docs_values_this_gateway_cannot_honour(
    old: str, new: str, key: str, words: str
) -> None:
    message = _problems(PII_DOCS_EXAMPLE.replace(old, new))
    assert "cfg.yaml:" in message and f": {key}: " in message and words in message, message


HEAD = "pack: {name: t}\npolicies:\n  chain: [%s]\npolicy:\n"


@pytest.mark.parametrize(
    ("kind", "body", "key", "words"),
    [
        (
            "prompt-injection",
            "  prompt-injection:\n    embedding_threshold: 0.75\n    backend: local\n",
            "policy.prompt-injection.embedding_threshold",
            "does not offer it: detection is pattern matching only",
        ),
        (
            "prompt-injection",
            "  prompt-injection:\n    boundaries: {reject_fake_boundaries: true}\n",
            "policy.prompt-injection.boundaries",
            "injection.delimiter",
        ),
        (
            "prompt-injection",
            "  prompt-injection:\n    attack_patterns: ['open sesame']\n",
            "policy.prompt-injection.attack_patterns",
            "write it as `detection.attack_patterns`",
        ),
        (
            "prompt-injection",
            "  prompt-injection:\n    response: {action: block, log_level: warn}\n",
            "policy.prompt-injection.response.log_level",
            "logging.level",
        ),
        (
            "dlp-filter",
            "  dlp-filter:\n    sensitivity_level: high\n",
            "policy.dlp-filter.sensitivity_level",
            "no built-in sensitivity tiers",
        ),
        (
            "prompt-injection, audit-logger",
            "  audit-logger: {retention_days: 30}\n",
            "policies.chain[1]",
            "'audit-logger' is described in the Keeptrusts docs but not offered here",
        ),
    ],
)
def test_documented_keys_not_offered_say_so(kind: str, body: str, key: str, words: str) -> None:
    message = _problems(HEAD % kind + body)
    assert f": {key}: " in message and words in message, message
    assert "check its spelling" not in message


def test_kt_policy_lint_explains_a_docs_template(tmp_path: Path) -> None:
    """The real CLI, on the prompt-injection template as the docs write it."""
    path = tmp_path / "policy-config.yaml"
    path.write_text(
        "pack: {name: prompt-injection-detection, version: 0.1.0, enabled: true,\n"
        "       description: Detect and block prompt injection attacks}\n"
        "policies:\n  chain: [prompt-injection]\n"
        "policy:\n  prompt-injection:\n    embedding_threshold: 0.75\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "keeptrusts", "policy", "lint", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert f"{path}:7: policy.prompt-injection.embedding_threshold: " in done.stderr
    assert "pattern matching only" in done.stderr
    assert "1 problem(s) found" in done.stderr


@pytest.mark.parametrize(
    ("marker_format", "expected"),
    [
        ("label", "card [REDACTED:CREDIT_CARD], mail [REDACTED:EMAIL]"),
        ("asterisks", "card *******************, mail ****************"),
        ("<{entity}>", "card <CREDIT_CARD>, mail <EMAIL>"),
        ("[PII]", "card [PII], mail [PII]"),
    ],
)
def test_marker_formats_keywords_templates_and_literals(marker_format: str, expected: str) -> None:
    config = PII_DOCS_EXAMPLE.replace('marker_format: "label"', f'marker_format: "{marker_format}"')
    assert _redacted(config) == expected


@pytest.mark.parametrize(
    ("section", "words"),
    [
        ("global_rate_limit: {max_requests: 1000, window_seconds: 60}", "scope: global"),
        ("token_rate_limit: {max_tokens: 500000, window_seconds: 3600}", "tokens_per_minute"),
        ("user_rate_limit: {max_requests: 30, window_seconds: 60}", "tenants.header"),
        ("ip_rate_limit: {max_requests: 100, window_seconds: 60}", "no per-IP limits"),
        ("rate_limits: {per_key: {rpm: 60}}", "policy.rate-limit rules"),
        ("size_limits: {max_body_bytes: 1048576}", "server.max_body_bytes"),
    ],
)
def test_the_docs_rate_limit_sections_say_where_they_go(section: str, words: str) -> None:
    """The docs' rate-limits page writes top-level sections; here limits are a policy."""
    message = _problems("pack: {name: t}\npolicies: {chain: []}\n" + section + "\n")
    key = section.split(":")[0]
    assert f"cfg.yaml:3: {key}: unknown key here: " in message and words in message, message


@pytest.mark.parametrize(
    ("line", "key", "words"),
    [
        ("secret_key_ref: {store: openai-api-key}", "secret_key_ref.store", "no config-variable"),
        ("api_key: sk-live-not-echoed-1234", "api_key", "never written in the config"),
    ],
)
def test_the_docs_key_references_say_what_to_write(line: str, key: str, words: str) -> None:
    """The docs' config-variable store and literal `api_key` are refused with the env form."""
    message = _problems(
        "pack: {name: t}\npolicies: {chain: []}\nproviders:\n  targets:\n"
        f"    - {{id: a, provider: openai, models: ['*'], {line}}}\n"
    )
    assert f"providers.targets[0].{key}: unknown key: the Keeptrusts docs" in message, message
    assert words in message and "secret_key_ref: {env: VARIABLE_NAME}" in message
    assert "sk-live" not in message
