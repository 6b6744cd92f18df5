"""A gateway running the policy e2e chain in front of the session's fake provider, for a module
of tests (`yield from governed(...)` in a module-scoped fixture)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.gateway import Gateway, GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV, openai_config
from tests.integration.test_policies_e2e import CHAIN, POLICY


def governed(
    tmp_path_factory: pytest.TempPathFactory,
    upstream: FakeUpstream,
    name: str,
    provider: str = "openai",
) -> Iterator[Gateway]:
    """One gateway (target `a`, or `c` for an anthropic provider), stopped after the module."""
    factory = GatewayFactory(tmp_path_factory.mktemp(name))
    target = "c" if provider == "anthropic" else "a"
    config = openai_config(
        (target, upstream.base_url), chain=CHAIN, policy=POLICY, provider=provider
    )
    yield factory.start(config, env=ENV)
    factory.stop_all()
