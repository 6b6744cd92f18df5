"""`kt events tail -n N` shows the newest N events even when N is more than one API page
(the API serves at most 1000 events a page), oldest first, and `-f` goes on after the newest."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.controlplane.eventgen import make_event
from tests.controlplane.fixtures import ApiFactory
from tests.controlplane.servers import TOKEN


def test_tail_n_larger_than_a_page(make_api: ApiFactory) -> None:
    api = make_api().start()
    events = [make_event(i) for i in range(2500)]
    assert api.post_events(events[:2400]).status_code == 200
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPTRUSTS_")}
    env.update(KEEPTRUSTS_API_URL=api.url, KEEPTRUSTS_API_TOKEN=TOKEN)
    kt = [sys.executable, "-m", "keeptrusts", "events", "tail"]
    done = subprocess.run([*kt, "-n", "1500"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    got = [json.loads(line)["id"] for line in done.stdout.splitlines()]
    assert got == [e["id"] for e in events[900:2400]]
    done = subprocess.run([*kt, "-n", "5000"], env=env, capture_output=True, text=True, timeout=60)
    assert [json.loads(x)["id"] for x in done.stdout.splitlines()] == [
        e["id"] for e in events[:2400]
    ]
    proc = subprocess.Popen(
        [*kt, "-f", "-n", "1200", "--interval", "0.1"], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        first = [json.loads(proc.stdout.readline())["id"] for _ in range(1200)]
        assert api.post_events(events[2400:]).status_code == 200
        more = [json.loads(proc.stdout.readline())["id"] for _ in range(100)]
    finally:
        proc.kill()
        proc.wait(5)
    assert first == [e["id"] for e in events[1200:2400]]
    assert more == [e["id"] for e in events[2400:]]
