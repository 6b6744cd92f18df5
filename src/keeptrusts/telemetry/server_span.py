"""The request's server span, with export on: the caller's context made the span's parent.

Imported by `tracing.RequestTrace` only once a tracer is set (`tracing_export.setup_tracing()`),
so a gateway with export off never loads the OpenTelemetry API (≈ 0.3 MiB of its idle memory).
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    TraceFlags,
    Tracer,
    TraceState,
)
from opentelemetry.util.types import AttributeValue

from keeptrusts.telemetry.trace_headers import Parent


def start_server_span(
    tracer: Tracer, parent: Parent | None, tracestate: str | None, method: str, route: str
) -> tuple[Span, Context]:
    """The server span, child of the caller's span when there is one, and its context."""
    ctx = Context()
    if parent is not None:
        remote = SpanContext(
            int(parent.trace_id, 16),
            int(parent.span_id, 16),
            is_remote=True,
            trace_flags=TraceFlags(TraceFlags.SAMPLED if parent.sampled else TraceFlags.DEFAULT),
            trace_state=TraceState.from_header([tracestate]) if tracestate else None,
        )
        ctx = trace.set_span_in_context(NonRecordingSpan(remote), ctx)
    attrs: dict[str, AttributeValue] = {"http.request.method": method, "http.route": route}
    span = tracer.start_span(f"{method} {route}", ctx, SpanKind.SERVER, attrs)
    return span, trace.set_span_in_context(span, ctx)


def start_child(tracer: Tracer, ctx: Context, name: str, attrs: dict[str, AttributeValue]) -> Span:
    """A stage (internal) span under the server span."""
    return tracer.start_span(name, ctx, SpanKind.INTERNAL, attrs)


def start_client(tracer: Tracer, ctx: Context, name: str, attrs: dict[str, AttributeValue]) -> Span:
    """A provider attempt's (client) span under the server span."""
    return tracer.start_span(name, ctx, SpanKind.CLIENT, attrs)


def end_span(span: Span, status: int) -> None:
    """End the server span with the response status (5xx marks it as an error)."""
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(trace.Status(trace.StatusCode.ERROR))
    span.end()
