"""`make soak`: mixed traffic against the gateway for a while (10 minutes by default), watching
memory and open descriptors, then checking that every request has its decision event.

    python -m bench.soak [--minutes 10] [--clients 6] [--rate 8] [--no-docs]

Starts, on free loopback ports: the misbehaving fake upstream (`bench/fault_upstream.py`),
the control plane (`kt api run`, SQLite in the results dir; the bench events sink if the
control plane does not start) and the gateway (`kt gateway run`, the embedded default chain
plus a DLP blocked term, events to the control plane). Writes bench/results/soak.json and
docs/soak.md.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench import gateway, netutil, procs, procstat, soak_report, soak_traffic
from bench.targets import CHAT_PATH

REPO = Path(__file__).resolve().parent.parent
TOKEN = "soak-bench-token"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--clients", type=int, default=6)
    p.add_argument("--rate", type=float, default=8.0, help="requests per second per client")
    p.add_argument("--sample-every", type=float, default=5.0, help="seconds between samples")
    p.add_argument("--no-docs", action="store_true")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    return p.parse_args(argv)


def _get_json(url: str, token: str | None = None) -> Any:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(req, timeout=30) as r:
        return orjson.loads(r.read())


def start_events_api(out: Path, notes: list[str]) -> tuple[procs.Server, str]:
    """`kt api run` if it starts, else the bench events sink; returns (server, kind)."""
    logs = out / "logs"
    port = netutil.free_port()
    kt = gateway.kt_command(REPO)
    if kt is not None:
        db = out / "soak-controlplane.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        cmd = [*kt, "api", "run", "--listen", f"127.0.0.1:{port}", "--database", f"sqlite:///{db}"]
        try:
            env = {"KEEPTRUSTS_API_TOKENS": TOKEN}
            return procs.spawn(
                "controlplane", cmd, port, logs, ready_path="/health", env=env
            ), "controlplane"
        except procs.StartError as exc:
            notes.append(
                f"control plane did not start ({str(exc)[:300]}); used the bench events sink"
            )
    port = netutil.free_port()
    cmd = [sys.executable, "-m", "bench.events_sink", "--listen", f"127.0.0.1:{port}", "--keep-ids"]
    return procs.spawn("events-sink", cmd, port, logs, cwd=REPO), "sink"


def soak_config(base_url: str) -> dict[str, Any]:
    cfg = gateway.bench_config(base_url)
    cfg["policy"]["dlp-filter"] = {"blocked_terms": [soak_traffic.BLOCKED_TERM], "action": "block"}
    return cfg


def event_ids(api: procs.Server, kind: str) -> set[str]:
    if kind == "sink":
        return set(_get_json(f"{api.url}/stats")["request_ids"])
    ids: set[str] = set()
    cursor: str | None = None
    while True:
        url = f"{api.url}/v1/events?limit=1000" + (f"&cursor={cursor}" if cursor else "")
        page = _get_json(url, TOKEN)
        ids.update(str(e.get("request_id")) for e in page["events"])
        cursor = page.get("next_cursor")
        if not cursor or not page["events"]:
            return ids


def reading(gw: procs.Server, t_s: float) -> dict[str, Any]:
    pids = gw.pids()
    return {
        "t_s": round(t_s, 1),
        "rss_kib": procstat.memory_kib(pids),
        "fds": procstat.open_fds(pids),
        "cpu_s": procstat.cpu_seconds(pids),
    }


async def sample(
    gw: procs.Server, every: float, deadline: float, out: list[dict[str, Any]]
) -> None:
    t0 = time.monotonic()
    while True:
        out.append(reading(gw, time.monotonic() - t0))
        if time.monotonic() >= deadline:
            return
        await asyncio.sleep(min(every, max(0.0, deadline - time.monotonic())))


async def drive(
    a: argparse.Namespace, gw: procs.Server, tally: soak_traffic.Tally
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + a.minutes * 60
    samples: list[dict[str, Any]] = []
    url = gw.url + CHAT_PATH
    clients = [soak_traffic.client(url, deadline, a.rate, seed, tally) for seed in range(a.clients)]
    await asyncio.gather(sample(gw, a.sample_every, deadline, samples), *clients)
    return samples


def run(a: argparse.Namespace, notes: list[str]) -> dict[str, Any]:
    logs = a.out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    kt = gateway.kt_command(REPO)
    if kt is None:
        raise SystemExit("bench.soak: `kt` is not installed (make venv)")
    started: list[procs.Server] = []
    try:
        up_port = netutil.free_port()
        up_cmd = [sys.executable, "-m", "bench.fault_upstream", "--listen", f"127.0.0.1:{up_port}"]
        upstream = procs.spawn("fault-upstream", up_cmd, up_port, logs, cwd=REPO)
        started.append(upstream)
        api, api_kind = start_events_api(a.out, notes)
        started.append(api)
        cfg = gateway.write_config(a.out / "soak-gateway.yaml", soak_config(f"{upstream.url}/v1"))
        env = {"KEEPTRUSTS_API_URL": api.url, "KEEPTRUSTS_GATEWAY_TOKEN": TOKEN}
        gw = gateway.start("soak-gateway", kt, cfg, netutil.free_port(), logs, env=env)
        started.append(gw)
        tally = soak_traffic.Tally()
        samples = asyncio.run(drive(a, gw, tally))
        time.sleep(3.0)  # the last event batches; then one reading at rest
        idle = reading(gw, samples[-1]["t_s"] + 3.0) if samples else None
        alive = gw.alive()
        missing = sorted(set(tally.request_ids) - event_ids(api, api_kind))
        up_stats = _get_json(f"{upstream.url}/stats")
    finally:
        for s in reversed(started):
            s.stop()
    return {
        "gateway_alive_at_end": alive,
        "gateway_startup_s": gw.startup_s,
        "events_api": api_kind,
        "traffic": tally.to_json(),
        "requests": len(tally.request_ids),
        "missing_events": len(missing),
        "missing_examples": missing[:10],
        "upstream": up_stats,
        "samples": samples,
        "at_rest": idle,
        "latency_ms": soak_report.percentiles(tally.latencies_ms),
    }


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    t0 = datetime.now(UTC)
    res = run(a, notes)
    res.update(
        started=t0.strftime("%Y-%m-%d %H:%M:%S"),
        finished=datetime.now(UTC).strftime("%H:%M:%S"),
        settings={"minutes": a.minutes, "clients": a.clients, "rate_per_client": a.rate},
        notes=notes,
    )
    res["verdict"] = soak_report.verdict(res)
    (a.out / "soak.json").write_bytes(orjson.dumps(res, option=orjson.OPT_INDENT_2))
    text = soak_report.render(res)
    if not a.no_docs:
        (REPO / "docs" / "soak.md").write_text(text)
    print(text)
    return 0 if all(ok for _, ok in res["verdict"]) else 1


if __name__ == "__main__":
    sys.exit(main())
