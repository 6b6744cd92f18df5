"""`size-limits`: maximum messages, maximum prompt characters, and a cap on `max_tokens`.

Too many messages or prompt characters block the request with 409 `input_blocked` naming
the policy (a governance decision recorded like any block, not a transport error; the
413 `request_too_large` stays reserved for the server's body-size limit). A `max_tokens`
(or `max_completion_tokens`) above the cap is clamped to it by default
(`max_tokens_action: clamp`, the request goes on and the body is rewritten), or blocked
with `max_tokens_action: block`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from keeptrusts.config.fields import Strict
from keeptrusts.errors import PolicyViolation
from keeptrusts.pipeline.context import Endpoint
from keeptrusts.pipeline.stage import Policy
from keeptrusts.pipeline.texts import request_slots
from keeptrusts.pipeline.verdict import ALLOW, Decision, Result, Stage
from keeptrusts.policies.registry import BuildContext, PolicyKind

if TYPE_CHECKING:
    from keeptrusts.pipeline.context import Exchange

TOKEN_FIELDS = ("max_tokens", "max_completion_tokens")


class Settings(Strict):
    max_messages: int | None = Field(None, ge=1)
    max_prompt_chars: int | None = Field(None, ge=1)
    max_tokens: int | None = Field(None, ge=1)
    max_tokens_action: Literal["clamp", "block"] = "clamp"


class SizeLimits(Policy):
    kind = "size-limits"
    checks_request = True

    def __init__(self, settings: Settings) -> None:
        super().__init__(self.kind, frozenset({Stage.REQUEST}))
        self.settings = settings

    async def on_request(self, ex: Exchange) -> Decision:
        s = self.settings
        if s.max_messages is not None:
            count = _message_count(ex.endpoint, ex.body)
            if count > s.max_messages:
                return self._block(
                    "size.max_messages", f"{count} messages exceed the limit of {s.max_messages}"
                )
        if s.max_prompt_chars is not None:
            chars = sum(len(c[k]) for c, k in request_slots(ex.endpoint, ex.body))
            decision = self._chars(chars, s.max_prompt_chars)
            if decision.result is Result.BLOCK:
                return decision
        if s.max_tokens is not None:
            return self._cap_tokens(ex, s.max_tokens)
        return ALLOW

    def text_verdict(self, text: str) -> Decision | None:
        """`max_prompt_chars` on one request text (`kt policy test` has a text, not a
        request); None when the limit is not set."""
        limit = self.settings.max_prompt_chars
        return None if limit is None else self._chars(len(text), limit)

    def _chars(self, chars: int, limit: int) -> Decision:
        if chars > limit:
            return self._block(
                "size.max_prompt_chars", f"{chars} prompt characters exceed the limit of {limit}"
            )
        return ALLOW

    def _cap_tokens(self, ex: Exchange, cap: int) -> Decision:
        clamped = False
        for key in TOKEN_FIELDS:
            value = ex.body.get(key)
            if not isinstance(value, int) or isinstance(value, bool) or value <= cap:
                continue
            if self.settings.max_tokens_action == "block":
                return self._block("size.max_tokens", f"{key}={value} exceeds the cap of {cap}")
            ex.body[key] = cap
            clamped = True
        if clamped:
            return Decision(Result.ALLOW, "size.max_tokens_clamped")
        return ALLOW

    def _block(self, reason: str, detail: str) -> Decision:
        return Decision(
            Result.BLOCK,
            reason,
            PolicyViolation(
                f"request blocked by policy {self.name!r}: {detail}; shorten the request",
                policy=self.name,
            ),
        )

    def describe(self) -> dict[str, object]:
        return {**super().describe(), **self.settings.model_dump()}


def _message_count(endpoint: str, body: dict[str, Any]) -> int:
    key = {Endpoint.CHAT: "messages", Endpoint.MESSAGES: "messages"}.get(endpoint)
    if key is None:
        key = "prompt" if endpoint == Endpoint.COMPLETIONS else "input"
    value = body.get(key)
    if isinstance(value, list):
        return len(value)
    return 0 if value is None else 1


def build(settings: Settings, ctx: BuildContext) -> Policy:
    return SizeLimits(settings)


KIND = PolicyKind("size-limits", Settings, build)
