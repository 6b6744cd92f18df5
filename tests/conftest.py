"""Shared fixtures: real servers on 127.0.0.1 (the gateway as a subprocess, a fake provider)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings as hypothesis_settings

from tests.fakes.gateway import GatewayFactory
from tests.fakes.upstream import FakeUpstream

# Property tests run the same examples on every run: `make test` is the CI gate, and a
# counterexample found by chance must not turn an unrelated change red. To search anew (and
# add what is found as a fixed case), run with HYPOTHESIS_PROFILE=explore.
hypothesis_settings.register_profile("gate", derandomize=True)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "gate"))


@pytest.fixture(scope="session")
def upstream() -> Iterator[FakeUpstream]:
    fake = FakeUpstream().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake(upstream: FakeUpstream) -> FakeUpstream:
    """The session's fake provider, reset to its default behaviour for this test."""
    upstream.reset()
    return upstream


@pytest.fixture
def gateways(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayFactory]:
    factory = GatewayFactory(tmp_path_factory.mktemp("gw"))
    yield factory
    factory.stop_all()
