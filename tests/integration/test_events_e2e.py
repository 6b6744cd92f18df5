"""Acceptance: 2,000 requests through the gateway while the control-plane API is killed and
restarted 5 s later and the gateway itself restarts once. Afterwards every request has exactly
one stored event (request ids compared), in order per gateway, the cost report equals the fake
upstream's usage at the pricing table's prices, and no prompt or completion text was stored.
Runs on SQLite and on a real PostgreSQL server. Also: a `--managed` gateway applies a config
uploaded with `kt config push`."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from keeptrusts.pricing import Pricing
from tests.controlplane.fixtures import (  # noqa: F401 - fixtures
    ApiFactory,
    api,
    backend,
    database_url,
    make_api,
    postgres,
)
from tests.controlplane.servers import TOKEN, ApiServer
from tests.fakes.gateway import Gateway, GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV, openai_config

TOTAL = 2000
RESTART_AT = 1000
CONCURRENCY = 16
MARKER = "zebra-cipher-7731"  # appears in every prompt; must appear in no event
GATEWAY_ID = "gw-e2e"


async def test_every_request_has_exactly_one_event(
    api: ApiServer,  # noqa: F811
    gateways: GatewayFactory,
    fake: FakeUpstream,
    tmp_path: Path,
) -> None:
    config = openai_config(("openai-primary", fake.base_url))
    env = {
        **ENV,
        "KEEPTRUSTS_API_URL": api.url,
        "KEEPTRUSTS_GATEWAY_TOKEN": TOKEN,
        "KEEPTRUSTS_GATEWAY_ID": GATEWAY_ID,
    }
    spool = ["--spool-dir", str(tmp_path / "spool")]
    gw = gateways.start(config, env=env, args=spool)
    kill_at = random.randint(300, RESTART_AT - 200)
    outage = _Outage(api)
    done = 0

    async def one(client: httpx.AsyncClient, i: int) -> None:
        nonlocal done
        body = {
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": f"request {i} {MARKER}"}],
        }
        for _ in range(100):
            try:
                r = await client.post(
                    "/v1/chat/completions", json=body, headers={"x-request-id": f"e2e-{i}"}
                )
                assert r.status_code == 200, r.text
                break
            except httpx.TransportError:
                await asyncio.sleep(0.1)  # the gateway is restarting
        done += 1
        if done == kill_at:
            outage.begin()

    async def phase(gw: Gateway, ids: range) -> None:
        sem = asyncio.Semaphore(CONCURRENCY)
        async with httpx.AsyncClient(base_url=gw.url, timeout=30) as client:

            async def bounded(i: int) -> None:
                async with sem:
                    await one(client, i)

            await asyncio.gather(*(bounded(i) for i in ids))

    await phase(gw, range(RESTART_AT))
    # restart the gateway (graceful: what it could not deliver is spooled) on the same port
    await asyncio.to_thread(gw.stop)
    gw = await asyncio.to_thread(gateways.start, config, env=env, args=spool, port=gw.port)
    await phase(gw, range(RESTART_AT, TOTAL))
    outage.join()

    stored = await _wait_for_events(api, TOTAL, 90.0)
    request_ids = [e["request_id"] for e in stored]
    assert sorted(request_ids) == sorted(f"e2e-{i}" for i in range(TOTAL)), _diff(request_ids)
    assert len({e["id"] for e in stored}) == TOTAL
    ours = [e["id"] for e in stored if e["gateway_id"] == GATEWAY_ID]
    assert ours == sorted(ours), "events of one gateway must be stored in the order they were made"

    price = Pricing({}).cost("gpt-4o-mini", 11, 7)  # the fake upstream's usage per request
    reply = await asyncio.to_thread(api.get, "/v1/reports/cost", group_by="tenant,model")
    report = reply.json()
    assert report["total"]["requests"] == TOTAL
    assert report["total"]["input_tokens"] == 11 * TOTAL
    assert report["total"]["output_tokens"] == 7 * TOTAL
    assert abs(report["total"]["cost_usd"] - price * TOTAL) < 1e-9
    exported = (await asyncio.to_thread(api.get, "/v1/events", limit=1000)).text
    assert MARKER not in exported and "Hello from the fake upstream" not in exported


class _Outage:
    """Kill the API now, restart it 5 s later, in a thread (requests keep flowing)."""

    def __init__(self, server: ApiServer) -> None:
        self.api = server
        self.thread: threading.Thread | None = None

    def begin(self) -> None:
        self.api.kill()
        self.thread = threading.Thread(target=self._restart, daemon=True)
        self.thread.start()

    def _restart(self) -> None:
        time.sleep(5.0)
        self.api.start()

    def join(self) -> None:
        assert self.thread is not None, "the API was never killed"
        self.thread.join(30)


async def _wait_for_events(server: ApiServer, n: int, within: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + within
    events: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        events = await asyncio.to_thread(server.all_events)
        if len(events) >= n:
            await asyncio.sleep(1.0)  # and no more than n arrive
            return await asyncio.to_thread(server.all_events)
        await asyncio.sleep(0.5)
    return events


def _diff(request_ids: list[str]) -> str:
    want = {f"e2e-{i}" for i in range(TOTAL)}
    got = set(request_ids)
    dupes = len(request_ids) - len(got)
    return f"missing {sorted(want - got)[:10]}, unexpected {sorted(got - want)[:10]}, dupes {dupes}"


MANAGED_V1 = """pack: {name: managed, version: 1.0.0}
providers:
  targets:
    - {id: echo, provider: echo, models: ["*"]}
policies: {chain: [dlp-filter]}
policy:
  dlp-filter: {blocked_terms: ["project atlas"], action: block}
"""


async def test_managed_gateway_applies_a_pushed_config(
    make_api: ApiFactory,  # noqa: F811
    gateways: GatewayFactory,
    tmp_path: Path,
) -> None:
    server = make_api().start()
    env = {
        "KEEPTRUSTS_API_URL": server.url,
        "KEEPTRUSTS_GATEWAY_TOKEN": TOKEN,
        "KEEPTRUSTS_GATEWAY_ID": "gw-managed",
        "KEEPTRUSTS_MANAGED_POLL_SECONDS": "0.3",
    }
    gw = await asyncio.to_thread(gateways.start, MANAGED_V1, env=env, args=["--managed"])
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "a zebra"}]}
    async with httpx.AsyncClient(base_url=gw.url, timeout=10) as client:
        first = await client.post("/v1/chat/completions", json=body)
        assert first.status_code == 200
        assert first.headers["x-keeptrusts-config-version"].startswith("1.0.0+")
        pushed = tmp_path / "v2.yaml"
        pushed.write_text(MANAGED_V1.replace("1.0.0", "2.0.0").replace("project atlas", "zebra"))
        done = await asyncio.to_thread(
            subprocess.run,
            [
                sys.executable,
                "-m",
                "keeptrusts",
                "config",
                "push",
                str(pushed),
                "--gateway",
                "gw-managed",
                "--api-url",
                server.url,
                "--token",
                TOKEN,
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, done.stderr
        deadline = time.monotonic() + 10
        while True:
            r = await client.post("/v1/chat/completions", json=body)
            if r.status_code == 409:
                break
            assert time.monotonic() < deadline, "the pushed config was not applied"
            await asyncio.sleep(0.1)
        assert r.headers["x-keeptrusts-config-version"].startswith("2.0.0+")
