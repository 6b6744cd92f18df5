"""What the dashboard and the alert rules query, and what the gateway's registry exposes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

from keeptrusts.telemetry.metrics import DECISIONS, Metrics

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "keeptrusts-gateway.json"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yaml"
ALERTS_TEST = ROOT / "deploy" / "prometheus" / "alerts_test.yaml"
GRAFANA_SCHEMA = ROOT.parent / "shared" / "schemas" / "grafana" / "dashboard.jsonschema.json"

# Our own files, not user input: a plain regex is fine here.
_METRIC = re.compile(r"\b((?:keeptrusts|process)_[a-z0-9_]+)")
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("_sum", "_count", "_created"),
}


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def panels(dash: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in (dash or dashboard())["panels"]:
        out.append(p)
        out.extend(p.get("panels", []))
    return out


def dashboard_exprs() -> list[tuple[str, str]]:
    """(panel title, expr) for every target of every panel."""
    return [(p["title"], t["expr"]) for p in panels() for t in p.get("targets", [])]


def alert_rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(ALERTS.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def metrics_in(expr: str) -> set[str]:
    return set(_METRIC.findall(expr))


def exposed_names(metrics: Metrics | None = None) -> set[str]:
    """Every sample name the registry exposes or will expose (labelled families have no sample
    until first use, so each family's name is expanded by its type's suffixes)."""
    m = metrics or Metrics()
    names: set[str] = set()
    for family in text_string_to_metric_families(m.render().decode()):
        names.add(family.name)
        names.update(family.name + s for s in _SUFFIXES.get(family.type, ()))
        names.update(sample.name for sample in family.samples)
    return names


def traffic(m: Metrics, decisions: dict[str, int]) -> None:
    """Some of everything, as a gateway would record after a few requests."""
    for decision, n in decisions.items():
        assert decision in DECISIONS
        m.decisions.labels(decision=decision).inc(n)
    m.evaluations.labels(policy="pii-detector", result="redact").inc()
    m.requests.labels(provider="openai-primary", model="gpt-4o-mini", status="200").inc(3)
    m.requests.labels(provider="openai-primary", model="gpt-4o-mini", status="502").inc()
    m.duration.labels(provider="openai-primary").observe(0.8)
    m.overhead.observe(0.0004)
    m.tokens.labels(direction="input", model="gpt-4o-mini").inc(11)
    m.tokens.labels(direction="output", model="gpt-4o-mini").inc(7)
    m.cost.labels(tenant="team-a", model="gpt-4o-mini").inc(0.0001)
    m.in_flight.set(1)
    m.config_info.labels(version="1.4.0", pack="customer-support", sha="abc123").set(1)
    m.events_spool_depth.set(4)
    m.budget_spent.labels(tenant="team-a").set(45)
    m.budget_remaining.labels(tenant="team-a").set(5)
