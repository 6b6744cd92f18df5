"""Every Prometheus metric the gateway exposes (names are contract; labels stay bounded).

One `Metrics` object per process, on its own registry so tests can build a fresh one. Under
`--workers N` every worker's exposition covers all workers, labelled `worker`
(`worker_metrics.py`).
Label values for model, tenant and provider come from the config and the pricing table;
callers fold anything else into `other` (see `config.runtime.Runtime.model_label`).
"""

from __future__ import annotations

from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from keeptrusts.telemetry.fastmetrics import FastCounter, FastHistogram
from keeptrusts.telemetry.worker_metrics import WorkerMetrics

#: LLM calls take tens of milliseconds to minutes.
DURATION_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, float("inf"))
#: The gateway's own time: tens of microseconds to tens of milliseconds.
OVERHEAD_BUCKETS = (
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    float("inf"),
)

DECISIONS = ("allow", "redact", "escalate", "block")


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        self.decisions = FastCounter(
            "keeptrusts_policy_decisions",
            "Requests by final policy decision.",
            ["decision"],
            r,
        )
        self.evaluations = FastCounter(
            "keeptrusts_gateway_policy_evaluations",
            "Policy evaluations by policy and result.",
            ["policy", "result"],
            r,
        )
        self.requests = FastCounter(
            "keeptrusts_gateway_requests",
            "Requests by provider target, model and HTTP status.",
            ["provider", "model", "status"],
            r,
        )
        self.duration = FastHistogram(
            "keeptrusts_gateway_request_duration_seconds",
            "End-to-end request duration, provider included.",
            ["provider"],
            DURATION_BUCKETS,
            r,
        )
        self.overhead = FastHistogram(
            "keeptrusts_gateway_overhead_seconds",
            "Time the gateway itself spent on a request, provider time excluded.",
            (),
            OVERHEAD_BUCKETS,
            r,
        )
        self.tokens = FastCounter(
            "keeptrusts_gateway_tokens",
            "Tokens by direction (input|output) and model.",
            ["direction", "model"],
            r,
        )
        self.cost = FastCounter(
            "keeptrusts_gateway_cost_usd",
            "Spend in USD by tenant and model.",
            ["tenant", "model"],
            r,
        )
        self.in_flight = Gauge(
            "keeptrusts_gateway_in_flight_requests", "Requests being served now.", registry=r
        )
        self.config_info = Gauge(
            "keeptrusts_config_info",
            "The live policy config (value 1).",
            ["version", "pack", "sha"],
            registry=r,
        )
        self.config_reloads = Counter(
            "keeptrusts_config_reloads",
            "Config reload attempts by result (ok|invalid).",
            ["result"],
            registry=r,
        )
        self.upstream_attempts = FastCounter(
            "keeptrusts_gateway_upstream_attempts",
            "Provider attempts by target and outcome (ok|connect_error|timeout|5xx|429|4xx).",
            ["provider", "outcome"],
            r,
        )
        self.circuit_open = Gauge(
            "keeptrusts_gateway_circuit_open",
            "1 while a target's circuit breaker is open.",
            ["provider"],
            registry=r,
        )
        # decision events (events issue)
        self.events_queue_depth = Gauge(
            "keeptrusts_events_queue_depth", "Decision events waiting in memory.", registry=r
        )
        self.events_spool_depth = Gauge(
            "keeptrusts_events_spool_depth",
            "Decision events waiting in the disk spool.",
            registry=r,
        )
        self.events_sent = Counter(
            "keeptrusts_events_sent", "Decision events delivered, by sink.", ["sink"], registry=r
        )
        self.events_retried = Counter(
            "keeptrusts_events_retried", "Event batch deliveries retried.", registry=r
        )
        self.events_dropped = Counter(
            "keeptrusts_events_dropped", "Decision events dropped (spool cap reached).", registry=r
        )
        # limits and budgets (limits issue)
        self.limit_fallbacks = Counter(
            "keeptrusts_limits_backend_fallbacks",
            "Requests decided by --fail-mode because the limits backend was unreachable.",
            ["mode"],
            registry=r,
        )
        self.budget_spent = Gauge(
            "keeptrusts_budget_spent_usd",
            "Settled spend in the current budget window.",
            ["tenant"],
            registry=r,
        )
        self.budget_remaining = Gauge(
            "keeptrusts_budget_remaining_usd",
            "Budget left in the current window.",
            ["tenant"],
            registry=r,
        )
        for d in DECISIONS:
            self.decisions.labels(decision=d)
        #: set in a `--workers N` worker process (from the supervisor's environment)
        self.workers = WorkerMetrics.from_env(r)
        if self.workers is not None:
            self.workers.start()

    def child(self, metric: Any, *values: str) -> Any:
        """`metric.labels(*values)`, cached: label sets are bounded, lookups are hot."""
        key = (id(metric), values)
        hit = self._children.get(key)
        if hit is None:
            hit = self._children[key] = metric.labels(*values)
        return hit

    def close(self) -> None:
        """Stop background work (the `--workers` snapshot thread); at drain's end."""
        if self.workers is not None:
            self.workers.stop()

    def render(self) -> bytes:
        if self.workers is not None:
            return self.workers.render()
        return generate_latest(self.registry)
