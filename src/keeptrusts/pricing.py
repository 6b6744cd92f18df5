"""Model prices (USD per million tokens): the shipped table, overlaid by the config's `pricing:`."""

from __future__ import annotations

from keeptrusts import datafiles
from keeptrusts.config.model import Price


def shipped_table() -> dict[str, Price]:
    raw = datafiles.load("pricing.yaml") or {}
    return {name: Price(**entry) for name, entry in raw.items()}


class Pricing:
    """Price lookups by model name; exact names first, then the longest dated-family prefix."""

    def __init__(self, overrides: dict[str, Price]) -> None:
        self.table: dict[str, Price] = {**shipped_table(), **overrides}
        self._prefixes = sorted(self.table, key=len, reverse=True)
        self._cache: dict[str, str | None] = {}

    def canonical(self, model: str) -> str | None:
        """The table's name for `model` (`gpt-4o-2024-08-06` -> `gpt-4o`), or None if unpriced."""
        hit = self._cache.get(model, "")
        if hit != "":
            return hit
        found: str | None = None
        if model in self.table:
            found = model
        else:
            bare = model.rsplit("/", 1)[-1]
            for name in self._prefixes:
                if bare == name or bare.startswith(name + "-"):
                    found = name
                    break
        if len(self._cache) < 4096:
            self._cache[model] = found
        return found

    def price(self, model: str) -> Price | None:
        name = self.canonical(model)
        return self.table[name] if name is not None else None

    def cost(
        self, model: str, input_tokens: int, output_tokens: int, cached_input_tokens: int = 0
    ) -> float:
        p = self.price(model)
        if p is None:
            return 0.0
        cached = min(cached_input_tokens, input_tokens)
        cached_rate = (
            p.cached_input_per_mtok if p.cached_input_per_mtok is not None else p.input_per_mtok
        )
        return (
            (input_tokens - cached) * p.input_per_mtok
            + cached * cached_rate
            + output_tokens * p.output_per_mtok
        ) / 1_000_000
