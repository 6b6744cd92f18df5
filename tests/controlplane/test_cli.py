"""`kt api run`, `kt events tail|export` and `kt config push` as real processes."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.controlplane.eventgen import make_event
from tests.controlplane.fixtures import ApiFactory
from tests.controlplane.servers import TOKEN, ApiServer, free_port


def kt(api: ApiServer, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPTRUSTS_")}
    env.update(KEEPTRUSTS_API_URL=api.url, KEEPTRUSTS_API_TOKEN=TOKEN)
    return subprocess.run(
        [sys.executable, "-m", "keeptrusts", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_kt_api_run_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "KEEPTRUSTS_API_TOKENS": TOKEN}
    cmd = [
        sys.executable,
        "-m",
        "keeptrusts",
        "api",
        "run",
        "--listen",
        f"127.0.0.1:{port}",
        "--database",
        f"sqlite:///{tmp_path / 'kt.db'}",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        else:
            raise AssertionError("kt api run did not become healthy")
        assert (tmp_path / "kt.db").exists()
    finally:
        proc.terminate()
        assert proc.wait(10) == 0


def test_export_jsonl_and_csv(make_api: ApiFactory) -> None:
    api = make_api().start()
    events = [make_event(i) for i in range(1500)]  # more than one page
    api.post_events(events)
    done = kt(api, "events", "export", "--format", "jsonl")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [e["id"] for e in lines] == [e["id"] for e in events]
    done = kt(api, "events", "export", "--format", "csv", "--tenant", "team-a")
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [r["id"] for r in rows] == [e["id"] for e in events if e["tenant"] == "team-a"]
    assert rows[0]["policies_evaluated"] == "dlp-filter:request:allow"
    assert float(rows[0]["cost_usd"]) == events[0]["cost_usd"]
    assert rows[0]["usage_estimated"] == "false"  # as in the JSON lines


def test_tail_shows_the_newest_and_follows(make_api: ApiFactory) -> None:
    api = make_api().start()
    events = [make_event(i) for i in range(30)]
    api.post_events(events[:20])
    done = kt(api, "events", "tail", "-n", "5")
    assert [json.loads(x)["id"] for x in done.stdout.splitlines()] == [
        e["id"] for e in events[15:20]
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPTRUSTS_")}
    env.update(KEEPTRUSTS_API_URL=api.url, KEEPTRUSTS_API_TOKEN=TOKEN)
    cmd = [
        sys.executable,
        "-m",
        "keeptrusts",
        "events",
        "tail",
        "-f",
        "-n",
        "2",
        "--interval",
        "0.1",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        got = [json.loads(proc.stdout.readline())["id"] for _ in range(2)]
        api.post_events(events[20:])
        got += [json.loads(proc.stdout.readline())["id"] for _ in range(10)]
    finally:
        proc.kill()
        proc.wait(5)
    assert got == [e["id"] for e in events[18:]]


def test_tail_follow_waits_out_an_api_restart(make_api: ApiFactory) -> None:
    """`tail -f` outlives an API restart (a rollout): said once on stderr, then it goes on from
    where it stopped. (An API down when tail starts, or refusing the token, still exits 1.)"""
    api = make_api().start()
    events = [make_event(i) for i in range(5)]
    api.post_events(events[:2])
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPTRUSTS_")}
    env.update(KEEPTRUSTS_API_URL=api.url, KEEPTRUSTS_API_TOKEN=TOKEN)
    cmd = [sys.executable, "-m", "keeptrusts", "events", "tail", "-f", "--interval", "0.1"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stderr is not None
        got = [json.loads(proc.stdout.readline())["id"] for _ in range(2)]
        api.stop()
        assert "cannot reach the control-plane API" in proc.stderr.readline()
        assert proc.poll() is None
        api.start()  # same port, same database
        api.post_events(events[2:])
        got += [json.loads(proc.stdout.readline())["id"] for _ in range(3)]
        assert "answers again" in proc.stderr.readline()
    finally:
        proc.kill()
        proc.wait(5)
    assert got == [e["id"] for e in events]


def test_tail_reports_an_unreachable_api(tmp_path: Path) -> None:
    api = ApiServer("sqlite:///unused.db", tmp_path)  # never started
    done = kt(api, "events", "tail")
    assert done.returncode == 1
    assert "cannot reach the control-plane API" in done.stderr


def test_config_push_validates_first(make_api: ApiFactory, tmp_path: Path) -> None:
    api = make_api().start()
    bad = tmp_path / "bad.yaml"
    bad.write_text("pack: {name: x}\npolicies: {chain: [no-such-policy]}\n")
    done = kt(api, "config", "push", str(bad), "--gateway", "gw-7")
    assert done.returncode == 2
    assert "bad.yaml" in done.stderr
    assert api.get("/v1/gateways/gw-7/config").status_code == 404
    good = tmp_path / "good.yaml"
    good.write_text("pack: {name: managed, version: 3.0.0}\npolicies: {chain: []}\n")
    done = kt(api, "config", "push", str(good), "--gateway", "gw-7")
    assert done.returncode == 0, done.stderr
    assert api.get("/v1/gateways/gw-7/config").text == good.read_text()
    wrong = kt(api, "config", "push", str(good), "--gateway", "gw-7", "--token", "nope")
    assert wrong.returncode == 1 and "HTTP 401" in wrong.stderr
