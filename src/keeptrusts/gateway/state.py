"""Process-wide gateway state: the live runtime, metrics, the event pipeline, counters."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from keeptrusts.config.runtime import Runtime
from keeptrusts.providers.client import UpstreamClient
from keeptrusts.telemetry.metrics import Metrics

if TYPE_CHECKING:
    from keeptrusts.limits.backend import LimitBackend


class EventSink(Protocol):
    def enqueue(self, event: dict[str, Any]) -> None: ...


class DiscardEvents:
    def enqueue(self, event: dict[str, Any]) -> None:
        return None


@dataclass
class GatewayState:
    runtime: Runtime | None
    metrics: Metrics
    session: UpstreamClient
    limits: LimitBackend
    gateway_id: str
    policy_paths: tuple[str, ...] = ()
    config_dir: str = "/etc/keeptrusts"
    events: EventSink = field(default_factory=DiscardEvents)
    started: float = field(default_factory=time.monotonic)
    requests_processed: int = 0
    draining: bool = False
    in_flight: int = 0
    #: bytes of request bodies being worked on (gateway/admission.py)
    body_bytes_in_flight: int = 0
    fail_mode: str = "block"
    admin_token: str | None = None
    #: settings the live config changed that only a restart applies (`runtime.START_ONLY`)
    restart_pending: list[str] = field(default_factory=list)
    #: completion work (budget settlement) still running after its response was sent
    background: set[asyncio.Task[None]] = field(default_factory=set)

    def live(self) -> Runtime:
        assert self.runtime is not None
        return self.runtime
