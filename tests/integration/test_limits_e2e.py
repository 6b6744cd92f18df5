"""Limits across 3 gateway processes sharing one real Redis (the issue's acceptance).

Each gateway is `python -m keeptrusts gateway run` on its own port, all with the same config
(`state: {backend: redis}`), in front of the fake upstream.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.fakes.gateway import Gateway, GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV, openai_config
from tests.limits.redis_server import RedisServer

# $1000 per million tokens both ways: a request of "hi" (1 token + 4 framing) with
# max_tokens 100 has a worst case of 105 tokens = $0.105; the fake upstream reports 11 + 7.
PRICE = "pricing: {gpt-4o: {input_per_mtok: 1000, output_per_mtok: 1000}}\n"
WORST_NANO = 105_000_000
ACTUAL_NANO = 18_000_000
N = 10
TAG = "{kt:b:tenant:day:team-a}"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


def config(upstream: FakeUpstream, server: RedisServer, chain: str, policy: str) -> str:
    extra = (
        PRICE + f"state: {{backend: redis, url: '{server.url}'}}\ntenants: {{known: [team-a]}}\n"
    )
    return openai_config(("fake", upstream.base_url), chain=chain, policy=policy, extra=extra)


def three(gateways: GatewayFactory, text: str, args: list[str] | None = None) -> list[Gateway]:
    gws = [gateways.start(text, env=ENV, args=args, wait=False) for _ in range(3)]
    for gw in gws:
        gw.wait_ready(60)  # three start at once on a busy CI box
    return gws


async def post_all(gws: list[Gateway], count: int) -> list[httpx.Response]:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 100}
    headers = {"x-keeptrusts-tenant": "team-a"}
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        return await asyncio.gather(
            *(
                client.post(gws[i % 3].base_url + "/chat/completions", json=body, headers=headers)
                for i in range(count)
            )
        )


def test_budget_admits_exactly_n_of_200_across_3_replicas(
    gateways: GatewayFactory, fake: FakeUpstream, redis_server: RedisServer
) -> None:
    fake.reset(first_byte_delay=1.5)  # every request is in flight before any settles
    policy = f"budget: {{rules: [{{scope: tenant, limit_usd: {N * 0.105}, window: day}}]}}"
    gws = three(gateways, config(fake, redis_server, "[budget]", policy))
    responses = asyncio.run(post_all(gws, 200))
    codes = [r.status_code for r in responses]
    assert codes.count(200) == N, codes
    refused = [r for r in responses if r.status_code == 429]
    assert len(refused) == 200 - N
    assert refused[0].json()["error"]["code"] == "budget_exceeded"
    assert int(refused[0].headers["Retry-After"]) >= 1
    r = redis.Redis.from_url(redis_server.url, decode_responses=True)
    spent = sum(int(v) for v in r.hgetall(f"{TAG}:s").values())
    assert spent == N * ACTUAL_NANO <= N * WORST_NANO
    assert r.zcard(f"{TAG}:r") == 0 and r.hlen(f"{TAG}:a") == 0  # no leaked reservation
    assert int(r.get(f"{TAG}:t") or 0) == 0


def test_upstream_failure_releases_the_reservation(
    gateways: GatewayFactory, fake: FakeUpstream, redis_server: RedisServer
) -> None:
    fake.reset(status=500)
    policy = "budget: {rules: [{scope: tenant, limit_usd: 100, window: month}]}"
    gws = three(gateways, config(fake, redis_server, "[budget]", policy))
    codes = [r.status_code for r in asyncio.run(post_all(gws, 30))]
    assert all(c >= 500 for c in codes)
    r = redis.Redis.from_url(redis_server.url, decode_responses=True)
    tag = "{kt:b:tenant:month:team-a}"

    def released() -> bool:  # settled after each response is written: give them a moment
        return r.zcard(f"{tag}:r") == 0 and int(r.get(f"{tag}:t") or 0) == 0

    deadline = time.monotonic() + 10
    while not released() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert released()
    assert sum(int(v) for v in r.hgetall(f"{tag}:s").values()) == 0


def test_rate_limit_across_3_replicas_within_one_request(
    gateways: GatewayFactory, fake: FakeUpstream, redis_server: RedisServer
) -> None:
    policy = "rate-limit: {rules: [{scope: tenant, requests_per_minute: 25}]}"
    gws = three(gateways, config(fake, redis_server, "[rate-limit]", policy))
    codes = [r.status_code for r in asyncio.run(post_all(gws, 60))]
    assert abs(codes.count(200) - 25) <= 1, codes
    assert codes.count(429) == 60 - codes.count(200)


def test_the_redis_url_can_come_from_the_environment(
    gateways: GatewayFactory, fake: FakeUpstream, redis_server: RedisServer
) -> None:
    """`state.url_env`: the URL (and its password) from a Secret-fed variable; limits shared
    as with `url`. A gateway started without the variable refuses to start, naming it."""
    policy = "rate-limit: {rules: [{scope: tenant, requests_per_minute: 4}]}"
    text = config(fake, redis_server, "[rate-limit]", policy).replace(
        f"url: '{redis_server.url}'", "url_env: KT_REDIS_URL"
    )
    assert "url_env: KT_REDIS_URL" in text
    gws = [
        gateways.start(text, env={**ENV, "KT_REDIS_URL": redis_server.url}, wait=False)
        for _ in range(2)
    ]
    for gw in gws:
        gw.wait_ready(60)
    codes = [r.status_code for r in asyncio.run(post_all([*gws, gws[0]], 6))]
    assert sorted(codes) == [200] * 4 + [429] * 2, codes
    unset = gateways.start(text, env=ENV, wait=False)
    assert unset.proc.wait(30) == 2
    assert "state.url_env: the environment variable KT_REDIS_URL is not set" in unset.logs()


@pytest.mark.parametrize("mode", ["block", "allow"])
def test_redis_killed_follows_fail_mode_and_recovers(
    gateways: GatewayFactory, fake: FakeUpstream, redis_server: RedisServer, mode: str
) -> None:
    policy = "rate-limit: {rules: [{scope: tenant, requests_per_minute: 1000}]}"
    gws = three(gateways, config(fake, redis_server, "[rate-limit]", policy), ["--fail-mode", mode])
    assert {r.status_code for r in asyncio.run(post_all(gws, 6))} == {200}
    redis_server.kill()
    down = asyncio.run(post_all(gws, 6))
    if mode == "block":
        assert {r.status_code for r in down} == {503}
        assert down[0].json()["error"]["code"] == "limits_unavailable"
    else:
        assert {r.status_code for r in down} == {200}
    for gw in gws:
        assert gw.proc.poll() is None  # no crash
    redis_server.start()
    import time

    r = redis.Redis.from_url(redis_server.url, decode_responses=True)
    deadline = time.monotonic() + 5
    while True:  # in allow mode a 200 proves nothing: wait until Redis counts again
        codes = {resp.status_code for resp in asyncio.run(post_all(gws, 6))}
        if codes == {200} and r.keys("{kt:rl:tenant:team-a}*"):
            break
        assert time.monotonic() < deadline, codes
        time.sleep(0.2)


def test_a_request_without_max_tokens_is_sent_capped_at_the_reserved_default(
    gateways: GatewayFactory, fake: FakeUpstream, redis_server: RedisServer
) -> None:
    policy = (
        "budget: {rules: [{scope: tenant, limit_usd: 100, window: day, default_max_tokens: 64}]}"
    )
    gw = gateways.start(config(fake, redis_server, "[budget]", policy), env=ENV)
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    resp = httpx.post(gw.base_url + "/chat/completions", json=body, timeout=30)
    assert resp.status_code == 200, resp.text
    sent = fake.requests[-1].body
    assert sent["max_completion_tokens"] == 64 and "max_tokens" not in sent
    body = {**body, "max_tokens": 10}  # a request's own cap is left as it is
    assert httpx.post(gw.base_url + "/chat/completions", json=body, timeout=30).status_code == 200
    sent = fake.requests[-1].body
    assert sent["max_tokens"] == 10 and "max_completion_tokens" not in sent
