"""Close a request: usage and cost, metrics, the decision event and the access log line."""

from __future__ import annotations

import logging
from typing import Any

from keeptrusts.gateway.dispatch import end_provider_span
from keeptrusts.gateway.state import GatewayState
from keeptrusts.limits.backend import MAX_TOKENS
from keeptrusts.pipeline.context import Exchange, Usage
from keeptrusts.pipeline.texts import response_slots
from keeptrusts.pipeline.verdict import Result
from keeptrusts.telemetry.logging import access_log

log = logging.getLogger("keeptrusts.gateway")


def take_usage(ex: Exchange, usage: Any) -> None:
    """Copy an OpenAI `usage` block into the exchange."""
    if not isinstance(usage, dict):
        return
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else 0
    out = usage.get("completion_tokens_details")
    reasoning = out.get("reasoning_tokens") if isinstance(out, dict) else 0
    ex.usage = Usage(
        input_tokens=_int(usage.get("prompt_tokens")),
        output_tokens=_int(usage.get("completion_tokens")),
        cached_input_tokens=_int(cached),
        cache_write_tokens=_int(usage.get("cache_creation_input_tokens")),
        reasoning_tokens=_int(reasoning),
    )


def estimate_usage(ex: Exchange, output_chars: int) -> None:
    """Where a provider reports no usage: about four characters a token, marked as estimated."""
    if ex.usage.input_tokens or ex.usage.output_tokens:
        return
    ex.usage = Usage(
        input_tokens=ex.prompt_estimate(),
        output_tokens=(output_chars + 3) // 4,
        estimated=True,
    )


def response_chars(body: dict[str, Any]) -> int:
    """Characters of answer text in a JSON response (for an estimate without usage)."""
    return sum(len(container[key]) for container, key in response_slots(body))


def _int(value: Any) -> int:
    """A provider's token count: a positive integer, at most `MAX_TOKENS` (a count past it is
    the provider's error, and must not overflow counters, prices or the event store)."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return min(value, MAX_TOKENS)
    return 0


def finish(state: GatewayState, ex: Exchange, status: int) -> None:
    """Account for a finished request (any outcome). Never raises."""
    try:
        _finish(state, ex, status)
    except Exception:
        log.exception("failed to account for request %s", ex.request_id)


def _finish(state: GatewayState, ex: Exchange, status: int) -> None:
    ex.status = status
    rt = ex.runtime
    m = state.metrics
    model = rt.model_label(ex.model)
    provider = ex.provider if ex.provider in rt.provider_labels else "none"
    u = ex.usage
    if u.input_tokens or u.output_tokens:
        ex.cost_usd = rt.pricing.cost(
            ex.priced_model(),
            u.input_tokens,
            u.output_tokens,
            u.cached_input_tokens,
            u.cache_write_tokens,
        )
        m.child(m.tokens, "input", model).inc(u.input_tokens)
        m.child(m.tokens, "output", model).inc(u.output_tokens)
        if ex.cost_usd:
            m.child(m.cost, rt.tenant_label(ex.tenant), model).inc(ex.cost_usd)
    m.child(m.requests, provider, model, str(status)).inc()
    m.child(m.duration, provider).observe(ex.elapsed())
    m.overhead.observe(ex.overhead())
    if ex.evaluations or ex.decision is not Result.ALLOW:
        # a decision is the chain's: a request refused before any policy ran (malformed,
        # too large, overloaded) or served with no policy run has none to count
        m.child(m.decisions, ex.decision).inc()
    for ev in ex.evaluations:
        m.child(m.evaluations, ev.name, ev.result).inc()
    state.requests_processed += 1
    state.events.enqueue(build_event(state, ex))
    _end_trace(ex, status)
    if rt.loaded.config.logging.access_log:
        _access_log(ex, status)


def _end_trace(ex: Exchange, status: int) -> None:
    end_provider_span(ex)
    trace = ex.trace
    if trace is not None:
        if trace.recording:
            trace.set_attributes(
                request_model=ex.model,
                input_tokens=ex.usage.input_tokens,
                output_tokens=ex.usage.output_tokens,
                tenant=ex.tenant,
                decision=ex.decision.value,
            )
        trace.end(status)


def build_event(state: GatewayState, ex: Exchange) -> dict[str, Any]:
    from keeptrusts.events.event import from_exchange

    event: dict[str, Any] = from_exchange(ex, state.gateway_id, ex.runtime.version)
    return event


def _access_log(ex: Exchange, status: int) -> None:
    access_log(
        {
            "request_id": ex.request_id,
            "trace_id": ex.trace_id,
            "tenant": ex.tenant,
            "model": ex.model,
            "provider": ex.provider,
            "decision": ex.decision,
            "status": status,
            "latency_ms": round(ex.elapsed() * 1000, 3),
            "overhead_ms": round(ex.overhead() * 1000, 3),
        }
    )
