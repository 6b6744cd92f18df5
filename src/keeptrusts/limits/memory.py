"""The in-memory backend: exact for one process (the default).

Each operation runs without awaiting between its check and its update, so on one event
loop it is atomic. It mirrors the Redis scripts' semantics (see `redis_scripts.py`):
a 60 s sliding window of one-second buckets for requests and tokens per minute, a set of
parallel slots, and per-window spend plus in-flight reservations in nano-dollars.

State stays bounded whatever callers send (subjects come from tenant headers and API keys):
idle rate subjects are dropped past `GC_THRESHOLD`; budget subjects are kept least recently
used first; a refused reservation or a settlement to nothing leaves no entry, those whose
window has ended are swept, and only past `MAX_BUDGET_KEYS` subjects with spend is the least
recently used forgotten (with a warning: budgets over that many subjects belong in Redis).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from keeptrusts.limits.backend import (
    RATE_OK,
    RATE_PARALLEL,
    RATE_RPM,
    RATE_TPM,
    BudgetResult,
    BudgetState,
    FailMode,
    RateResult,
    RateRule,
    RateState,
)
from keeptrusts.limits.windows import Window
from keeptrusts.telemetry.throttle import LogThrottle

if TYPE_CHECKING:
    from keeptrusts.telemetry.metrics import Metrics

log = logging.getLogger("keeptrusts.limits")

RATE_WINDOW = 60
#: above this many subjects, idle ones are dropped (a tenant header can name many tenants)
GC_THRESHOLD = 10_000
#: budget subjects kept (about 0.7 KiB each); the least recently used beyond are forgotten
MAX_BUDGET_KEYS = 50_000
#: seconds between two sweeps of ended budget windows (a sweep is O(subjects))
BUDGET_SWEEP_SECONDS = 60.0
#: the same when the table is full and a new subject needs room
FULL_SWEEP_SECONDS = 5.0


@dataclass
class _Rate:
    requests: dict[int, int] = field(default_factory=dict)
    tokens: dict[int, int] = field(default_factory=dict)
    leases: set[str] = field(default_factory=set)

    def prune(self, sec: int) -> None:
        oldest = sec - RATE_WINDOW + 1
        for table in (self.requests, self.tokens):
            for s in [s for s in table if s < oldest]:
                del table[s]


@dataclass
class _Budget:
    window: Window
    spent: dict[int, int] = field(default_factory=dict)
    reservations: dict[str, int] = field(default_factory=dict)

    def ended(self, now: float) -> bool:
        """Nothing reserved and no spend left in the window: the entry can be dropped."""
        if self.reservations:
            return False
        span = self.window.span(now)
        return self.window_spent(span.bucket, span.buckets) == 0

    def window_spent(self, bucket: int, buckets: int) -> int:
        oldest = bucket - buckets + 1
        for b in [b for b in self.spent if b < oldest]:
            del self.spent[b]
        return sum(self.spent.values())

    def reserved(self) -> int:
        return sum(self.reservations.values())


def frees(spent: dict[int, int], bucket: int, amount: int, limit: int) -> int:
    """The bucket whose leaving lets `amount` fit beside the settled `spent` (live buckets;
    oldest spend leaves first); -1 when it fits already (as the Redis script's `frees`)."""
    left = sum(spent.values())
    if left + amount <= limit:
        return -1
    for b in sorted(spent):
        left -= spent[b]
        if left + amount <= limit:
            return b
    return bucket


def retry_after(buckets: dict[int, int], need: int, now: float) -> float:
    """Seconds until the oldest buckets holding `need` units leave the 60 s window."""
    total = 0
    for sec in sorted(buckets):
        total += buckets[sec]
        if total >= need:
            return max(0.0, sec + RATE_WINDOW - now)
    return float(RATE_WINDOW)


class MemoryBackend:
    name = "memory"

    def __init__(
        self,
        fail_mode: FailMode = "block",
        metrics: Metrics | None = None,
        max_budget_keys: int = MAX_BUDGET_KEYS,
    ) -> None:
        self.fail_mode: FailMode = fail_mode
        self.metrics = metrics
        self.max_budget_keys = max(1, max_budget_keys)
        self._rates: dict[str, _Rate] = {}
        #: least recently used first (an access moves a subject to the end)
        self._budgets: dict[str, _Budget] = {}
        self._last_sweep = float("-inf")
        self._forget_log = LogThrottle(BUDGET_SWEEP_SECONDS)

    async def rate_acquire(
        self, key: str, rule: RateRule, tokens: int, lease: str, now: float
    ) -> RateResult:
        sec = int(now)
        if key not in self._rates and len(self._rates) >= GC_THRESHOLD:
            self._gc(sec)
        st = self._rates.setdefault(key, _Rate())
        st.prune(sec)
        reqs, toks = sum(st.requests.values()), sum(st.tokens.values())
        par = len(st.leases)
        refused, wait = RATE_OK, 0.0
        if rule.requests_per_minute and reqs + 1 > rule.requests_per_minute:
            refused = RATE_RPM
            wait = retry_after(st.requests, reqs + 1 - rule.requests_per_minute, now)
        elif rule.tokens_per_minute and toks + tokens > rule.tokens_per_minute:
            refused = RATE_TPM
            need = toks + tokens - rule.tokens_per_minute
            wait = float(RATE_WINDOW)
            if tokens <= rule.tokens_per_minute:
                wait = retry_after(st.tokens, need, now)
        elif rule.max_parallel and par + 1 > rule.max_parallel:
            refused, wait = RATE_PARALLEL, 1.0
        if refused:
            return RateResult(refused, wait, reqs, toks, par, sec)
        st.requests[sec] = st.requests.get(sec, 0) + 1
        if tokens:
            st.tokens[sec] = st.tokens.get(sec, 0) + tokens
        if rule.max_parallel:
            st.leases.add(lease)
        return RateResult(RATE_OK, 0.0, reqs + 1, toks + tokens, len(st.leases), sec)

    def _gc(self, sec: int) -> None:
        for key, st in list(self._rates.items()):
            st.prune(sec)
            if not (st.requests or st.tokens or st.leases):
                del self._rates[key]

    async def rate_release(
        self, key: str, lease: str, bucket: int, token_delta: int, request_delta: int, now: float
    ) -> None:
        st = self._rates.get(key)
        if st is None:
            return
        st.leases.discard(lease)
        sec = int(now)
        st.prune(sec)
        live = bucket >= sec - RATE_WINDOW + 1
        if token_delta > 0 and request_delta == 0:
            st.tokens[sec] = st.tokens.get(sec, 0) + token_delta
        elif token_delta < 0 and live:
            st.tokens[bucket] = max(0, st.tokens.get(bucket, 0) + token_delta)
        if request_delta and live:
            st.requests[bucket] = max(0, st.requests.get(bucket, 0) + request_delta)

    async def rate_state(self, key: str, now: float) -> RateState:
        st = self._rates.get(key)
        if st is None:
            return RateState(0, 0, 0)
        st.prune(int(now))
        return RateState(sum(st.requests.values()), sum(st.tokens.values()), len(st.leases))

    def _budget(self, key: str, now: float) -> _Budget | None:
        """The subject's entry if it has one, made the most recently used."""
        self._sweep(now)
        st = self._budgets.pop(key, None)
        if st is not None:
            self._budgets[key] = st
        return st

    def _new_budget(self, key: str, window: Window, now: float) -> _Budget:
        """A new entry, made room for: ended windows go first; only past `max_budget_keys`
        live subjects is the least recently used forgotten (logged: its spend goes with it)."""
        if len(self._budgets) >= self.max_budget_keys:
            self._sweep(now, force=True)
        while len(self._budgets) >= self.max_budget_keys:
            del self._budgets[next(iter(self._budgets))]
            self._forgot(now)
        st = self._budgets[key] = _Budget(window)
        return st

    def _forgot(self, now: float) -> None:
        if self._forget_log.due(now=now):
            log.warning(
                "in-memory budgets hold %d subjects with spend: the least recently used are "
                "forgotten; use state.backend redis for budgets over many tenants or keys",
                self.max_budget_keys,
            )

    def _sweep(self, now: float, force: bool = False) -> None:
        """Drop subjects whose window has ended; at most once a minute (or every few seconds
        when the table is full), so a flood of new subjects does not cost a scan each."""
        every = FULL_SWEEP_SECONDS if force else BUDGET_SWEEP_SECONDS
        if 0 <= now - self._last_sweep < every:
            return
        self._last_sweep = now
        for key in [k for k, st in self._budgets.items() if st.ended(now)]:
            del self._budgets[key]

    async def budget_reserve(
        self, key: str, window: Window, limit: int, amount: int, reservation: str, now: float
    ) -> BudgetResult:
        span = window.span(now)
        st = self._budget(key, now)
        spent = st.window_spent(span.bucket, span.buckets) if st else 0
        reserved = st.reserved() if st else 0
        if spent + reserved + amount > limit:  # a refusal leaves nothing behind
            b = frees(st.spent if st else {}, span.bucket, amount, limit)
            wait = 1.0 if b < 0 else window.leaves_at(b) - now
            return BudgetResult(False, spent, reserved, max(1.0, wait))
        if st is None:
            st = self._new_budget(key, window, now)
        st.reservations[reservation] = amount
        return BudgetResult(True, spent, reserved + amount)

    async def budget_settle(
        self, key: str, window: Window, reservation: str, actual: int, now: float
    ) -> BudgetState:
        span = window.span(now)
        st = self._budget(key, now)
        if st is None:
            if actual <= 0:
                return BudgetState(0, 0)
            st = self._new_budget(key, window, now)
        st.reservations.pop(reservation, None)
        if actual > 0:
            st.spent[span.bucket] = st.spent.get(span.bucket, 0) + actual
        state = BudgetState(st.window_spent(span.bucket, span.buckets), st.reserved())
        if state == BudgetState(0, 0):
            del self._budgets[key]  # nothing spent, nothing held: no entry to keep
        return state

    async def budget_state(self, key: str, window: Window, now: float) -> BudgetState:
        span = window.span(now)
        self._sweep(now)
        st = self._budgets.get(key)
        if st is None:
            return BudgetState(0, 0)
        return BudgetState(st.window_spent(span.bucket, span.buckets), st.reserved())

    async def close(self) -> None:
        return None
