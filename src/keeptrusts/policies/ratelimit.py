"""`rate-limit`: requests and tokens per minute and parallel requests, per subject.

```yaml
policy:
  rate-limit:
    rules:
      - {scope: tenant, requests_per_minute: 600, tokens_per_minute: 200000, max_parallel: 32}
```

Each rule counts one subject (the tenant, the API key, the model, or everyone) in a 60 s
sliding window of one-second buckets. A request is admitted only if every limit of every
rule allows it; the check and the count are one atomic step in the backend. Tokens are
counted at admission as the prompt estimate plus the request's own output cap
(`max_tokens`/`max_completion_tokens`, if given, times the choices it asks for), and
corrected to the real usage when the request completes. A refusal is 429 `rate_limited`
with `Retry-After`; an output cap no model honours is 400 `invalid_request`.

A token count (`POST /v1/messages/count_tokens`) is a request but generates nothing: it counts
in each rule's `requests_per_minute` (refused as any request is), never in `tokens_per_minute`
or `max_parallel` (`on_count`).

If the backend fails for some rules of a request: with `--fail-mode allow` the request goes
on and stays counted where it was; otherwise its counts are undone. Either way a rule whose
call failed gets its slot freed on completion (the call may have landed).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator

from keeptrusts.config.fields import Strict
from keeptrusts.errors import RateLimited
from keeptrusts.limits.backend import (
    MAX_TOKENS,
    RATE_PARALLEL,
    RATE_RPM,
    LimitBackend,
    LimitsError,
    LimitsUnavailable,
    RateResult,
    RateRule,
)
from keeptrusts.limits.estimate import check_caps, output_tokens, prompt_tokens
from keeptrusts.limits.failmode import fall_back, goes_on
from keeptrusts.limits.subjects import Scope, key_folder, model_folder, subject
from keeptrusts.limits.together import together
from keeptrusts.pipeline.stage import Policy
from keeptrusts.pipeline.verdict import ALLOW, Decision, Result, Stage
from keeptrusts.policies.registry import BuildContext, PolicyKind

if TYPE_CHECKING:
    from collections.abc import Callable

    from keeptrusts.pipeline.context import Exchange


class Rule(Strict):
    scope: Scope = "tenant"
    requests_per_minute: int | None = Field(None, ge=1)
    tokens_per_minute: int | None = Field(None, ge=1)
    max_parallel: int | None = Field(None, ge=1)

    def limits(self) -> RateRule:
        return RateRule(
            self.requests_per_minute or 0, self.tokens_per_minute or 0, self.max_parallel or 0
        )


class Settings(Strict):
    rules: list[Rule] = Field(default_factory=list)
    chars_per_token: float = Field(4.0, gt=0)

    @field_validator("rules")
    @classmethod
    def _one_rule_per_scope(cls, rules: list[Rule]) -> list[Rule]:
        scopes = [r.scope for r in rules]
        for s in scopes:
            if scopes.count(s) > 1:
                raise ValueError(f"two rules with scope {s!r}: put its limits in one rule")
        return rules


@dataclass(slots=True)
class Held:
    """What one admitted request holds, to settle on completion."""

    lease: str
    tokens: int
    #: (key, bucket the request was counted in); bucket None while the outcome is unknown
    #: (the request was cancelled mid-check): then only the slot is freed
    counted: list[tuple[str, int | None]]


REASONS = {RATE_RPM: "requests_per_minute", RATE_PARALLEL: "max_parallel"}


class RateLimit(Policy):
    kind = "rate-limit"
    checks_request = True
    completes = True
    checks_count = True

    def __init__(
        self,
        settings: Settings,
        backend: LimitBackend,
        fold: Callable[[str], str],
        fold_key: Callable[[str | None], str],
    ):
        super().__init__(self.kind, frozenset({Stage.REQUEST}))
        self.settings = settings
        self.backend = backend
        self.fold = fold
        self.fold_key = fold_key
        #: the limits a token count meets: each rule's requests per minute alone
        self.count_rules = [
            r.model_copy(update={"tokens_per_minute": None, "max_parallel": None})
            for r in settings.rules
            if r.requests_per_minute
        ]

    def _keys(self, ex: Exchange, rules: list[Rule]) -> list[tuple[str, Rule]]:
        return [
            (f"{rule.scope}:{subject(rule.scope, ex, self.fold, self.fold_key)}", rule)
            for rule in rules
        ]

    def tokens(self, ex: Exchange) -> int:
        """Counted at admission: the prompt estimate plus the output cap times the choices."""
        prompt = prompt_tokens(ex.endpoint, ex.body, self.settings.chars_per_token)
        return min(MAX_TOKENS, prompt + output_tokens(ex.endpoint, ex.body))

    async def on_request(self, ex: Exchange) -> Decision:
        keys = self._keys(ex, self.settings.rules)
        if not keys:
            return ALLOW
        bad = check_caps(ex.body, self.name)
        if bad is not None:
            return Decision(Result.BLOCK, "rate_limit.invalid_max_tokens", bad)
        held = Held(uuid.uuid4().hex, self.tokens(ex), [(k, None) for k, _ in keys])
        ex.scratch[self.name] = held  # a cancelled check still frees its slots on completion
        return await self._acquire(keys, held)

    async def on_count(self, ex: Exchange) -> Decision:
        """A token count: one request in each rule's `requests_per_minute`, no tokens, no
        parallel slot, so nothing to settle on completion."""
        keys = self._keys(ex, self.count_rules)
        if not keys:
            return ALLOW
        return await self._acquire(keys, Held(uuid.uuid4().hex, 0, []))

    async def _acquire(self, keys: list[tuple[str, Rule]], held: Held) -> Decision:
        """Check and count the request under every rule at once, then decide."""
        lease, tokens, now = held.lease, held.tokens, time.time()
        results = await together(
            [self.backend.rate_acquire(k, r.limits(), tokens, lease, now) for k, r in keys]
        )
        return await self._decide(keys, results, held)

    async def _decide(
        self,
        keys: list[tuple[str, Rule]],
        results: list[RateResult | BaseException],
        held: Held,
    ) -> Decision:
        """Admitted by every rule, refused by one, or a failed call (`--fail-mode`)."""
        lease, tokens = held.lease, held.tokens
        counted = [(k, r) for (k, _), r in zip(keys, results, strict=True)]
        admitted = [(k, r) for k, r in counted if isinstance(r, RateResult) and not r.refused]
        failure = next((r for _, r in counted if isinstance(r, BaseException)), None)
        refusal = next((r for _, r in counted if isinstance(r, RateResult) and r.refused), None)
        # a call that failed may still have landed: its slot is freed on completion
        unknown: list[tuple[str, int | None]] = [
            (k, None)
            for (k, rule), r in zip(keys, results, strict=True)
            if isinstance(r, BaseException) and rule.max_parallel
        ]
        held.counted = [(k, r.bucket) for k, r in admitted] + unknown
        if refusal is not None or (failure is not None and not goes_on(failure, self.backend)):
            held.counted = unknown
            await self._undo(admitted, lease, tokens)
        if refusal is not None:  # a refusal is an answer: it wins over a failed call
            return self._refuse(keys, counted, refusal, tokens)
        if isinstance(failure, LimitsUnavailable):
            return fall_back(self.backend, self.name, failure)
        if failure is not None:
            raise failure
        return ALLOW

    def _refuse(
        self,
        keys: list[tuple[str, Rule]],
        counted: list[tuple[str, Any]],
        refusal: RateResult,
        tokens: int,
    ) -> Decision:
        idx = next(i for i, (_, r) in enumerate(counted) if r is refusal)
        rule = keys[idx][1]
        what = REASONS.get(refusal.refused, "tokens_per_minute")
        limit = getattr(rule, what)
        scope = "all requests" if rule.scope == "global" else f"this {rule.scope}"
        message = (
            f"rate limit exceeded: {what} ({limit}) for {scope}, set by policy "
            f"{self.name!r}; retry after the Retry-After delay"
        )
        if what == "tokens_per_minute" and tokens > limit:  # no window will ever hold it
            message = (
                f"rate limit exceeded: this request counts {tokens} tokens (prompt estimate and "
                f"output cap), more than {what} ({limit}) for {scope}, set by policy "
                f"{self.name!r}; it cannot run until its output cap (max_tokens; "
                "max_output_tokens on /v1/responses) or the prompt is lowered"
            )
        error = RateLimited(
            message, retry_after=refusal.retry_after, code="rate_limited", policy=self.name
        )
        return Decision(Result.BLOCK, f"rate_limit.{what}", error)

    async def _undo(self, admitted: list[tuple[str, RateResult]], lease: str, tokens: int) -> None:
        """Un-count a request another rule refused (so it costs no one a slot)."""
        now = time.time()
        for key, res in admitted:
            with contextlib.suppress(LimitsError):
                await self.backend.rate_release(key, lease, res.bucket, -tokens, -1, now)

    async def on_complete(self, ex: Exchange) -> None:
        held = ex.scratch.get(self.name)
        if not isinstance(held, Held):
            return
        used = min(MAX_TOKENS, ex.usage.input_tokens + ex.usage.output_tokens)
        delta = used - held.tokens if used else 0
        now = time.time()
        for key, bucket in held.counted:
            with contextlib.suppress(LimitsError):  # else the lease expires by itself
                if bucket is None:
                    await self.backend.rate_release(key, held.lease, 0, 0, 0, now)
                else:
                    await self.backend.rate_release(key, held.lease, bucket, delta, 0, now)
        held.counted = []

    def describe(self) -> dict[str, object]:
        return {**super().describe(), **self.settings.model_dump()}


def build(settings: Settings, ctx: BuildContext) -> Policy:
    fold = model_folder(ctx.config, ctx.pricing)
    return RateLimit(settings, ctx.limits, fold, key_folder(ctx.config))


KIND = PolicyKind("rate-limit", Settings, build)
