"""Every Prometheus metric the gateway exposes (names are contract; labels stay bounded).

One `Metrics` object per process, on its own registry so tests can build a fresh one. Under
`--workers N` every worker's exposition covers all workers, labelled `worker`
(`worker_metrics.py`).
Label values for model, tenant and provider come from the config and the pricing table;
callers fold anything else into `other` (see `config.runtime.Runtime.model_label`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

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
#: every request the gateway accounts for (`gateway/finish.py`) is one sample of this
REQUESTS_TOTAL = "keeptrusts_gateway_requests_total"


class ScrapeGauge(Collector):
    """A gauge with one label, read at scrape time from a source bound once the state exists
    (`bind`). Its series are exactly what the source returns then: a reload that drops a label
    value (a target) leaves no stale series. Before `bind`: HELP and TYPE, no series."""

    def __init__(self, name: str, doc: str, label: str, registry: CollectorRegistry) -> None:
        self.name = name
        self.doc = doc
        self.label = label
        self._source: Callable[[], Mapping[str, float]] = dict
        registry.register(self)

    def bind(self, source: Callable[[], Mapping[str, float]]) -> None:
        self._source = source

    def describe(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(self.name, self.doc, labels=[self.label])

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(self.name, self.doc, labels=[self.label])
        for value, reading in self._source().items():
            family.add_metric([value], reading)
        yield family


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        self.decisions = FastCounter(
            "keeptrusts_policy_decisions",
            "Requests by final policy decision (requests the policy chain ran on).",
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
            "Provider attempts by target and outcome "
            "(ok|connect_error|timeout|5xx|429|4xx|protocol).",
            ["provider", "outcome"],
            r,
        )
        #: bound to the live config's breakers by `gateway/health.py` (read at scrape time)
        self.circuit_open = ScrapeGauge(
            "keeptrusts_gateway_circuit_open",
            "1 while a target's circuit breaker is open, else 0 (targets of the live config).",
            "provider",
            r,
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

    def other_workers_requests(self) -> int:
        """Requests the other `--workers` processes accounted for, as of their latest snapshots
        (0 with one worker). Writes this worker's snapshot first, so that whichever worker
        answers next counts at least what this answer counted."""
        if self.workers is None:
            return 0
        return int(self.workers.others_sum(REQUESTS_TOTAL))

    def close(self) -> None:
        """Stop background work (the `--workers` snapshot thread); at drain's end."""
        if self.workers is not None:
            self.workers.stop()

    def render(self) -> bytes:
        if self.workers is not None:
            return self.workers.render()
        return generate_latest(self.registry)
