"""Routing edges: how targets share traffic and which of them a request may reach."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.fakes.gateway import GatewayFactory
from tests.fakes.upstream import Behaviour, FakeUpstream
from tests.integration.configs import ENV


@pytest.fixture
def second() -> Iterator[FakeUpstream]:
    fake = FakeUpstream(Behaviour(reply="from the second target")).start()
    yield fake
    fake.stop()


def config(*targets: tuple[str, str, str], strategy: str = "ordered") -> str:
    """Targets as (id, provider kind, base_url), each serving every model."""
    lines = ["pack: {name: routing, version: 1.0.0}", "providers:", "  targets:"]
    for tid, kind, url in targets:
        lines += [
            f"    - id: {tid}",
            f"      provider: {kind}",
            f"      base_url: {url}",
            "      secret_key_ref: {env: FAKE_PROVIDER_KEY}",
            '      models: ["*"]',
            "      timeouts: {connect: 2, first_byte: 5, total: 30}",
        ]
    lines += [f"  routing: {{strategy: {strategy}}}", "policies: {chain: []}"]
    return "\n".join(lines) + "\n"


def chat(base_url: str, stream: bool = False) -> httpx.Response:
    body = {"model": "gpt-4o", "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(base_url + "/chat/completions", json=body, timeout=15)


def embed(base_url: str) -> httpx.Response:
    body = {"model": "text-embedding-3-small", "input": "hi"}
    return httpx.post(base_url + "/embeddings", json=body, timeout=15)


def paths(fake: FakeUpstream) -> list[str]:
    return [r.path for r in fake.requests]


def test_round_robin_turns_per_model_even_when_models_alternate(
    gateways: GatewayFactory, fake: FakeUpstream, second: FakeUpstream
) -> None:
    """An app that embeds, then chats, then embeds... gets each model spread over both
    targets (one turn shared by every model sent all chats to one target)."""
    targets = [("a", "openai", fake.base_url), ("b", "openai", second.base_url)]
    gw = gateways.start(config(*targets, strategy="round_robin"), env=ENV)
    for _ in range(4):
        assert chat(gw.base_url).status_code == 200
        assert embed(gw.base_url).status_code == 200
    for path in ("/v1/chat/completions", "/v1/embeddings"):
        assert paths(fake).count(path) == 2, paths(fake)
        assert paths(second).count(path) == 2, paths(second)


def test_targets_that_cannot_serve_an_endpoint_are_skipped(
    gateways: GatewayFactory, fake: FakeUpstream, second: FakeUpstream
) -> None:
    """An `anthropic` target first for every model: embeddings and completions go to the
    OpenAI target after it (they were refused with a 400, the next target never tried)."""
    targets = [("claude", "anthropic", fake.base_url), ("gpt", "openai", second.base_url)]
    gw = gateways.start(config(*targets), env=ENV)
    assert embed(gw.base_url).status_code == 200
    body = {"model": "gpt-3.5-turbo-instruct", "prompt": "hi"}
    r = httpx.post(gw.base_url + "/completions", json=body, timeout=15)
    assert r.status_code == 200 and r.json()["choices"][0]["text"] == "from the second target"
    assert chat(gw.base_url).json()["choices"][0]["message"]["content"] == fake.behaviour.reply
    assert paths(fake) == ["/v1/messages"]
    assert paths(second) == ["/v1/embeddings", "/v1/completions"]


def test_an_endpoint_no_matching_target_serves_is_a_clear_400(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    gw = gateways.start(config(("claude", "anthropic", fake.base_url)), env=ENV)
    r = embed(gw.base_url)
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["type"] == "validation_error" and err["code"] == "invalid_request"
    assert "/v1/embeddings" in err["message"] and "'claude' (anthropic)" in err["message"]
    assert fake.requests == []
