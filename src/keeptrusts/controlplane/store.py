"""What the API needs from storage, and the types both backends share.

Events are stored whole (their JSON text, returned as sent) plus the columns the filters and the
cost report use. `seq` is assigned in arrival order, so each gateway's events keep their order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import orjson

from keeptrusts.controlplane.timeparse import parse_rfc3339

MAX_ID_LENGTH = 128
GROUP_COLUMNS = ("tenant", "model", "provider", "gateway_id", "decision")


class InvalidEvent(ValueError):
    """An event in a batch cannot be stored; the message names its index and field."""


@dataclass(frozen=True, slots=True)
class EventRow:
    id: str
    ts: datetime
    gateway_id: str
    tenant: str | None
    model: str | None
    provider: str | None
    decision: str | None
    status: int | None
    input_tokens: int
    output_tokens: int
    cost_usd: float
    policies: str
    body: str


@dataclass(frozen=True, slots=True)
class EventQuery:
    limit: int = 100
    cursor: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    tenant: str | None = None
    decision: str | None = None
    policy: str | None = None
    model: str | None = None
    gateway_id: str | None = None
    descending: bool = False


@dataclass(frozen=True, slots=True)
class Page:
    #: event JSON texts, as stored
    events: list[str]
    #: seq of the last event on the page (None when empty)
    last_seq: int | None
    #: seq of the first event on the page (None when empty)
    first_seq: int | None
    #: True when another page follows
    more: bool


@dataclass(frozen=True, slots=True)
class CostQuery:
    group_by: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    tenant: str | None = None
    model: str | None = None


@dataclass(frozen=True, slots=True)
class StoredConfig:
    gateway_id: str
    body: str
    etag: str
    updated_at: datetime


class Store(Protocol):
    """A storage backend. `open` applies pending migrations."""

    backend: str

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> bool: ...

    async def insert_events(self, rows: list[EventRow]) -> int:
        """Store new events in order, skipping ids already stored; returns how many were new."""
        ...

    async def list_events(self, query: EventQuery) -> Page: ...

    async def cost_report(self, query: CostQuery) -> list[dict[str, Any]]: ...

    async def get_config(self, gateway_id: str) -> StoredConfig | None: ...

    async def put_config(self, gateway_id: str, body: str, etag: str) -> StoredConfig: ...


def event_row(index: int, event: Any) -> EventRow:
    """Validate one posted event and extract its indexed columns."""
    if not isinstance(event, dict):
        raise InvalidEvent(f"events[{index}]: must be a JSON object")
    eid = event.get("id")
    if not isinstance(eid, str) or not eid or len(eid) > MAX_ID_LENGTH:
        raise InvalidEvent(f"events[{index}].id: must be a non-empty string of at most 128 chars")
    ts = event.get("timestamp")
    if not isinstance(ts, str):
        raise InvalidEvent(f"events[{index}].timestamp: must be an RFC 3339 string")
    try:
        moment = parse_rfc3339(ts)
    except ValueError:
        raise InvalidEvent(f"events[{index}].timestamp: {ts[:40]!r} is not RFC 3339") from None
    return EventRow(
        id=eid,
        ts=moment,
        gateway_id=_text(event.get("gateway_id")) or "",
        tenant=_text(event.get("tenant")),
        model=_text(event.get("model")),
        provider=_text(event.get("provider")),
        decision=_text(event.get("decision")),
        status=_int(event.get("status")),
        input_tokens=_int(event.get("input_tokens")) or 0,
        output_tokens=_int(event.get("output_tokens")) or 0,
        cost_usd=_float(event.get("cost_usd")),
        policies=_policies(event.get("policies_evaluated")),
        body=orjson.dumps(event).decode(),
    )


def _text(v: Any) -> str | None:
    return v[:256] if isinstance(v, str) else None


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _float(v: Any) -> float:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else 0.0


def _policies(v: Any) -> str:
    """`,name1,name2,`: a policy filter is then a LIKE '%,name,%' in both dialects."""
    if not isinstance(v, list):
        return ""
    names = sorted({p["name"] for p in v if isinstance(p, dict) and isinstance(p.get("name"), str)})
    return "," + ",".join(names) + "," if names else ""
