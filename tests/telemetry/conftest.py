"""Fixtures for telemetry tests: logs into a buffer, a real OTLP/HTTP receiver and tracing wired
to it."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from keeptrusts.telemetry.logging import flush_access, setup_logging
from keeptrusts.telemetry.tracing_export import TracingSetup, setup_tracing
from tests.fakes.otlp_receiver import OtlpReceiver


@pytest.fixture
def out() -> Iterator[io.StringIO]:
    """JSON logging into a string buffer; the previous handlers come back afterwards."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    buf = io.StringIO()
    setup_logging("info", buf)
    yield buf
    flush_access()
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


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
