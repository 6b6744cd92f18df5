"""Start the event pipeline for a gateway process and hand it to the request path."""

from __future__ import annotations

import os

from keeptrusts.events.pipeline import EventPipeline
from keeptrusts.gateway.state import GatewayState


async def start_events(state: GatewayState, spool_dir: str | None) -> EventPipeline:
    """Build and start the pipeline from the live config's `events:` section and the
    environment (`KEEPTRUSTS_API_URL`, `KEEPTRUSTS_GATEWAY_TOKEN`, `KEEPTRUSTS_SPOOL_DIR`),
    then make it the state's event sink. `spool_dir` (from `--spool-dir`) wins over the config.
    The pipeline keeps these settings until the process restarts; a reload does not change them.
    """
    settings = state.live().loaded.config.events
    pipeline = EventPipeline(
        settings,
        state.metrics,
        api_url=os.environ.get("KEEPTRUSTS_API_URL") or None,
        token=os.environ.get("KEEPTRUSTS_GATEWAY_TOKEN") or None,
        spool_dir=spool_dir or os.environ.get("KEEPTRUSTS_SPOOL_DIR") or None,
        gateway_id=state.gateway_id,
    )
    await pipeline.start()
    state.events = pipeline
    return pipeline
