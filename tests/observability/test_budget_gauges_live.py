"""The budget gauges of a running gateway follow reloads (the audit's stale-gauge scenario).

Before: after a reload raising the limit, and after one removing the budget policy, /metrics
still showed the old "nearly spent" values, so `KeeptrustsBudgetNearlySpent` kept firing.
"""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.fakes.gateway import Gateway, GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV, openai_config

# a price that makes the fake upstream's few tokens cost cents
PRICING = "pricing:\n  gpt-4o-mini: {input_per_mtok: 10000, output_per_mtok: 10000}\n"
BODY = {"model": "gpt-4o-mini", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}


def config(fake: FakeUpstream, limit: float, chain: str = "[budget]") -> str:
    rule = f"{{scope: tenant, limit_usd: {limit}, window: day, default_max_tokens: 10}}"
    policy = f"budget: {{rules: [{rule}]}}"
    return openai_config(("a", fake.base_url), chain=chain, policy=policy, extra=PRICING)


def budget_gauges(gw: Gateway) -> dict[str, dict[str, float]]:
    text = httpx.get(gw.url + "/metrics").text
    out: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(text):
        if family.name.startswith("keeptrusts_budget_"):
            for s in family.samples:
                out.setdefault(s.labels["tenant"], {})[family.name] = s.value
    return out


def reload(gw: Gateway, text: str) -> None:
    assert gw.config is not None
    gw.config.write_text(text)
    assert httpx.post(gw.url + "/keeptrusts/config/reload").status_code == 200


def test_reloads_update_and_remove_the_budget_gauges(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    gw = gateways.start(config(fake, 0.19), env=ENV)
    assert httpx.post(gw.base_url + "/chat/completions", json=BODY).status_code == 200
    first = budget_gauges(gw)["anonymous"]
    spent = first["keeptrusts_budget_spent_usd"]
    assert spent > 0
    assert first["keeptrusts_budget_remaining_usd"] == pytest.approx(0.19 - spent)
    assert httpx.post(gw.base_url + "/chat/completions", json=BODY).status_code == 429

    reload(gw, config(fake, 1000))
    raised = budget_gauges(gw)["anonymous"]  # no request since: the new limit, the known spend
    assert raised["keeptrusts_budget_spent_usd"] == pytest.approx(spent)
    assert raised["keeptrusts_budget_remaining_usd"] == pytest.approx(1000 - spent)

    reload(gw, config(fake, 1000, chain="[]"))
    assert budget_gauges(gw) == {}
