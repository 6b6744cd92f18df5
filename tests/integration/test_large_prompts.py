"""Large prompts do not stay in the gateway's memory once answered (gateway/process.py)."""

from __future__ import annotations

import asyncio

import httpx

from tests.fakes.gateway import GatewayFactory

# the built-in echo provider answers with the governed prompt: each request carries ≈ 1 MB in
# and out, scanned on the way in and on the way back
CONFIG = """\
pack: {name: test, version: 1.0.0}
providers:
  targets:
    - {id: echo, provider: echo, models: ["*"]}
policies:
  chain: [prompt-injection, pii-detector, dlp-filter]
policy:
  pii-detector: {action: redact}
"""
PROMPT = "please summarise these notes, mail me at jane@example.com. " * 17_000


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


async def bursts(url: str, rounds: int, concurrent: int) -> list[httpx.Response]:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": PROMPT}]}
    async with httpx.AsyncClient(timeout=60) as client:
        out: list[httpx.Response] = []
        for _ in range(rounds):
            out += await asyncio.gather(*(client.post(url, json=body) for _ in range(concurrent)))
        return out


def test_memory_returns_after_bursts_of_1_mb_prompts(gateways: GatewayFactory) -> None:
    gw = gateways.start(CONFIG)
    start = rss_mib(gw.proc.pid)
    responses = asyncio.run(bursts(gw.base_url + "/chat/completions", rounds=15, concurrent=8))
    assert [r.status_code for r in responses] == [200] * 120
    answer = responses[-1].json()["choices"][0]["message"]["content"]
    assert "[REDACTED:EMAIL]" in answer and "jane@example.com" not in answer
    after = rss_mib(gw.proc.pid)
    print(f"RSS {start:.0f} MiB at start, {after:.0f} MiB after 120 prompts of 1 MB")
    # measured: +3 MiB; with glibc's moving mmap threshold (the setting off), +31..59 MiB
    assert after - start < 25, (start, after)
