"""The budget gauges: `keeptrusts_budget_spent_usd{tenant}` and
`keeptrusts_budget_remaining_usd{tenant}`, computed at scrape time from the window spend the
store last reported (`budget.py` records it on admission, settlement and the admin report)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple, Protocol

from keeptrusts.limits.backend import BudgetState, LimitBackend, LimitsUnavailable, to_usd
from keeptrusts.limits.subjects import safe
from keeptrusts.limits.together import together
from keeptrusts.limits.windows import Window, WindowKind

if TYPE_CHECKING:
    from keeptrusts.pipeline.stage import Policy
    from keeptrusts.telemetry.metrics import Metrics


class GaugedBudget(Protocol):
    """What the gauges read of a budget policy."""

    backend: LimitBackend
    #: the tenant rules it shows, as (window, limit_usd)
    shown: tuple[tuple[WindowKind, float], ...]

    def shows(self) -> Shown: ...


class _Seen(NamedTuple):
    """A window's settled spend as the store reported it: later windows, then more spend, win."""

    bucket: int  # the window bucket it was read in (`Window.span(now).bucket`)
    spent: int  # nano-USD


@dataclass(frozen=True, slots=True)
class Shown:
    """What the gauges show: the live config's tenant rules and the tenants it names."""

    rules: tuple[tuple[WindowKind, float], ...] = ()  # (window, limit_usd)
    tenants: frozenset[str] = frozenset()


#: store reads in flight at once while a new owner reads its tenants' spend
PRIME_BATCH = 32


class BudgetGauges:
    """`keeptrusts_budget_spent_usd{tenant}` and `..._remaining_usd{tenant}`, read at scrape time.

    One per `Metrics`. The request path only records what the store answered (admission,
    settlement, the admin report): a dict write per tenant rule, keyed (tenant, window), so
    the spend known under one config is known under the next. A scrape computes, per tenant,
    the tightest tenant rule of the owning budget from the spend recorded in the *current*
    window: a `day`/`month` window that ended counts as unspent (the full limit is left
    until a request says otherwise); a `rolling_24h` spend is an upper bound, dropped once
    all of it has left the window (at most 24 h after it was read).

    The owner is the live config's budget. The server names it at each swap (`follow`);
    until it does, a budget takes the gauges when it is built (a reload applies its limits
    and tenants at once) and gives them up when it is freed (a reload that drops the budget
    policy removes the series once the old runtime is gone). A budget that becomes the owner
    reads its tenants' spend from the store once, off the request path.

    Each replica knows only what its own requests (and that read) saw: its gauges are its
    latest view of the shared budget, so dashboards and alerts take the freshest view over
    replicas (`max` of spent, `min` of remaining, by tenant).
    """

    def __init__(self, metrics: Metrics) -> None:
        # the gauges, not `metrics`: a value must not keep its weak key alive
        self.spent_gauge, self.left_gauge = metrics.budget_spent, metrics.budget_remaining
        self.seen: dict[tuple[str, WindowKind], _Seen] = {}
        self.shown = Shown()
        self.owner: weakref.ref[GaugedBudget] | None = None
        #: True once the server names the live budget at each swap (`follow`)
        self.followed = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def of(cls, metrics: Metrics) -> BudgetGauges:
        gauges = _GAUGES.get(metrics)
        if gauges is None:
            gauges = _GAUGES[metrics] = cls(metrics)
        return gauges

    def record(self, tenant: str, window: WindowKind, now: float, spent: int) -> None:
        seen = _Seen(Window(window).span(now).bucket, spent)
        old = self.seen.get((tenant, window))
        if old is None or seen > old:  # an answer that arrived late must not undo a newer one
            self.seen[(tenant, window)] = seen

    def built(self, budget: GaugedBudget) -> None:
        with contextlib.suppress(RuntimeError):  # no loop: an offline build, nothing to read
            self.loop = asyncio.get_running_loop()
        if not self.followed:
            self.claim(budget)

    def follow(self, policies: Iterable[Policy]) -> None:
        """At each swap: the live runtime's budget (or none) owns the gauges from now on."""
        self.followed = True
        from keeptrusts.policies.budget import Budget  # (budget.py imports this module)

        self.claim(next((p for p in policies if isinstance(p, Budget)), None))

    def claim(self, budget: GaugedBudget | None) -> None:
        if budget is (None if self.owner is None else self.owner()):
            return
        self.owner = None if budget is None else weakref.ref(budget, self._freed)
        self._show(Shown() if budget is None else budget.shows())
        if budget is not None and budget.shown and self.loop is not None:
            task = self.loop.create_task(self._prime(budget.backend, budget.shows()))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    def _freed(self, ref: weakref.ref[GaugedBudget]) -> None:
        # runs wherever the owner is freed (in a collector pass, maybe inside a metric's
        # lock): change the label sets from the event loop
        with contextlib.suppress(RuntimeError):  # no loop, or closed: at once
            if self.loop is not None:
                self.loop.call_soon_threadsafe(self._orphaned, ref)
                return
        self._orphaned(ref)

    def _orphaned(self, ref: weakref.ref[GaugedBudget]) -> None:
        if self.owner is ref:
            self.owner = None
            self._show(Shown())

    def _show(self, new: Shown) -> None:
        """Label sets follow the owner's tenants; spend of tenants it does not name is dropped."""
        for tenant in self.shown.tenants - new.tenants:
            self.spent_gauge.remove(tenant)
            self.left_gauge.remove(tenant)
        added, self.shown = new.tenants - self.shown.tenants, new
        for tenant in sorted(added):
            self.spent_gauge.labels(tenant).set_function(functools.partial(self._value, tenant, 0))
            self.left_gauge.labels(tenant).set_function(functools.partial(self._value, tenant, 1))
        self.seen = {k: v for k, v in self.seen.items() if k[0] in new.tenants}

    def _value(self, tenant: str, which: int) -> float:
        """At scrape time: (spent, remaining)[which] of the tenant's tightest rule now."""
        shown, now = self.shown, time.time()
        if tenant not in shown.tenants:
            return math.nan  # being removed in this instant
        rows = []
        for window, limit in shown.rules:
            spent = to_usd(_in_window(window, self.seen.get((tenant, window)), now))
            rows.append((limit - spent, spent))
        room, spent = min(rows)
        return (spent, max(0.0, room))[which]

    async def _prime(self, backend: LimitBackend, shown: Shown) -> None:
        """One store read per (tenant, tenant rule); stops at the first unreachable batch."""
        todo = [(t, w) for t in sorted(shown.tenants) for w, _ in shown.rules]
        for i in range(0, len(todo), PRIME_BATCH):
            batch, now = todo[i : i + PRIME_BATCH], time.time()
            states = await together(
                [
                    backend.budget_state(rule_key("tenant", w, safe(t)), Window(w), now)
                    for t, w in batch
                ]
            )
            for (tenant, window), st in zip(batch, states, strict=True):
                if isinstance(st, BudgetState):
                    self.record(tenant, window, now, st.spent)
            if any(isinstance(st, LimitsUnavailable) for st in states):
                return


def follow_live_budget(metrics: Metrics, policies: Iterable[Policy]) -> None:
    """The server's hook when it swaps a runtime in: its budget (or none) owns the gauges."""
    BudgetGauges.of(metrics).follow(policies)


_GAUGES: weakref.WeakKeyDictionary[Metrics, BudgetGauges] = weakref.WeakKeyDictionary()


def _in_window(window: WindowKind, seen: _Seen | None, now: float) -> int:
    """The part of `seen` still in the window at `now` (nano-USD; an upper bound when rolling)."""
    if seen is None:
        return 0
    span = Window(window).span(now)
    return seen.spent if span.bucket - seen.bucket < span.buckets else 0


def rule_key(scope: str, window: str, who: str) -> str:
    """The store key of one rule's subject."""
    return f"{scope}:{window}:{who}"
