"""Every kind's config errors name the file, the line and the key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from keeptrusts.config.load import ConfigError, load_texts

HEAD = "pack: {name: t}\npolicies:\n  chain: [%s]\npolicy:\n"


def problems(kind: str, body: str) -> str:
    text = HEAD % kind + body
    with pytest.raises(ConfigError) as info:
        load_texts([("cfg.yaml", text)])
    return str(info.value)


@pytest.mark.parametrize(
    ("kind", "body", "line", "key", "words"),
    [
        (
            "pii-detector",
            "  pii-detector:\n    action: mask\n",
            6,
            "policy.pii-detector.action",
            "redact|block",
        ),
        (
            "pii-detector",
            "  pii-detector:\n    entities: [email, passport]\n",
            6,
            "policy.pii-detector.entities[1]",
            "passport",
        ),
        (
            "pii-detector",
            "  pii-detector:\n    detect_patterns: ['(a']\n",
            6,
            "policy.pii-detector.detect_patterns[0].pattern",
            "RE2",
        ),
        (
            "pii-detector",
            "  pii-detector:\n    redaction: {marker: x}\n",
            6,
            "policy.pii-detector.redaction.marker",
            "unknown key",
        ),
        (
            "pii-detector",
            "  pii-detector:\n    phone_regions: [XX]\n",
            6,
            "policy.pii-detector.phone_regions",
            "XX",
        ),
        (
            "prompt-injection",
            "  prompt-injection:\n    response: {action: drop}\n",
            6,
            "policy.prompt-injection.response.action",
            "block|escalate",
        ),
        (
            "prompt-injection",
            "  prompt-injection:\n    detection:\n      attack_patterns: ['a(?=b)']\n",
            7,
            "policy.prompt-injection.detection.attack_patterns[0]",
            "RE2",
        ),
        (
            "prompt-injection",
            "  prompt-injection:\n    embedding_threshold: 0.7\n",
            6,
            "policy.prompt-injection.embedding_threshold",
            "unknown key",
        ),
        (
            "dlp-filter",
            "  dlp-filter:\n    max_distance: 9\n",
            6,
            "policy.dlp-filter.max_distance",
            "8",
        ),
        (
            "dlp-filter",
            "  dlp-filter:\n    blocked_terms: atlas\n",
            6,
            "policy.dlp-filter.blocked_terms",
            "list",
        ),
        (
            "dlp-filter",
            "  dlp-filter:\n    stages: [both]\n",
            6,
            "policy.dlp-filter.stages[0]",
            "request|response",
        ),
        (
            "model-allowlist",
            "  model-allowlist:\n    tenants: {a: gpt-4o}\n",
            6,
            "policy.model-allowlist.tenants.a",
            "list",
        ),
        (
            "model-allowlist",
            "  model-allowlist:\n    model: [x]\n",
            6,
            "policy.model-allowlist.model",
            "unknown key",
        ),
        (
            "size-limits",
            "  size-limits:\n    max_messages: 0\n",
            6,
            "policy.size-limits.max_messages",
            "greater",
        ),
        (
            "size-limits",
            "  size-limits:\n    max_tokens_action: truncate\n",
            6,
            "policy.size-limits.max_tokens_action",
            "clamp|block",
        ),
    ],
)
def test_errors_name_file_line_and_key(
    kind: str, body: str, line: int, key: str, words: str
) -> None:
    message = problems(kind, body)
    assert f"cfg.yaml:{line}: {key}:" in message, message
    assert words in message, message


def test_valid_configs_load() -> None:
    text = HEAD % "prompt-injection, pii-detector, dlp-filter, model-allowlist, size-limits" + (
        "  pii-detector: {action: block, entities: [email, secrets], phone_regions: [DE]}\n"
        "  prompt-injection: {response: {action: escalate, message: no}}\n"
        "  dlp-filter: {blocked_terms: [x], fuzzy_matching: true, max_distance: 2}\n"
        "  model-allowlist: {models: ['gpt-*'], tenants: {a: ['*']}}\n"
        "  size-limits: {max_messages: 5, max_prompt_chars: 1000, max_tokens: 10}\n"
    )
    loaded = load_texts([("cfg.yaml", text)])
    assert set(loaded.settings) == {
        "prompt-injection",
        "pii-detector",
        "dlp-filter",
        "model-allowlist",
        "size-limits",
    }


def test_embedded_default_loads_and_builds() -> None:
    from keeptrusts.cli_policy import build_policies
    from keeptrusts.config.load import load_files

    policies = build_policies(load_files([]))
    assert [p.name for p in policies] == ["prompt-injection", "pii-detector", "dlp-filter"]


@pytest.mark.parametrize(
    ("body", "line", "key", "words"),
    [
        ("policies: {chain: [dlp-filter]}\n", 3, "policies", "duplicate key (first at line 2)"),
        ("<<: {pack: {name: u}}\n", 3, "<<", "merge keys"),
        ("x: &a [1]\ny: *a\n", 4, "y", "aliases (*a)"),
        ("pricing: !env PRICES\n", 3, "pricing", "tag !env"),
        ("state: {backend: redis}\n", 3, "state.url", "required when backend is redis"),
        ('state: {backend: redis, url: "redis://h:port/0"}\n', 3, "state.url", "port"),
        (
            'tenants:\n  identities: {"spiffe://c/ns/[z-a]/*": t}\n',
            4,
            "tenants.identities.spiffe://c/ns/[z-a]/*",
            "'spiffe://c/ns/[z-a]/*' is not a valid glob (invalid character class range: z-a)",
        ),
        (
            "providers:\n  targets:\n    - {id: a, provider: echo, models: ['gpt-[z-a]']}\n",
            5,
            "providers.targets[0].models[0]",
            "'gpt-[z-a]' is not a valid glob",
        ),
    ],
)
def test_yaml_and_state_errors_name_file_line_and_key(
    tmp_path: Path, body: str, line: int, key: str, words: str
) -> None:
    from keeptrusts.config.load import load_files

    path = tmp_path / "cfg.yaml"
    path.write_text("pack: {name: t}\npolicies: {chain: []}\n" + body)
    with pytest.raises(ConfigError) as info:
        load_files([str(path)])
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: {key}: "), message
    assert words in message and "<unicode string>" not in message
