"""Lock-free counters and histograms for the request path, exposed through prometheus-client.

prometheus-client guards every `inc()`/`observe()` with a lock, which costs more than the rest
of a counter update. The gateway records all request metrics from one event-loop thread, so
these keep plain Python numbers and hand them to the registry as metric families when
`/metrics` is scraped (a custom collector). Names, help texts, labels and bucket semantics
are the same as prometheus-client's `Counter` and `Histogram`.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector


class _CounterChild:
    __slots__ = ("_key", "_store")

    def __init__(self, store: dict[tuple[str, ...], float], key: tuple[str, ...]) -> None:
        self._store = store
        self._key = key
        store.setdefault(key, 0.0)

    def inc(self, amount: float = 1.0) -> None:
        if amount < 0:
            raise ValueError("counters only go up")
        self._store[self._key] += amount


class FastCounter(Collector):
    def __init__(
        self, name: str, doc: str, labelnames: Sequence[str], registry: CollectorRegistry
    ) -> None:
        self.name = name
        self.doc = doc
        self.labelnames = tuple(labelnames)
        self.values: dict[tuple[str, ...], float] = {}
        registry.register(self)

    def labels(self, *values: str, **kw: str) -> _CounterChild:
        key = tuple(values) if values else tuple(kw[n] for n in self.labelnames)
        if len(key) != len(self.labelnames):
            raise ValueError(f"{self.name}: expected labels {self.labelnames}")
        return _CounterChild(self.values, tuple(str(v) for v in key))

    def describe(self) -> Iterator[Metric]:
        yield CounterMetricFamily(self.name, self.doc, labels=self.labelnames)

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(self.name, self.doc, labels=self.labelnames)
        for key, value in list(self.values.items()):
            family.add_metric(list(key), value)
        yield family


class _HistogramChild:
    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * len(bounds)
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value


class FastHistogram(Collector):
    def __init__(
        self,
        name: str,
        doc: str,
        labelnames: Sequence[str],
        buckets: Sequence[float],
        registry: CollectorRegistry,
    ) -> None:
        self.name = name
        self.doc = doc
        self.labelnames = tuple(labelnames)
        bounds = [float(b) for b in buckets]
        if bounds[-1] != float("inf"):
            bounds.append(float("inf"))
        self.bounds = tuple(bounds)
        self.children: dict[tuple[str, ...], _HistogramChild] = {}
        if not self.labelnames:
            self.children[()] = _HistogramChild(self.bounds)
        registry.register(self)

    def labels(self, *values: str, **kw: str) -> _HistogramChild:
        key = tuple(values) if values else tuple(kw[n] for n in self.labelnames)
        if len(key) != len(self.labelnames):
            raise ValueError(f"{self.name}: expected labels {self.labelnames}")
        key = tuple(str(v) for v in key)
        child = self.children.get(key)
        if child is None:
            child = self.children[key] = _HistogramChild(self.bounds)
        return child

    def observe(self, value: float) -> None:
        self.children[()].observe(value)

    def describe(self) -> Iterator[Metric]:
        yield HistogramMetricFamily(self.name, self.doc, labels=self.labelnames)

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(self.name, self.doc, labels=self.labelnames)
        for key, child in list(self.children.items()):
            cumulative, running = [], 0
            for bound, count in zip(self.bounds, child.counts, strict=True):
                running += count
                cumulative.append((_bound_text(bound), float(running)))
            family.add_metric(list(key), cumulative, child.total)
        yield family


def _bound_text(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)
