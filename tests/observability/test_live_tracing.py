"""Traces through the running gateway: exported span tree, and context reaching the provider."""

from __future__ import annotations

import time

import httpx

from tests.fakes.gateway import GatewayFactory
from tests.fakes.otlp_receiver import OtlpReceiver
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV, openai_config

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CHAIN = "[pii-detector, dlp-filter]"
POLICY = 'pii-detector: {action: redact}\n  dlp-filter: {blocked_terms: ["x y z"], action: block}'


def chat(gw, headers: dict[str, str]) -> httpx.Response:  # type: ignore[no-untyped-def]
    return httpx.post(
        gw.base_url + "/chat/completions",
        headers=headers,
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
    )


def test_span_tree_and_provider_parent(gateways: GatewayFactory, fake: FakeUpstream) -> None:
    receiver = OtlpReceiver().start()
    try:
        env = {
            **ENV,
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        }
        gw = gateways.start(
            openai_config(("a", fake.base_url), chain=CHAIN, policy=POLICY), env=env
        )
        r = chat(gw, {"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"})
        assert r.status_code == 200
        deadline = time.monotonic() + 10
        spans = []
        while time.monotonic() < deadline:
            spans = receiver.trace(TRACE_ID)
            if len(spans) >= 5:  # server, 2 request stages, 1 response stage... and the provider
                break
            time.sleep(0.1)
        by_kind = {}
        for s in spans:
            by_kind.setdefault(s.kind, []).append(s)
        server = [s for s in spans if s.parent_span_id == "00f067aa0ba902b7"]
        assert len(server) == 1
        children = [s for s in spans if s.parent_span_id == server[0].span_id]
        names = {s.name for s in children}
        assert any(n.startswith("policy pii-detector") for n in names), names
        provider = [s for s in children if s.attributes.get("gen_ai.request.model") == "gpt-4o"]
        assert len(provider) == 1, names
        assert provider[0].attributes.get("gen_ai.usage.input_tokens") == 11
        seen = fake.requests[0].headers["traceparent"]
        assert seen.split("-")[1] == TRACE_ID
        assert seen.split("-")[2] == provider[0].span_id
    finally:
        receiver.stop()


def test_b3_and_w3c_reach_provider_with_same_trace_id(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    gw = gateways.start(openai_config(("a", fake.base_url)), env=ENV)
    chat(gw, {"b3": f"{TRACE_ID}-00f067aa0ba902b7-1"})
    assert fake.requests[-1].headers["b3"].startswith(TRACE_ID)
    chat(gw, {"x-b3-traceid": TRACE_ID, "x-b3-spanid": "00f067aa0ba902b7", "x-b3-sampled": "1"})
    assert fake.requests[-1].headers["x-b3-traceid"] == TRACE_ID
    chat(gw, {"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01", "tracestate": "a=b"})
    seen = fake.requests[-1].headers
    assert seen["traceparent"].split("-")[1] == TRACE_ID and seen["tracestate"] == "a=b"
    chat(gw, {})
    assert len(fake.requests[-1].headers["traceparent"].split("-")[1]) == 32


def test_export_off_never_loads_opentelemetry(gateways: GatewayFactory, fake: FakeUpstream) -> None:
    """With export off the gateway propagates trace context without the OpenTelemetry API
    (≈ 0.3 MiB of a 64 MiB idle budget): the interpreter's import log (`-X importtime`, on
    stderr) names no `opentelemetry` module after a request went through the policy chain."""
    env = {**ENV, "PYTHONPROFILEIMPORTTIME": "1"}
    gw = gateways.start(openai_config(("a", fake.base_url), chain=CHAIN, policy=POLICY), env=env)
    assert chat(gw, {"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"}).status_code == 200
    assert fake.requests[-1].headers["traceparent"].split("-")[1] == TRACE_ID
    logs = gw.logs()
    assert "keeptrusts.telemetry.tracing" in logs  # the import log was written
    assert "opentelemetry" not in logs
