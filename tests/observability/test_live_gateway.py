"""The running gateway's /metrics, scraped by a real Prometheus after real traffic."""

from __future__ import annotations

import random
import re
import string
from pathlib import Path

import httpx

from tests.fakes.gateway import GatewayFactory
from tests.fakes.prometheus import PrometheusServer, promtool
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV, openai_config

CHAIN = "[pii-detector, dlp-filter]"
POLICY = 'pii-detector: {action: redact}\n  dlp-filter: {blocked_terms: ["project atlas"], action: block}'


CLIENT = httpx.Client(timeout=10)


def send(gw, text: str, model: str = "gpt-4o") -> int:  # type: ignore[no-untyped-def]
    r = CLIENT.post(
        gw.base_url + "/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": text}]},
    )
    return r.status_code


def test_seed_decisions_query_against_live_gateway(
    gateways: GatewayFactory, fake: FakeUpstream, tmp_path: Path
) -> None:
    gw = gateways.start(openai_config(("a", fake.base_url), chain=CHAIN, policy=POLICY), env=ENV)
    statuses = [send(gw, "hello there") for _ in range(5)]
    statuses += [send(gw, "mail me at jane.doe@example.com") for _ in range(3)]
    statuses += [send(gw, "what about project atlas?") for _ in range(2)]
    assert statuses == [200] * 8 + [409] * 2
    prom = PrometheusServer(tmp_path, [f"127.0.0.1:{gw.port}"]).start()
    try:
        got = prom.wait_for(
            "sum by (decision) (keeptrusts_policy_decisions_total)",
            lambda rows: (
                {r["metric"]["decision"]: float(r["value"][1]) for r in rows}.get("allow") == 5.0
            ),
        )
        by = {r["metric"]["decision"]: float(r["value"][1]) for r in got}
        assert by == {"allow": 5.0, "redact": 3.0, "block": 2.0, "escalate": 0.0}
    finally:
        prom.stop()


def test_metrics_pass_promtool_and_unknown_models_add_no_labels(
    gateways: GatewayFactory, fake: FakeUpstream, tmp_path: Path
) -> None:
    gw = gateways.start(openai_config(("a", fake.base_url), chain=CHAIN, policy=POLICY), env=ENV)
    send(gw, "warm up")
    before = httpx.get(gw.url + "/metrics").text
    rng = random.Random(7)
    for _ in range(500):
        suffix = "".join(rng.choices(string.ascii_lowercase + string.digits, k=8))
        send(gw, "hi", model=f"gpt-4o{suffix}")  # matches the gpt-4o* glob; not a known model
    after = httpx.get(gw.url + "/metrics").text

    def label_values(text: str, label: str) -> set[str]:
        return set(re.findall(label + r'="([^"]*)"', text))

    new_models = label_values(after, "model") - label_values(before, "model")
    assert new_models <= {"other"}
    series_before = {
        line.split(" ")[0] for line in before.splitlines() if line and not line.startswith("#")
    }
    series_after = {
        line.split(" ")[0] for line in after.splitlines() if line and not line.startswith("#")
    }
    assert len(series_after - series_before) < 30
    metrics_file = tmp_path / "metrics.txt"
    metrics_file.write_text(after)
    result = promtool("check", "metrics", stdin=after)
    assert result.returncode == 0, result.stdout + result.stderr
