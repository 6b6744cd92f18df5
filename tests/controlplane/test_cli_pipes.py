"""`kt events export | head` and `kt events tail | head`: when the reader of kt's output goes
away, kt stops quietly (exit 141, as a shell reports SIGPIPE), never with a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.controlplane.eventgen import make_event
from tests.controlplane.fixtures import ApiFactory
from tests.controlplane.servers import TOKEN

#: events enough to overflow a pipe buffer (64 KiB) many times over
EVENTS = 3000


@pytest.mark.parametrize(
    "command",
    [
        ["export"],
        ["export", "--format", "csv"],
        ["tail", "-n", "1000"],
    ],
    ids=" ".join,
)
def test_a_reader_that_stops_early(make_api: ApiFactory, command: list[str]) -> None:
    api = make_api().start()
    assert api.post_events([make_event(i) for i in range(EVENTS)]).status_code == 200
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPTRUSTS_")}
    env.update(KEEPTRUSTS_API_URL=api.url, KEEPTRUSTS_API_TOKEN=TOKEN)
    proc = subprocess.Popen(
        [sys.executable, "-m", "keeptrusts", "events", *command],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()  # what `head -1` reads, then it exits
    proc.stdout.close()
    stderr = proc.stderr.read()
    code = proc.wait(30)
    assert first.strip()
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
    assert code == 141, stderr
