"""Which targets serve a model, in which order; circuit breakers and latency for the order.

Also what `/health` and `/metrics` show per target: its last outcome (a target whose last
attempt failed is `unreachable`, whatever its breaker says) and whether its breaker is open.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Sequence

from keeptrusts.config.targets import Providers, Target
from keeptrusts.detect.glob import GlobSet
from keeptrusts.providers.base import Provider, ProviderCall
from keeptrusts.providers.circuit import Breaker
from keeptrusts.providers.factory import unkeyed_reason

MAX_CACHED_MODELS = 1024
#: how long a target that answered 429 without `Retry-After` goes to the back of the plans
RATE_LIMITED_SECONDS = 1.0


class Router:
    def __init__(self, providers: Sequence[Provider], settings: Providers) -> None:
        self.providers = list(providers)
        self.strategy = settings.routing.strategy
        self.fallback_on = frozenset(settings.fallback.on)
        self.max_attempts = settings.fallback.max_attempts
        self.max_retry_after = settings.fallback.max_retry_after_seconds
        cb = settings.circuit_breaker
        self.breakers = {
            p.id: Breaker(cb.failure_threshold, cb.cooldown_seconds) for p in providers
        }
        #: per target and kind of answer (True: a stream's first chunk, False: a whole JSON
        #: answer), `lowest_latency`'s moving average: a stream's first chunk comes long before
        #: a JSON answer, so a target serving streams looked faster than one serving JSON
        self.latency = {(p.id, s): 0.0 for p in providers for s in (False, True)}
        #: each target's last attempt the breaker counts: True ok, False failed, None none yet
        self.last_ok: dict[str, bool | None] = {p.id: None for p in providers}
        #: until when (monotonic) each target that answered 429 goes after the others
        self.limited_until = {p.id: 0.0 for p in providers}
        self._globs = [(p, GlobSet(p.target.models)) for p in providers]
        served = {p.id for p in providers}
        #: the targets left out for an unset key variable (`build_providers`), with their
        #: globs: a request only they would serve is told why (it was a 404 model_not_found)
        self._unkeyed = [(t, GlobSet(t.models)) for t in settings.targets if t.id not in served]
        self.targets = list(settings.targets)
        #: some target serves only some endpoints: plans filter by endpoint
        self._partial = any(p.endpoints != Provider.endpoints for p in providers)
        self._cache: dict[str, tuple[Provider, ...]] = {}
        #: round_robin turns, one per model: with one turn shared by every model, traffic
        #: alternating between two models (chat, then embeddings) sent each to one target
        self._turns: dict[str, itertools.count[int]] = {}

    def matching(self, model: str) -> tuple[Provider, ...]:
        hit = self._cache.get(model)
        if hit is None:
            hit = tuple(p for p, globs in self._globs if globs.match(model))
            if len(self._cache) < MAX_CACHED_MODELS:
                self._cache[model] = hit
        return hit

    def unkeyed(self, model: str) -> list[Target]:
        """The targets left out of service for want of their key that would serve `model`."""
        return [t for t, globs in self._unkeyed if globs.match(model)]

    def plan(self, model: str, call: ProviderCall) -> list[Provider]:
        """The targets to try for `model` on `endpoint`, in order, skipping open circuits when
        possible, then targets still rate-limited (a 429 whose `Retry-After` has not passed:
        each request paid a round trip to them first). Targets of a kind that cannot serve
        the endpoint (an `anthropic` target for embeddings), or the request (`unserved`: `n`
        > 1 to an `anthropic` target), are left out, so that the targets after them still can."""
        targets = list(self.matching(model))
        if self._partial:
            targets = self.serving(targets, call)
        if len(targets) > 1:
            now = time.monotonic()
            ordered = self._order(model, targets, call.stream)
            targets = sorted(ordered, key=lambda p: self._rank(p, now))
        return targets[: self.max_attempts]

    @staticmethod
    def serving(targets: Sequence[Provider], call: ProviderCall) -> list[Provider]:
        """Those of `targets` that serve `call`'s endpoint and request."""
        return [p for p in targets if call.endpoint in p.endpoints and p.unserved(call) is None]

    def _rank(self, p: Provider, now: float) -> int:
        """0 free, 1 rate-limited, 2 circuit open (a stable sort keeps the order within each)."""
        if not self.breakers[p.id].available(now):
            return 2
        return 1 if self.limited_until[p.id] > now else 0

    def _order(self, model: str, targets: list[Provider], stream: bool) -> list[Provider]:
        if self.strategy == "round_robin":
            k = next(self._turn(model)) % len(targets)
            return targets[k:] + targets[:k]
        if self.strategy == "weighted":
            return _weighted_shuffle(targets)
        if self.strategy == "lowest_latency":
            return sorted(targets, key=lambda p: self.latency[p.id, stream])
        return targets

    def _turn(self, model: str) -> itertools.count[int]:
        """The round_robin turn of this model (past `MAX_CACHED_MODELS` models, the others
        share one turn: the names come from requests)."""
        turn = self._turns.get(model)
        if turn is None:
            if len(self._turns) >= MAX_CACHED_MODELS:
                model = ""
            turn = self._turns.setdefault(model, itertools.count())
        return turn

    def served_models(self) -> list[str]:
        """The model names a request may send (`GET /v1/models`): the targets' `models`
        written out, and a target's upstream `model:` rewrite only where some target serves
        that name too (listed names are never a 404)."""
        names: set[str] = set()
        for p in self.providers:
            names.update(g for g in p.target.models if not any(c in g for c in "*?["))
        rewrites = {p.target.model for p in self.providers if p.target.model}
        names.update(m for m in rewrites if self.matching(m))
        return sorted(names)

    def started(self, p: Provider) -> None:
        """An attempt on `p` begins (its breaker's trial, when it is past its threshold)."""
        self.breakers[p.id].start()

    def ended(self, p: Provider) -> None:
        self.breakers[p.id].end()

    def succeeded(self, p: Provider, seconds: float, stream: bool) -> None:
        self.breakers[p.id].success()
        self.last_ok[p.id] = True
        self.limited_until[p.id] = 0.0
        self._sample(p, seconds, stream)

    def failed(self, p: Provider, seconds: float, stream: bool) -> None:
        """`p` was unreachable, timed out or answered 5xx: for `lowest_latency`, a sample as
        slow as its `first_byte` timeout allows (a target that only failed kept its 0.0, the
        fastest, and stayed first: each request paid for its failure)."""
        self.breakers[p.id].failure()
        self.last_ok[p.id] = False
        self._sample(p, max(seconds, p.target.timeouts.first_byte), stream)

    def _sample(self, p: Provider, seconds: float, stream: bool) -> None:
        old = self.latency[p.id, stream]
        self.latency[p.id, stream] = seconds if old == 0.0 else old * 0.8 + seconds * 0.2

    def rate_limited(self, p: Provider, retry_after: float | None) -> float | None:
        """`p` answered 429: it goes after the others until its `Retry-After` has passed.
        Returns that wait capped at `fallback.max_retry_after_seconds` (what the client may
        be told), or None when the provider gave none."""
        if retry_after is not None:
            retry_after = min(retry_after, self.max_retry_after)
        wait = RATE_LIMITED_SECONDS if retry_after is None else retry_after
        self.limited_until[p.id] = time.monotonic() + wait
        return retry_after

    def reachability(self) -> dict[str, str]:
        """Per target, for `/health`: `reachable` when its last attempt succeeded (or it is the
        built-in `echo`), `unreachable` when it failed (a breaker that let its cooldown pass
        proves nothing: only a success makes it reachable again) or when it was left out for
        want of its key (`skipped`), `unknown` before any attempt; in config order."""
        out: dict[str, str] = {}
        for p in self.providers:
            last = True if p.system == "echo" else self.last_ok[p.id]
            out[p.id] = "unknown" if last is None else "reachable" if last else "unreachable"
        return {t.id: out.get(t.id, "unreachable") for t in self.targets}

    def skipped(self) -> dict[str, str]:
        """The targets left out of service at start, each with the reason (for `/health` and
        `/readyz`)."""
        return {t.id: unkeyed_reason(t) for t, _ in self._unkeyed}

    def unusable(self) -> str | None:
        """Why this config can serve nothing, or None: it has targets, and every one was
        left out (every request would be a 503)."""
        if self.providers or not self._unkeyed:
            return None
        why = "; ".join(f"{tid!r}: {reason}" for tid, reason in self.skipped().items())
        return f"no provider target in service ({why})"

    def circuits_open(self) -> dict[str, float]:
        """Per target, for `keeptrusts_gateway_circuit_open`: 1 while its breaker is open."""
        return {p.id: 1.0 if self.breakers[p.id].is_open else 0.0 for p in self.providers}

    def retryable(self, kind: str) -> bool:
        return kind in self.fallback_on


def _weighted_shuffle(targets: list[Provider]) -> list[Provider]:
    pool = list(targets)
    out: list[Provider] = []
    while pool:
        weights = [max(p.target.weight, 0) for p in pool]
        if sum(weights) <= 0:
            out.extend(pool)
            break
        pick = random.choices(range(len(pool)), weights=weights)[0]
        out.append(pool.pop(pick))
    return out
