"""`/health` from the gateway's state: provider reachability from each target's last outcome,
`degraded` for failing event delivery or an unreachable limits backend, every worker's requests
under `--workers`; and `keeptrusts_gateway_circuit_open` read from the live config's breakers."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, cast

import pytest
from prometheus_client.parser import text_string_to_metric_families

from keeptrusts.config.load import load_texts
from keeptrusts.config.runtime import Runtime, compile_runtime
from keeptrusts.gateway import health
from keeptrusts.gateway.health import EVENTS_FAILING_AFTER, health_body
from keeptrusts.gateway.state import GatewayState
from keeptrusts.limits.memory import MemoryBackend
from keeptrusts.providers.base import Provider
from keeptrusts.telemetry.metrics import Metrics
from keeptrusts.telemetry.worker_metrics import WorkerMetrics


def config(*targets: str, threshold: int = 2, cooldown: float = 30.0) -> str:
    lines = ["pack: {name: health-test, version: 1.0.0}", "providers:", "  targets:"]
    for tid in targets:
        kind = "echo" if tid.startswith("echo") else "openai-compatible"
        lines += [
            f"    - id: {tid}",
            f"      provider: {kind}",
            "      base_url: http://127.0.0.1:9/v1",
            '      models: ["*"]',
        ]
    lines += [
        f"  circuit_breaker: {{failure_threshold: {threshold}, cooldown_seconds: {cooldown}}}",
        "policies: {chain: []}",
    ]
    return "\n".join(lines) + "\n"


def runtime(text: str) -> Runtime:
    # the adapters keep the session for later calls; these tests make none
    return compile_runtime(load_texts([("h.yaml", text)]), cast(Any, None), MemoryBackend())


def gateway_state(rt: Runtime | None, metrics: Metrics | None = None, **kw: Any) -> GatewayState:
    return GatewayState(
        runtime=rt,
        metrics=metrics or Metrics(),
        session=cast(Any, None),
        limits=kw.pop("limits", MemoryBackend()),
        gateway_id="gw-test",
        **kw,
    )


def target(rt: Runtime, tid: str) -> Provider:
    return next(p for p in rt.router.providers if p.id == tid)


def circuit_series(metrics: Metrics) -> dict[str, float]:
    for family in text_string_to_metric_families(metrics.render().decode()):
        if family.name == "keeptrusts_gateway_circuit_open":
            assert family.type == "gauge"
            return {s.labels["provider"]: s.value for s in family.samples}
    raise AssertionError("keeptrusts_gateway_circuit_open is not exposed")


# -- providers: last outcome, not the breaker window -------------------------------------------


def test_targets_are_unknown_until_tried_and_echo_is_reachable() -> None:
    body = health_body(gateway_state(runtime(config("a", "echo-1"))))
    assert body["providers"] == {"a": "unknown", "echo-1": "reachable"}
    assert body["status"] == "healthy"


def test_a_failure_below_the_threshold_makes_a_target_unreachable() -> None:
    rt = runtime(config("a", "b", threshold=5))
    state = gateway_state(rt)
    rt.router.succeeded(target(rt, "a"), 0.1, False)
    rt.router.succeeded(target(rt, "b"), 0.1, False)
    assert health_body(state)["status"] == "healthy"
    rt.router.failed(target(rt, "a"), 0.1, False)  # 1 of 5: the breaker is still closed
    body = health_body(state)
    assert body["providers"] == {"a": "unreachable", "b": "reachable"}
    assert body["status"] == "degraded"


def test_a_dead_target_stays_unreachable_after_its_cooldown() -> None:
    rt = runtime(config("a", threshold=2))
    state = gateway_state(rt)
    a = target(rt, "a")
    rt.router.succeeded(a, 0.1, False)
    rt.router.failed(a, 0.1, False)
    rt.router.failed(a, 0.1, False)
    rt.router.breakers["a"].open_until = 0.0  # the cooldown is over
    assert rt.router.breakers["a"].available()  # half-open: routing may try it again
    body = health_body(state)
    assert body["providers"] == {"a": "unreachable"}
    assert body["status"] == "unhealthy"
    rt.router.succeeded(a, 0.1, False)
    body = health_body(state)
    assert body["providers"] == {"a": "reachable"} and body["status"] == "healthy"


def test_every_target_unreachable_is_unhealthy_and_503() -> None:
    rt = runtime(config("a", "b"))
    for tid in ("a", "b"):
        rt.router.failed(target(rt, tid), 0.1, False)
    assert health_body(gateway_state(rt))["status"] == "unhealthy"


async def test_unhealthy_answers_503_and_degraded_200() -> None:
    rt = runtime(config("a", "b"))
    state = gateway_state(rt)
    handler = next(r.handler for r in health.routes(state) if r.path == "/health")
    rt.router.failed(target(rt, "a"), 0.1, False)
    assert (await handler(cast(Any, None))).status == 200
    rt.router.failed(target(rt, "b"), 0.1, False)
    assert (await handler(cast(Any, None))).status == 503


def test_no_config_or_draining_is_unhealthy() -> None:
    assert health_body(gateway_state(None))["status"] == "unhealthy"
    assert health_body(gateway_state(runtime(config("a")), draining=True))["status"] == "unhealthy"


# -- keeptrusts_gateway_circuit_open -------------------------------------------------------------


def test_circuit_open_has_a_zero_series_per_target_from_load() -> None:
    metrics = Metrics()
    state = gateway_state(runtime(config("a", "b")), metrics)
    assert circuit_series(metrics) == {}  # not bound yet: HELP and TYPE only
    metrics.circuit_open.bind(lambda: health.circuits_open(state))
    assert circuit_series(metrics) == {"a": 0.0, "b": 0.0}


def test_circuit_open_follows_the_breaker_at_scrape_time() -> None:
    metrics = Metrics()
    rt = runtime(config("a", "b", threshold=2, cooldown=30.0))
    state = gateway_state(rt, metrics)
    metrics.circuit_open.bind(lambda: health.circuits_open(state))
    a = target(rt, "a")
    rt.router.failed(a, 0.1, False)
    assert circuit_series(metrics) == {"a": 0.0, "b": 0.0}  # below the threshold
    rt.router.failed(a, 0.1, False)
    assert circuit_series(metrics) == {"a": 1.0, "b": 0.0}
    rt.router.breakers["a"].open_until = 0.0  # the cooldown is over: half-open
    assert circuit_series(metrics) == {"a": 0.0, "b": 0.0}


def test_circuit_open_series_are_replaced_on_reload() -> None:
    metrics = Metrics()
    state = gateway_state(runtime(config("a", "b")), metrics)
    metrics.circuit_open.bind(lambda: health.circuits_open(state))
    old = state.live()
    old.router.failed(target(old, "a"), 0.1, False)
    old.router.failed(target(old, "a"), 0.1, False)
    assert circuit_series(metrics) == {"a": 1.0, "b": 0.0}
    state.runtime = runtime(config("b", "c"))  # what a reload's swap does
    assert circuit_series(metrics) == {"b": 0.0, "c": 0.0}


# -- events and limits ------------------------------------------------------------------------


class FakePipeline:
    def __init__(self, failing_since: float | None) -> None:
        self.failing_since = failing_since

    def depth(self) -> dict[str, int]:
        return {"queue": 0, "spool": 20}

    def enqueue(self, event: dict[str, Any]) -> None:
        return None


class FakeBackend(MemoryBackend):
    name = "redis"

    def __init__(self, failing_since: float | None) -> None:
        super().__init__()
        self.failing_since = failing_since


def reachable_state(**kw: Any) -> GatewayState:
    rt = runtime(config("a"))
    rt.router.succeeded(target(rt, "a"), 0.1, False)
    return gateway_state(rt, **kw)


def test_event_delivery_failing_past_the_threshold_is_degraded() -> None:
    now = time.monotonic()
    body = health_body(reachable_state(events=FakePipeline(None)))
    assert body["events"] == {"queue": 0, "spool": 20, "delivery": "ok"}
    assert body["status"] == "healthy"
    body = health_body(reachable_state(events=FakePipeline(now - 1.0)))
    assert body["events"]["delivery"] == "retrying" and body["status"] == "healthy"
    body = health_body(reachable_state(events=FakePipeline(now - EVENTS_FAILING_AFTER - 1)))
    assert body["events"]["delivery"] == "failing"
    assert body["events"]["failing_seconds"] >= EVENTS_FAILING_AFTER
    assert body["status"] == "degraded"


def test_a_pipeline_without_the_accessor_reports_ok() -> None:
    class Old:
        def depth(self) -> dict[str, int]:
            return {"queue": 1, "spool": 0}

        def enqueue(self, event: dict[str, Any]) -> None:
            return None

    body = health_body(reachable_state(events=Old()))
    assert body["events"] == {"queue": 1, "spool": 0, "delivery": "ok"}
    assert body["status"] == "healthy"


def test_limits_backend_whose_last_call_failed_is_degraded() -> None:
    body = health_body(reachable_state())
    assert body["limits"] == {"backend": "memory", "status": "ok"}
    body = health_body(reachable_state(limits=FakeBackend(None)))
    assert body["limits"] == {"backend": "redis", "status": "ok"} and body["status"] == "healthy"
    body = health_body(reachable_state(limits=FakeBackend(time.monotonic() - 2.0)))
    assert body["limits"]["status"] == "unreachable"
    assert body["limits"]["fail_mode"] == "block"
    assert body["limits"]["unreachable_seconds"] >= 2.0
    assert body["status"] == "degraded"


def test_contract_fields_are_all_there() -> None:
    body = health_body(reachable_state())
    types = {
        "status": str,
        "version": str,
        "uptime_seconds": float,
        "policies_loaded": int,
        "requests_processed": int,
        "config_version": str,
        "providers": dict,
    }
    for key, typ in types.items():
        assert isinstance(body[key], typ), key


# -- --workers N: requests_processed counts every worker ----------------------------------------


@pytest.fixture
def two_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    made: list[Metrics] = []

    def worker(index: int) -> Metrics:
        monkeypatch.setenv("KEEPTRUSTS_WORKERS_METRICS_DIR", str(tmp_path))
        monkeypatch.setenv("KEEPTRUSTS_WORKER_INDEX", str(index))
        m = Metrics()
        assert isinstance(m.workers, WorkerMetrics)
        made.append(m)
        return m

    yield worker
    for m in made:
        m.close()


def test_requests_processed_adds_the_other_workers(two_workers: Any) -> None:
    rt = runtime(config("a"))
    mine, other = two_workers(0), two_workers(1)
    state0 = gateway_state(rt, mine)
    state1 = gateway_state(rt, other)
    for _ in range(5):
        mine.child(mine.requests, "a", "other", "200").inc()
        state0.requests_processed += 1
    for _ in range(7):
        other.child(other.requests, "a", "other", "200").inc()
        other.child(other.requests, "a", "other", "502").inc()
        state1.requests_processed += 2
    # worker 0's latest snapshot may predate its requests (one is written every 2 s)
    assert health_body(state1)["requests_processed"] in (14, 14 + 5)
    # an answer writes the answering worker's snapshot first: the next answer counts it
    assert health_body(state0)["requests_processed"] == 5 + 14
    assert health_body(state1)["requests_processed"] == 14 + 5
    assert os.path.exists(mine.workers.path)  # type: ignore[union-attr]


def test_requests_processed_with_one_worker_is_this_process() -> None:
    state = reachable_state()
    state.requests_processed = 3
    assert health_body(state)["requests_processed"] == 3
