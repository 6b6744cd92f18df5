"""The event pipeline against a real control-plane API process on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from keeptrusts.config.model import Events
from keeptrusts.events.pipeline import EventPipeline
from keeptrusts.telemetry.metrics import Metrics
from tests.controlplane.eventgen import make_event
from tests.controlplane.fixtures import ApiFactory
from tests.controlplane.servers import TOKEN, ApiServer, free_port

FAST = {"batch_size": 50, "flush_interval_seconds": 0.1}


def pipeline(
    api_url: str | None, spool: Path, metrics: Metrics | None = None, **settings: Any
) -> EventPipeline:
    return EventPipeline(
        Events(**{**FAST, **settings}),
        metrics or Metrics(),
        api_url=api_url,
        token=TOKEN,
        spool_dir=str(spool),
        gateway_id="gw-test",
    )


def sample(m: Metrics, name: str, **labels: str) -> float:
    return m.registry.get_sample_value(name, labels) or 0.0


async def stored_ids(api: ApiServer) -> list[str]:
    return [e["id"] for e in await asyncio.to_thread(api.all_events)]


async def wait_stored(api: ApiServer, n: int, within: float = 20.0) -> list[str]:
    deadline = time.monotonic() + within
    ids: list[str] = []
    while time.monotonic() < deadline:
        ids = await stored_ids(api)
        if len(ids) >= n:
            return ids
        await asyncio.sleep(0.1)
    return ids


async def test_events_arrive_within_a_second(make_api: ApiFactory, tmp_path: Path) -> None:
    api = make_api().start()
    m = Metrics()
    p = pipeline(api.url, tmp_path / "spool", m)
    await p.start()
    events = [make_event(i) for i in range(10)]
    t0 = time.monotonic()
    for e in events:
        p.enqueue(e)
    assert await wait_stored(api, 10, 1.5) == [e["id"] for e in events]
    assert time.monotonic() - t0 < 1.5
    assert sample(m, "keeptrusts_events_sent_total", sink="api") == 10
    assert p.depth() == {"queue": 0, "spool": 0}
    await p.close(2.0)


async def test_api_down_spools_then_replays_in_order(make_api: ApiFactory, tmp_path: Path) -> None:
    api = make_api()  # not started yet
    m = Metrics()
    p = pipeline(api.url, tmp_path / "spool", m)
    await p.start()
    events = [make_event(i) for i in range(300)]
    for e in events[:200]:
        p.enqueue(e)
    await asyncio.sleep(1.0)
    assert p.depth()["spool"] == 200  # on disk while the API is down
    assert sample(m, "keeptrusts_events_spool_depth") == 200
    assert sample(m, "keeptrusts_events_retried_total") >= 1
    await asyncio.to_thread(api.start)
    for e in events[200:]:
        p.enqueue(e)
    assert await p.wait_drained(20)
    assert await stored_ids(api) == [e["id"] for e in events]
    assert sample(m, "keeptrusts_events_dropped_total") == 0
    await p.close(2.0)


async def test_spool_replays_after_a_restart(make_api: ApiFactory, tmp_path: Path) -> None:
    api = make_api()
    first = pipeline(api.url, tmp_path / "spool")
    await first.start()
    events = [make_event(i) for i in range(500)]
    for e in events[:400]:
        first.enqueue(e)
    await first.close(1.0)  # API down: everything goes to disk
    assert first.depth()["spool"] == 400
    await asyncio.to_thread(api.start)
    second = pipeline(api.url, tmp_path / "spool")
    await second.start()
    for e in events[400:]:
        second.enqueue(e)  # newer events wait behind the replay
    assert await second.wait_drained(20)
    assert await stored_ids(api) == [e["id"] for e in events]
    await second.close(2.0)


CRASHING_GATEWAY = """
import asyncio, os, sys, time
from keeptrusts.config.model import Events
from keeptrusts.events.pipeline import EventPipeline
from keeptrusts.telemetry.metrics import Metrics
from tests.controlplane.eventgen import make_event

async def main():
    p = EventPipeline(Events(batch_size=50, flush_interval_seconds=0.1), Metrics(),
                      api_url=sys.argv[1], token="t", spool_dir=sys.argv[2], gateway_id="gw")
    await p.start()
    events = [make_event(i) for i in range(300)]
    with open(sys.argv[3], "w") as f:
        f.write("\\n".join(e["id"] for e in events))
    for e in events:
        p.enqueue(e)
    while p.depth()["spool"] < 300:
        await asyncio.sleep(0.05)
    os._exit(9)  # a crash: no close, no flush

asyncio.run(main())
"""


async def test_spool_survives_a_crash(make_api: ApiFactory, tmp_path: Path) -> None:
    api = make_api()
    ids_file = tmp_path / "ids.txt"
    cmd = [sys.executable, "-c", CRASHING_GATEWAY, api.url, str(tmp_path / "spool"), str(ids_file)]
    done = await asyncio.to_thread(subprocess.run, cmd, timeout=60, capture_output=True)
    assert done.returncode == 9, done.stderr.decode()
    await asyncio.to_thread(api.start)
    p = pipeline(api.url, tmp_path / "spool")
    await p.start()
    assert await p.wait_drained(20)
    assert await stored_ids(api) == ids_file.read_text().split("\n")
    await p.close(2.0)


async def test_api_killed_and_restarted_while_events_flow(api: ApiServer, tmp_path: Path) -> None:
    """Every event stored exactly once, in order, on SQLite and PostgreSQL."""
    m = Metrics()
    p = pipeline(api.url, tmp_path / "spool", m, flush_interval_seconds=0.2, batch_size=100)
    await p.start()
    sent: list[str] = []

    async def produce(seconds: float) -> None:
        end = time.monotonic() + seconds
        i = 0
        while time.monotonic() < end:
            for _ in range(20):
                e = make_event(i)
                i += 1
                sent.append(e["id"])
                p.enqueue(e)
            await asyncio.sleep(0.02)

    producer = asyncio.create_task(produce(6.0))
    await asyncio.sleep(1.5)
    await asyncio.to_thread(api.kill)
    await asyncio.sleep(2.0)
    await asyncio.to_thread(api.start)
    await producer
    assert await p.wait_drained(30)
    stored = await stored_ids(api)
    assert len(stored) == len(set(stored)) == len(sent)
    assert stored == sent
    assert sample(m, "keeptrusts_events_retried_total") >= 1
    assert sample(m, "keeptrusts_events_dropped_total") == 0
    await p.close(2.0)


async def test_a_full_queue_overflows_to_the_spool_without_blocking(
    make_api: ApiFactory, tmp_path: Path
) -> None:
    api = make_api()
    p = pipeline(api.url, tmp_path / "spool", queue_size=20, batch_size=10)
    await p.start()
    events = [make_event(i) for i in range(2000)]
    t0 = time.perf_counter()
    for e in events:
        p.enqueue(e)
    assert time.perf_counter() - t0 < 0.5  # no I/O on the caller's path
    await asyncio.to_thread(api.start)
    assert await p.wait_drained(30)
    assert await stored_ids(api) == [e["id"] for e in events]
    await p.close(2.0)


async def test_spool_cap_drops_are_counted_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    m = Metrics()
    p = pipeline(dead, tmp_path / "spool", m, spool_max_bytes=4096)
    await p.start()
    with caplog.at_level(logging.ERROR, "keeptrusts.events"):
        for i in range(50):
            p.enqueue(make_event(i))
        await p.close(1.0)
    kept = p.depth()["spool"]
    dropped = sample(m, "keeptrusts_events_dropped_total")
    assert 0 < kept < 50 and kept + dropped == 50
    assert "EVENT SPOOL FULL" in caplog.text


async def test_local_sinks_write_json_lines(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "events.jsonl"
    m = Metrics()
    p = pipeline(None, tmp_path / "spool", m, sinks=["stdout", "file"], file=str(out))
    await p.start()
    events = [make_event(i) for i in range(30)]
    for e in events:
        p.enqueue(e)
    await p.close(2.0)
    lines = out.read_text().splitlines()
    assert [line.split('"id":"')[1][:36] for line in lines] == [e["id"] for e in events]
    assert capfd.readouterr().out.count('"gateway_id":"gw-test"') == 30
    assert sample(m, "keeptrusts_events_sent_total", sink="file") == 30
    assert not (tmp_path / "spool").exists()  # no remote sink, no spool


async def test_without_an_api_url_events_are_counted_and_discarded(tmp_path: Path) -> None:
    m = Metrics()
    p = pipeline(None, tmp_path / "spool", m)
    await p.start()
    for i in range(5):
        p.enqueue(make_event(i))
    assert p.depth() == {"queue": 0, "spool": 0}
    assert sample(m, "keeptrusts_events_sent_total", sink="discard") == 5
    await p.close(1.0)


async def test_an_event_that_cannot_be_encoded_is_counted_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "events.jsonl"
    m = Metrics()
    p = pipeline(None, tmp_path / "spool", m, sinks=["file"], file=str(out))
    await p.start()
    good = make_event(2)
    p.enqueue({**make_event(1), "oops": object()})
    p.enqueue(good)
    await p.close(2.0)
    ids = [line.split('"id":"')[1][:36] for line in out.read_text().splitlines()]
    assert ids == [good["id"]]
    assert sample(m, "keeptrusts_events_dropped_total") == 1
    assert "cannot be encoded; dropped" in caplog.text


async def test_a_stalled_api_counts_as_down(make_api: ApiFactory, tmp_path: Path) -> None:
    """SIGSTOP the API: connections hang. Batches time out, go to the spool, and after SIGCONT
    every event is stored once, in order (the stalled POSTs it finally reads are deduplicated)."""
    api = make_api().start()
    assert api.proc is not None
    m = Metrics()
    p = pipeline(api.url, tmp_path / "spool", m, delivery_timeout_seconds=0.5)
    await p.start()
    events = [make_event(i) for i in range(400)]
    for e in events[:100]:
        p.enqueue(e)
    assert len(await wait_stored(api, 100)) == 100
    os.kill(api.proc.pid, signal.SIGSTOP)
    try:
        for e in events[100:300]:
            p.enqueue(e)
            await asyncio.sleep(0.005)
        assert p.depth()["spool"] > 0
        assert sample(m, "keeptrusts_events_retried_total") >= 1
    finally:
        os.kill(api.proc.pid, signal.SIGCONT)
    for e in events[300:]:
        p.enqueue(e)
    assert await p.wait_drained(30)
    assert await stored_ids(api) == [e["id"] for e in events]
    await p.close(2.0)
