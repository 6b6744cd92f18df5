"""Who a limit rule counts: the subject of a request for a rule's `scope`.

Subjects become parts of store keys, so they are kept short and free of the characters
that would break a Redis hash tag (`{`, `}`); anything else is replaced by its hash.
Model subjects are folded like metric labels (config names and priced families, else
`other`), so a client cannot create unbounded state by inventing model names. API key
subjects likewise: a key listed in `tenants.api_keys` is its own subject; every other key
shares `unknown` and requests without a key share `none` (the gateway does not authenticate
keys, so a fresh key per request must not mean a fresh limit).
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
#: the `api_key` subjects of keys not in `tenants.api_keys`, and of requests without a key
UNKNOWN_KEY = "unknown"
NO_KEY = "none"


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


def key_folder(config: Config) -> Callable[[str | None], str]:
    """api_key_id -> itself for keys in `tenants.api_keys`, else `unknown`; no key: `none`."""
    known = frozenset(_key_id(digest) for digest in config.tenants.api_keys)

    def fold(key_id: str | None) -> str:
        return key_id if key_id in known else unlisted(key_id)

    return fold


def unlisted(key_id: str | None) -> str:
    """The subject of a key that `tenants.api_keys` does not list (`none` without a key)."""
    return UNKNOWN_KEY if key_id else NO_KEY


def _key_id(digest: str) -> str:
    """`tenants.api_keys` names a key as `sha256:<hex>` in any case; requests carry lower case."""
    algo, _, hexpart = digest.partition(":")
    return f"{algo.lower()}:{hexpart.lower()}"


def subject(
    scope: Scope,
    ex: Exchange,
    fold_model: Callable[[str], str],
    fold_key: Callable[[str | None], str],
) -> str:
    """The rule's subject for this request."""
    if scope == "tenant":
        return safe(ex.tenant)
    if scope == "api_key":
        return safe(fold_key(ex.api_key_id))
    if scope == "model":
        return safe(fold_model(ex.model))
    return GLOBAL
