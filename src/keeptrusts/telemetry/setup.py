"""Process-wide telemetry set-up, in one place: logging now, tracing when configured."""

from __future__ import annotations

import logging
import os


def setup_process() -> None:
    level = os.environ.get("KEEPTRUSTS_LOG_LEVEL", "info").upper()
    try:
        from keeptrusts.telemetry.logging import setup_logging

        setup_logging(level.lower())
    except ImportError:
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
