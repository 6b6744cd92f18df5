"""`kt policy test` runs the text policies one after another on the text as the previous ones
left it, as the gateway's chain does: a term inside an e-mail address that pii-detector has
already redacted is not there for dlp-filter to block (the tool said 'decision: block' while
the gateway answered 200 with the address redacted)."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.gateway import GatewayFactory
from tests.fakes.kt import predicted_and_served

CONFIG = """pack: {name: order, version: 1.0.0}
providers:
  targets:
    - {id: echo, provider: echo, models: ["*"]}
policies:
  chain: [pii-detector, dlp-filter]
policy:
  dlp-filter: {blocked_terms: ["zeus"], action: block}
"""
TEXT = "write to zeus@example.com"


def test_a_later_policy_reads_the_redacted_text(gateways: GatewayFactory, tmp_path: Path) -> None:
    printed, reply = predicted_and_served(gateways, tmp_path, CONFIG, TEXT)
    assert printed == [
        "pii-detector  redact         pii.email",
        "dlp-filter    allow          -",
        "decision: redact",
        "text:",
        "write to [REDACTED:EMAIL]",
    ]
    assert reply.status_code == 200, reply.text
    assert reply.json()["choices"][0]["message"]["content"] == "write to [REDACTED:EMAIL]"
