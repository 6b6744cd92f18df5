"""Model prices (USD per million tokens): the shipped table, overlaid by the config's `pricing:`.

A model is priced by the table's entry for its name, else by the longest entry that is a
prefix of it: a family name followed by `-` (`gpt-4o` prices `gpt-4o-2024-08-06`), or an
entry ending in `*` (`acme-llm*` prices `acme-llm-7b` and `acme-llm`). Entries are matched
against the whole model name and against its last `/` segment (`openrouter/acme-llm-7b`).
The matched entry's name is the model's metric label, so labels stay as few as the entries.

Cache writes (Anthropic's `cache_creation_input_tokens`) cost `CACHE_WRITE_FACTOR` times the
input price; cache reads cost `cached_input_per_mtok` (else the input price).
"""

from __future__ import annotations

from keeptrusts import datafiles
from keeptrusts.config.model import Price

#: Anthropic bills a (5-minute) prompt-cache write at 1.25 times the input price
CACHE_WRITE_FACTOR = 1.25
#: models whose lookups are remembered (client-chosen names: the memo stays bounded)
CACHE_SIZE = 4096


def shipped_table() -> dict[str, Price]:
    raw = datafiles.load("pricing.yaml") or {}
    return {name: Price(**entry) for name, entry in raw.items()}


class Pricing:
    """Price lookups by model name: exact names first, then the longest prefix entry."""

    def __init__(self, overrides: dict[str, Price]) -> None:
        _check_names(overrides)
        self.table: dict[str, Price] = {**shipped_table(), **overrides}
        #: (prefix, entry name, is a `*` entry), longest prefix first
        self._prefixes = sorted(
            ((n[:-1], n, True) if n.endswith("*") else (n, n, False) for n in self.table),
            key=lambda p: len(p[0]),
            reverse=True,
        )
        self._cache: dict[str, str | None] = {}

    def canonical(self, model: str) -> str | None:
        """The table's name for `model` (`gpt-4o-2024-08-06` -> `gpt-4o`), or None if unpriced."""
        hit = self._cache.get(model, "")
        if hit != "":
            return hit
        found = model if model in self.table and not model.endswith("*") else None
        if found is None:
            found = self._longest_prefix(model, model.rsplit("/", 1)[-1])
        if len(self._cache) >= CACHE_SIZE:  # names come from callers: keep the recent ones
            del self._cache[next(iter(self._cache))]
        self._cache[model] = found
        return found

    def _longest_prefix(self, model: str, bare: str) -> str | None:
        for prefix, name, star in self._prefixes:
            for candidate in (model, bare):
                if star and candidate.startswith(prefix):
                    return name
                if not star and (candidate == prefix or candidate.startswith(prefix + "-")):
                    return name
        return None

    def price(self, model: str) -> Price | None:
        name = self.canonical(model)
        return self.table[name] if name is not None else None

    def cost(
        self,
        model: str,
        input_tokens: int,
        output_tokens: int,
        cached_input_tokens: int = 0,
        cache_write_tokens: int = 0,
    ) -> float:
        """USD for one request's usage. `input_tokens` counts every prompt token, cache reads
        (`cached_input_tokens`) and cache writes (`cache_write_tokens`) included."""
        p = self.price(model)
        if p is None:
            return 0.0
        cached = min(cached_input_tokens, input_tokens)
        writes = min(cache_write_tokens, input_tokens - cached)
        cached_rate = (
            p.cached_input_per_mtok if p.cached_input_per_mtok is not None else p.input_per_mtok
        )
        return (
            (input_tokens - cached - writes) * p.input_per_mtok
            + cached * cached_rate
            + writes * p.input_per_mtok * CACHE_WRITE_FACTOR
            + output_tokens * p.output_per_mtok
        ) / 1_000_000


def _check_names(overrides: dict[str, Price]) -> None:
    """`*` is a prefix mark: only at the end of an entry's name."""
    bad = [name for name in overrides if "*" in name[:-1]]
    if bad:
        from keeptrusts.config.load import ConfigError

        raise ConfigError(
            [
                f"pricing: {name!r}: '*' may only end a name (a prefix: 'acme-llm*'); "
                "other wildcards are not supported"
                for name in bad
            ]
        )
