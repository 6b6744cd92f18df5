"""The measurements: interleaved wrk runs (every target at one connection count before the next
count, the order rotated each round) and sequential streamed requests, with CPU time and RSS
of the server under test read from /proc around each run."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import procstat, streams, wrk
from bench.targets import Target


@dataclass
class Plan:
    rounds: int
    duration_s: float
    connections: list[int]
    stream_requests: int
    warmup_s: float
    load_cpu: int | None  # the core wrk is pinned to, if pinned

    def estimate_s(self, n_targets: int, n_streams: int) -> float:
        cells = self.rounds * len(self.connections) * n_targets
        return cells * (self.duration_s + 0.4) + n_targets * (self.warmup_s + 0.4) + n_streams * 3


@dataclass
class Raw:
    runs: list[dict[str, Any]] = field(default_factory=list)
    streams: dict[str, streams.StreamSample] = field(default_factory=dict)
    peak_rss_kib: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def _say(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def one_run(target: Target, conns: int, plan: Plan, body: Path, raw: Raw, rnd: int) -> None:
    root = target.server.proc.pid
    sampler = procstat.RssSampler(root).start() if conns == max(plan.connections) else None
    pids = target.server.pids()
    cpu0 = procstat.cpu_seconds(pids)
    try:
        result = wrk.run(
            target.url, conns, plan.duration_s, body, cpu=plan.load_cpu, headers=target.headers
        )
    except (wrk.WrkError, OSError) as exc:
        raw.errors.append(f"{target.name} c={conns} round {rnd}: {exc}")
        if sampler is not None:
            sampler.stop()
        return
    cpu = procstat.cpu_seconds(sorted(set(pids) | set(target.server.pids()))) - cpu0
    if sampler is not None:
        peak = sampler.stop()
        raw.peak_rss_kib[target.name] = max(peak, raw.peak_rss_kib.get(target.name, 0))
    raw.runs.append(
        {
            "target": target.name,
            "round": rnd,
            "connections": conns,
            "wrk": result.to_json(),
            "cpu_s": round(cpu, 3),
            "cpu_us_per_req": cpu / result.requests * 1e6 if result.requests else None,
        }
    )
    bad = (
        f", {result.non_2xx} non-2xx, {result.socket_errors} socket errors"
        if (result.non_2xx or result.socket_errors)
        else ""
    )
    _say(
        f"round {rnd} c={conns:<3} {target.name:<22} {result.rps:9.0f} rps  "
        f"p50 {result.p50_us / 1000:7.3f} ms  p99 {result.p99_us / 1000:7.3f} ms{bad}"
    )


def warm_up(targets: list[Target], plan: Plan, body: Path) -> None:
    """A short run at 16 connections per target (longer for peers: Node's JIT needs it)."""
    for t in targets:
        seconds = max(plan.warmup_s, 3.0) if t.kind == "peer" else plan.warmup_s
        try:
            wrk.run(t.url, 16, seconds, body, cpu=plan.load_cpu, headers=t.headers)
        except (wrk.WrkError, OSError) as exc:
            _say(f"warm-up of {t.name} failed: {exc}")


def load_rounds(targets: list[Target], plan: Plan, body: Path, raw: Raw) -> None:
    for rnd in range(1, plan.rounds + 1):
        for conns in plan.connections:
            shift = (rnd - 1) % len(targets)
            for t in targets[shift:] + targets[:shift]:
                if t.server.alive():
                    one_run(t, conns, plan, body, raw, rnd)
                else:
                    raw.errors.append(f"{t.name} died (see its log {t.server.log_path})")


def stream_rounds(urls: dict[str, str], plan: Plan, raw: Raw) -> None:
    if plan.load_cpu is not None:
        os.sched_setaffinity(0, {plan.load_cpu})
    per_round = max(1, plan.stream_requests // plan.rounds)
    for rnd in range(plan.rounds):
        for name, url in urls.items():
            sample = asyncio.run(streams.measure(url, per_round, warmup=3 if rnd == 0 else 0))
            raw.streams.setdefault(name, streams.StreamSample()).extend(sample)
    for name, sample in raw.streams.items():
        s = sample.summary()
        _say(
            f"streams {name:<22} TTFB p50 {(s['ttfb_p50_us'] or 0) / 1000:.3f} ms  "
            f"total p50 {(s['total_p50_us'] or 0) / 1000:.3f} ms  failures {s['failures']}"
        )
