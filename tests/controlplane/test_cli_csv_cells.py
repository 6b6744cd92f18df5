"""`kt events export --format csv`: a text cell that a spreadsheet would run as a formula
(`=`, `+`, `-`, `@`, tab, carriage return first) is written with a leading `'`, so that
opening the export does not run what a caller put in its event. `x-request-id` is the
caller's own header, so anyone who can reach the gateway chooses that cell. JSON lines keep
every value as stored; numbers stay numbers."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from tests.controlplane.eventgen import make_event
from tests.controlplane.fixtures import ApiFactory
from tests.controlplane.servers import TOKEN

FORMULAS = ['=HYPERLINK("http://x.example","y")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def export(api_url: str, fmt: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPTRUSTS_")}
    env.update(KEEPTRUSTS_API_URL=api_url, KEEPTRUSTS_API_TOKEN=TOKEN)
    done = subprocess.run(
        [sys.executable, "-m", "keeptrusts", "events", "export", "--format", fmt],
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.decode()  # bytes: a text-mode pipe would turn a "\r" into "\n"


@pytest.fixture
def api_url(make_api: ApiFactory) -> str:
    api = make_api().start()
    events = []
    for i, formula in enumerate(FORMULAS):
        event = make_event(i)
        event["request_id"] = formula
        events.append(event)
    plain = make_event(len(FORMULAS))
    plain["request_id"] = "req-plain"
    events.append(plain)
    assert api.post_events(events).status_code == 200
    return api.url


def test_formula_cells_are_quoted(api_url: str) -> None:
    rows = list(csv.DictReader(io.StringIO(export(api_url, "csv"), newline="")))
    assert [r["request_id"] for r in rows] == [*("'" + f for f in FORMULAS), "req-plain"]
    assert all(float(r["cost_usd"]) > 0 and int(r["input_tokens"]) > 0 for r in rows)


def test_jsonl_keeps_the_values(api_url: str) -> None:
    lines = [json.loads(x) for x in export(api_url, "jsonl").splitlines()]
    assert [e["request_id"] for e in lines] == [*FORMULAS, "req-plain"]
