"""`POST /v1/messages/count_tokens` and the limits, with the official `anthropic` SDK: a count is
a request (it meets the `rate-limit` policy's `requests_per_minute`, with the 429 and
`Retry-After` of any request) that generates nothing (no tokens, no parallel slot, no budget)."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import pytest

from tests.fakes.gateway import Gateway, GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV

MODEL = "claude-test-model"
HI: Any = [{"role": "user", "content": "hi"}]
RPM = 3


def config(url: str) -> str:
    return (
        "pack: {name: test, version: 1.0.0}\nproviders:\n  targets:\n"
        f"    - {{id: c, provider: anthropic, base_url: {url}, models: ['claude*'],\n"
        "       secret_key_ref: {env: FAKE_PROVIDER_KEY}}\n"
        "pricing: {claude-test-model: {input_per_mtok: 3, output_per_mtok: 15}}\n"
        "policies: {chain: [rate-limit, budget]}\npolicy:\n"
        "  rate-limit: {rules: [{scope: tenant, requests_per_minute: %d,"
        " tokens_per_minute: 100000, max_parallel: 1}]}\n"
        "  budget: {rules: [{scope: tenant, limit_usd: 5, window: day}]}\n" % RPM
    )


def limits(gw: Gateway) -> dict[str, dict[str, Any]]:
    report = httpx.get(gw.url + "/keeptrusts/limits", params={"tenant": "anonymous"}).json()
    return {entry["kind"]: entry for entry in report["limits"]}


def test_count_tokens_meets_requests_per_minute_and_spends_nothing(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    """Before: `client.messages.count_tokens(...)` skipped the rate limit, so a caller could
    call it without end at the provider. Now each count is one request in the window (the
    same window as messages), refused with the 429 and `Retry-After` every endpoint sends;
    tokens per minute, parallel slots and budgets are untouched."""
    gw = gateways.start(config(fake.base_url), env=ENV)
    client = anthropic.Anthropic(base_url=gw.url, api_key="k", max_retries=0)
    for _ in range(RPM):
        assert client.messages.count_tokens(model=MODEL, messages=HI).input_tokens > 0
    assert len(fake.requests) == RPM
    refusals = []
    with pytest.raises(anthropic.RateLimitError) as counted:
        client.messages.count_tokens(model=MODEL, messages=HI)
    refusals.append(counted.value)
    with pytest.raises(anthropic.RateLimitError) as created:  # (one window for both)
        client.messages.create(model=MODEL, max_tokens=50, messages=HI)
    refusals.append(created.value)
    for err in refusals:
        assert int(err.response.headers["retry-after"]) >= 1
        body: Any = err.body
        assert body["type"] == "error"
        assert (body["error"]["type"], body["error"]["code"]) == ("rate_limit", "rate_limited")
        assert body["error"]["policy"] == "rate-limit"
        assert "requests_per_minute (3)" in body["error"]["message"]
    assert len(fake.requests) == RPM
    state = limits(gw)
    assert state["rate-limit"]["requests_last_minute"] == RPM
    assert (state["rate-limit"]["tokens_last_minute"], state["rate-limit"]["in_flight"]) == (0, 0)
    assert (state["budget"]["spent_usd"], state["budget"]["reserved_usd"]) == (0, 0)
