"""Shared fixtures: real servers on 127.0.0.1 (the gateway as a subprocess, a fake provider)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.gateway import GatewayFactory
from tests.fakes.upstream import FakeUpstream


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
