"""`kt gateway run --workers N` supervises its workers: one that dies (kill -9) is restarted
with its index, and the parent's exit code says when a worker was down at shutdown."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx

from tests.fakes.gateway import Gateway, GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.fakes.wait import wait_for
from tests.integration.configs import ENV, openai_config


def workers(gw: Gateway) -> set[int]:
    """The supervisor's child processes."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        if int(fields[1]) == gw.proc.pid and fields[0] != "Z":
            found.add(int(entry.name))
    return found


def chat(gw: Gateway) -> int:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    with httpx.Client(timeout=10, headers={"Connection": "close"}) as c:
        return c.post(gw.base_url + "/chat/completions", json=body).status_code


def start(gateways: GatewayFactory, fake: FakeUpstream) -> tuple[Gateway, set[int]]:
    gw = gateways.start(openai_config(("a", fake.base_url)), env=ENV, args=["--workers", "2"])
    assert wait_for(lambda: len(workers(gw)) == 2)
    first = workers(gw)
    return gw, first


def test_a_killed_worker_is_restarted(gateways: GatewayFactory, fake: FakeUpstream) -> None:
    gw, first = start(gateways, fake)
    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    assert wait_for(lambda: len(workers(gw)) == 2 and victim not in workers(gw)), gw.logs()
    assert wait_for(lambda: "gateway worker 0 restarted (pid" in gw.logs()), gw.logs()
    assert f"(pid {victim}) exited with code 137" in gw.logs()
    serving = lambda: "listening on" in gw.logs().partition("restarted (pid")[2]  # noqa: E731
    assert wait_for(serving), gw.logs()
    assert all(chat(gw) == 200 for _ in range(6))
    assert gw.stop(signal.SIGTERM) == 0  # restarted: nothing was missing at shutdown


def test_a_worker_that_cannot_be_restarted_makes_the_exit_code_non_zero(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    gw, first = start(gateways, fake)
    assert gw.config is not None
    gw.config.write_text("pack: [\n")  # the running workers keep their config; a new one refuses
    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    assert wait_for(lambda: "exited with code 2" in gw.logs()), gw.logs()
    assert gw.stop(signal.SIGTERM) != 0
    assert "gateway workers not running" in gw.logs()
