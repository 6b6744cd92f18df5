"""Request tracing: continue the caller's trace (W3C TraceContext, B3); export spans if configured.

The request path uses only the OpenTelemetry *API* (`RequestTrace`), and only when
`tracing_export.setup_tracing()` found export configured by the standard `OTEL_*` variables.
With export off a `RequestTrace` is a few parsed ids: the provider gets the caller's own trace
headers back unchanged (or a fresh `traceparent` when the caller sent none), at a cost of a
couple of microseconds. The SDK (OTLP over HTTP, batch processor, resource) is wired in
`tracing_export.py` alone; the trace headers are read and written by `trace_headers.py`; the
stage and provider spans are `spans.py`. The API itself is loaded (`server_span.py`) only once
export is on: with it off, the process never imports OpenTelemetry.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from keeptrusts.telemetry.spans import NOOP_STAGE, ProviderSpan, StageSpan, genai_attributes
from keeptrusts.telemetry.trace_headers import (
    B3_FLAGS,
    B3_MULTI,
    B3_MULTI_FLAGS,
    B3_SINGLE,
    OPAQUE_HEADERS,
    TRACE_HEADERS,
    W3C,
    Parent,
    b3_multi_flags_only,
    format_headers,
    header_lines,
    new_span_id,
    new_trace_id,
    parse_b3_multi,
    parse_b3_single,
    parse_traceparent,
    trim_tracestate,
)

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Span, Tracer
    from opentelemetry.util.types import AttributeValue

log = logging.getLogger(__name__)

_tracer: Tracer | None = None  # set by setup_tracing(); None means export is off


class RequestTrace:
    """One request's trace: the caller's context, the server span (export on) and its children.

    Not thread-safe; spans are parented explicitly (no context-var attach), so a span may start in
    one task and end in another (a stream relayed after the handler returned).
    """

    __slots__ = ("_ctx", "_formats", "_parent", "_raw", "_span", "_tracer", "trace_id")

    def __init__(
        self, parent: Parent | None, formats: int, raw: dict[str, str], tracer: Tracer | None
    ) -> None:
        self._parent = parent
        self._formats = formats
        self._raw = raw
        self._tracer = tracer
        self._span: Span | None = None
        self._ctx: Context | None = None
        #: 32 lower-case hex digits: the caller's trace id, or a new one.
        self.trace_id = parent.trace_id if parent else ""

    @classmethod
    def start(cls, headers: Mapping[str, str], method: str, route: str) -> RequestTrace:
        """Continue the caller's trace (W3C first, then B3 single, then B3 multi) or start one.

        `headers` must look up lower-case names case-insensitively (aiohttp's `request.headers`).
        """
        parent: Parent | None = None
        formats = 0
        raw: dict[str, str] = {}
        deny = False  # a B3 "not sampled" decision that came without ids
        lines = header_lines(headers, "traceparent")
        value = lines[0] if len(lines) == 1 else None  # two: no parent (W3C), a new trace
        if value is not None and (parent := parse_traceparent(value)) is not None:
            formats, raw["traceparent"] = W3C, value
            state = trim_tracestate(",".join(header_lines(headers, "tracestate")))
            if state:
                raw["tracestate"] = state
        value = headers.get("b3")
        if value is not None:
            if (b3 := parse_b3_single(value)) is not None:
                formats, raw["b3"] = formats | B3_SINGLE, value
                parent = parent or b3
            elif value in B3_FLAGS:  # a sampling decision alone: passed on as it came
                raw["b3"] = value
                deny = value == "0"
        value = headers.get("x-b3-traceid")
        if value is not None and (multi := parse_b3_multi(headers, value)) is not None:
            formats |= B3_MULTI
            for name in TRACE_HEADERS[3:]:
                if (v := headers.get(name)) is not None:
                    raw[name] = v
            parent = parent or multi
        elif value is None:
            deny = b3_multi_flags_only(headers, raw) or deny
        for name in OPAQUE_HEADERS:
            if found := header_lines(headers, name):
                raw[name] = ",".join(found)  # a list sent on several lines is one (RFC 9110)
        rt = cls(parent, formats, raw, _tracer)
        if _tracer is not None and (parent is not None or not deny):
            rt._start_server_span(_tracer, method, route)
        elif parent is None:
            rt.trace_id = new_trace_id()
        return rt

    def _start_server_span(self, tracer: Tracer, method: str, route: str) -> None:
        from keeptrusts.telemetry.server_span import start_server_span

        state = self._raw.get("tracestate")
        self._span, self._ctx = start_server_span(tracer, self._parent, state, method, route)
        self.trace_id = f"{self._span.get_span_context().trace_id:032x}"

    @property
    def recording(self) -> bool:
        """True when spans are exported (tracing is on)."""
        return self._span is not None

    def stage_span(self, name: str) -> StageSpan:
        if self._tracer is None or self._ctx is None:
            return NOOP_STAGE
        from keeptrusts.telemetry.server_span import start_child

        attrs: dict[str, AttributeValue] = {"keeptrusts.policy.stage": name}
        return StageSpan(start_child(self._tracer, self._ctx, name, attrs))

    def provider_span(
        self, target_id: str, system: str, model: str, operation: str = "chat"
    ) -> ProviderSpan:
        if self._tracer is None or self._ctx is None:
            return ProviderSpan(self._provider_headers, None)
        attrs = genai_attributes(system, model)
        attrs["gen_ai.operation.name"] = operation
        attrs["keeptrusts.provider.target"] = target_id
        from keeptrusts.telemetry.server_span import start_client

        span = start_client(self._tracer, self._ctx, f"{operation} {model}", attrs)
        return ProviderSpan(self._provider_headers, span)

    def _provider_headers(self, span: Span | None) -> dict[str, str]:
        if span is None:
            return self._passthrough_headers()
        sc = span.get_span_context()
        server = self._span.get_span_context().span_id if self._span is not None else 0
        out = format_headers(
            self._formats,
            self.trace_id,
            f"{sc.span_id:016x}",
            f"{server:016x}" if server else None,
            self._parent,
            sc.trace_flags.sampled,
            self._raw,
        )
        for name in OPAQUE_HEADERS:
            if name in self._raw:
                out[name] = self._raw[name]
        if "b3" in self._raw and "b3" not in out:  # `b3: 0|1|d` alone: passed on as it came
            out["b3"] = self._raw["b3"]
        if not self._formats & B3_MULTI:  # `x-b3-sampled` / `x-b3-flags` alone: the same
            for name in B3_MULTI_FLAGS:
                if name in self._raw:
                    out[name] = self._raw[name]
        return out

    def _passthrough_headers(self) -> dict[str, str]:
        if self._formats:
            return dict(self._raw)
        # No caller context: name this request as the parent; the flag says we recorded nothing.
        out = dict(self._raw)
        out["traceparent"] = f"00-{self.trace_id}-{new_span_id()}-00"
        return out

    def set_attributes(
        self,
        *,
        system: str | None = None,
        request_model: str | None = None,
        response_model: str | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        http_status: int | None = None,
        tenant: str | None = None,
        decision: str | None = None,
    ) -> None:
        if self._span is None:
            return
        attrs = genai_attributes(
            system, request_model, response_model, input_tokens, output_tokens, http_status
        )
        if tenant is not None:
            attrs["keeptrusts.tenant"] = tenant
        if decision is not None:
            attrs["keeptrusts.decision"] = decision
        self._span.set_attributes(attrs)

    def end(self, status: int) -> None:
        """End the server span with the response status (5xx marks it as an error). Idempotent."""
        span, self._span = self._span, None
        if span is not None:
            from keeptrusts.telemetry.server_span import end_span

            end_span(span, status)


def export_with(tracer: Tracer | None) -> None:
    """Requests from now on record their spans with `tracer` (None: export off, propagation
    only). Set by `tracing_export.setup_tracing()` and its shutdown."""
    global _tracer
    _tracer = tracer


def exporting_with(tracer: Tracer) -> bool:
    return _tracer is tracer
