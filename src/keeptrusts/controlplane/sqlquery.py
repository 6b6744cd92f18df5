"""SQL text for event listing and the cost report, for either placeholder style."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from keeptrusts.controlplane.store import GROUP_COLUMNS, CostQuery, EventQuery

#: the largest token sum reported as an integer
MAX_EXACT = 2**63 - 1


class Where:
    """Collects conditions and their parameters; `ph(n)` renders the n-th placeholder."""

    def __init__(self, ph: Callable[[int], str], ts: Callable[[datetime], Any]) -> None:
        self.ph, self.ts = ph, ts
        self.parts: list[str] = []
        self.params: list[Any] = []

    def add(self, template: str, value: Any) -> None:
        self.params.append(value)
        self.parts.append(template.format(self.ph(len(self.params))))

    def sql(self) -> str:
        return (" WHERE " + " AND ".join(self.parts)) if self.parts else ""


def _common(w: Where, since: datetime | None, until: datetime | None, **eq: str | None) -> None:
    if since is not None:
        w.add("ts >= {}", w.ts(since))
    if until is not None:
        w.add("ts < {}", w.ts(until))
    for column, value in eq.items():
        if value is not None:
            w.add(column + " = {}", value)


def events_sql(q: EventQuery, w: Where) -> tuple[str, list[Any]]:
    _common(
        w,
        q.since,
        q.until,
        tenant=q.tenant,
        decision=q.decision,
        model=q.model,
        gateway_id=q.gateway_id,
    )
    if q.policy is not None:
        w.add("policies LIKE {} ESCAPE '\\'", f"%,{like_literal(q.policy)},%")
    if q.cursor is not None:
        w.add("seq < {}" if q.descending else "seq > {}", q.cursor)
    order = "DESC" if q.descending else "ASC"
    w.params.append(q.limit + 1)  # one more tells whether another page follows
    sql = f"SELECT seq, body FROM events{w.sql()} ORDER BY seq {order} LIMIT {w.ph(len(w.params))}"
    return sql, w.params


def like_literal(text: str) -> str:
    """`text` matched literally by LIKE ... ESCAPE '\\': `%`, `_` and `\\` escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def cost_sql(q: CostQuery, w: Where, int_sum: str = "sum") -> tuple[str, list[Any]]:
    """`int_sum` sums the token columns without overflow: PostgreSQL's `sum(bigint)` is a
    `numeric`; SQLite's `sum()` fails past 2^63-1, so SQLite passes `total()` (a float)."""
    for column in q.group_by:
        if column not in GROUP_COLUMNS:  # the API validates first; this guards the SQL text
            raise ValueError(f"cannot group by {column!r}")
    if int_sum not in ("sum", "total"):
        raise ValueError(f"unknown sum function {int_sum!r}")
    _common(w, q.since, q.until, tenant=q.tenant, model=q.model)
    cols = ", ".join(q.group_by)
    select = (cols + ", ") if cols else ""
    sql = (
        f"SELECT {select}count(*), coalesce({int_sum}(input_tokens), 0), "
        f"coalesce({int_sum}(output_tokens), 0), coalesce(sum(cost_usd), 0) FROM events{w.sql()}"
    )
    if cols:
        sql += f" GROUP BY {cols} ORDER BY {cols}"
    return sql, w.params


def cost_rows(group_by: tuple[str, ...], records: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    n = len(group_by)
    for rec in records:
        row: dict[str, Any] = dict(zip(group_by, rec[:n], strict=True))
        requests, tin, tout, cost = rec[n:]
        row.update(
            requests=int(requests),
            input_tokens=json_count(tin),
            output_tokens=json_count(tout),
            cost_usd=round(float(cost), 10),
        )
        out.append(row)
    return out


def cost_total(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The report's `total`: the rows summed."""
    return {
        "requests": sum(r["requests"] for r in rows),
        "input_tokens": json_count(sum(r["input_tokens"] for r in rows)),
        "output_tokens": json_count(sum(r["output_tokens"] for r in rows)),
        "cost_usd": round(sum(r["cost_usd"] for r in rows), 10),
    }


def json_count(value: Any) -> int | float:
    """A token sum as a JSON number: an exact integer up to 2^63-1, a float beyond (JSON
    writers such as orjson refuse larger integers, and many readers would lose them)."""
    n = int(value)
    return n if n <= MAX_EXACT else float(n)
