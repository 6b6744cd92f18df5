"""Who a limit rule counts: the subject of a request for a rule's `scope`.

Subjects become parts of store keys, so they are kept short and free of the characters
that would break a Redis hash tag (`{`, `}`); anything else is replaced by its hash.
Model subjects are folded like metric labels (config names and priced families, else
`other`), so a client cannot create unbounded state by inventing model names.
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from keeptrusts.config.model import Config
    from keeptrusts.pipeline.context import Exchange
    from keeptrusts.pricing import Pricing

Scope = Literal["tenant", "api_key", "model", "global"]

_SAFE = frozenset(string.ascii_letters + string.digits + "-_.:@/+=")
GLOBAL = "*"


def safe(value: str) -> str:
    if 0 < len(value) <= 96 and all(c in _SAFE for c in value):
        return value
    return "h." + hashlib.sha256(value.encode()).hexdigest()[:32]


def model_folder(config: Config, pricing: Pricing) -> Callable[[str], str]:
    """model -> a bounded label: names written in the config, priced families, else `other`."""
    targets = config.providers.targets if config.providers else []
    named = {m for t in targets for m in t.models if not any(c in m for c in "*?[")}
    named |= set(config.pricing)

    def fold(model: str) -> str:
        if model in named:
            return model
        return pricing.canonical(model) or "other"

    return fold


def subject(scope: Scope, ex: Exchange, fold_model: Callable[[str], str]) -> str | None:
    """The rule's subject for this request, or None when the rule does not apply."""
    if scope == "tenant":
        return safe(ex.tenant)
    if scope == "api_key":
        return safe(ex.api_key_id) if ex.api_key_id else None
    if scope == "model":
        return safe(fold_model(ex.model))
    return GLOBAL
