"""`budget`: hard USD limits per subject over a day, a month or a rolling 24 hours.

```yaml
policy:
  budget:
    rules:
      - {scope: tenant, limit_usd: 50, window: day, default_max_tokens: 4096}
```

Before dispatch the request's worst case is reserved, atomically, in every rule that
applies: estimated prompt tokens (`limits.estimate`) plus `max_completion_tokens` /
`max_tokens`, else `default_max_tokens`, per choice (`n`, `best_of`), at the model's price.
A request without an output cap is sent with one: the smallest `default_max_tokens` of its
rules, in `max_completion_tokens` for chat (`default_max_tokens_field`), `max_tokens` for
completions and Anthropic messages, so the provider cannot generate more than reserved.
It is admitted only if settled spend + reservations in flight + this worst case <=
`limit_usd`; otherwise 429 `budget_exceeded`. On completion (response, end of stream,
client gone, upstream failure) the real cost is added to the window's spend and the
reservation is dropped. Reservations of a replica that died expire after the backend's lease
TTL. Unpriced models cost 0.

When the backend fails for some rules: with `--fail-mode allow` the request goes on and
every rule is settled at its real cost on completion (the reservations that were made are
kept until then); otherwise (and on any refusal) every rule is settled at 0 at once, the
rules whose call failed included (a call that failed may still have landed).

The tenant gauges (`keeptrusts_budget_spent_usd`, `_remaining_usd`) are computed at scrape
time by `BudgetGauges` from the spend the store last reported to this process; see there.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from keeptrusts.errors import RateLimited
from keeptrusts.limits.backend import (
    BudgetResult,
    BudgetState,
    LimitBackend,
    LimitsError,
    LimitsUnavailable,
    to_nano,
    to_usd,
)
from keeptrusts.limits.estimate import check_caps, max_output_tokens, output_tokens, prompt_tokens
from keeptrusts.limits.failmode import fall_back, goes_on
from keeptrusts.limits.subjects import (
    key_folder,
    model_folder,
    subject,
    unlisted,
)
from keeptrusts.limits.together import together
from keeptrusts.limits.windows import Window
from keeptrusts.pipeline.stage import Policy
from keeptrusts.pipeline.verdict import ALLOW, Decision, Result, Stage
from keeptrusts.policies.budget_gauges import BudgetGauges, Shown, rule_key
from keeptrusts.policies.budget_settings import Rule, Settings
from keeptrusts.policies.budget_ticket import Ticket
from keeptrusts.policies.registry import BuildContext, PolicyKind

if TYPE_CHECKING:
    from keeptrusts.pipeline.context import Exchange
    from keeptrusts.pricing import Pricing
    from keeptrusts.telemetry.metrics import Metrics


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
        fold_key: Callable[[str | None], str] | None = None,
    ) -> None:
        super().__init__(self.kind, frozenset({Stage.REQUEST}))
        self.settings = settings
        self.backend = backend
        self.pricing = pricing
        self.fold = fold
        self.metrics = metrics
        self.tenants = tenants
        self.fold_key = fold_key or unlisted
        #: the tenant rules the gauges show, as (window, limit_usd)
        self.shown = tuple((r.window, r.limit_usd) for r in settings.rules if r.scope == "tenant")
        self.gauges = None if metrics is None else BudgetGauges.of(metrics)
        if self.gauges is not None:
            self.gauges.built(self)

    def _keyed(self, ex: Exchange) -> list[tuple[str, Rule]]:
        out = []
        for rule in self.settings.rules:
            who = subject(rule.scope, ex, self.fold, self.fold_key)
            out.append((rule_key(rule.scope, rule.window, who), rule))
        return out

    def worst_case(self, ex: Exchange, rule: Rule, prompt: int | None = None) -> float:
        """USD: estimated prompt tokens + the output cap (or `default_max_tokens`) per choice.
        `prompt`: the estimate, when the caller made it already (it is the same for every rule)."""
        if prompt is None:
            prompt = prompt_tokens(ex.endpoint, ex.body, self.settings.chars_per_token)
        out = output_tokens(ex.endpoint, ex.body, rule.default_max_tokens)
        return self.pricing.cost(ex.model, prompt, out)

    def _cap_output(self, ex: Exchange, rules: list[Rule]) -> None:
        """Send a request without an output cap with the one its reservation assumes."""
        if ex.endpoint == "embeddings" or max_output_tokens(ex.body) is not None:
            return
        field = self.settings.default_max_tokens_field if ex.endpoint == "chat" else "max_tokens"
        ex.body[field] = min(r.default_max_tokens for r in rules)

    async def on_request(self, ex: Exchange) -> Decision:
        keyed = self._keyed(ex)
        if not keyed:
            return ALLOW
        bad = check_caps(ex.body, self.name)
        if bad is not None:
            return Decision(Result.BLOCK, "budget.invalid_max_tokens", bad)
        self._cap_output(ex, [r for _, r in keyed])
        ticket = Ticket(uuid.uuid4().hex)
        ex.scratch[self.name] = ticket
        prompt = prompt_tokens(ex.endpoint, ex.body, self.settings.chars_per_token)
        amounts = [to_nano(self.worst_case(ex, rule, prompt)) for _, rule in keyed]
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
        return await self._decide(ex, keyed, results, ticket, now)

    async def _decide(
        self,
        ex: Exchange,
        keyed: list[tuple[str, Rule]],
        results: list[BudgetResult | BaseException],
        ticket: Ticket,
        now: float,
    ) -> Decision:
        """Admitted by every rule, refused by one, or a failed call (`--fail-mode`)."""
        failure = next((r for r in results if isinstance(r, BaseException)), None)
        answered = [
            (k, r) for k, r in zip(keyed, results, strict=True) if isinstance(r, BudgetResult)
        ]
        if all(r.admitted for _, r in answered) and failure is not None:
            return await self._failed(ticket, failure)
        tightest = min(answered, key=lambda kr: _headroom(kr[0][1], kr[1]))
        (_key, rule), res = tightest
        if not res.admitted:  # a refusal is an answer: it wins over a failed call
            await self._release(ticket)
        ticket.show(rule, res.spent, res.reserved)
        self.seen(ex.tenant, now, [(r, res.spent) for (_k, r), res in answered])
        if not res.admitted:
            return self._refuse(rule, res, ticket.reserved_usd)
        return ALLOW

    async def _failed(self, ticket: Ticket, failure: BaseException) -> Decision:
        """Some calls failed, none refused: `--fail-mode allow` lets the request through
        (every rule settles at completion); else every reservation is dropped now."""
        if goes_on(failure, self.backend):
            ticket.fallback = True
            return fall_back(self.backend, self.name, failure)
        await self._release(ticket)
        if isinstance(failure, LimitsUnavailable):
            return fall_back(self.backend, self.name, failure)
        raise failure

    def _refuse(self, rule: Rule, res: BudgetResult, need: float) -> Decision:
        if need > rule.limit_usd:  # no window will ever hold it: retrying cannot help
            message = (
                f"budget exceeded: this request may cost up to ${need:.6f}, more than the whole "
                f"{rule.window} budget of ${rule.limit_usd:g} for this {rule.scope} "
                f"(policy {self.name!r}); it cannot run until its output cap (max_tokens; "
                "max_output_tokens on /v1/responses) or the prompt is lowered"
            )
        else:
            message = (
                f"budget exceeded: this request may cost up to ${need:.6f} and the "
                f"{rule.window} budget of ${rule.limit_usd:g} for this {rule.scope} has "
                f"${max(0.0, rule.limit_usd - to_usd(res.spent + res.reserved)):.6f} left "
                f"(policy {self.name!r}); lower max_tokens (max_output_tokens on "
                "/v1/responses) or retry after the Retry-After delay"
            )
        error = RateLimited(
            message, retry_after=res.retry_after, code="budget_exceeded", policy=self.name
        )
        return Decision(Result.BLOCK, f"budget.{rule.window}", error)

    async def _release(self, ticket: Ticket) -> None:
        """Drop the reservations of a request that will not run: every rule's, those whose
        call failed included (it may have landed; a settled id is never reserved after)."""
        now = time.time()
        for key, rule in ticket.held:
            with contextlib.suppress(LimitsError):  # the backend retries, else it expires
                await self.backend.budget_settle(
                    key, Window(rule.window), ticket.reservation, 0, now
                )
        ticket.held = []

    async def on_complete(self, ex: Exchange) -> None:
        ticket = ex.scratch.get(self.name)
        if not isinstance(ticket, Ticket):
            return
        u = ex.usage
        model = ex.priced_model()  # the model the serving target ran, as the event prices it
        actual = self.pricing.cost(
            model, u.input_tokens, u.output_tokens, u.cached_input_tokens, u.cache_write_tokens
        )
        ticket.settled_usd = actual
        if not ticket.held:
            return
        now = time.time()
        best: tuple[float, Rule, BudgetState] | None = None
        spent: list[tuple[Rule, int]] = []
        for key, rule in ticket.held:
            try:
                st = await self.backend.budget_settle(
                    key, Window(rule.window), ticket.reservation, to_nano(actual), now
                )
            except LimitsError:
                continue  # retried by the backend while it can; else this spend is lost
            room = rule.limit_usd - to_usd(st.spent)
            if best is None or room < best[0]:
                best = (room, rule, st)
            spent.append((rule, st.spent))
        ticket.held = []
        self.seen(ex.tenant, now, spent)
        if best is not None:
            ticket.show(best[1], best[2].spent, best[2].reserved)

    def seen(self, tenant: str, now: float, spent: Iterable[tuple[Rule, int]]) -> None:
        """Tell the gauges the window spend the store reported at `now` (a dict write each)."""
        gauges = self.gauges
        if gauges is None:
            return
        if gauges.owner is None and not gauges.followed:
            gauges.claim(self)  # the budget that took them over was freed: a refused reload
        if not self.shown or tenant not in self.tenants:
            return
        for rule, n in spent:
            if rule.scope == "tenant":
                gauges.record(tenant, rule.window, now, n)

    def shows(self) -> Shown:
        """What the tenant gauges show while this budget is the live config's."""
        return Shown(self.shown, self.tenants if self.shown else frozenset())

    def describe(self) -> dict[str, object]:
        return {**super().describe(), **self.settings.model_dump()}


def _headroom(rule: Rule, res: BudgetResult) -> float:
    if not res.admitted:
        return float("-inf")
    return rule.limit_usd - to_usd(res.spent + res.reserved)


def build(settings: Settings, ctx: BuildContext) -> Policy:
    tenants = ctx.config.tenants.named_tenants()  # the tenant labels metrics may carry
    fold = model_folder(ctx.config, ctx.pricing)
    keys = key_folder(ctx.config)
    return Budget(settings, ctx.limits, ctx.pricing, fold, ctx.metrics, tenants, keys)


KIND = PolicyKind("budget", Settings, build)
