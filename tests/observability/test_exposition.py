"""The registry's text exposition passes `promtool check metrics` (names, units, HELP, TYPE)."""

from __future__ import annotations

from keeptrusts.telemetry.metrics import Metrics
from tests.fakes.prometheus import promtool
from tests.observability.promql import exposed_names, traffic


def test_promtool_check_metrics_after_traffic() -> None:
    m = Metrics()
    traffic(m, {"allow": 3, "redact": 1, "block": 1})
    result = promtool("check", "metrics", stdin=m.render().decode())
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == ""


def test_promtool_check_metrics_at_start_up() -> None:
    result = promtool("check", "metrics", stdin=Metrics().render().decode())
    assert result.returncode == 0, result.stdout + result.stderr


def test_contract_metrics_are_exposed_from_start_up() -> None:
    exposed = exposed_names()
    for name in (
        "keeptrusts_policy_decisions_total",
        "keeptrusts_gateway_policy_evaluations_total",
        "keeptrusts_gateway_requests_total",
        "keeptrusts_gateway_request_duration_seconds_bucket",
        "keeptrusts_gateway_overhead_seconds_bucket",
        "keeptrusts_gateway_tokens_total",
        "keeptrusts_gateway_cost_usd_total",
        "keeptrusts_gateway_in_flight_requests",
        "keeptrusts_config_info",
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_cpu_seconds_total",
    ):
        assert name in exposed, name
    text = Metrics().render().decode()
    for decision in ("allow", "redact", "escalate", "block"):
        assert f'keeptrusts_policy_decisions_total{{decision="{decision}"}} 0.0' in text
