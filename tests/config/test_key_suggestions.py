"""An unknown key, policy kind or choice says what was probably meant and what the section
takes, so a typo (or a key remembered from another product) is fixed from the message alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from keeptrusts.config.load import ConfigError, load_texts
from keeptrusts.config.model import Config
from keeptrusts.config.suggest import keys_at
from keeptrusts.policies.registry import KINDS
from tests.fakes.kt import kt_policy

HEAD = "pack: {name: t}\n"


def problems(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_texts([("cfg.yaml", text)])
    return str(info.value)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "policies: {chain: [dlp-filter]}\npolicy:\n  dlp-filter: {terms: [x]}\n",
            "cfg.yaml:4: policy.dlp-filter.terms: unknown key: did you mean `blocked_terms`? "
            "(keys here: action, blocked_terms, detect_patterns, fuzzy_matching, max_distance, "
            "stages)",
        ),
        (
            "polices: {chain: []}\n",
            "cfg.yaml:2: polices: unknown key: did you mean `policies`?",
        ),
        (
            "policies: {chain: []}\nproviders:\n  targets:\n"
            "    - {id: a, provider: openai, modles: [gpt-4o]}\n",
            "cfg.yaml:5: providers.targets[0].modles: unknown key: did you mean `models`?",
        ),
        (
            "policies: {chain: []}\ntenants: {Known: [a]}\n",
            "cfg.yaml:3: tenants.Known: unknown key: did you mean `known`?",
        ),
        (
            "policies: {chain: [pii-detector]}\npolicy:\n  pii-detector: {max-findings: 3}\n",
            "policy.pii-detector.max-findings: unknown key (check its spelling and "
            "indentation; keys here: action, ",
        ),
        (
            "policies: {chain: [pii-detector]}\npolicy:\n  pii-detector: {action: redacted}\n",
            "policy.pii-detector.action: 'redacted' is not one of redact|block; "
            "did you mean `redact`?",
        ),
        (
            "policies: {chain: [dlp]}\n",
            "policies.chain[0]: unknown policy kind 'dlp' (did you mean `dlp-filter`?); "
            "known kinds: ",
        ),
    ],
    ids=["kind key", "top", "list item", "mapping", "no match", "choice", "kind"],
)
def test_unknown_names_say_what_was_meant(body: str, expected: str) -> None:
    assert expected in problems(HEAD + body)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_key_of_every_kind_is_found_from_a_typo(kind: str) -> None:
    """A key with its last letter missing is offered back, for every key a kind takes."""
    keys = keys_at(KINDS[kind].settings, ())
    assert keys
    for key in keys:
        if len(key) < 5:
            continue
        text = f"{HEAD}policies: {{chain: [{kind}]}}\npolicy:\n  {kind}: {{{key[:-1]}: 1}}\n"
        assert f"did you mean `{key}`?" in problems(text), key


def test_sections_list_their_keys() -> None:
    assert "targets" in keys_at(Config, ("providers",))
    assert "secret_key_ref" in keys_at(Config, ("providers", "targets", 0))
    assert keys_at(Config, ("pack", "name")) == []  # a value, not a section


def test_lint_prints_the_hint(tmp_path: Path) -> None:
    path = tmp_path / "cfg.yaml"
    path.write_text(HEAD + "policies: {chain: [dlp-filter]}\npolicy:\n  dlp-filter: {terms: [x]}\n")
    done = kt_policy("lint", str(path))
    assert done.returncode == 1
    assert f"{path}:4: policy.dlp-filter.terms: unknown key: did you mean `blocked_terms`?" in (
        done.stderr
    )
