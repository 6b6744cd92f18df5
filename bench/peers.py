"""`--peers` (best effort): LiteLLM proxy and the Portkey gateway, each installed in its own
environment under bench/peers/ (gitignored: `litellm/.venv`, `portkey/node_modules`) and pointed at the same nginx upstream.

Installation happens on the first `make bench-peers` (pip into bench/peers/litellm, npm into
bench/peers/portkey); a peer that cannot be installed or does not start is skipped with a note.
LiteLLM is pinned (its 1.107.0 release was compromised upstream and withdrawn; never float it).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from bench import netutil, procs
from bench.targets import CHAT_PATH, Stack, Target

LITELLM_SPEC = "litellm[proxy]==1.74.9"
PORTKEY_SPEC = "@portkey-ai/gateway@1.15.2"


def _run(cmd: list[str], timeout_s: float) -> str | None:
    """Run an install step; None on success, else the reason."""
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return repr(exc)
    return None if done.returncode == 0 else (done.stderr or done.stdout)[-800:]


def install_litellm(root: Path) -> Path | str:
    # a hidden `.venv` keeps its scripts out of `mypy bench` and `ruff` runs over bench/
    venv = root / "litellm" / ".venv"
    exe = venv / "bin" / "litellm"
    if exe.exists():
        return exe
    err = _run([sys.executable, "-m", "venv", str(venv)], 120) or _run(
        [str(venv / "bin" / "pip"), "install", "-q", LITELLM_SPEC], 900
    )
    return err if err else exe


def install_portkey(root: Path) -> Path | str:
    prefix = root / "portkey"
    script = prefix / "node_modules/@portkey-ai/gateway/build/start-server.js"
    if script.exists():
        return script
    if shutil.which("npm") is None or shutil.which("node") is None:
        return "node/npm not installed"
    prefix.mkdir(parents=True, exist_ok=True)
    err = _run(
        ["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund", PORTKEY_SPEC], 600
    )
    if err:
        return err
    return script if script.exists() else f"{script} missing after npm install"


def _litellm(stack: Stack, exe: Path, upstream_v1: str) -> Target:
    s = stack.settings
    cfg = s.out_dir / "litellm.yaml"
    model = {"model": "openai/*", "api_base": upstream_v1, "api_key": "bench-upstream-key"}
    conf = {"model_list": [{"model_name": "*", "litellm_params": model}]}
    cfg.write_text(yaml.safe_dump(conf))
    port = netutil.free_port()
    cmd = [str(exe), "--config", str(cfg), "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--num_workers", "1", "--telemetry", "False"]
    server = procs.spawn(
        "litellm", cmd, port, s.out_dir / "logs", ready_path="/health/readiness",
        cpus=s.server_cpus, timeout_s=120, env={"LITELLM_LOG": "ERROR"},
    )  # fmt: skip
    return Target("litellm", "peer", server, server.url + CHAT_PATH, note="LiteLLM proxy, 1 worker")


def _portkey(stack: Stack, script: Path, upstream_v1: str) -> Target:
    s = stack.settings
    port = netutil.free_port()
    cmd = ["node", str(script), f"--port={port}", "--headless"]
    server = procs.spawn("portkey", cmd, port, s.out_dir / "logs", cpus=s.server_cpus, timeout_s=60)
    headers = f"x-portkey-provider: openai|x-portkey-custom-host: {upstream_v1}"
    return Target(
        "portkey",
        "peer",
        server,
        server.url + CHAT_PATH,
        headers=headers,
        note="Portkey gateway (Node)",
    )


def start_all(stack: Stack) -> None:
    up = stack.upstream
    assert up is not None
    root = stack.settings.repo / "bench" / "peers"
    root.mkdir(parents=True, exist_ok=True)
    for name, install, start in (
        ("litellm", install_litellm, _litellm),
        ("portkey", install_portkey, _portkey),
    ):
        got = install(root)
        if isinstance(got, str):
            stack.skipped[name] = f"could not be installed: {got.strip()[:300]}"
            continue
        try:
            stack.targets.append(start(stack, got, up.json_base))
        except procs.StartError as exc:
            stack.skipped[name] = f"did not start: {str(exc)[:500]}"
