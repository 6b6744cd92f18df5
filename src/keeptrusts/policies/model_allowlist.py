"""`model-allowlist`: which models a caller may use.

The allowed globs for a request are, most specific first: `api_keys[<api key id>]`, then
`tenants[<tenant>]`, then `models` (the default for everyone else). A model outside them
is blocked with 409 `input_blocked` naming the policy, before any provider is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from keeptrusts.config.fields import Glob, Strict
from keeptrusts.config.model import key_id
from keeptrusts.detect.glob import GlobSet
from keeptrusts.errors import PolicyViolation
from keeptrusts.pipeline.stage import Policy
from keeptrusts.pipeline.verdict import ALLOW, Decision, Result, Stage
from keeptrusts.policies.registry import BuildContext, PolicyKind

if TYPE_CHECKING:
    from keeptrusts.pipeline.context import Exchange


class Settings(Strict):
    #: globs every caller may use unless a tenant or API key entry says otherwise
    models: list[Glob] = Field(default_factory=lambda: ["*"])
    #: tenant name -> globs (replaces `models` for that tenant)
    tenants: dict[str, list[Glob]] = Field(default_factory=dict)
    #: API key id (`sha256:<hex of the key>`, as in `tenants.api_keys`) -> globs; the ids are
    #: checked and folded to lower case here, as requests carry them
    api_keys: dict[str, list[Glob]] = Field(default_factory=dict)

    @field_validator("api_keys")
    @classmethod
    def _key_ids(cls, keys: dict[str, list[str]]) -> dict[str, list[str]]:
        return {key_id(name): globs for name, globs in keys.items()}


class ModelAllowlist(Policy):
    kind = "model-allowlist"
    checks_request = True

    def __init__(self, settings: Settings) -> None:
        super().__init__(self.kind, frozenset({Stage.REQUEST}))
        self._default = GlobSet(settings.models)
        self._tenants = {k: GlobSet(v) for k, v in settings.tenants.items()}
        self._keys = {k: GlobSet(v) for k, v in settings.api_keys.items()}

    def allowed(self, model: str, tenant: str, api_key_id: str | None) -> bool:
        globs = self._keys.get(api_key_id) if api_key_id is not None else None
        if globs is None:
            globs = self._tenants.get(tenant, self._default)
        return globs.match(model)

    async def on_request(self, ex: Exchange) -> Decision:
        if self.allowed(ex.model, ex.tenant, ex.api_key_id):
            return ALLOW
        return Decision(
            Result.BLOCK,
            "model.not_allowed",
            PolicyViolation(
                f"model {ex.model!r} is not allowed for this caller by policy {self.name!r}; "
                "use one of the models in policy.model-allowlist",
                policy=self.name,
            ),
        )

    def describe(self) -> dict[str, object]:
        return {
            **super().describe(),
            "models": list(self._default.globs),
            "tenants": {k: list(v.globs) for k, v in self._tenants.items()},
            "api_keys": len(self._keys),
        }


def build(settings: Settings, ctx: BuildContext) -> Policy:
    return ModelAllowlist(settings)


KIND = PolicyKind("model-allowlist", Settings, build)
