"""SQLite storage (the default): stdlib sqlite3 on one worker thread, WAL mode.

One connection on one thread serializes writes, so `seq` follows arrival order and a reader
paging by `seq` never skips a row that commits later.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from keeptrusts.controlplane import migrations
from keeptrusts.controlplane.sqlquery import Where, cost_rows, cost_sql, events_sql
from keeptrusts.controlplane.store import (
    CostQuery,
    EventQuery,
    EventRow,
    Page,
    StoredConfig,
    UnstorableBatch,
)
from keeptrusts.controlplane.timeparse import text_utc

T = TypeVar("T")

INSERT = (
    "INSERT INTO events (id, ts, received_at, gateway_id, tenant, model, provider, decision, "
    "status, input_tokens, output_tokens, cost_usd, policies, body) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
)


def _ph(_: int) -> str:
    return "?"


class SqliteStore:
    backend = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kt-api-sqlite")

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("store is not open")
        return self._db

    # -- lifecycle -----------------------------------------------------------------------------

    async def open(self) -> None:
        await self._call(self._open)

    def _open(self) -> None:
        parent = Path(self.path).parent
        parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=5000")
        self._db = db
        self._migrate(db)

    def _migrate(self, db: sqlite3.Connection) -> None:
        db.execute(migrations.SQLITE_BOOKKEEPING)
        applied = {int(r[0]) for r in db.execute("SELECT version FROM schema_migrations")}
        for m in migrations.pending(applied):
            with db:
                db.execute("BEGIN IMMEDIATE")
                for statement in m.sqlite:
                    db.execute(statement)
                db.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (m.version, m.name, text_utc(datetime.now(UTC))),
                )

    async def close(self) -> None:
        def shut() -> None:
            if self._db is not None:
                self._db.close()
                self._db = None

        await self._call(shut)
        self._pool.shutdown(wait=True)

    async def ping(self) -> bool:
        def check() -> bool:
            self._conn().execute("SELECT 1").fetchone()
            return True

        return await self._call(check)

    # -- events --------------------------------------------------------------------------------

    async def insert_events(self, rows: list[EventRow]) -> int:
        return await self._call(self._insert, rows)

    def _insert(self, rows: list[EventRow]) -> int:
        db = self._conn()
        now = text_utc(datetime.now(UTC))
        params = [
            (
                r.id,
                text_utc(r.ts),
                now,
                r.gateway_id,
                r.tenant,
                r.model,
                r.provider,
                r.decision,
                r.status,
                r.input_tokens,
                r.output_tokens,
                r.cost_usd,
                r.policies,
                r.body,
            )
            for r in rows
        ]
        before = db.total_changes
        try:
            with db:
                db.execute("BEGIN IMMEDIATE")
                db.executemany(INSERT, params)
        except (OverflowError, sqlite3.DataError) as exc:  # rolled back: nothing was stored
            raise UnstorableBatch(str(exc)) from exc
        return db.total_changes - before

    async def list_events(self, query: EventQuery) -> Page:
        sql, params = events_sql(query, Where(_ph, text_utc))

        def run() -> list[tuple[int, str]]:
            return list(self._conn().execute(sql, params).fetchall())

        records = await self._call(run)
        more = len(records) > query.limit
        records = records[: query.limit]
        last = int(records[-1][0]) if records else None
        return Page(
            first_seq=int(records[0][0]) if records else None,
            events=[r[1] for r in records],
            last_seq=last,
            more=more,
        )

    async def cost_report(self, query: CostQuery) -> list[dict[str, Any]]:
        # total(): a float sum, where sum() of integers fails past 2^63-1 ("integer overflow")
        sql, params = cost_sql(query, Where(_ph, text_utc), int_sum="total")

        def run() -> list[tuple[Any, ...]]:
            return list(self._conn().execute(sql, params).fetchall())

        return cost_rows(query.group_by, await self._call(run))

    # -- managed configs -----------------------------------------------------------------------

    async def get_config(self, gateway_id: str) -> StoredConfig | None:
        def run() -> tuple[str, str, str] | None:
            cur = self._conn().execute(
                "SELECT body, etag, updated_at FROM gateway_configs WHERE gateway_id = ?",
                (gateway_id,),
            )
            row = cur.fetchone()
            return None if row is None else (str(row[0]), str(row[1]), str(row[2]))

        found = await self._call(run)
        if found is None:
            return None
        body, etag, updated = found
        return StoredConfig(gateway_id, body, etag, datetime.fromisoformat(updated))

    async def put_config(self, gateway_id: str, body: str, etag: str) -> StoredConfig:
        now = datetime.now(UTC)

        def run() -> None:
            db = self._conn()
            with db:
                db.execute("BEGIN IMMEDIATE")
                db.execute(
                    "INSERT INTO gateway_configs (gateway_id, body, etag, updated_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (gateway_id) DO UPDATE SET "
                    "body = excluded.body, etag = excluded.etag, updated_at = excluded.updated_at",
                    (gateway_id, body, etag, text_utc(now)),
                )

        await self._call(run)
        return StoredConfig(gateway_id, body, etag, now)
