"""One schema for both backends, as numbered migrations applied in order at start-up.

Each migration has a SQLite and a PostgreSQL text; `schema_migrations` records what ran. Add a
migration by appending to `MIGRATIONS` (never edit one that shipped).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sqlite: tuple[str, ...]
    postgres: tuple[str, ...]


_COMMON_COLUMNS = """
    id TEXT NOT NULL UNIQUE,
    gateway_id TEXT NOT NULL DEFAULT '',
    tenant TEXT,
    model TEXT,
    provider TEXT,
    decision TEXT,
    status INTEGER,
    input_tokens BIGINT NOT NULL DEFAULT 0,
    output_tokens BIGINT NOT NULL DEFAULT 0,
    policies TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL
"""

_INDEXES = (
    "CREATE INDEX IF NOT EXISTS events_ts ON events (ts)",
    "CREATE INDEX IF NOT EXISTS events_tenant_ts ON events (tenant, ts)",
    "CREATE INDEX IF NOT EXISTS events_model_ts ON events (model, ts)",
    "CREATE INDEX IF NOT EXISTS events_gateway_seq ON events (gateway_id, seq)",
)

_CONFIGS = """CREATE TABLE IF NOT EXISTS gateway_configs (
    gateway_id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    etag TEXT NOT NULL,
    updated_at {ts} NOT NULL
)"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "events and gateway configs",
        sqlite=(
            "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
            "ts TEXT NOT NULL, received_at TEXT NOT NULL, cost_usd REAL NOT NULL DEFAULT 0, "
            + _COMMON_COLUMNS
            + ")",
            *_INDEXES,
            _CONFIGS.format(ts="TEXT"),
        ),
        postgres=(
            "CREATE TABLE IF NOT EXISTS events (seq BIGSERIAL PRIMARY KEY, "
            "ts TIMESTAMPTZ NOT NULL, received_at TIMESTAMPTZ NOT NULL DEFAULT now(), "
            "cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0, " + _COMMON_COLUMNS + ")",
            *_INDEXES,
            _CONFIGS.format(ts="TIMESTAMPTZ"),
        ),
    ),
)

LATEST = MIGRATIONS[-1].version

SQLITE_BOOKKEEPING = (
    "CREATE TABLE IF NOT EXISTS schema_migrations "
    "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
)
POSTGRES_BOOKKEEPING = (
    "CREATE TABLE IF NOT EXISTS schema_migrations "
    "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
    "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
)
#: serializes migrations (and event inserts, see postgres_store) across API replicas
POSTGRES_LOCK_ID = 7_411_002


def pending(applied: set[int]) -> list[Migration]:
    return [m for m in MIGRATIONS if m.version not in applied]
