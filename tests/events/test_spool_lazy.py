"""A spool is a file only while it holds events: a gateway whose API takes every batch never
creates one (nor loads SQLite, ≈ 1 MiB of an idle gateway), one emptied by a replay is removed
at close, and one a crash left behind is replayed at the next start as before."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from tests.controlplane.eventgen import make_event
from tests.controlplane.fixtures import ApiFactory
from tests.controlplane.servers import TOKEN
from tests.events.test_pipeline import pipeline, wait_stored
from tests.events.test_spool_faults import GARBAGE

NO_SQLITE = """
import asyncio, sys
from keeptrusts.config.model import Events
from keeptrusts.events.pipeline import EventPipeline
from keeptrusts.telemetry.metrics import Metrics
from tests.controlplane.eventgen import make_event

async def main():
    api_url, spool_dir, token = sys.argv[1:4]
    p = EventPipeline(Events(batch_size=50, flush_interval_seconds=0.1), Metrics(),
                      api_url=api_url, token=token, spool_dir=spool_dir, gateway_id="gw")
    await p.start()
    for i in range(20):
        p.enqueue(make_event(i))
    assert await p.wait_drained(10)
    await p.close(2.0)
    print("sqlite3 loaded" if "_sqlite3" in sys.modules else "sqlite3 not loaded")

asyncio.run(main())
"""


def spool_files(spool: Path) -> list[str]:
    return sorted(f.name for f in spool.iterdir() if ".db" in f.name) if spool.exists() else []


async def test_an_api_that_takes_everything_leaves_no_spool_file(
    make_api: ApiFactory, tmp_path: Path
) -> None:
    api = make_api().start()
    spool = tmp_path / "spool"
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", NO_SQLITE, api.url, str(spool), TOKEN],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "sqlite3 not loaded"
    assert spool_files(spool) == []
    assert len(await wait_stored(api, 20)) == 20


async def test_a_spool_emptied_by_the_replay_is_removed_at_close(
    make_api: ApiFactory, tmp_path: Path
) -> None:
    api = make_api()  # down: the events go to the spool
    spool = tmp_path / "spool"
    p = pipeline(api.url, spool)
    await p.start()
    assert spool_files(spool) == []
    for i in range(120):
        p.enqueue(make_event(i))
    for _ in range(400):  # the API is down: all on disk
        if p.depth()["spool"] == 120:
            break
        await asyncio.sleep(0.05)
    assert "spool-0.db" in spool_files(spool)
    api.start()
    assert len(await wait_stored(api, 120)) == 120
    assert await p.wait_drained(10)
    await p.close(2.0)
    assert spool_files(spool) == []


async def test_a_spool_left_with_events_is_replayed_at_the_next_start(
    make_api: ApiFactory, tmp_path: Path
) -> None:
    api = make_api()  # down through the first run
    spool = tmp_path / "spool"
    first = pipeline(api.url, spool)
    await first.start()
    for i in range(60):
        first.enqueue(make_event(i))
    await first.close(0.5)  # the API never answered: kept on disk for the next start
    assert "spool-0.db" in spool_files(spool)
    api.start()
    second = pipeline(api.url, spool)
    await second.start()
    assert len(await wait_stored(api, 60)) == 60
    assert await second.wait_drained(10)
    await second.close(2.0)
    assert spool_files(spool) == []


async def test_a_file_found_corrupt_at_the_first_write_is_moved_aside(
    make_api: ApiFactory, tmp_path: Path
) -> None:
    """A slot with no file at start is opened by its first write. Before: a file that was not
    a database by then (something wrote it meanwhile) failed every write, never set aside,
    and the events were lost at exit."""
    api = make_api()  # down: the events go to the spool
    spool = tmp_path / "spool"
    p = pipeline(api.url, spool)
    await p.start()
    (spool / "spool-0.db").write_bytes(GARBAGE)
    for i in range(10):
        p.enqueue(make_event(i))
    await p.close(0.5)
    assert [f.read_bytes() for f in spool.glob("spool-0.db.corrupt-*")] == [GARBAGE]
    api.start()
    second = pipeline(api.url, spool)
    await second.start()
    assert len(await wait_stored(api, 10)) == 10
    await second.close(2.0)
