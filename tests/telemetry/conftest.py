"""Fixtures for telemetry tests: a real OTLP/HTTP receiver and tracing wired to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from keeptrusts.telemetry.tracing import TracingSetup, setup_tracing
from tests.fakes.otlp_receiver import OtlpReceiver


@pytest.fixture(scope="module")
def otlp() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def exporting(otlp: OtlpReceiver, monkeypatch: pytest.MonkeyPatch) -> Iterator[TracingSetup]:
    """Tracing on (the SDK wired by the OTEL_* variables) and exporting to the test receiver."""
    otlp.clear()
    for name in ("OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_SERVICE_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.endpoint)
    setup = setup_tracing(install_global=False)
    assert setup is not None
    yield setup
    setup.shutdown()
