"""`GET /keeptrusts/limits?tenant=`: a tenant's budgets and rate counters, read live."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from keeptrusts.limits.backend import LimitsUnavailable, to_usd
from keeptrusts.limits.subjects import GLOBAL, safe
from keeptrusts.limits.windows import Window
from keeptrusts.policies.budget_gauges import rule_key

if TYPE_CHECKING:
    from keeptrusts.pipeline.stage import Policy
    from keeptrusts.policies.budget import Budget
    from keeptrusts.policies.ratelimit import RateLimit


async def limits_report(policies: Iterable[Policy], tenant: str) -> dict[str, object]:
    """Every `rate-limit` and `budget` rule of scope tenant or global, with its state.

    `{"tenant": t, "limits": [{policy, kind, scope, ..., spent_usd | requests_last_minute}]}`;
    an entry carries `error` instead of numbers when the backend is unreachable.
    """
    from keeptrusts.policies.budget import Budget
    from keeptrusts.policies.ratelimit import RateLimit

    entries: list[dict[str, object]] = []
    for policy in policies:
        if isinstance(policy, Budget):
            entries.extend(await _budget_entries(policy, tenant))
        elif isinstance(policy, RateLimit):
            entries.extend(await _rate_entries(policy, tenant))
    return {"tenant": tenant, "limits": entries}


class _Rule(Protocol):
    @property
    def scope(self) -> str: ...

    def model_dump(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=_Rule)


def _shown(
    policy: Policy, rules: Iterable[R], tenant: str
) -> Iterator[tuple[R, str, dict[str, object]]]:
    """The tenant and global rules: (rule, its subject, an entry naming the policy and the
    rule's settings)."""
    for rule in rules:
        if rule.scope not in ("tenant", "global"):
            continue
        who = safe(tenant) if rule.scope == "tenant" else GLOBAL
        entry: dict[str, object] = {"policy": policy.name, "kind": policy.kind}
        entry.update(rule.model_dump())
        yield rule, who, entry


async def _budget_entries(budget: Budget, tenant: str) -> list[dict[str, object]]:
    """Spend, reservations and what is left for `tenant`, and when each window resets."""
    out: list[dict[str, object]] = []
    now = time.time()
    for rule, who, entry in _shown(budget, budget.settings.rules, tenant):
        window = Window(rule.window)
        entry["resets_at"] = _iso(window.span(now).resets_at)
        try:
            st = await budget.backend.budget_state(
                rule_key(rule.scope, rule.window, who), window, now
            )
        except LimitsUnavailable as exc:
            entry["error"] = exc.message
        else:
            budget.seen(tenant, now, [(rule, st.spent)])
            entry.update(
                spent_usd=round(to_usd(st.spent), 9),
                reserved_usd=round(to_usd(st.reserved), 9),
                remaining_usd=round(max(0.0, rule.limit_usd - to_usd(st.spent)), 9),
            )
        out.append(entry)
    return out


async def _rate_entries(limit: RateLimit, tenant: str) -> list[dict[str, object]]:
    """Requests and tokens in the last minute and requests in flight for `tenant`."""
    out: list[dict[str, object]] = []
    now = time.time()
    for rule, who, entry in _shown(limit, limit.settings.rules, tenant):
        try:
            st = await limit.backend.rate_state(f"{rule.scope}:{who}", now)
        except LimitsUnavailable as exc:
            entry["error"] = exc.message
        else:
            entry.update(
                requests_last_minute=st.requests,
                tokens_last_minute=st.tokens,
                in_flight=st.parallel,
            )
        out.append(entry)
    return out


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
