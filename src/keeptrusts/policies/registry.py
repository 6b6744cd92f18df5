"""Every policy kind the config may name, with its settings model and its builder.

An explicit table, not import-time registration: a newcomer sees every kind here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from keeptrusts.config.model import Config
    from keeptrusts.limits.backend import LimitBackend
    from keeptrusts.pipeline.stage import Policy
    from keeptrusts.pricing import Pricing
    from keeptrusts.telemetry.metrics import Metrics


@dataclass(frozen=True)
class BuildContext:
    """What a policy may use while it is compiled (never on the request path)."""

    config: Config
    pricing: Pricing
    limits: LimitBackend
    #: the process's metrics (budget gauges); None in offline tools and tests
    metrics: Metrics | None = None


@dataclass(frozen=True)
class PolicyKind:
    name: str
    settings: type[BaseModel]
    build: Callable[[Any, BuildContext], Policy]


def _kinds() -> dict[str, PolicyKind]:
    from keeptrusts.policies import (
        budget,
        dlp,
        injection,
        model_allowlist,
        pii,
        ratelimit,
        size_limits,
    )

    kinds = [injection.KIND, pii.KIND, dlp.KIND, model_allowlist.KIND, size_limits.KIND]
    kinds += [ratelimit.KIND, budget.KIND]
    return {k.name: k for k in kinds}


def __getattr__(name: str) -> Any:
    # KINDS is built on first use, not at import: policy modules import this module for
    # BuildContext/PolicyKind, so building it at import time would be circular.
    if name == "KINDS":
        kinds = _kinds()
        globals()["KINDS"] = kinds
        return kinds
    raise AttributeError(name)


if TYPE_CHECKING:
    KINDS: dict[str, PolicyKind]
