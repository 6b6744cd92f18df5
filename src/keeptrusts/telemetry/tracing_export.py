"""Span export: the OpenTelemetry SDK (OTLP over HTTP, batch processor, resource), wired when
the standard `OTEL_*` variables ask for it, and shut down within a bounded time at exit.

The request path never touches the SDK: `tracing.RequestTrace` records through the tracer
handed to `tracing.export_with()`.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from keeptrusts.telemetry.tracing import export_with, exporting_with

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Tracer

log = logging.getLogger("keeptrusts.telemetry.tracing")

DEFAULT_SERVICE_NAME: Final = "keeptrusts-gateway"
DEFAULT_OTLP_TRACES_ENDPOINT: Final = "http://localhost:4318/v1/traces"
TRACER_NAME: Final = "keeptrusts.gateway"
#: At exit, pending spans get this long to reach the collector (docs/drain.md counts it).
EXIT_FLUSH_SECONDS: Final = 2.0


@dataclass
class TracingSetup:
    """What `setup_tracing()` built; `shutdown()` flushes pending spans and turns export off."""

    provider: TracerProvider
    tracer: Tracer
    endpoint: str

    def force_flush(self, timeout_millis: int = 5000) -> bool:
        return self.provider.force_flush(timeout_millis)

    def shutdown(self, timeout: float = EXIT_FLUSH_SECONDS) -> bool:
        """Turn export off, then export the pending spans and stop the SDK, waiting at most
        `timeout` seconds: an unreachable collector must not hold up exit (the SDK's own flush
        ignores its timeout and waits for each export, 10 s per attempt). Spans not exported by
        then are dropped, with a warning. Returns whether the flush finished."""
        if exporting_with(self.tracer):
            export_with(None)
        worker = threading.Thread(
            target=self.provider.shutdown, name="keeptrusts-otel-shutdown", daemon=True
        )
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            log.warning(
                "tracing: spans not exported to %s within %.1f s of exit; dropped",
                self.endpoint,
                timeout,
            )
            return False
        return True


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def otlp_traces_endpoint(env: Mapping[str, str]) -> str | None:
    """The OTLP/HTTP traces URL the `OTEL_*` variables ask for, or None when export is off."""
    if _truthy(env.get("OTEL_SDK_DISABLED")):
        return None
    exporters = {e.strip().lower() for e in env.get("OTEL_TRACES_EXPORTER", "").split(",") if e}
    if "none" in exporters:
        return None
    signal = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    if signal:
        return signal
    base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if base:
        return base.rstrip("/") + "/v1/traces"
    return DEFAULT_OTLP_TRACES_ENDPOINT if "otlp" in exporters else None


def setup_tracing(*, install_global: bool = True) -> TracingSetup | None:
    """Wire the OpenTelemetry SDK (OTLP over HTTP, batch processor) when `OTEL_*` asks for it.

    Reads `OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT`, `OTEL_TRACES_EXPORTER`, `OTEL_SDK_DISABLED`,
    `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES` (service.name defaults to keeptrusts-gateway);
    the SDK itself honours `OTEL_EXPORTER_OTLP_*_HEADERS|TIMEOUT|COMPRESSION`, `OTEL_BSP_*` and
    `OTEL_TRACES_SAMPLER[_ARG]`. Returns None (export off, propagation only) otherwise.
    """
    endpoint = otlp_traces_endpoint(os.environ)
    if endpoint is None:
        return None
    protocol = os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "")
    )
    if protocol and protocol != "http/protobuf":
        log.warning("OTLP protocol %r is not supported; exporting with http/protobuf", protocol)

    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from keeptrusts import __version__

    resource = Resource.create({SERVICE_VERSION: __version__})
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    # shutdown_on_exit=False: `TracingSetup.shutdown` is the only, bounded, shutdown (the SDK's
    # own atexit hook would wait up to 30 s for an export stuck on an unreachable collector)
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    tracer = provider.get_tracer(TRACER_NAME, __version__)
    if install_global:
        from opentelemetry import trace

        trace.set_tracer_provider(provider)
    export_with(tracer)
    log.info("tracing: exporting spans to %s", endpoint)
    return TracingSetup(provider, tracer, endpoint)
