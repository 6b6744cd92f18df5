"""Everything one benchmark run starts: the upstreams, the events sink and the targets.

A target is one server under load: `direct` (nginx itself), `passthrough` (the floor) and
`gateway` (`kt gateway run`, default chain, metrics and events on), plus the optional scenario
gateways (`gateway-events-down`, `gateway-redis`, `gateway-w2`) and peers. Streams use their
own instances of the passthrough and the gateway pointed at the SSE upstream.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bench import gateway, netutil, nginx, procs, redis_server

CHAT_PATH = "/v1/chat/completions"


@dataclass
class Settings:
    repo: Path
    out_dir: Path
    scenarios: list[str]
    pin: bool
    peers: bool = False

    @property
    def load_cpus(self) -> set[int] | None:
        return {0} if self.pin else None

    @property
    def server_cpus(self) -> set[int] | None:
        return {1} if self.pin else None


@dataclass
class Target:
    name: str
    kind: str  # direct | floor | gateway | scenario | peer
    server: procs.Server
    url: str
    headers: str = ""  # wrk's BENCH_HEADERS form: "Name: value|Name: value"
    note: str = ""


@dataclass
class Stack:
    settings: Settings
    upstream: nginx.Upstream | None = None
    helpers: list[procs.Server] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    stream_urls: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    sink_port: int = 0

    def stop(self) -> None:
        for t in reversed(self.targets):
            t.server.stop()
        for h in reversed(self.helpers):
            h.stop()
        if self.upstream is not None:
            self.upstream.server.stop()

    def servers(self) -> list[procs.Server]:
        return [t.server for t in self.targets] + self.helpers


def _log_dir(s: Settings) -> Path:
    d = s.out_dir / "logs"
    d.mkdir(parents=True, exist_ok=True)
    return d


def start_base(stack: Stack) -> None:
    """nginx (JSON + SSE ports) and the events sink; both pinned with the load generator."""
    s = stack.settings
    prefix = s.out_dir / "nginx"
    stack.upstream = nginx.start(prefix, netutil.free_port(), netutil.free_port(), cpus=s.load_cpus)
    up = stack.upstream
    stack.targets.append(Target("direct", "direct", up.server, up.json_root + CHAT_PATH))
    stack.stream_urls["direct"] = up.sse_root + CHAT_PATH
    stack.sink_port = netutil.free_port()
    sink_cmd = [
        sys.executable,
        "-m",
        "bench.events_sink",
        "--listen",
        f"127.0.0.1:{stack.sink_port}",
    ]
    stack.helpers.append(
        procs.spawn(
            "events-sink", sink_cmd, stack.sink_port, _log_dir(s), cpus=s.load_cpus, cwd=s.repo
        )
    )


def _passthrough(stack: Stack, name: str, upstream_base: str) -> procs.Server:
    s = stack.settings
    port = netutil.free_port()
    cmd = [
        sys.executable, "-m", "bench.passthrough",
        "--listen", f"127.0.0.1:{port}", "--upstream", upstream_base,
    ]  # fmt: skip
    return procs.spawn(name, cmd, port, _log_dir(s), cpus=s.server_cpus, cwd=s.repo)


def start_floor(stack: Stack) -> None:
    up = stack.upstream
    assert up is not None
    pt = _passthrough(stack, "passthrough", up.json_root)
    stack.targets.append(Target("passthrough", "floor", pt, pt.url + CHAT_PATH))
    sse = _passthrough(stack, "passthrough-sse", up.sse_root)
    stack.helpers.append(sse)
    stack.stream_urls["passthrough"] = sse.url + CHAT_PATH


def _gateway(
    stack: Stack,
    name: str,
    base_url: str,
    *,
    redis_url: str | None = None,
    env: dict[str, str] | None = None,
    workers: int = 1,
) -> procs.Server | None:
    s = stack.settings
    kt = gateway.kt_command(s.repo)
    if kt is None:
        stack.skipped[name] = "`kt` is not installed (run `make venv`)"
        return None
    cfg_name = "gateway.yaml" if name == "gateway" else f"{name}.yaml"
    cfg = gateway.write_config(
        s.out_dir / cfg_name, gateway.bench_config(base_url, redis_url=redis_url)
    )
    events = {"KEEPTRUSTS_API_URL": f"http://127.0.0.1:{stack.sink_port}"}
    # several workers get every core (the orchestrator may itself be pinned)
    cpus = s.server_cpus if workers == 1 else set(range(os.cpu_count() or 1))
    try:
        return gateway.start(
            name, kt, cfg, netutil.free_port(), _log_dir(s),
            workers=workers, cpus=cpus, env={**events, **(env or {})},
        )  # fmt: skip
    except procs.StartError as exc:
        stack.skipped[name] = f"did not become ready on GET /readyz: {exc}"
        return None


def start_gateways(stack: Stack) -> None:
    up = stack.upstream
    assert up is not None
    gw = _gateway(stack, "gateway", up.json_base)
    if gw is None:
        return
    stack.targets.append(Target("gateway", "gateway", gw, gw.url + CHAT_PATH))
    sse = _gateway(stack, "gateway-sse", up.sse_base)
    if sse is not None:
        stack.helpers.append(sse)
        stack.stream_urls["gateway"] = sse.url + CHAT_PATH
    for scenario in stack.settings.scenarios:
        start_scenario(stack, scenario)


def start_scenario(stack: Stack, scenario: str) -> None:
    up = stack.upstream
    assert up is not None
    s = stack.settings
    name = f"gateway-{scenario}"
    server: procs.Server | None = None
    note = ""
    if scenario == "events-down":
        closed = netutil.free_port()  # nothing listens here
        spool = s.out_dir / "spool-events-down"
        spool.mkdir(parents=True, exist_ok=True)
        env = {
            "KEEPTRUSTS_API_URL": f"http://127.0.0.1:{closed}",
            "KEEPTRUSTS_SPOOL_DIR": str(spool),
        }
        server = _gateway(stack, name, up.json_base, env=env)
        note = "events API at a closed port, spooling to disk"
    elif scenario == "redis":
        if not redis_server.available():
            stack.skipped[name] = "redis-server is not installed (make system-deps)"
            return
        rport = netutil.free_port()
        stack.helpers.append(redis_server.start(rport, s.out_dir / "redis", cpus=s.load_cpus))
        server = _gateway(stack, name, up.json_base, redis_url=f"redis://127.0.0.1:{rport}/0")
        note = "state: redis + rate-limit (limits never reached)"
    elif scenario == "w2":
        server = _gateway(stack, name, up.json_base, workers=2)
        note = "--workers 2, not pinned (shares the cores with wrk and nginx)"
    else:
        stack.skipped[name] = f"unknown scenario {scenario!r}"
    if server is not None:
        stack.targets.append(Target(name, "scenario", server, server.url + CHAT_PATH, note=note))
