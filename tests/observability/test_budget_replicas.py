"""Replicas sharing one budget store, scraped by a real Prometheus: the dashboard's budget panels
and `KeeptrustsBudgetNearlySpent` show the real budget, not a sum of the replicas' views.

Before: "Budget left" summed each replica's copy ($0.92 against a real $0.28 in the audit).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from keeptrusts.config.load import load_texts
from keeptrusts.limits.backend import LimitBackend, create_backend
from keeptrusts.pipeline.verdict import Result
from keeptrusts.policies.budget import Budget
from keeptrusts.policies.registry import KINDS, BuildContext
from keeptrusts.pricing import Pricing
from keeptrusts.telemetry.metrics import Metrics
from tests.fakes.prometheus import MetricsTarget, PrometheusServer
from tests.observability.promql import ALERTS, alert_rules, panels
from tests.policies.limits_helpers import exchange, used

COST = 0.00075  # 1000 + 1000 tokens of gpt-4o-mini
LIMIT = 0.0032  # four requests leave $0.0002: under 10%
CONFIG = f"""
pack: {{name: replicas}}
tenants: {{known: [team-a, team-b], default: team-a}}
policies: {{chain: [budget]}}
policy:
  budget: {{rules: [{{scope: tenant, limit_usd: {LIMIT}, window: day}}]}}
"""


def replica(metrics: Metrics, store: LimitBackend) -> Budget:
    loaded = load_texts([("replicas.yaml", CONFIG)])
    ctx = BuildContext(loaded.config, Pricing(loaded.config.pricing), store, metrics)
    policy = KINDS["budget"].build(loaded.settings["budget"], ctx)
    assert isinstance(policy, Budget)
    return policy


async def traffic(policies: list[Budget]) -> None:
    """Two requests through each replica, one after the other (as in the audit)."""
    for policy in policies:
        for _ in range(2):
            ex = exchange(tenant="team-a")
            assert (await policy.on_request(ex)).result is Result.ALLOW
            used(ex, 1000, 1000)
            await policy.on_complete(ex)


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    store = create_backend("memory", None, "kt")  # shared, as Redis is between replicas
    replicas = [Metrics(), Metrics()]
    policies = [replica(m, store) for m in replicas]
    asyncio.run(traffic(policies))
    targets = [MetricsTarget(m.render).start() for m in replicas]
    server = PrometheusServer(
        tmp_path_factory.mktemp("prometheus"), [t.address for t in targets], rule_files=[ALERTS]
    )
    try:
        server.start()
        server.wait_for("keeptrusts_budget_remaining_usd", lambda rows: len(rows) == 4)
        yield server
    finally:
        server.stop()
        for t in targets:
            t.stop()
        del policies


def panel_expr(title: str) -> str:
    (panel,) = [p for p in panels() if p["title"] == title]
    expr: str = panel["targets"][0]["expr"]
    return expr


def by_tenant(rows: list[dict[str, object]]) -> dict[str, float]:
    return {r["metric"]["tenant"]: float(r["value"][1]) for r in rows}  # type: ignore[index]


def test_each_replica_shows_its_own_view(prom: PrometheusServer) -> None:
    rows = prom.query('keeptrusts_budget_remaining_usd{tenant="team-a"}')
    assert sorted(float(r["value"][1]) for r in rows) == pytest.approx(
        [LIMIT - 4 * COST, LIMIT - 2 * COST]
    )


def test_budget_left_panel_shows_the_real_budget(prom: PrometheusServer) -> None:
    got = by_tenant(prom.query(panel_expr("Budget left by tenant")))
    assert got == pytest.approx({"team-a": LIMIT - 4 * COST, "team-b": LIMIT})


def test_budget_used_panel_shows_the_real_share(prom: PrometheusServer) -> None:
    got = by_tenant(prom.query(panel_expr("Budget used by tenant")))
    assert got == pytest.approx({"team-a": 4 * COST / LIMIT, "team-b": 0.0})


def test_nearly_spent_alert_fires_once_for_the_tenant(prom: PrometheusServer) -> None:
    (rule,) = [r for r in alert_rules() if r["alert"] == "KeeptrustsBudgetNearlySpent"]
    rows = prom.query(rule["expr"])
    assert [r["metric"] for r in rows] == [{"tenant": "team-a"}]
    assert float(rows[0]["value"][1]) == pytest.approx((LIMIT - 4 * COST) / LIMIT)
