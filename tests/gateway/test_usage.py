"""Provider usage blocks become the exchange's usage, each part priced at its own rate."""

from __future__ import annotations

from typing import Any

from keeptrusts.gateway.finish import take_usage
from keeptrusts.pipeline.context import Exchange
from keeptrusts.pricing import Pricing
from keeptrusts.providers.anthropic_translate import usage_of


def exchange() -> Exchange:
    runtime: Any = None  # take_usage reads only the usage block
    return Exchange(runtime, "chat", {}, b"", "r", "claude-sonnet-4-5", False)


def test_anthropic_cache_writes_are_priced_above_plain_input() -> None:
    ex = exchange()
    anthropic = {"input_tokens": 100, "cache_creation_input_tokens": 1000, "output_tokens": 10}
    take_usage(ex, usage_of(anthropic))
    u = ex.usage
    assert (u.input_tokens, u.cache_write_tokens, u.cached_input_tokens) == (1100, 1000, 0)
    pricing = Pricing({})
    model = ex.model
    plain = pricing.cost(model, 1100, 10)
    with_writes = pricing.cost(model, 1100, 10, 0, 1000)
    assert plain > 0 and with_writes > plain
