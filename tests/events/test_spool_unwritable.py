"""The API is down and the spool cannot be written (a full disk): events stay in memory, up to
`queue_size`, and are all delivered, in order, when the API comes back. Only the newest beyond
`queue_size` are lost (counted).

Before: every event of a failed spool write was counted as lost, whether it was a spill of the
memory queue (`enqueue` -> `_spill`) or a batch whose POST had failed (`_ship` -> `_spool_rows`),
although memory had room for them."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from tests.controlplane.fixtures import ApiFactory
from tests.controlplane.servers import TOKEN
from tests.events.test_pipeline import stored_ids

# batch_size 20: more than 40 waiting events would go to the spool; queue_size 150 bounds memory
DISK_FULL_FROM_THE_START = """
import asyncio, json, os, resource, sys
from keeptrusts.config.model import Events
from keeptrusts.events.pipeline import EventPipeline
from keeptrusts.telemetry.metrics import Metrics
from tests.controlplane.eventgen import make_event

async def state(p, m):
    # the largest of a few samples: a retry of the spool takes the queue for a few ms
    depths = []
    for _ in range(5):
        depths.append(p.depth())
        await asyncio.sleep(0.013)
    dropped = m.registry.get_sample_value("keeptrusts_events_dropped_total") or 0.0
    return {"depth": max(depths, key=lambda d: d["queue"]), "dropped": dropped}

async def main():
    api_url, spool_dir, token = sys.argv[1:4]
    m = Metrics()
    settings = Events(batch_size=20, flush_interval_seconds=0.1, queue_size=150)
    p = EventPipeline(settings, m, api_url=api_url, token=token, spool_dir=spool_dir,
                      gateway_id="gw")
    await p.start()
    # From here on the disk is full: neither the database nor its WAL can grow (a file-size
    # limit stands in for ENOSPC; the larger shared-memory file is only mapped), so every spool
    # write fails. (A spool with nothing to replay has no file yet: it cannot even be made.)
    files = [f for f in os.listdir(spool_dir) if f.endswith((".db", ".db-wal"))]
    largest = max((os.path.getsize(os.path.join(spool_dir, f)) for f in files), default=0)
    resource.setrlimit(resource.RLIMIT_FSIZE, (largest, resource.RLIM_INFINITY))
    events = [make_event(i) for i in range(200)]
    for e in events[:100]:  # a burst: past 2 x batch_size, the queue is handed to the spool
        p.enqueue(e)
    await asyncio.sleep(1.0)  # POSTs fail, spool writes fail, the spool is tried again
    burst = await state(p, m)
    for e in events[100:130]:  # a trickle
        p.enqueue(e)
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.5)
    trickle = await state(p, m)
    for e in events[130:]:  # past queue_size: the newest 50 have no room
        p.enqueue(e)
    await asyncio.sleep(0.5)
    print(json.dumps({"ids": [e["id"] for e in events], "burst": burst, "trickle": trickle,
                      "full": await state(p, m)}), flush=True)
    await asyncio.to_thread(sys.stdin.readline)  # the test has started the API
    drained = await p.wait_drained(20)
    print(json.dumps({"drained": drained, **(await state(p, m))}), flush=True)
    os._exit(0)

asyncio.run(main())
"""


async def test_events_wait_in_memory_while_the_spool_cannot_be_written(
    make_api: ApiFactory, tmp_path: Path
) -> None:
    api = make_api()  # down
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        DISK_FULL_FROM_THE_START,
        api.url,
        str(tmp_path / "spool"),
        TOKEN,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        before: dict[str, Any] = json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))
        await asyncio.to_thread(api.start)
        proc.stdin.write(b"go\n")
        await proc.stdin.drain()
        after: dict[str, Any] = json.loads(await asyncio.wait_for(proc.stdout.readline(), 30))
    finally:
        if proc.returncode is None:
            proc.kill()
        stderr = (await proc.communicate())[1].decode()
    ids = before["ids"]
    # nothing lost while memory has room: all of it waits there (none on disk)
    assert before["burst"]["dropped"] == 0, stderr
    assert before["burst"]["depth"]["spool"] == 0
    assert before["burst"]["depth"]["queue"] >= 80  # a batch of 20 may be in a (failing) POST
    assert before["trickle"]["dropped"] == 0
    assert before["trickle"]["depth"]["queue"] >= 110
    # memory is bounded by queue_size: only the 50 newest beyond it are lost
    assert before["full"] == {"depth": {"queue": 150, "spool": 0}, "dropped": 50}
    assert "EVENT SPOOL WRITE FAILED" in stderr and "kept in memory" in stderr
    assert after["drained"], stderr
    assert after["depth"] == {"queue": 0, "spool": 0}
    assert after["dropped"] == 50
    assert await stored_ids(api) == ids[:150]
