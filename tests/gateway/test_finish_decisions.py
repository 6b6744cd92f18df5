"""`keeptrusts_policy_decisions_total` counts the requests the policy chain ran on: a request
refused before any policy ran (malformed, too large, overloaded) is accounted everywhere else
but adds no `decision="allow"`. And the attempt outcomes the HELP text lists."""

from __future__ import annotations

from typing import Any, cast

from prometheus_client.parser import text_string_to_metric_families

from keeptrusts.config.load import load_texts
from keeptrusts.config.runtime import Runtime, compile_runtime
from keeptrusts.gateway.finish import finish
from keeptrusts.gateway.state import GatewayState
from keeptrusts.limits.memory import MemoryBackend
from keeptrusts.pipeline.context import Exchange
from keeptrusts.pipeline.verdict import Evaluation, Result, Stage
from keeptrusts.telemetry.metrics import Metrics

CONFIG = """
pack: {name: decisions-test, version: 1.0.0}
providers:
  targets:
    - {id: echo, provider: echo, models: ["*"]}
policies: {chain: [dlp-filter]}
policy:
  dlp-filter: {blocked_terms: ["project atlas"], action: block}
logging: {access_log: false}
"""


def setup() -> tuple[GatewayState, Runtime]:
    rt = compile_runtime(load_texts([("d.yaml", CONFIG)]), cast(Any, None), MemoryBackend())
    state = GatewayState(
        runtime=rt,
        metrics=Metrics(),
        session=cast(Any, None),
        limits=MemoryBackend(),
        gateway_id="gw-test",
    )
    return state, rt


def exchange(rt: Runtime) -> Exchange:
    return Exchange(rt, "chat", {}, b"", "req-1", "gpt-4o", False)


def samples(metrics: Metrics, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    out: dict[tuple[tuple[str, str], ...], float] = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for s in family.samples:
            if s.name == name:
                out[tuple(sorted(s.labels.items()))] = s.value
    return out


def decisions(metrics: Metrics) -> dict[str, float]:
    got = samples(metrics, "keeptrusts_policy_decisions_total")
    return {dict(k)["decision"]: v for k, v in got.items()}


def requests(metrics: Metrics) -> float:
    return sum(samples(metrics, "keeptrusts_gateway_requests_total").values())


def test_a_request_refused_before_any_policy_is_not_a_decision() -> None:
    state, rt = setup()
    for status in (400, 413, 503):
        finish(state, exchange(rt), status)
    assert decisions(state.metrics) == {"allow": 0, "redact": 0, "escalate": 0, "block": 0}
    assert requests(state.metrics) == 3  # accounted all the same
    assert state.requests_processed == 3


def test_a_request_the_chain_ran_on_counts_its_decision() -> None:
    state, rt = setup()
    ex = exchange(rt)
    ex.record(Evaluation("dlp-filter", Stage.REQUEST, Result.ALLOW, None, 0.1))
    finish(state, ex, 200)
    upstream_failed = exchange(rt)  # the chain allowed it; the provider then failed
    upstream_failed.record(Evaluation("dlp-filter", Stage.REQUEST, Result.ALLOW, None, 0.1))
    finish(state, upstream_failed, 502)
    redacted = exchange(rt)
    redacted.record(Evaluation("dlp-filter", Stage.REQUEST, Result.REDACT, "pii", 0.1))
    finish(state, redacted, 200)
    assert decisions(state.metrics) == {"allow": 2, "redact": 1, "escalate": 0, "block": 0}


def test_a_block_counts_even_without_an_evaluation() -> None:
    state, rt = setup()
    ex = exchange(rt)
    ex.decision = Result.BLOCK  # what the handler sets for any policy_violation reply
    finish(state, ex, 409)
    assert decisions(state.metrics)["block"] == 1


def test_upstream_attempt_outcomes_in_help_include_protocol() -> None:
    text = Metrics().render().decode()
    help_line = next(
        line
        for line in text.splitlines()
        if line.startswith("# HELP keeptrusts_gateway_upstream_attempts_total ")
    )
    for outcome in ("ok", "connect_error", "timeout", "5xx", "429", "4xx", "protocol"):
        assert outcome in help_line, outcome
