"""`GET /keeptrusts/limits?tenant=`: a tenant's budgets and rate counters, read live."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keeptrusts.pipeline.stage import Policy


async def limits_report(policies: Iterable[Policy], tenant: str) -> dict[str, object]:
    """Every `rate-limit` and `budget` rule of scope tenant or global, with its state.

    `{"tenant": t, "limits": [{policy, kind, scope, ..., spent_usd | requests_last_minute}]}`;
    an entry carries `error` instead of numbers when the backend is unreachable.
    """
    from keeptrusts.policies.budget import Budget
    from keeptrusts.policies.ratelimit import RateLimit

    entries: list[dict[str, object]] = []
    for policy in policies:
        if isinstance(policy, Budget | RateLimit):
            entries.extend(await policy.report(tenant))
    return {"tenant": tenant, "limits": entries}
