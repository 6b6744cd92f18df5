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
