"""A request's budget state: what it reserved, in which rules, and what its event shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from keeptrusts.limits.backend import to_usd

if TYPE_CHECKING:
    from keeptrusts.policies.budget_settings import Rule


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
