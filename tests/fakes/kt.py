"""`kt policy ...` as a real process, with no `KEEPTRUSTS_*` variables of the test run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.fakes.gateway import Gateway, GatewayFactory


def kt_policy(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPTRUSTS_")}
    return subprocess.run(
        [sys.executable, "-m", "keeptrusts", "policy", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def ask(gw: Gateway, text: str) -> httpx.Response:
    """One chat request with `text` as the user's message (what `kt policy test` predicts)."""
    return httpx.post(
        gw.url + "/v1/chat/completions",
        json={"model": "m", "messages": [{"role": "user", "content": text}]},
        timeout=30,
    )


def predicted_and_served(
    gateways: GatewayFactory, tmp_path: Path, config: str, text: str
) -> tuple[list[str], httpx.Response]:
    """What `kt policy test --input text` prints for `config` (its lines; exit 0 asserted), and
    what a gateway started on the same config answers to `text`."""
    path = tmp_path / "predicted.yaml"
    path.write_text(config)
    done = kt_policy("test", str(path), "--input", text)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines(), ask(gateways.start(config), text)
