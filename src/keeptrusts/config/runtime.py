"""The compiled, immutable runtime of one config: policies built, providers resolved, labels fixed.

Built once per (re)load, never on the request path. A request keeps the Runtime it started
with; a reload swaps the gateway's reference to a new one. A few settings are read once, when
the process starts (`START_ONLY`); `restart_needed` names those a new config would change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from operator import attrgetter
from typing import TYPE_CHECKING

from keeptrusts.config.load import LoadedConfig
from keeptrusts.config.model import Config
from keeptrusts.config.targets import Providers
from keeptrusts.pipeline.stage import Policy
from keeptrusts.pipeline.verdict import Stage
from keeptrusts.policies.registry import KINDS, BuildContext
from keeptrusts.pricing import Pricing
from keeptrusts.providers.client import UpstreamClient
from keeptrusts.providers.factory import build_providers
from keeptrusts.providers.router import Router

if TYPE_CHECKING:
    from keeptrusts.gateway.cors import CorsRules
    from keeptrusts.gateway.identity import TenantResolver
    from keeptrusts.gateway.ip_allowlist import IpRules
    from keeptrusts.limits.backend import LimitBackend
    from keeptrusts.telemetry.metrics import Metrics

OTHER = "other"

#: settings the process reads once, at start: the limits backend and its counters
#: (`state`), the event pipeline (`events`) and the listening socket's connection cap
START_ONLY = ("state", "events", "server.max_connections")


@dataclass(frozen=True, eq=False)
class Runtime:
    loaded: LoadedConfig
    policies: tuple[Policy, ...]
    router: Router
    pricing: Pricing
    resolver: TenantResolver
    #: text policies that look at requests / responses, in chain order
    request_text: tuple[Policy, ...] = ()
    response_text: tuple[Policy, ...] = ()
    request_checks: tuple[Policy, ...] = ()
    completes: tuple[Policy, ...] = ()
    holdback: int = 0
    model_labels: frozenset[str] = field(default_factory=frozenset)
    tenant_labels: frozenset[str] = field(default_factory=frozenset)
    provider_labels: frozenset[str] = field(default_factory=frozenset)
    #: browser origins allowed to call the API; None: no CORS (`cors:` absent or disabled)
    cors: CorsRules | None = None
    #: client networks allowed to call the API; None: any (`ip_allowlist:` absent or disabled)
    ip_rules: IpRules | None = None

    @cached_property
    def screens_api(self) -> bool:
        """Whether calls to the API are screened before the handler (CORS, IP allowlist)."""
        return self.cors is not None or self.ip_rules is not None

    @cached_property
    def version(self) -> str:
        return self.loaded.version

    @cached_property
    def enabled(self) -> bool:
        return self.loaded.config.pack.enabled

    def model_label(self, model: str) -> str:
        if model in self.model_labels:
            return model
        canonical = self.pricing.canonical(model)
        return canonical if canonical is not None else OTHER

    def tenant_label(self, tenant: str) -> str:
        return tenant if tenant in self.tenant_labels else OTHER


def compile_runtime(
    loaded: LoadedConfig,
    session: UpstreamClient,
    limits: LimitBackend,
    metrics: Metrics | None = None,
) -> Runtime:
    from keeptrusts.gateway.cors import CorsRules
    from keeptrusts.gateway.identity import TenantResolver
    from keeptrusts.gateway.ip_allowlist import IpRules

    config = loaded.config
    pricing = Pricing(config.pricing)
    ctx = _context(loaded, pricing, limits, metrics)
    policies = tuple(KINDS[k].build(loaded.settings[k], ctx) for k in config.policies.chain)
    providers = build_providers(config.providers.targets, session) if config.providers else []
    router = Router(providers, config.providers or Providers(targets=[]))
    models = {m for t in (config.providers.targets if config.providers else []) for m in t.models}
    models |= set(config.pricing)
    models = {m for m in models if not any(c in m for c in "*?[")}
    tenants = config.tenants.named_tenants()
    return Runtime(
        loaded=loaded,
        policies=policies,
        router=router,
        pricing=pricing,
        resolver=TenantResolver(config.tenants),
        request_text=tuple(p for p in policies if p.inspects_text and Stage.REQUEST in p.stages),
        response_text=tuple(p for p in policies if p.inspects_text and Stage.RESPONSE in p.stages),
        request_checks=tuple(p for p in policies if p.checks_request),
        completes=tuple(p for p in policies if p.completes),
        holdback=max(
            (p.holdback for p in policies if p.inspects_text and Stage.RESPONSE in p.stages),
            default=0,
        ),
        model_labels=frozenset(models),
        tenant_labels=tenants,
        provider_labels=frozenset(p.id for p in providers),
        cors=CorsRules.compile(config.cors) if config.cors is not None else None,
        ip_rules=IpRules.compile(config.ip_allowlist) if config.ip_allowlist else None,
    )


def _context(
    loaded: LoadedConfig, pricing: Pricing, limits: LimitBackend, metrics: Metrics | None
) -> BuildContext:
    return BuildContext(config=loaded.config, pricing=pricing, limits=limits, metrics=metrics)


def restart_needed(running: Config, new: Config) -> list[str]:
    """The `START_ONLY` settings (dotted) where `new` differs from what the process runs with."""
    return [path for path in START_ONLY if attrgetter(path)(running) != attrgetter(path)(new)]
