"""PostgreSQL storage with asyncpg.

Event inserts take a transaction-scoped advisory lock, so concurrent batches (several API
replicas, several gateways) commit in `seq` order: a reader paging by `seq` never skips a row
that commits later, and each gateway's events keep their arrival order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

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

INSERT = """
INSERT INTO events (id, ts, gateway_id, tenant, model, provider, decision, status,
                    input_tokens, output_tokens, cost_usd, policies, body)
SELECT u.id, u.ts, u.gateway_id, u.tenant, u.model, u.provider, u.decision, u.status,
       u.input_tokens, u.output_tokens, u.cost_usd, u.policies, u.body
FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[],
            $7::text[], $8::int[], $9::bigint[], $10::bigint[], $11::float8[], $12::text[],
            $13::text[])
     WITH ORDINALITY AS u(id, ts, gateway_id, tenant, model, provider, decision, status,
                          input_tokens, output_tokens, cost_usd, policies, body, ord)
ORDER BY u.ord
ON CONFLICT (id) DO NOTHING
"""


def _ph(n: int) -> str:
    return f"${n}"


def _ts(moment: datetime) -> datetime:
    return moment


class PostgresStore:
    backend = "postgres"

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._pool: Any = None

    def _require(self) -> Any:
        if self._pool is None:
            raise RuntimeError("store is not open")
        return self._pool

    async def open(self) -> None:
        self._pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=10)
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", migrations.POSTGRES_LOCK_ID)
            await conn.execute(migrations.POSTGRES_BOOKKEEPING)
            applied = {
                int(r["version"]) for r in await conn.fetch("SELECT version FROM schema_migrations")
            }
            for m in migrations.pending(applied):
                for statement in m.postgres:
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    m.version,
                    m.name,
                )

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def ping(self) -> bool:
        return bool(await self._require().fetchval("SELECT 1") == 1)

    async def insert_events(self, rows: list[EventRow]) -> int:
        cols: list[list[Any]] = [[] for _ in range(13)]
        for r in rows:
            values = (
                r.id,
                r.ts,
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
            for col, value in zip(cols, values, strict=True):
                col.append(value)
        try:
            async with self._require().acquire() as conn, conn.transaction():
                await conn.execute(
                    "SELECT pg_advisory_xact_lock($1)", migrations.POSTGRES_LOCK_ID + 1
                )
                status: str = await conn.execute(INSERT, *cols)
        # the server's class 22 errors (a NUL in text, a number out of range), and asyncpg's
        # own refusal to encode an argument (the same class); rolled back: nothing was stored
        except asyncpg.DataError as exc:
            raise UnstorableBatch(str(exc)) from exc
        return int(status.rsplit(" ", 1)[-1])

    async def list_events(self, query: EventQuery) -> Page:
        sql, params = events_sql(query, Where(_ph, _ts))
        records = await self._require().fetch(sql, *params)
        more = len(records) > query.limit
        records = records[: query.limit]
        last = int(records[-1][0]) if records else None
        return Page(
            first_seq=int(records[0][0]) if records else None,
            events=[str(r[1]) for r in records],
            last_seq=last,
            more=more,
        )

    async def cost_report(self, query: CostQuery) -> list[dict[str, Any]]:
        sql, params = cost_sql(query, Where(_ph, _ts))
        records = await self._require().fetch(sql, *params)
        return cost_rows(query.group_by, [tuple(r) for r in records])

    async def get_config(self, gateway_id: str) -> StoredConfig | None:
        row = await self._require().fetchrow(
            "SELECT body, etag, updated_at FROM gateway_configs WHERE gateway_id = $1", gateway_id
        )
        if row is None:
            return None
        return StoredConfig(gateway_id, row["body"], row["etag"], row["updated_at"])

    async def put_config(self, gateway_id: str, body: str, etag: str) -> StoredConfig:
        row = await self._require().fetchrow(
            "INSERT INTO gateway_configs (gateway_id, body, etag, updated_at) "
            "VALUES ($1, $2, $3, now()) ON CONFLICT (gateway_id) DO UPDATE SET "
            "body = excluded.body, etag = excluded.etag, updated_at = excluded.updated_at "
            "RETURNING updated_at",
            gateway_id,
            body,
            etag,
        )
        return StoredConfig(gateway_id, body, etag, row["updated_at"])
