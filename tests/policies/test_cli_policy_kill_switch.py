"""`pack.enabled: false` (the kill switch) skips every policy in the gateway; `kt policy test`
says so (every policy `disabled`, decision allow, the text as sent) instead of showing the
verdicts of policies that will not run, and `kt policy lint` warns that the switch is on."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.gateway import GatewayFactory
from tests.fakes.kt import kt_policy, predicted_and_served

CONFIG = """pack: {name: off, version: 1.0.0, enabled: false}
providers:
  targets:
    - {id: echo, provider: echo, models: ["*"]}
policies:
  chain: [pii-detector, dlp-filter]
policy:
  dlp-filter: {blocked_terms: ["project atlas"], action: block}
"""
TEXT = "mail a@b.co about project atlas"


def test_test_shows_that_no_policy_runs(gateways: GatewayFactory, tmp_path: Path) -> None:
    printed, reply = predicted_and_served(gateways, tmp_path, CONFIG, TEXT)
    assert printed == [
        "pii-detector  disabled       -",
        "dlp-filter    disabled       -",
        "decision: allow",
        "pack.enabled is false (the kill switch): no policy runs",
        "text:",
        TEXT,
    ]
    assert reply.status_code == 200, reply.text
    assert reply.json()["choices"][0]["message"]["content"] == TEXT


def test_lint_warns_that_the_switch_is_on(tmp_path: Path) -> None:
    path = tmp_path / "off.yaml"
    path.write_text(CONFIG)
    done = kt_policy("lint", str(path))
    assert done.returncode == 0, done.stderr
    assert done.stderr == (
        f"warning: {path}:1: pack.enabled: false (the kill switch), so no policy runs: "
        "traffic is routed ungoverned\n"
    )
