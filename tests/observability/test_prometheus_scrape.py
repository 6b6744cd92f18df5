"""A real Prometheus scrapes the gateway's registry: the seed's query, every dashboard query and the
alert rules work against it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from keeptrusts.telemetry.metrics import Metrics
from tests.fakes.prometheus import MetricsTarget, PrometheusServer
from tests.observability.promql import ALERTS, dashboard_exprs, traffic

DECISIONS = {"allow": 5, "redact": 2, "block": 3}


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    metrics = Metrics()
    traffic(metrics, DECISIONS)
    target = MetricsTarget(metrics.render).start()
    prom = PrometheusServer(
        tmp_path_factory.mktemp("prometheus"), [target.address], rule_files=[ALERTS]
    )
    try:
        yield prom.start()
    finally:
        prom.stop()
        target.stop()


def test_seed_query_returns_the_decisions(scraped: PrometheusServer) -> None:
    expr = "sum by (decision) (keeptrusts_policy_decisions_total)"
    result = scraped.wait_for(expr, lambda r: len(r) == 4)
    got = {r["metric"]["decision"]: float(r["value"][1]) for r in result}
    assert got == {"allow": 5.0, "redact": 2.0, "block": 3.0, "escalate": 0.0}


def test_every_dashboard_query_runs(scraped: PrometheusServer) -> None:
    scraped.wait_for("up", lambda r: bool(r) and r[0]["value"][1] == "1")
    for _, expr in dashboard_exprs():
        scraped.query(expr)  # raises PrometheusError on a bad query, naming it
    rows = scraped.query("count by (version, pack, sha) (keeptrusts_config_info)")
    assert [r["metric"]["version"] for r in rows] == ["1.4.0"]


def test_alert_rules_load_and_evaluate(scraped: PrometheusServer) -> None:
    def evaluated() -> list[dict[str, str]]:
        groups = scraped.api("rules")["groups"]
        return [r for g in groups for r in g["rules"]]

    deadline = time.monotonic() + 20
    rules = evaluated()
    while any(r.get("lastEvaluation", "").startswith("0001") for r in rules):
        assert time.monotonic() < deadline, rules
        time.sleep(0.25)
        rules = evaluated()
    assert len(rules) == 7
    assert all(r["health"] == "ok" for r in rules), rules
