"""A provider's `Retry-After` on a 429 is capped (`fallback.max_retry_after_seconds`), both for
how long its target goes last and for what the client is told."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.fakes.gateway import GatewayFactory
from tests.fakes.upstream import Behaviour, FakeUpstream
from tests.integration.configs import ENV, openai_config

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def other() -> Iterator[FakeUpstream]:
    fake = FakeUpstream(Behaviour(reply="from the other target")).start()
    yield fake
    fake.stop()


def chat(base_url: str) -> httpx.Response:
    return httpx.post(base_url + "/chat/completions", json=CHAT, timeout=15)


def test_the_client_is_told_at_most_the_cap(gateways: GatewayFactory, fake: FakeUpstream) -> None:
    """A provider's `Retry-After: 86400` told the client to wait a day (and `1e999` was a bare
    500): the client is told at most 60 s by default."""
    gw = gateways.start(openai_config(("a", fake.base_url)), env=ENV)
    for retry_after in ("86400", "1e999", "inf"):
        fake.reset(status=429, retry_after=retry_after)
        r = chat(gw.base_url)
        assert r.status_code == 429, (retry_after, r.text)
        assert r.json()["error"]["code"] == "upstream_rate_limited"
        assert r.headers["retry-after"] == "60", retry_after


def test_a_target_goes_last_no_longer_than_the_cap(
    gateways: GatewayFactory, fake: FakeUpstream, other: FakeUpstream
) -> None:
    """A target that answered `Retry-After: 86400` went after the others for a day; with
    `max_retry_after_seconds: 1` it is first again a second later."""
    fake.reset(status=429, retry_after="86400")
    fallback = "{on: [connect_error, timeout, 5xx, 429], max_retry_after_seconds: 1}"
    text = openai_config(("a", fake.base_url), ("b", other.base_url), fallback=fallback)
    gw = gateways.start(text, env=ENV)
    assert chat(gw.base_url).json()["choices"][0]["message"]["content"] == "from the other target"
    fake.reset()
    time.sleep(1.1)
    assert chat(gw.base_url).json()["choices"][0]["message"]["content"] == fake.behaviour.reply
    assert len(fake.requests) == 1
