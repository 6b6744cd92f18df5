"""A damaged or unusable spool never stops the gateway, and a full disk never jams delivery."""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import sqlite3
import sys
import tempfile
from pathlib import Path

import httpx
import pytest

from keeptrusts.events.spool import Spool
from keeptrusts.telemetry.metrics import Metrics
from tests.controlplane.eventgen import make_event
from tests.controlplane.fixtures import ApiFactory
from tests.controlplane.servers import TOKEN
from tests.events.test_pipeline import pipeline, sample, stored_ids
from tests.fakes.gateway import GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV, openai_config

GARBAGE = b"this is not a sqlite database at all" * 200


def slot_is_free(directory: Path, slot: int = 0) -> bool:
    """Whether another process could claim `spool-<slot>` (its flock is not held)."""
    fd = os.open(directory / f"spool-{slot}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def test_a_corrupt_spool_file_is_moved_aside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "spool-0.db").write_bytes(GARBAGE)
    s = Spool(str(tmp_path), 1 << 20, Metrics())
    with caplog.at_level(logging.ERROR, "keeptrusts.events"):
        s.open()
    aside = list(tmp_path.glob("spool-0.db.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == GARBAGE
    assert "EVENT SPOOL CORRUPT" in caplog.text and str(aside[0]) in caplog.text
    assert s.path == tmp_path / "spool-0.db" and s.count == 0
    s.append([(1, b'{"id":"a"}')])
    assert s.read(10) == [(1, b'{"id":"a"}')]
    s.close()


def damage(db: Path) -> None:
    """Write garbage over a spool file that a `Spool` holds open, the way a disk fault would.
    Another connection writes first, so the open one drops its page cache and reads the file."""
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("INSERT INTO spool (seq, body) VALUES (-1, x'00')")
    other.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    other.close()
    db.write_bytes(GARBAGE[: db.stat().st_size].ljust(db.stat().st_size, b"x"))


def test_a_spool_damaged_while_open_starts_afresh(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Before: every read raised `file is not a database` (replay retried it each second and
    nothing newer was sent), and every append failed (the events were lost)."""
    m = Metrics()
    s = Spool(str(tmp_path), 1 << 20, m)
    s.open()
    s.append([(1, b'{"id":"a"}'), (2, b'{"id":"b"}')])
    damage(tmp_path / "spool-0.db")
    with caplog.at_level(logging.ERROR, "keeptrusts.events"):
        assert s.read(10) == []
    assert "EVENT SPOOL CORRUPT" in caplog.text and "2 events in it are not replayed" in caplog.text
    assert len(list(tmp_path.glob("spool-0.db.corrupt-*"))) == 1
    assert s.count == 0 and sample(m, "keeptrusts_events_dropped_total") == 2
    s.append([(3, b'{"id":"c"}')])
    assert s.read(10) == [(3, b'{"id":"c"}')]
    damage(tmp_path / "spool-0.db")
    assert s.append([(4, b'{"id":"d"}')]) == 1  # written to the fresh spool, not lost
    assert s.read(10) == [(4, b'{"id":"d"}')] and s.last_seq == 4
    assert sample(m, "keeptrusts_events_dropped_total") == 3
    assert len(list(tmp_path.glob("spool-0.db.corrupt-*"))) == 2  # the first one kept
    s.close()


async def test_delivery_goes_on_after_the_spool_is_damaged(
    make_api: ApiFactory, tmp_path: Path
) -> None:
    api = make_api()  # down: the first events wait on disk
    m = Metrics()
    p = pipeline(api.url, tmp_path / "spool", m)
    await p.start()
    events = [make_event(i) for i in range(20)]
    for e in events[:10]:
        p.enqueue(e)
    await asyncio.sleep(0.6)
    assert p.depth()["spool"] == 10
    damage(tmp_path / "spool" / "spool-0.db")
    await asyncio.to_thread(api.start)
    for e in events[10:]:
        p.enqueue(e)
    assert await p.wait_drained(20)
    assert await stored_ids(api) == [e["id"] for e in events[10:]]
    assert sample(m, "keeptrusts_events_dropped_total") == 10  # counted, with the file kept
    await p.close(2.0)


def test_a_spool_that_cannot_be_opened_releases_its_slot(tmp_path: Path) -> None:
    (tmp_path / "spool-0.db").mkdir()  # SQLite cannot open a directory
    s = Spool(str(tmp_path), 1 << 20, Metrics())
    with pytest.raises(Exception, match="unable to open"):
        s.open()
    assert slot_is_free(tmp_path)


async def test_the_pipeline_falls_back_when_the_spool_cannot_be_opened(
    make_api: ApiFactory,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before: `sqlite3.OperationalError` escaped `start()` (only OSError was caught)."""
    spool = tmp_path / "spool"
    (spool / "spool-0.db").mkdir(parents=True)
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # where the fallback goes
    api = make_api().start()
    p = pipeline(api.url, spool)
    with caplog.at_level(logging.ERROR, "keeptrusts.events"):
        await p.start()
    assert p.spool is not None and p.spool.path is not None
    assert p.spool.path.parent.parent == tmp_path / "tmp"  # a fresh temp dir
    assert "unusable" in caplog.text
    assert slot_is_free(spool)  # the first attempt's lock was released
    events = [make_event(i) for i in range(5)]
    for e in events:
        p.enqueue(e)
    assert await p.wait_drained(10)
    assert await stored_ids(api) == [e["id"] for e in events]
    await p.close(2.0)


def test_a_gateway_starts_with_a_corrupt_spool(
    gateways: GatewayFactory, fake: FakeUpstream, make_api: ApiFactory, tmp_path: Path
) -> None:
    """Before: `sqlite3.DatabaseError` at start-up, never ready, a crash loop."""
    spool = tmp_path / "spool"
    spool.mkdir()
    (spool / "spool-0.db").write_bytes(GARBAGE)
    api = make_api().start()
    env = {**ENV, "KEEPTRUSTS_API_URL": api.url, "KEEPTRUSTS_GATEWAY_TOKEN": TOKEN}
    config = openai_config(("a", fake.base_url), extra="events: {flush_interval_seconds: 0.1}\n")
    gw = gateways.start(config, env=env, args=["--spool-dir", str(spool)])
    assert "EVENT SPOOL CORRUPT" in gw.logs()
    assert len(list(spool.glob("spool-0.db.corrupt-*"))) == 1
    r = httpx.post(
        gw.base_url + "/chat/completions",
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
        headers={"x-request-id": "after-corrupt-spool"},
    )
    assert r.status_code == 200
    assert gw.stop() == 0
    assert [e["request_id"] for e in api.all_events()] == ["after-corrupt-spool"]


FULL_DISK = """
import asyncio, json, os, resource, sys
from keeptrusts.config.model import Events
from keeptrusts.events.pipeline import EventPipeline
from keeptrusts.telemetry.metrics import Metrics
from tests.controlplane.eventgen import make_event

async def main():
    api_url, spool_dir, token = sys.argv[1:4]
    p = EventPipeline(Events(batch_size=500, flush_interval_seconds=0.1), Metrics(),
                      api_url=api_url, token=token, spool_dir=spool_dir, gateway_id="gw")
    await p.start()
    before = [make_event(i) for i in range(300)]
    for e in before:
        p.enqueue(e)
    while p.depth()["spool"] < 300:  # the API is down: all on disk
        await asyncio.sleep(0.05)
    # From here on the disk is full: no file of this process can grow (a file-size limit
    # stands in for ENOSPC). Reads still work, so does the POST; deleting delivered rows
    # does not (the delete appends to the WAL).
    largest = max(os.path.getsize(os.path.join(spool_dir, f)) for f in os.listdir(spool_dir))
    resource.setrlimit(resource.RLIMIT_FSIZE, (largest + 16, resource.RLIM_INFINITY))
    print(json.dumps([e["id"] for e in before]), flush=True)
    await asyncio.to_thread(sys.stdin.readline)  # the test has started the API
    for _ in range(200):  # the replay: delivered, though never deleted from the file
        if p.depth()["spool"] == 0:
            break
        await asyncio.sleep(0.05)
    after = [make_event(1000 + i) for i in range(20)]
    for e in after:
        p.enqueue(e)
    drained = await p.wait_drained(10)
    print(json.dumps({"after": [e["id"] for e in after], "drained": drained,
                      "depth": p.depth()}), flush=True)
    os._exit(0)

asyncio.run(main())
"""


async def test_a_full_disk_does_not_jam_delivery(make_api: ApiFactory, tmp_path: Path) -> None:
    """Before: the failed delete after a successful POST raised, the same rows were re-POSTed
    every second and the events in memory were never sent."""
    api = make_api()  # down while the spool fills
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        FULL_DISK,
        api.url,
        str(tmp_path / "spool"),
        TOKEN,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    try:
        before = json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))
        await asyncio.to_thread(api.start)
        proc.stdin.write(b"go\n")
        await proc.stdin.drain()
        result = json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))
    finally:
        if proc.returncode is None:
            proc.kill()
        stderr = (await proc.communicate())[1].decode()
    assert result["drained"], stderr
    assert result["depth"] == {"queue": 0, "spool": 0}
    assert await stored_ids(api) == before + result["after"]
    assert "delivered events cannot be deleted" in stderr
    assert "lost" not in stderr
