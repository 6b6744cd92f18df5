"""deploy/grafana/keeptrusts-gateway.json: Grafana 11.6 schema, the seed's panels, PromQL that parses,
and only metrics the gateway exposes."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.fakes.prometheus import promtool
from tests.observability.promql import (
    GRAFANA_SCHEMA,
    dashboard,
    dashboard_exprs,
    exposed_names,
    metrics_in,
    panels,
)

SEED = {
    "Gateway Request Rate": (
        "timeseries",
        'rate(istio_requests_total{destination_service=~"keeptrusts-gateway.*"}[5m])',
    ),
    "Policy Decisions": ("piechart", "sum by (decision) (keeptrusts_policy_decisions_total)"),
    "P99 Latency": (
        "gauge",
        "histogram_quantile(0.99, rate(istio_request_duration_milliseconds_bucket"
        '{destination_service=~"keeptrusts-gateway.*"}[5m]))',
    ),
}


def schema() -> dict[str, object]:
    loaded: dict[str, object] = json.loads(GRAFANA_SCHEMA.read_text())
    return loaded


def test_dashboard_validates_against_grafana_schema() -> None:
    jsonschema.Draft7Validator(schema()).validate(dashboard())


@pytest.mark.parametrize("index", range(len(dashboard()["panels"])))
def test_each_panel_validates(index: int) -> None:
    s = schema()
    panel = dashboard()["panels"][index]
    kind = "RowPanel" if panel["type"] == "row" else "Panel"
    sub = {"definitions": s["definitions"], "$ref": f"#/definitions/{kind}"}
    jsonschema.Draft7Validator(sub).validate(panel)


def test_seed_panels_are_there_unchanged() -> None:
    by_title = {p["title"]: p for p in panels()}
    for title, (kind, expr) in SEED.items():
        assert by_title[title]["type"] == kind
        assert expr in [t["expr"] for t in by_title[title]["targets"]]


def test_gateway_panels_cover_the_issue() -> None:
    named = set().union(*(metrics_in(e) for _, e in dashboard_exprs()))
    for metric in (
        "keeptrusts_gateway_overhead_seconds_bucket",
        "keeptrusts_gateway_requests_total",
        "keeptrusts_gateway_tokens_total",
        "keeptrusts_gateway_cost_usd_total",
        "keeptrusts_events_spool_depth",
        "keeptrusts_config_info",
        "keeptrusts_gateway_in_flight_requests",
    ):
        assert metric in named
    ids = [p["id"] for p in panels()]
    assert len(ids) == len(set(ids))


def test_every_panel_expr_parses(tmp_path: Path) -> None:
    exprs = dashboard_exprs()
    rules = [{"record": f"dashboard:expr_{i}", "expr": e} for i, (_, e) in enumerate(exprs)]
    path = tmp_path / "dashboard_rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in result.stdout


def test_every_metric_a_panel_names_is_exposed() -> None:
    exposed = exposed_names()
    for title, expr in dashboard_exprs():
        missing = metrics_in(expr) - exposed
        assert not missing, f"panel {title!r} queries {missing}, which /metrics does not expose"
