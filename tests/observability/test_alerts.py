"""deploy/prometheus/alerts.yaml: promtool checks it, its unit tests pass, it names real metrics."""

from __future__ import annotations

from tests.fakes.prometheus import promtool
from tests.observability.promql import ALERTS, ALERTS_TEST, alert_rules, exposed_names, metrics_in

EXPECTED = {
    "KeeptrustsGatewayDown",
    "KeeptrustsUpstreamErrorRate",
    "KeeptrustsOverheadOverBudget",
    "KeeptrustsBlockRateSpike",
    "KeeptrustsEventSpoolGrowing",
    "KeeptrustsEventsDropped",
    "KeeptrustsBudgetNearlySpent",
}


def test_promtool_check_rules() -> None:
    result = promtool("check", "rules", str(ALERTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_test_rules() -> None:
    result = promtool("test", "rules", ALERTS_TEST.name, cwd=ALERTS_TEST.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_alerts_cover_the_issue_and_are_documented() -> None:
    rules = alert_rules()
    assert {r["alert"] for r in rules} == EXPECTED
    for rule in rules:
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
    tested = ALERTS_TEST.read_text()
    for name in EXPECTED:
        assert f"alertname: {name}" in tested, f"{name} has no promtool unit test"


def test_every_metric_an_alert_names_is_exposed() -> None:
    exposed = exposed_names()
    for rule in alert_rules():
        missing = metrics_in(rule["expr"]) - exposed
        assert not missing, f"{rule['alert']} queries {missing}, which /metrics does not expose"
    gateway_down = next(r for r in alert_rules() if r["alert"] == "KeeptrustsGatewayDown")
    assert gateway_down["expr"].startswith('up{job=~"keeptrusts-gateway')
