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
    from keeptrusts.pipeline.stage import Policy
    from keeptrusts.pricing import Pricing
    from keeptrusts.limits.backend import LimitBackend


@dataclass(frozen=True)
class BuildContext:
    """What a policy may use while it is compiled (never on the request path)."""

    config: Config
    pricing: Pricing
    limits: LimitBackend


@dataclass(frozen=True)
class PolicyKind:
    name: str
    settings: type[BaseModel]
    build: Callable[[Any, BuildContext], Policy]


def _kinds() -> dict[str, PolicyKind]:
    from keeptrusts.policies import dlp

    kinds = [dlp.KIND]
    return {k.name: k for k in kinds}


KINDS: dict[str, PolicyKind] = _kinds()
