"""`budget`: hard USD limits per subject over a day, a month or a rolling 24 hours.

```yaml
policy:
  budget:
    rules:
      - {scope: tenant, limit_usd: 50, window: day, default_max_tokens: 4096}
```

Before dispatch the request's worst case is reserved, atomically, in every rule that
applies: estimated prompt tokens (`limits.estimate`) plus `max_completion_tokens` /
`max_tokens`, else `default_max_tokens`, at the model's price. It is admitted only if
settled spend + reservations in flight + this worst case <= `limit_usd`; otherwise 429
`budget_exceeded`. On completion (response, end of stream, client gone, upstream failure)
the real cost is added to the window's spend and the reservation is dropped. Reservations
of a replica that died expire after the backend's lease TTL. Unpriced models cost 0.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from keeptrusts.config.model import Strict
from keeptrusts.errors import RateLimited
from keeptrusts.limits.backend import (
    BudgetResult,
    BudgetState,
    LimitBackend,
    LimitsUnavailable,
    to_nano,
    to_usd,
)
from keeptrusts.limits.estimate import max_output_tokens, prompt_tokens
from keeptrusts.limits.failmode import fall_back
from keeptrusts.limits.subjects import GLOBAL, Scope, model_folder, safe, subject
from keeptrusts.limits.together import together
from keeptrusts.limits.windows import Window, WindowKind
from keeptrusts.pipeline.stage import Policy
from keeptrusts.pipeline.verdict import ALLOW, Decision, Result, Stage
from keeptrusts.policies.registry import BuildContext, PolicyKind

if TYPE_CHECKING:
    from keeptrusts.pipeline.context import Exchange
    from keeptrusts.pricing import Pricing
    from keeptrusts.telemetry.metrics import Metrics


class Rule(Strict):
    scope: Scope = "tenant"
    limit_usd: float = Field(ge=0)
    window: WindowKind = "day"
    default_max_tokens: int = Field(4096, ge=1)


class Settings(Strict):
    rules: list[Rule] = Field(default_factory=list)
    chars_per_token: float = Field(4.0, gt=0)

    @field_validator("rules")
    @classmethod
    def _unique(cls, rules: list[Rule]) -> list[Rule]:
        pairs = [(r.scope, r.window) for r in rules]
        for p in pairs:
            if pairs.count(p) > 1:
                raise ValueError(f"two rules with scope {p[0]!r} and window {p[1]!r}")
        return rules


@dataclass(slots=True)
class Ticket:
    """A request's budget state: kept in `ex.scratch['budget']`, shown in its event."""

    reservation: str
    reserved_usd: float = 0.0
    held: list[tuple[str, Rule]] = field(default_factory=list)
    scope: str | None = None
    window: str | None = None
    limit_usd: float | None = None
    spent_usd: float | None = None
    remaining_usd: float | None = None
    settled_usd: float | None = None
    fallback: bool = False

    def show(self, rule: Rule, spent: int, reserved: int) -> None:
        self.scope, self.window, self.limit_usd = rule.scope, rule.window, rule.limit_usd
        self.spent_usd = to_usd(spent)
        self.remaining_usd = max(0.0, rule.limit_usd - to_usd(spent))

    def as_event(self) -> dict[str, object]:
        return {
            "scope": self.scope,
            "window": self.window,
            "limit_usd": self.limit_usd,
            "reserved_usd": round(self.reserved_usd, 9),
            "spent_usd": None if self.spent_usd is None else round(self.spent_usd, 9),
            "remaining_usd": None if self.remaining_usd is None else round(self.remaining_usd, 9),
            "settled_usd": None if self.settled_usd is None else round(self.settled_usd, 9),
            "fallback": self.fallback,
        }


class Budget(Policy):
    kind = "budget"
    checks_request = True
    completes = True

    def __init__(
        self,
        settings: Settings,
        backend: LimitBackend,
        pricing: Pricing,
        fold: Callable[[str], str],
        metrics: Metrics | None = None,
        tenants: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(self.kind, frozenset({Stage.REQUEST}))
        self.settings = settings
        self.backend = backend
        self.pricing = pricing
        self.fold = fold
        self.metrics = metrics
        self.tenants = tenants

    def _keyed(self, ex: Exchange) -> list[tuple[str, Rule]]:
        out = []
        for rule in self.settings.rules:
            who = subject(rule.scope, ex, self.fold)
            if who is not None:
                out.append((f"{rule.scope}:{rule.window}:{who}", rule))
        return out

    def worst_case(self, ex: Exchange, rule: Rule) -> float:
        """USD: estimated prompt tokens + the output cap (or `default_max_tokens`)."""
        prompt = prompt_tokens(ex.endpoint, ex.body, self.settings.chars_per_token)
        out = max_output_tokens(ex.body)
        return self.pricing.cost(ex.model, prompt, rule.default_max_tokens if out is None else out)

    async def on_request(self, ex: Exchange) -> Decision:
        keyed = self._keyed(ex)
        if not keyed:
            return ALLOW
        ticket = Ticket(uuid.uuid4().hex)
        ex.scratch[self.name] = ticket
        amounts = [to_nano(self.worst_case(ex, rule)) for _, rule in keyed]
        ticket.reserved_usd = to_usd(max(amounts))
        ticket.held = list(keyed)  # a cancelled check still releases on completion
        now = time.time()
        results = await together(
            [
                self.backend.budget_reserve(
                    key, Window(r.window), to_nano(r.limit_usd), amt, ticket.reservation, now
                )
                for (key, r), amt in zip(keyed, amounts, strict=True)
            ]
        )
        ticket.held = [k for k, r in zip(keyed, results, strict=True) if _admitted(r)]
        failure = next((r for r in results if isinstance(r, BaseException)), None)
        refused = [
            (k, r) for k, r in zip(keyed, results, strict=True) if isinstance(r, BudgetResult)
        ]
        if failure is not None or not all(r.admitted for _, r in refused):
            await self._release(ticket)
        if isinstance(failure, LimitsUnavailable):
            ticket.fallback = True
            decision = fall_back(self.backend, self.name, failure)
            return decision
        if failure is not None:
            raise failure
        tightest = min(refused, key=lambda kr: _headroom(kr[0][1], kr[1]))
        (_key, rule), res = tightest
        ticket.show(rule, res.spent, res.reserved)
        self._gauge(ex.tenant, rule, res.spent)
        if not res.admitted:
            return self._refuse(rule, res, ticket.reserved_usd, now)
        return ALLOW

    def _refuse(self, rule: Rule, res: BudgetResult, need: float, now: float) -> Decision:
        span = Window(rule.window).span(now)
        settled_out = to_usd(res.spent) + need > rule.limit_usd
        wait = span.resets_at - now if settled_out else 1.0
        message = (
            f"budget exceeded: this request may cost up to ${need:.6f} and the {rule.window} "
            f"budget of ${rule.limit_usd:g} for this {rule.scope} has "
            f"${max(0.0, rule.limit_usd - to_usd(res.spent + res.reserved)):.6f} left "
            f"(policy {self.name!r}); lower max_tokens or retry after the Retry-After delay"
        )
        error = RateLimited(message, retry_after=wait, code="budget_exceeded", policy=self.name)
        return Decision(Result.BLOCK, f"budget.{rule.window}", error)

    async def _release(self, ticket: Ticket) -> None:
        """Drop reservations made for a request that will not run."""
        now = time.time()
        for key, rule in ticket.held:
            with contextlib.suppress(LimitsUnavailable):  # else it expires with its lease
                await self.backend.budget_settle(
                    key, Window(rule.window), ticket.reservation, 0, now
                )
        ticket.held = []

    async def on_complete(self, ex: Exchange) -> None:
        ticket = ex.scratch.get(self.name)
        if not isinstance(ticket, Ticket):
            return
        u = ex.usage
        actual = self.pricing.cost(ex.model, u.input_tokens, u.output_tokens, u.cached_input_tokens)
        ticket.settled_usd = actual
        if not ticket.held and not (ticket.fallback and actual > 0):
            return
        keyed = ticket.held if not ticket.fallback else self._keyed(ex)
        now = time.time()
        best: tuple[float, Rule, BudgetState] | None = None
        for key, rule in keyed:
            try:
                st = await self.backend.budget_settle(
                    key, Window(rule.window), ticket.reservation, to_nano(actual), now
                )
            except LimitsUnavailable:
                continue  # spend lost for this window; the reservation expires by itself
            room = rule.limit_usd - to_usd(st.spent)
            if best is None or room < best[0]:
                best = (room, rule, st)
            self._gauge(ex.tenant, rule, st.spent)
        ticket.held = []
        if best is not None:
            ticket.show(best[1], best[2].spent, best[2].reserved)

    def _gauge(self, tenant: str, rule: Rule, spent: int) -> None:
        if self.metrics is None or rule.scope != "tenant" or tenant not in self.tenants:
            return
        self.metrics.budget_spent.labels(tenant).set(to_usd(spent))
        self.metrics.budget_remaining.labels(tenant).set(max(0.0, rule.limit_usd - to_usd(spent)))

    async def report(self, tenant: str) -> list[dict[str, object]]:
        """Spend and what is left for `tenant` (tenant and global rules)."""
        out: list[dict[str, object]] = []
        now = time.time()
        for rule in self.settings.rules:
            if rule.scope not in ("tenant", "global"):
                continue
            who = safe(tenant) if rule.scope == "tenant" else GLOBAL
            window = Window(rule.window)
            entry: dict[str, object] = {"policy": self.name, "kind": self.kind}
            entry.update(rule.model_dump())
            entry["resets_at"] = _iso(window.span(now).resets_at)
            try:
                st = await self.backend.budget_state(
                    f"{rule.scope}:{rule.window}:{who}", window, now
                )
            except LimitsUnavailable as exc:
                entry["error"] = exc.message
            else:
                entry.update(
                    spent_usd=round(to_usd(st.spent), 9),
                    reserved_usd=round(to_usd(st.reserved), 9),
                    remaining_usd=round(max(0.0, rule.limit_usd - to_usd(st.spent)), 9),
                )
            out.append(entry)
        return out

    def describe(self) -> dict[str, object]:
        return {**super().describe(), **self.settings.model_dump()}


def _admitted(r: object) -> bool:
    return isinstance(r, BudgetResult) and r.admitted


def _headroom(rule: Rule, res: BudgetResult) -> float:
    if not res.admitted:
        return float("-inf")
    return rule.limit_usd - to_usd(res.spent + res.reserved)


def _iso(epoch: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build(settings: Settings, ctx: BuildContext) -> Policy:
    t = ctx.config.tenants
    tenants = frozenset({t.default, *t.api_keys.values(), *t.identities.values()})
    fold = model_folder(ctx.config, ctx.pricing)
    return Budget(settings, ctx.limits, ctx.pricing, fold, ctx.metrics, tenants)


KIND = PolicyKind("budget", Settings, build)
