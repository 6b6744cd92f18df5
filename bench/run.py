"""`make bench`: measure direct, the bare pass-through floor and the gateway, interleaved, and
write bench/results/latest.json and docs/benchmarks.md.

    python -m bench.run [--rounds 3] [--duration 4] [--scenario events-down|redis|w2]...
                        [--peers] [--pin split|none] [--quick] [--no-docs]

Without `--scenario`, the events-down and redis scenarios are included when the whole run
stays under about five minutes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench import checks, machine, measure, nginx, payloads, procstat, report, summary, wrk
from bench.targets import Settings, Stack, start_base, start_floor, start_gateways

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SCENARIOS = ["events-down", "redis"]
BUDGET_S = 270.0
EVENT_SENDERS = ("gateway", "gateway-redis", "gateway-w2")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--duration", type=float, default=3.0, help="seconds per wrk run")
    p.add_argument("--connections", default="1,16,64")
    p.add_argument("--stream-requests", type=int, default=200)
    p.add_argument("--scenario", action="append", choices=["events-down", "redis", "w2", "none"])
    p.add_argument("--peers", action="store_true", help="also LiteLLM and Portkey (bench/peers)")
    p.add_argument(
        "--pin",
        choices=["split", "none"],
        default="none",
        help="split: wrk and helpers on core 0, the server under test on core 1",
    )
    p.add_argument("--profile", action="store_true", help="py-spy the gateway in an extra run")
    p.add_argument("--quick", action="store_true", help="1 round × 2 s, for trying the harness")
    p.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    return p.parse_args(argv)


def make_plan(a: argparse.Namespace) -> measure.Plan:
    rounds, duration = (1, 2.0) if a.quick else (a.rounds, a.duration)
    return measure.Plan(
        rounds=rounds,
        duration_s=duration,
        connections=[int(c) for c in a.connections.split(",")],
        stream_requests=50 if a.quick else a.stream_requests,
        warmup_s=1.0,
        load_cpu=0 if a.pin == "split" else None,
    )


def pick_scenarios(a: argparse.Namespace, plan: measure.Plan) -> tuple[list[str], list[str]]:
    if a.scenario:
        return [s for s in dict.fromkeys(a.scenario) if s != "none"], []
    n_peers = 2 if a.peers else 0
    if plan.estimate_s(3 + len(DEFAULT_SCENARIOS) + n_peers, 3) <= BUDGET_S:
        return list(DEFAULT_SCENARIOS), []
    return [], [
        f"scenarios {DEFAULT_SCENARIOS} left out to keep the run short; ask with --scenario"
    ]


def _sink_events(port: int) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=5) as r:
            return int(orjson.loads(r.read())["events"])
    except (OSError, ValueError, KeyError):
        return None


def _policy_micro() -> str | None:
    if not (REPO / "bench" / "policy_micro.py").exists():
        return None
    cmd = [sys.executable, "-m", "bench.policy_micro"]
    try:
        done = subprocess.run(
            cmd, cwd=REPO, capture_output=True, text=True, timeout=120, check=False
        )
    except subprocess.TimeoutExpired:
        return "(bench.policy_micro did not finish within 120 s)"
    if done.returncode != 0:
        return f"(bench.policy_micro exited {done.returncode})\n{done.stderr[-2000:]}"
    return done.stdout


def _target_results(stack: Stack, raw: measure.Raw) -> dict[str, Any]:
    loads = summary.summarise(raw.runs)
    out: dict[str, Any] = {}
    for t in stack.targets:
        out[t.name] = {
            "kind": t.kind,
            "note": t.note,
            "startup_s": t.server.startup_s,
            "idle_rss_kib": t.server.idle_rss_kib,
            "peak_rss_kib": raw.peak_rss_kib.get(t.name),
            "load": loads.get(t.name, {}),
        }
    return out


def _event_note(stack: Stack, raw: measure.Raw) -> str | None:
    got = _sink_events(stack.sink_port)
    if got is None:
        return None
    sent = sum(r["wrk"]["requests"] for r in raw.runs if r["target"] in EVENT_SENDERS)
    sent += sum(s.summary()["count"] for n, s in raw.streams.items() if n in EVENT_SENDERS)
    return (
        f"events sink received {got:,} decision events; the event-sending gateways completed "
        f"{sent:,} measured requests (plus warm-ups and requests cut off at the end of each run)"
    )


def _profile(stack: Stack, body: Path) -> str:
    from bench import profile

    spy = profile.py_spy(REPO)
    gw = next((t for t in stack.targets if t.name == "gateway"), None)
    if spy is None or gw is None:
        return "(no profile: py-spy is not installed or the gateway did not start)"
    return profile.profile(gw, spy, body, stack.settings.out_dir)


def _our_cpu() -> float:
    me = os.getpid()
    return procstat.cpu_seconds(procstat.tree(me)) + procstat.waited_children_cpu_seconds(me)


def _noise_note(busy0: float, steal0: float, ours0: float, wall: float) -> str:
    """How much of the machine other work took during the run (the noise in the figures)."""
    busy1, steal1 = machine.cpu_busy()
    ours = _our_cpu() - ours0
    cores = os.cpu_count() or 1
    other = max(0.0, (busy1 - busy0) - ours) / (wall * cores) * 100
    steal = (steal1 - steal0) / (wall * cores) * 100
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"noise: processes outside this benchmark used {other:.0f}% of the machine's CPU during "
        f"the measurements (steal {steal:.0f}%); load average at the end {load}"
    )


def execute(
    a: argparse.Namespace, plan: measure.Plan, settings: Settings, notes: list[str]
) -> dict[str, Any]:
    stack = Stack(settings)
    raw = measure.Raw()
    profiled: str | None = None
    body = settings.out_dir / "chat_request.json"
    body.write_bytes(payloads.chat_request_bytes())
    busy0, steal0 = machine.cpu_busy()
    ours0 = _our_cpu()
    t0 = time.monotonic()
    try:
        start_base(stack)
        start_floor(stack)
        start_gateways(stack)
        if settings.peers:
            from bench import peers

            peers.start_all(stack)
        measure.warm_up(stack.targets, plan, body)
        measure.load_rounds(stack.targets, plan, body, raw)
        measure.stream_rounds(stack.stream_urls, plan, raw)
        if a.profile:
            profiled = _profile(stack, body)
        time.sleep(1.5)  # let the last event batches arrive
        note = _event_note(stack, raw)
        if note:
            notes.append(note)
        notes.append(_noise_note(busy0, steal0, ours0, time.monotonic() - t0))
    finally:
        stack.stop()
    streams = {n: s.summary() for n, s in raw.streams.items()}
    return {
        "targets": _target_results(stack, raw),
        "streams": summary.stream_added(streams),
        "skipped": stack.skipped,
        "errors": raw.errors,
        "runs": raw.runs,
        "profile": profiled,
    }


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    if not wrk.available() or not nginx.available():
        print("bench: wrk and nginx are needed: run `make system-deps`", file=sys.stderr)
        return 2
    plan = make_plan(a)
    scenarios, notes = pick_scenarios(a, plan)
    a.out.mkdir(parents=True, exist_ok=True)
    settings = Settings(REPO, a.out, scenarios, a.pin == "split", a.peers)
    started = datetime.now(UTC)
    res: dict[str, Any] = {
        "started": started.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": machine.describe(),
    }
    res.update(execute(a, plan, settings, notes))
    res["policy_micro"] = _policy_micro()
    res["finished"] = datetime.now(UTC).strftime("%H:%M:%S")
    res["notes"] = notes
    res["settings"] = {
        "rounds": plan.rounds,
        "duration_s": plan.duration_s,
        "connections": plan.connections,
        "stream_requests": plan.stream_requests,
        "scenarios": scenarios,
        "pin": a.pin,
        "pin_description": _pin_text(a.pin),
        "command": "python -m bench.run " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    res["checks"] = checks.evaluate(res)
    note = checks.cpu_note(res)
    if note:
        notes.insert(0, note)
    (a.out / "latest.json").write_bytes(
        orjson.dumps(res, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)
    )
    if not a.no_docs:
        (REPO / "docs" / "benchmarks.md").write_text(report.render(res))
    print(report.render(res))
    return 0


def _pin_text(pin: str) -> str:
    if pin == "split":
        return (
            "`--pin split`: wrk, nginx, the events sink, Redis and the stream client on core 0; "
            "the server under test alone on core 1 (`--workers 2` gateways get both cores)"
        )
    return (
        "`--pin none`, the default: no CPU pinning. On this shared machine other work comes and "
        "goes, and a server pinned to one core cannot move off it when that core is busy: in "
        "trial runs `--pin split` made the floor 3–8× slower at 1 connection, and more erratic"
    )


if __name__ == "__main__":
    sys.exit(main())
