"""Process-wide telemetry set-up, in one place: JSON logging, and tracing when configured."""

from __future__ import annotations

import os

from keeptrusts.telemetry.logging import setup_logging
from keeptrusts.telemetry.tracing_export import TracingSetup, setup_tracing


def setup_process() -> TracingSetup | None:
    """Logging from `$KEEPTRUSTS_LOG_LEVEL` (the config's `logging.level` applies once loaded);
    the OpenTelemetry SDK only when the standard `OTEL_*` variables ask for export."""
    setup_logging(os.environ.get("KEEPTRUSTS_LOG_LEVEL", "info").lower())
    return setup_tracing()
