"""Every request is accounted (metric, decision event, access line), whatever its outcome:
refused before its body was checked, left by its client, answered without usage, or served
by a target that runs another model than the one asked for."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from keeptrusts.pricing import Pricing
from tests.fakes.gateway import Gateway, GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV

CONFIG = """
pack: {{name: accounting, version: 1.0.0}}
providers:
  targets:
    - id: main
      provider: openai
      base_url: {url}
      secret_key_ref: {{env: FAKE_PROVIDER_KEY}}
      models: ["gpt-4o-mini", "gpt-4o"]
    - id: rewritten
      provider: openai
      base_url: {url}
      secret_key_ref: {{env: FAKE_PROVIDER_KEY}}
      models: ["cheap-alias"]
      model: gpt-4o
policies: {{chain: [dlp-filter]}}
policy: {{dlp-filter: {{blocked_terms: [secret plan], action: block}}}}
server: {{max_body_bytes: 4096}}
events: {{sinks: [file], file: "{events}"}}
"""
CHAT = [{"role": "user", "content": "hi"}]


@pytest.fixture
def gw(gateways: GatewayFactory, fake: FakeUpstream, tmp_path: Path) -> Gateway:
    events = tmp_path / "events.jsonl"
    gw = gateways.start(CONFIG.format(url=fake.base_url, events=events), env=ENV)
    gw.events_file = events  # type: ignore[attr-defined]
    return gw


def events(gw: Gateway, count: int) -> list[dict[str, Any]]:
    path: Path = gw.events_file  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= count:
            return [json.loads(line) for line in lines]
        time.sleep(0.1)
    raise AssertionError(f"expected {count} events in {path}")


def test_requests_refused_before_their_body_was_checked_are_accounted(gw: Gateway) -> None:
    url = gw.base_url + "/chat/completions"
    bad = httpx.post(url, content=b"{not json", headers={"x-request-id": "bad-json-1"})
    big = httpx.post(url, content=b"x" * 5000, headers={"x-request-id": "too-big-1"})
    assert (bad.status_code, big.status_code) == (400, 413)
    by_id = {e["request_id"]: e for e in events(gw, 2)}
    assert by_id["bad-json-1"]["status"] == 400 and by_id["too-big-1"]["status"] == 413
    metrics = httpx.get(gw.url + "/metrics").text
    assert 'status="400"' in metrics and 'status="413"' in metrics
    assert "bad-json-1" in gw.logs() and "too-big-1" in gw.logs()  # the access lines


def test_a_client_that_leaves_mid_stream_is_a_499(gw: Gateway, fake: FakeUpstream) -> None:
    fake.reset(chunks=[f"word{i} " for i in range(40)], chunk_delay=0.05)
    body = {"model": "gpt-4o-mini", "stream": True, "messages": CHAT}
    with httpx.stream("POST", gw.base_url + "/chat/completions", json=body) as r:
        seen = b""
        for data in r.iter_raw():
            seen += data
            if seen.count(b"word") >= 5:
                break  # a few words, then hang up
    (event,) = events(gw, 1)
    assert event["status"] == 499 and event["client_gone"] is True
    assert event["output_tokens"] > 0 and event["usage_estimated"] is True


def test_answers_without_usage_are_estimated_from_their_text(gw: Gateway, fake: FakeUpstream) -> None:  # fmt: skip
    fake.reset(reply="word " * 400, include_usage=False)
    body = {"model": "gpt-4o-mini", "stream": True, "messages": CHAT}
    assert httpx.post(gw.base_url + "/chat/completions", json=body).status_code == 200
    completion = {"id": "c", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
                  "choices": [{"index": 0, "finish_reason": "stop",
                               "message": {"role": "assistant", "content": "word " * 400}}]}  # fmt: skip
    fake.reset(raw_json=completion)
    body["stream"] = False
    assert httpx.post(gw.base_url + "/chat/completions", json=body).status_code == 200
    for event in events(gw, 2):
        assert event["usage_estimated"] is True
        assert event["output_tokens"] == 500  # 2,000 characters, about four a token
        assert event["cost_usd"] > 0


def test_an_answer_is_priced_at_the_model_its_target_ran(gw: Gateway, fake: FakeUpstream) -> None:
    body = {"model": "cheap-alias", "messages": CHAT}
    assert httpx.post(gw.base_url + "/chat/completions", json=body).status_code == 200
    assert fake.requests[0].body["model"] == "gpt-4o"
    (event,) = events(gw, 1)
    expected = Pricing({}).cost("gpt-4o", 11, 7, 0)
    assert expected > 0 and event["cost_usd"] == pytest.approx(expected)


@pytest.mark.parametrize("stream", [False, True])
def test_a_client_gone_before_the_answer_is_billed_its_prompt_not_the_wait(
    gw: Gateway, fake: FakeUpstream, stream: bool
) -> None:
    """Before: a client that hung up before the first byte settled at $0 (budgets could be
    bypassed by hanging up early), and its wait for the provider counted as gateway overhead."""
    fake.reset(first_byte_delay=1.5)
    body = {"model": "gpt-4o-mini", "stream": stream, "messages": CHAT}
    rid = f"gone-early-{stream}"
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            gw.base_url + "/chat/completions", json=body, headers={"x-request-id": rid}, timeout=0.5
        )
    (ev,) = [e for e in events(gw, 1) if e["request_id"] == rid]
    assert ev["status"] == 499 and ev["client_gone"] is True
    assert ev["usage_estimated"] is True and ev["input_tokens"] > 0 and ev["cost_usd"] > 0
    assert ev["latency_ms"] >= 400 and ev["overhead_ms"] < 300


def test_a_client_gone_while_sending_its_body_is_accounted(gw: Gateway) -> None:
    with socket.create_connection(("127.0.0.1", gw.port), timeout=5) as s:
        s.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'x-request-id: body-cut-1\r\nContent-Length: 500\r\n\r\n{"model": "gpt-4o'
        )
        time.sleep(0.3)
    (ev,) = [e for e in events(gw, 1) if e["request_id"] == "body-cut-1"]
    assert ev["status"] == 499 and ev["client_gone"] is True
    assert "body-cut-1" in gw.logs()  # the access line
