"""`--workers N`: any worker's /metrics reports every worker, each series labelled `worker`.

The N processes share one port, and the kernel hands each scrape to any one of them. If each
answered with its own registry alone, Prometheus would see counters jump between workers' values
(resets, then rates that are wrong) and series that come and go. So each worker writes a snapshot
of its registry to a directory the supervisor made for this run (`worker-<i>.json`, replaced
atomically every `SNAPSHOT_SECONDS` and before each scrape it answers), and answers a scrape with
its own live values plus the other live workers' latest snapshots. Every series carries
`worker="<i>"` (0..N-1, bounded): each stays monotonic, and `sum without (worker)` is the pod's
total. Another worker's values are at most `SNAPSHOT_SECONDS` old; a snapshot is never older than
one this worker's scrapes already showed, so counters never go backwards between scrapes.

Why not prometheus-client's multiprocess mode (`PROMETHEUS_MULTIPROC_DIR`): it aggregates only
values kept in its mmap files. The request-path counters and histograms (`fastmetrics.py`) are
plain numbers in each process precisely to avoid prometheus-client's per-update lock, the
`process_*` collectors are not supported there, and every gauge would need an aggregation mode.
Nothing is added per request: a snapshot costs about what a scrape does, on a background thread
every `SNAPSHOT_SECONDS`, and on the event loop only for a scrape.

With one worker (the default, and the usual choice in Kubernetes) none of this runs and no
`worker` label is added.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric

log = logging.getLogger(__name__)

#: set by the `--workers` supervisor for each worker process
ENV_DIR = "KEEPTRUSTS_WORKERS_METRICS_DIR"
ENV_INDEX = "KEEPTRUSTS_WORKER_INDEX"
#: a snapshot costs about what a scrape does (~3 ms of CPU for a few hundred series)
SNAPSHOT_SECONDS = 2.0
LABEL = "worker"

# one metric family: [name, help, type, unit, [[sample name, labels, value], ...]]
Family = list[Any]


class WorkerMetrics:
    """This worker's share of a `--workers N` run: snapshot writer and merged exposition."""

    def __init__(self, registry: CollectorRegistry, directory: Path, index: int) -> None:
        self.registry = registry
        self.directory = directory
        self.index = index
        self.path = directory / f"worker-{index}.json"
        self._lock = threading.Lock()  # one snapshot at a time: the file only moves forward
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="keeptrusts-metrics-snapshot", daemon=True
        )

    @classmethod
    def from_env(
        cls, registry: CollectorRegistry, env: Mapping[str, str] = os.environ
    ) -> WorkerMetrics | None:
        directory, index = env.get(ENV_DIR), env.get(ENV_INDEX, "")
        if not directory or not index.isdigit():
            return None
        return cls(registry, Path(directory), int(index))

    def start(self) -> None:
        self._publish()
        self._thread.start()

    def stop(self) -> None:
        """Stop the snapshot thread (waits for a snapshot being written)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=1.0)

    def render(self) -> bytes:
        """Prometheus text: this worker live, the others as of their latest snapshot."""
        own = self._publish()
        workers = [(self.index, own), *self._others()]
        return generate_latest(_Merged(sorted(workers, key=lambda w: w[0])))

    def others_sum(self, sample: str) -> float:
        """The sum of every `sample` value in the other live workers' latest snapshots (for
        /health's totals). This worker's snapshot is written first: another worker answering
        later then reads at least the values this answer counted as this worker's own, and
        this answer reads at most what the others count as theirs, so the total never goes
        backwards between answers, whichever worker gives them."""
        try:
            self._publish()
        except OSError as exc:  # a full or vanished directory: the others' files still count
            log.debug("metrics snapshot %s not written: %s", self.path, exc)
        return sum(
            float(value)
            for _, families in self._others()
            for _name, _doc, _typ, _unit, samples in families
            for name, _labels, value in samples
            if name == sample
        )

    # -- snapshots -----------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.wait(SNAPSHOT_SECONDS):
            try:
                self._publish()
            except OSError as exc:  # a full or vanished directory: retried next second
                log.debug("metrics snapshot %s not written: %s", self.path, exc)

    def _publish(self) -> list[Family]:
        """Take a snapshot and replace this worker's file with it, atomically."""
        with self._lock:
            families = snapshot(self.registry)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(orjson.dumps({"pid": os.getpid(), "families": families}))
            os.replace(tmp, self.path)
        return families

    def _others(self) -> Iterator[tuple[int, list[Family]]]:
        for path in self.directory.glob("worker-*.json"):
            index = path.stem.removeprefix("worker-")
            if not index.isdigit() or int(index) == self.index:
                continue
            try:
                doc = orjson.loads(path.read_bytes())
            except (OSError, orjson.JSONDecodeError):
                continue  # vanished, or a worker that never finished a first write
            if _alive(int(doc.get("pid", 0))):
                yield int(index), doc["families"]


def snapshot(registry: CollectorRegistry) -> list[Family]:
    """The registry's families as plain data (timestamps and exemplars are not kept)."""
    return [
        [m.name, m.documentation, m.type, m.unit, [[s.name, s.labels, s.value] for s in m.samples]]
        for m in registry.collect()
    ]


class _Merged:
    """A collector over several workers' snapshots: one family per name, `worker` labelled."""

    def __init__(self, workers: list[tuple[int, list[Family]]]) -> None:
        self.workers = workers

    def collect(self) -> Iterator[Metric]:
        merged: dict[str, Metric] = {}
        for index, families in self.workers:
            worker = str(index)
            for name, doc, typ, unit, samples in families:
                metric = merged.get(name)
                if metric is None:
                    metric = merged[name] = Metric(name, doc, typ, unit)
                for sample_name, labels, value in samples:
                    metric.add_sample(sample_name, {**labels, LABEL: worker}, value)
        yield from merged.values()


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
