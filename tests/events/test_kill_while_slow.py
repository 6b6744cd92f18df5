"""SIGKILL while the API is up but slow loses no more than docs/events.md says: the events of
about the last flush interval, never more than 2 x batch_size. Everything older is either stored
by the API or in the spool, which the next start replays."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import sys
from pathlib import Path

from tests.events.fakeapi import FakeEventsApi

BATCH = 50
SLOW_PRODUCER = f"""
import asyncio, json, sys
from keeptrusts.config.model import Events
from keeptrusts.events.pipeline import EventPipeline
from keeptrusts.telemetry.metrics import Metrics
from tests.controlplane.eventgen import make_event

async def main():
    settings = Events(batch_size={BATCH}, flush_interval_seconds=0.1, delivery_timeout_seconds=5)
    p = EventPipeline(settings, Metrics(), api_url=sys.argv[1], token="t",
                      spool_dir=sys.argv[2], gateway_id="gw")
    await p.start()
    ids = []
    for i in range(30):  # 1,500 events in 3 s: 500/s, far more than the API takes
        for j in range(50):
            e = make_event(i * 50 + j)
            ids.append(e["id"])
            p.enqueue(e)
        await asyncio.sleep(0.1)
    print(json.dumps(ids), flush=True)
    await asyncio.sleep(3600)  # until SIGKILL

asyncio.run(main())
"""


def spooled_ids(spool: Path) -> set[str]:
    ids: set[str] = set()
    for path in spool.glob("spool-*.db"):
        with sqlite3.connect(path) as db:
            ids.update(json.loads(body)["id"] for (body,) in db.execute("SELECT body FROM spool"))
    return ids


async def test_sigkill_while_the_api_is_slow_loses_only_the_last_moment(tmp_path: Path) -> None:
    """Before: one 1.5 s POST at a time and nothing spilled while the POSTs succeeded, so more
    than a thousand events sat in memory and died with the process."""
    api = await FakeEventsApi("ok", delay=1.5).start()
    spool = tmp_path / "spool"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        SLOW_PRODUCER,
        api.url,
        str(spool),
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        ids = json.loads(await asyncio.wait_for(proc.stdout.readline(), 60))
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        await asyncio.sleep(2.0)  # POSTs the API was still working on finish (or not)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await api.stop()
    kept = set(api.ids) | spooled_ids(spool)
    lost = [i for i in ids if i not in kept]
    assert len(ids) == 1500
    assert len(lost) <= 2 * BATCH, f"{len(lost)} lost; {len(api.ids)} stored"
    assert lost == ids[len(ids) - len(lost) :]  # only the newest
