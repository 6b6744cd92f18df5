"""Exit is never held up by an unreachable OTLP collector: the final flush is bounded
(`EXIT_FLUSH_SECONDS`), as docs/drain.md counts it."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from keeptrusts.telemetry.tracing import RequestTrace
from keeptrusts.telemetry.tracing_export import EXIT_FLUSH_SECONDS, setup_tracing
from tests.fakes.gateway import GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV, openai_config


@pytest.fixture
def blackhole() -> Iterator[str]:
    """A collector that accepts connections and never answers (the kernel completes the
    handshakes; nobody reads)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        yield f"http://127.0.0.1:{s.getsockname()[1]}"


def test_shutdown_gives_up_after_the_bound(
    blackhole: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Before: `force_flush()` then `shutdown()` waited for every export (10 s each)."""
    for name in ("OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", blackhole)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "3")  # the abandoned export ends in-test
    setup = setup_tracing(install_global=False)
    assert setup is not None
    for _ in range(20):
        RequestTrace.start({}, "POST", "/v1/chat/completions").end(200)
    t0 = time.monotonic()
    with caplog.at_level(logging.WARNING, "keeptrusts.telemetry.tracing"):
        finished = setup.shutdown()
    took = time.monotonic() - t0
    assert not finished
    assert EXIT_FLUSH_SECONDS - 0.1 <= took <= EXIT_FLUSH_SECONDS + 1.0
    assert "spans not exported" in caplog.text
    assert not RequestTrace.start({}, "POST", "/").recording  # export is off
    for thread in threading.enumerate():  # its "failed to export" line is logged here, not at exit
        if thread.name == "keeptrusts-otel-shutdown":
            thread.join(10)


def test_gateway_exits_promptly_with_an_unreachable_collector(
    gateways: GatewayFactory, fake: FakeUpstream, blackhole: str
) -> None:
    """Before: 7.6-10 s between the drain and exit, outside docs/drain.md's grace formula."""
    env = {**ENV, "OTEL_EXPORTER_OTLP_ENDPOINT": blackhole}
    gw = gateways.start(openai_config(("a", fake.base_url)), env=env)
    for _ in range(10):
        r = httpx.post(
            gw.base_url + "/chat/completions",
            json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
        )
        assert r.status_code == 200
    t0 = time.monotonic()
    assert gw.stop() == 0
    took = time.monotonic() - t0
    assert took <= EXIT_FLUSH_SECONDS + 2.5, f"exit took {took:.1f} s"
    assert "spans not exported" in gw.logs()
