"""`kt policy test` and `size-limits.max_prompt_chars`: the one request check that depends on
the text alone is evaluated where it stands in the chain, on the text as it reaches it, so the
tool reports the block the gateway answers (it said `not-text` and `decision: allow` while the
gateway answered 409)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.fakes.gateway import GatewayFactory
from tests.fakes.kt import ask, kt_policy, predicted_and_served

CONFIG = """pack: {name: sized, version: 1.0.0}
providers:
  targets:
    - {id: echo, provider: echo, models: ["*"]}
policies:
  chain: [pii-detector, size-limits, dlp-filter]
policy:
  size-limits: {max_prompt_chars: 40}
  dlp-filter: {blocked_terms: ["project atlas"], action: block}
"""
LONG = "please summarise the quarterly numbers for me"  # 45 characters
SHORT = "hi from jane@example.com"


def test_over_the_limit_is_the_gateways_block(gateways: GatewayFactory, tmp_path: Path) -> None:
    printed, reply = predicted_and_served(gateways, tmp_path, CONFIG, LONG)
    assert printed == [
        "pii-detector  allow          -",
        "size-limits   block          size.max_prompt_chars",
        "dlp-filter    not-reached    -",
        "decision: block",
        "blocked by size-limits (size.max_prompt_chars); nothing is sent on",
    ]
    assert reply.status_code == 409 and reply.json()["error"]["policy"] == "size-limits"


def test_under_the_limit_the_chain_goes_on(tmp_path: Path) -> None:
    config = tmp_path / "sized.yaml"
    config.write_text(CONFIG)
    done = policy_test(config, SHORT)
    assert done.stdout.splitlines() == [
        "pii-detector  redact         pii.email",
        "size-limits   allow          -",
        "dlp-filter    allow          -",
        "decision: redact",
        "text:",
        "hi from [REDACTED:EMAIL]",
    ]


def test_counted_after_the_redactions_before_it(gateways: GatewayFactory, tmp_path: Path) -> None:
    # 41 characters as typed, 31 once the e-mail address is a marker: the gateway counts the
    # latter (pii-detector runs first), so both pass it
    config = tmp_path / "sized.yaml"
    config.write_text(CONFIG)
    text = "write to jane.doe.smith@example.com today"
    assert len(text) > 40
    done = policy_test(config, text)
    assert "size-limits   allow          -" in done.stdout, done.stdout
    gw = gateways.start(CONFIG)
    reply = ask(gw, text)
    assert reply.status_code == 200, reply.text


def test_responses_are_not_size_checked(tmp_path: Path) -> None:
    config = tmp_path / "sized.yaml"
    config.write_text(CONFIG)
    done = policy_test(config, LONG, "--stage", "response")
    assert "size-limits   not-at-stage   -" in done.stdout, done.stdout
    assert "decision: allow" in done.stdout


def policy_test(config: Path, text: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return kt_policy("test", str(config), "--input", text, *extra)
