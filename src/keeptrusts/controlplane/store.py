"""What the API needs from storage, and the types both backends share.

Events are stored whole (their JSON text, returned as sent) plus the columns the filters and the
cost report use. `seq` is assigned in arrival order, so each gateway's events keep their order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import orjson

from keeptrusts.controlplane.timeparse import OutOfRange, parse_rfc3339

MAX_ID_LENGTH = 128
#: indexed text columns keep this many characters (the body keeps the whole value)
MAX_TEXT = 256
#: `input_tokens`, `output_tokens`: BIGINT in both databases
MAX_BIGINT = 2**63 - 1
#: `status`: INTEGER, 32 bits in PostgreSQL
MAX_STATUS = 2**31 - 1
#: far above any real request, and low enough that no sum of costs overflows a double
#: (PostgreSQL's `sum(float8)` fails on overflow; SQLite's would give Infinity, not a number)
MAX_COST_USD = 1e15
NUL_PROBLEM = "must not contain U+0000 (NUL): the event store cannot hold it"
GROUP_COLUMNS = ("tenant", "model", "provider", "gateway_id", "decision")


class InvalidEvent(ValueError):
    """An event in a batch cannot be stored; the message names its index and field."""


class UnstorableBatch(ValueError):
    """The database refused a batch's values (a data error, not an outage).

    Backends raise it for what `event_row` did not foresee, so such a batch gets a 422 like
    an invalid event instead of a 500; the message says what the database reported."""


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
    """Validate one posted event and extract its indexed columns.

    Values the columns cannot hold are refused, naming `events[i].field`, so the database
    never sees them: text with U+0000 (PostgreSQL `text` cannot store it), integers outside
    the columns' ranges, a `cost_usd` whose sums could overflow. Fields of another type (a
    string `status`, a float `input_tokens`) stay in the body but are not indexed or counted.
    """
    if not isinstance(event, dict):
        raise InvalidEvent(f"events[{index}]: must be a JSON object")
    field = _Fields(index, event)
    eid = field.text("id")
    if not eid or len(eid) > MAX_ID_LENGTH:
        raise InvalidEvent(f"events[{index}].id: must be a non-empty string of at most 128 chars")
    return EventRow(
        id=eid,
        ts=field.timestamp(),
        gateway_id=field.text("gateway_id") or "",
        tenant=field.text("tenant"),
        model=field.text("model"),
        provider=field.text("provider"),
        decision=field.text("decision"),
        status=field.integer("status", MAX_STATUS),
        input_tokens=field.integer("input_tokens", MAX_BIGINT) or 0,
        output_tokens=field.integer("output_tokens", MAX_BIGINT) or 0,
        cost_usd=field.cost(),
        policies=field.policies(),
        body=orjson.dumps(event).decode(),
    )


class _Fields:
    """Reads one event's fields; errors name `events[i].field`."""

    def __init__(self, index: int, event: dict[str, Any]) -> None:
        self.index, self.event = index, event

    def invalid(self, name: str, problem: str) -> InvalidEvent:
        return InvalidEvent(f"events[{self.index}].{name}: {problem}")

    def timestamp(self) -> datetime:
        ts = self.event.get("timestamp")
        if not isinstance(ts, str):
            raise self.invalid("timestamp", "must be an RFC 3339 string")
        try:
            return parse_rfc3339(ts)
        except OutOfRange as exc:
            raise self.invalid("timestamp", str(exc)) from None
        except ValueError:
            raise self.invalid("timestamp", f"{ts[:40]!r} is not RFC 3339") from None

    def text(self, name: str) -> str | None:
        v = self.event.get(name)
        if not isinstance(v, str):
            return None
        if "\x00" in v:
            raise self.invalid(name, NUL_PROBLEM)
        return v if name == "id" else v[:MAX_TEXT]

    def integer(self, name: str, high: int) -> int | None:
        v = _number(self.event.get(name))
        if v is None:
            return None
        if not 0 <= v <= high:
            raise self.invalid(name, f"must be a whole number from 0 to {high}")
        return v if isinstance(v, int) else None

    def cost(self) -> float:
        v = _number(self.event.get("cost_usd"))
        if v is None:
            return 0.0
        if not 0 <= v <= MAX_COST_USD:
            raise self.invalid("cost_usd", "must be a number from 0 to 1e15")
        return float(v)

    def policies(self) -> str:
        """`,name1,name2,`: a policy filter is then a LIKE '%,name,%' in both dialects."""
        v = self.event.get("policies_evaluated")
        if not isinstance(v, list):
            return ""
        names: set[str] = set()
        for j, p in enumerate(v):
            name = p.get("name") if isinstance(p, dict) else None
            if isinstance(name, str):
                if "\x00" in name:
                    raise self.invalid(f"policies_evaluated[{j}].name", NUL_PROBLEM)
                names.add(name)
        return "," + ",".join(sorted(names)) + "," if names else ""


def _number(v: Any) -> int | float | None:
    return v if isinstance(v, int | float) and not isinstance(v, bool) else None
