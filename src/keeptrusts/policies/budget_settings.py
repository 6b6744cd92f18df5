"""`budget`'s settings: its rules (scope, USD limit, window, default output cap) and how a
request without an output cap is sent with one (see `budget.py`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from keeptrusts.config.fields import Strict
from keeptrusts.limits.subjects import Scope
from keeptrusts.limits.windows import WindowKind


class Rule(Strict):
    scope: Scope = "tenant"
    limit_usd: float = Field(ge=0)
    window: WindowKind = "day"
    default_max_tokens: int = Field(4096, ge=1)


class Settings(Strict):
    rules: list[Rule] = Field(default_factory=list)
    chars_per_token: float = Field(4.0, gt=0)
    #: where a chat request without an output cap gets `default_max_tokens`: OpenAI's field
    #: (required by its reasoning models), or `max_tokens` for servers that know only that
    default_max_tokens_field: Literal["max_completion_tokens", "max_tokens"] = (
        "max_completion_tokens"
    )

    @field_validator("rules")
    @classmethod
    def _unique(cls, rules: list[Rule]) -> list[Rule]:
        pairs = [(r.scope, r.window) for r in rules]
        for p in pairs:
            if pairs.count(p) > 1:
                raise ValueError(f"two rules with scope {p[0]!r} and window {p[1]!r}")
        return rules
