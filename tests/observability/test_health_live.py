"""`/health` and the breaker, decision and attempt metrics on a real `kt gateway run`: a dead
target stays `unreachable` after its breaker's cooldown, `keeptrusts_gateway_circuit_open` has a
series per live target, refused requests add no decision, `--workers 2` counts both workers,
and failing event delivery or an unreachable Redis make the page `degraded`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from keeptrusts.config.model import Events
from keeptrusts.events.pipeline import EventPipeline
from keeptrusts.gateway.health import EVENTS_FAILING_AFTER
from keeptrusts.limits.redis import RedisBackend
from keeptrusts.telemetry.metrics import Metrics
from keeptrusts.telemetry.worker_metrics import SNAPSHOT_SECONDS
from tests.fakes.gateway import Gateway, GatewayFactory, free_port
from tests.fakes.upstream import FakeUpstream
from tests.fakes.wait import wait_for
from tests.integration.configs import ENV, openai_config
from tests.limits.redis_server import RedisServer

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


def two_targets(fake: FakeUpstream, dead: str, other: str = "b") -> str:
    """`a` (the fake) serves gpt-4o*, `other` (a closed port) serves claude*; one attempt each."""
    return "\n".join(
        [
            "pack: {name: test, version: 1.0.0}",
            "providers:",
            "  targets:",
            "    - id: a",
            "      provider: openai",
            f"      base_url: {fake.base_url}",
            "      secret_key_ref: {env: FAKE_PROVIDER_KEY}",
            '      models: ["gpt-4o*"]',
            f"    - id: {other}",
            "      provider: openai",
            f"      base_url: {dead}",
            "      secret_key_ref: {env: FAKE_PROVIDER_KEY}",
            '      models: ["claude*"]',
            "      timeouts: {connect: 1, first_byte: 2, total: 5}",
            "  fallback: {on: [connect_error, timeout, 5xx, 429], max_attempts: 1}",
            "  circuit_breaker: {failure_threshold: 2, cooldown_seconds: 1}",
            "policies: {chain: []}",
        ]
    )


def chat(gw: Gateway, model: str = "gpt-4o", fresh: bool = False) -> int:
    headers = {"Connection": "close"} if fresh else {}
    body = {**CHAT, "model": model}
    return httpx.post(gw.base_url + "/chat/completions", json=body, headers=headers).status_code


def health(gw: Gateway, fresh: bool = False) -> tuple[int, dict[str, Any]]:
    headers = {"Connection": "close"} if fresh else {}
    r = httpx.get(gw.url + "/health", headers=headers, timeout=10)
    return r.status_code, r.json()


def series(gw: Gateway, name: str, label: str) -> dict[str, float]:
    text = httpx.get(gw.url + "/metrics").text
    return {
        s.labels[label]: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


def circuits(gw: Gateway) -> dict[str, float]:
    return series(gw, "keeptrusts_gateway_circuit_open", "provider")


def test_breaker_gauge_and_reachability_follow_each_target(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    gw = gateways.start(two_targets(fake, dead), env=ENV)
    assert circuits(gw) == {"a": 0.0, "b": 0.0}  # a series per target from start-up
    status, body = health(gw)
    assert (status, body["status"]) == (200, "healthy")
    assert body["providers"] == {"a": "unknown", "b": "unknown"}

    assert chat(gw) == 200
    assert chat(gw, "claude-3") == 503  # 1 of 2 failures: the breaker is still closed
    status, body = health(gw)
    assert (status, body["status"]) == (200, "degraded")
    assert body["providers"] == {"a": "reachable", "b": "unreachable"}
    assert circuits(gw) == {"a": 0.0, "b": 0.0}

    assert chat(gw, "claude-3") == 503
    assert circuits(gw) == {"a": 0.0, "b": 1.0}
    time.sleep(1.2)  # the cooldown is over: half-open, yet nothing proved `b` is back
    assert circuits(gw) == {"a": 0.0, "b": 0.0}
    assert health(gw)[1]["providers"]["b"] == "unreachable"

    fake.reset(status=500)
    assert chat(gw) == 502
    status, body = health(gw)
    assert (status, body["status"]) == (503, "unhealthy")  # every target's last attempt failed
    fake.reset()
    assert chat(gw) == 200
    assert health(gw)[1]["status"] == "degraded"


def test_a_reload_replaces_the_breaker_series(gateways: GatewayFactory, fake: FakeUpstream) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    gw = gateways.start(two_targets(fake, dead), env=ENV)
    assert chat(gw, "claude-3") == 503
    assert chat(gw, "claude-3") == 503
    assert circuits(gw) == {"a": 0.0, "b": 1.0}
    assert gw.config is not None
    gw.config.write_text(two_targets(fake, dead, other="c").replace("1.0.0", "2.0.0"))
    assert httpx.post(gw.url + "/keeptrusts/config/reload", timeout=30).status_code == 200
    assert wait_for(lambda: circuits(gw) == {"a": 0.0, "c": 0.0}, 5), circuits(gw)
    assert health(gw)[1]["providers"] == {"a": "unknown", "c": "unknown"}


def test_requests_refused_before_any_policy_add_no_decision(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    extra = "server: {max_body_bytes: 2048}\n"
    gw = gateways.start(openai_config(("a", fake.base_url), extra=extra), env=ENV)
    url = gw.base_url + "/chat/completions"
    headers = {"Content-Type": "application/json"}
    assert httpx.post(url, content=b"{not json", headers=headers).status_code == 400
    assert httpx.post(url, content=b'{"x": "' + b"y" * 4096 + b'"}').status_code == 413
    assert chat(gw) == 200
    blocked = {**CHAT, "messages": [{"role": "user", "content": "project atlas"}]}
    assert httpx.post(url, json=blocked).status_code == 409
    got = series(gw, "keeptrusts_policy_decisions_total", "decision")
    assert got == {"allow": 1.0, "redact": 0.0, "escalate": 0.0, "block": 1.0}
    assert sum(series(gw, "keeptrusts_gateway_requests_total", "status").values()) == 4


def test_an_unreadable_answer_is_a_protocol_attempt(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    gw = gateways.start(openai_config(("a", fake.base_url)), env=ENV)
    fake.reset(garbage=True)
    assert chat(gw) == 502
    assert series(gw, "keeptrusts_gateway_upstream_attempts_total", "outcome") == {"protocol": 1}


def test_workers_health_counts_every_workers_requests(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    gw = gateways.start(openai_config(("a", fake.base_url)), env=ENV, args=["--workers", "2"])
    try:
        sent, previous = 0, 0
        for _ in range(10):
            for _ in range(4):
                assert chat(gw, fresh=True) == 200
                sent += 1
            count = health(gw, fresh=True)[1]["requests_processed"]
            assert previous <= count <= sent, (previous, count, sent)
            previous = count
        time.sleep(SNAPSHOT_SECONDS + 0.5)  # every worker's latest snapshot is in
        counts = [health(gw, fresh=True)[1]["requests_processed"] for _ in range(8)]
        assert counts == [sent] * 8, counts
    finally:
        gw.stop()


# -- degraded dependencies (need `failing_since` on the event pipeline / the limits backend) ---


def _pipeline_says_failing() -> bool:
    pipeline = EventPipeline(
        Events(), Metrics(), api_url=None, token=None, spool_dir=None, gateway_id="probe"
    )
    return hasattr(pipeline, "failing_since")


def _backend_says_failing() -> bool:
    return hasattr(RedisBackend("redis://127.0.0.1:1/0"), "failing_since")


@pytest.mark.skipif(
    not _pipeline_says_failing(), reason="EventPipeline.failing_since is not there yet"
)
def test_failing_event_delivery_makes_health_degraded(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    env = {
        **ENV,
        "KEEPTRUSTS_API_URL": f"http://127.0.0.1:{free_port()}",
        "KEEPTRUSTS_GATEWAY_TOKEN": "t0k",
    }
    gw = gateways.start(openai_config(("a", fake.base_url)), env=env)
    for _ in range(5):
        assert chat(gw) == 200
    assert wait_for(lambda: health(gw)[1]["events"]["delivery"] != "ok", 5)
    assert health(gw)[1]["status"] == "healthy"  # a few seconds of retries are not an outage
    assert wait_for(lambda: health(gw)[1]["status"] == "degraded", EVENTS_FAILING_AFTER + 8)
    status, body = health(gw)
    assert status == 200 and body["events"]["delivery"] == "failing"
    assert body["events"]["failing_seconds"] >= EVENTS_FAILING_AFTER
    assert body["events"]["spool"] + body["events"]["queue"] == 5


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.mark.skipif(
    not _backend_says_failing(), reason="RedisBackend.failing_since is not there yet"
)
def test_unreachable_limits_backend_makes_health_degraded(
    gateways: GatewayFactory, fake: FakeUpstream, redis_server: RedisServer
) -> None:
    extra = f"state: {{backend: redis, url: '{redis_server.url}'}}\n"
    policy = "rate-limit: {rules: [{scope: tenant, requests_per_minute: 1000}]}"
    config = openai_config(("a", fake.base_url), chain="[rate-limit]", policy=policy, extra=extra)
    gw = gateways.start(config, env=ENV)
    assert chat(gw) == 200
    status, body = health(gw)
    assert (status, body["status"], body["limits"]["status"]) == (200, "healthy", "ok")
    redis_server.kill()
    r = httpx.post(gw.base_url + "/chat/completions", json=CHAT)
    assert (r.status_code, r.json()["error"]["code"]) == (503, "limits_unavailable")
    status, body = health(gw)
    assert (status, body["status"]) == (200, "degraded")
    assert body["limits"]["status"] == "unreachable" and body["limits"]["fail_mode"] == "block"
    redis_server.start()
    assert wait_for(lambda: chat(gw) == 200, 5)
    assert health(gw)[1]["status"] == "healthy"
