"""Prices: prefix entries (`name*`), family names, Anthropic cache writes."""

from __future__ import annotations

import pytest

from keeptrusts.config.load import ConfigError
from keeptrusts.config.model import Price
from keeptrusts.pricing import Pricing
from keeptrusts.providers.anthropic_translate import usage_of


def price(inp: float, out: float = 0.0) -> Price:
    return Price(input_per_mtok=inp, output_per_mtok=out)


def test_a_trailing_star_prices_by_prefix_and_the_longest_prefix_wins() -> None:
    p = Pricing({"acme-llm*": price(1.0), "acme-llm-pro*": price(5.0), "acme-llm-pro-x": price(9)})
    assert p.canonical("acme-llm") == "acme-llm*"
    assert p.canonical("acme-llm-7b") == "acme-llm*"
    assert p.canonical("acme-llmx") == "acme-llm*"
    assert p.canonical("acme-llm-pro-2") == "acme-llm-pro*"
    assert p.canonical("acme-llm-pro-x") == "acme-llm-pro-x"  # an exact name first
    assert p.canonical("vendor/acme-llm-7b") == "acme-llm*"  # the last path segment too
    assert p.canonical("acme") is None
    assert p.cost("acme-llm-7b", 1_000_000, 0) == pytest.approx(1.0)
    assert p.cost("acme-llm-pro-2", 1_000_000, 0) == pytest.approx(5.0)
    # shipped families still match their dated snapshots; labels are table names only
    assert p.canonical("gpt-4o-2024-08-06") == "gpt-4o"
    assert {p.canonical(f"acme-llm-{i}") for i in range(100)} == {"acme-llm*"}


def test_a_star_anywhere_but_the_end_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"pricing: 'acme-\*-llm'.*only end a name"):
        Pricing({"acme-*-llm": price(1.0)})


def test_anthropic_cache_writes_cost_a_quarter_more_than_input() -> None:
    u = usage_of({"input_tokens": 10, "cache_creation_input_tokens": 100_000, "output_tokens": 0})
    assert u["prompt_tokens"] == 100_010 and u["cache_creation_input_tokens"] == 100_000
    p = Pricing({})  # claude-sonnet-4-5: $3 in, $0.30 cached
    cost = p.cost(
        "claude-sonnet-4-5",
        u["prompt_tokens"],
        0,
        u["prompt_tokens_details"]["cached_tokens"],
        u["cache_creation_input_tokens"],
    )
    assert cost == pytest.approx((10 * 3 + 100_000 * 3.75) / 1e6)
    reads = usage_of({"input_tokens": 10, "cache_read_input_tokens": 1000, "output_tokens": 5})
    assert "cache_creation_input_tokens" not in reads  # only when there were writes
    cost = p.cost("claude-sonnet-4-5", reads["prompt_tokens"], 5, 1000)
    assert cost == pytest.approx((10 * 3 + 1000 * 0.3 + 5 * 15) / 1e6)
