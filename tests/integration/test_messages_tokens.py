"""Token counts a `/v1/messages` caller reads with the official `anthropic` SDK: the prompt's in
`message_start`, and `POST /v1/messages/count_tokens` (an Anthropic target's own count, else the
gateway's estimate), on a gateway with an Anthropic target (`claude*`) and an OpenAI one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest

from tests.fakes.gateway import Gateway, GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV
from tests.integration.test_policies_e2e import CHAIN, POLICY

CLAUDE, GPT = "claude-test-model", "gpt-4o"
HI: Any = [{"role": "user", "content": "hi"}]


def config(url: str) -> str:
    targets = "".join(
        f"    - {{id: {tid}, provider: {kind}, base_url: {url}, models: [{models!r}],\n"
        "       secret_key_ref: {env: FAKE_PROVIDER_KEY}}\n"
        for tid, kind, models in (("c", "anthropic", "claude*"), ("a", "openai", "gpt-4o*"))
    )
    return (
        "pack: {name: test, version: 1.0.0}\nproviders:\n  targets:\n" + targets
        + f"policies:\n  chain: {CHAIN}\npolicy:\n  {POLICY}\n"
    )  # fmt: skip


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory, upstream: FakeUpstream) -> Iterator[Gateway]:
    factory = GatewayFactory(tmp_path_factory.mktemp("tokens"))
    yield factory.start(config(upstream.base_url), env=ENV)
    factory.stop_all()


def client(gw: Gateway) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gw.url, api_key="caller-key", max_retries=0)


def message_start(gw: Gateway, model: str) -> dict[str, Any]:
    body = {"model": model, "max_tokens": 9, "stream": True, "messages": HI}
    with httpx.stream("POST", gw.base_url + "/messages", json=body, timeout=15) as r:
        for line in r.iter_lines():
            if line.startswith("data: "):
                event: dict[str, Any] = json.loads(line[6:])
                assert event["type"] == "message_start"
                return event
    raise AssertionError("no event")


def test_message_start_has_the_prompt_s_tokens(gw: Gateway, fake: FakeUpstream) -> None:
    """Before: `message_start.message.usage.input_tokens` was 0, where the SDKs read it
    (Anthropic sends the prompt's count there)."""
    usage = message_start(gw, CLAUDE)["message"]["usage"]
    assert usage["input_tokens"] == fake.behaviour.prompt_tokens  # the provider's own count
    usage = message_start(gw, GPT)["message"]["usage"]
    assert usage["input_tokens"] > 0  # the gateway's estimate (OpenAI reports usage last)
    with client(gw).messages.stream(model=CLAUDE, max_tokens=9, messages=HI) as s:
        start = next(iter(s))
        assert start.type == "message_start" and start.message.usage.input_tokens == 11
        final = s.get_final_message()
    assert (final.usage.input_tokens, final.usage.output_tokens) == (11, 7)


def test_count_tokens_asks_an_anthropic_target(gw: Gateway, fake: FakeUpstream) -> None:
    """Before: `client.messages.count_tokens(...)` was a 404."""
    tool: Any = {"name": "f", "description": "mail jane.doe@example.com", "input_schema": {"type": "object"}}  # fmt: skip
    count = client(gw).messages.count_tokens(
        model=CLAUDE, system="be brief", messages=HI, tools=[tool]
    )
    assert count.input_tokens == fake.behaviour.prompt_tokens
    sent = fake.requests[0]
    assert sent.path == "/v1/messages/count_tokens"
    assert sent.headers["x-api-key"] != "caller-key"  # the target's key, never the caller's
    assert set(sent.body) == {"model", "messages", "system", "tools"}
    assert sent.body["system"] == "be brief" and "jane.doe" not in json.dumps(sent.body)


def test_count_tokens_elsewhere_is_the_gateway_s_estimate(gw: Gateway, fake: FakeUpstream) -> None:
    short = client(gw).messages.count_tokens(model=GPT, messages=HI)
    long = client(gw).messages.count_tokens(model=GPT, messages=[{"role": "user", "content": "word " * 400}])  # fmt: skip
    assert 0 < short.input_tokens < long.input_tokens and long.input_tokens >= 400
    assert fake.requests == []
    # no provider was asked: the requests' metric names none
    metrics = httpx.get(gw.url + "/metrics").text
    lines = [line for line in metrics.splitlines() if line.startswith("keeptrusts_gateway_requests_total{")]  # fmt: skip
    assert any('provider="none"' in line and 'model="gpt-4o"' in line and 'status="200"' in line for line in lines), lines  # fmt: skip


def test_count_tokens_refuses_as_a_message_would(gw: Gateway, fake: FakeUpstream) -> None:
    """The request policies run (a block is the 409 the message would get); errors are in
    the Messages shape."""
    with pytest.raises(anthropic.ConflictError):
        client(gw).messages.count_tokens(model=CLAUDE, messages=[{"role": "user", "content": "project atlas"}])  # fmt: skip
    with pytest.raises(anthropic.NotFoundError) as err:
        client(gw).messages.count_tokens(model="mystery-model", messages=HI)
    assert err.value.body["error"]["code"] == "model_not_found"  # type: ignore[index]
    for body, field in (({"model": CLAUDE}, "messages"), ({"model": CLAUDE, "messages": HI, "max_tokens": "9"}, "max_tokens")):  # fmt: skip
        r = httpx.post(gw.base_url + "/messages/count_tokens", json=body, timeout=15)
        assert r.status_code == 400 and r.json()["type"] == "error"
        assert field in r.json()["error"]["message"]
    assert fake.requests == []


def test_an_empty_system_reaches_no_openai_target(gw: Gateway, fake: FakeUpstream) -> None:
    """Before: `system: []` became an empty system message."""
    for system in ([], [{"type": "text", "text": ""}]):
        fake.reset()
        client(gw).messages.create(model=GPT, max_tokens=5, system=system, messages=HI)
        assert fake.requests[0].body["messages"] == HI
