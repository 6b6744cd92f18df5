"""`kt gateway run --workers 2`: whichever worker answers a scrape of the shared port, /metrics
shows both, each series labelled `worker`, and no counter ever goes backwards between scrapes
(before, each scrape showed one worker's registry: counters jumped between the two)."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import httpx
import pytest

from keeptrusts.telemetry.metrics import Metrics
from keeptrusts.telemetry.worker_metrics import ENV_DIR, ENV_INDEX, SNAPSHOT_SECONDS
from tests.fakes.gateway import Gateway, GatewayFactory
from tests.fakes.prometheus import promtool
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV, openai_config

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$")
MONOTONIC = ("_total", "_count", "_bucket", "_sum")
ALLOW = re.compile(r'^keeptrusts_policy_decisions_total\{decision="allow",worker="(\d+)"\} (\S+)$')


def fresh(gw: Gateway, method: str, path: str, **kw: object) -> httpx.Response:
    """One request on a new connection: the kernel picks a worker for each connection."""
    with httpx.Client(timeout=10, headers={"Connection": "close"}) as c:
        return c.request(method, gw.url + path, **kw)  # type: ignore[arg-type]


def chat(gw: Gateway) -> int:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    return fresh(gw, "POST", "/v1/chat/completions", json=body).status_code


def counters(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if m and m.group(1).split("{")[0].endswith(MONOTONIC):
            out[m.group(1)] = float(m.group(2))
    return out


def allowed(text: str) -> dict[str, float]:
    return {m.group(1): float(m.group(2)) for m in map(ALLOW.match, text.splitlines()) if m}


def test_every_scrape_shows_every_worker_and_counters_never_decrease(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    gw = gateways.start(openai_config(("a", fake.base_url)), env=ENV, args=["--workers", "2"])
    try:
        deadline = time.monotonic() + 15
        while set(allowed(fresh(gw, "GET", "/metrics").text)) != {"0", "1"}:
            assert time.monotonic() < deadline, "the second worker never reported"
            time.sleep(0.1)
        sent = 0
        previous: dict[str, float] = {}
        for _ in range(15):
            for _ in range(4):
                assert chat(gw) == 200
                sent += 1
            text = fresh(gw, "GET", "/metrics").text
            assert set(allowed(text)) == {"0", "1"}
            now = counters(text)
            went_back = {k: (v, now.get(k)) for k, v in previous.items() if now.get(k, -1.0) < v}
            assert not went_back, went_back
            previous = now
        time.sleep(SNAPSHOT_SECONDS + 0.5)  # the other worker's latest snapshot is in
        text = fresh(gw, "GET", "/metrics").text
        per_worker = allowed(text)
        assert sum(per_worker.values()) == sent
        assert all(v > 0 for v in per_worker.values()), per_worker  # both served traffic
        check = promtool("check", "metrics", stdin=text)
        assert check.returncode == 0, check.stdout + check.stderr
    finally:
        stopped = gw.stop()  # SIGTERM: the supervisor stops both workers
    assert stopped == 0


def test_metrics_close_stops_the_snapshot_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The drain calls `Metrics.close()`: a --workers worker's snapshot thread stops."""
    monkeypatch.setenv(ENV_DIR, str(tmp_path))
    monkeypatch.setenv(ENV_INDEX, "0")
    metrics = Metrics()
    assert metrics.workers is not None and (tmp_path / "worker-0.json").exists()
    thread = next(t for t in threading.enumerate() if t.name == "keeptrusts-metrics-snapshot")
    metrics.close()
    assert not thread.is_alive()
