"""The validated shape of a policy config (contract § Policy config).

Every model forbids unknown keys (`fields.Strict`). Providers and their targets are
`config.targets`; per-kind policy settings live beside each policy (`keeptrusts.policies.*`)
and are validated by `config.load` through the policy registry.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import Field, field_validator

from keeptrusts.config.cors import Cors
from keeptrusts.config.fields import EnvName, Glob, OneLineUrl, Strict
from keeptrusts.config.ip_allowlist import IpAllowlist
from keeptrusts.config.targets import Providers


class Pack(Strict):
    name: str
    version: str = "0.0.0"
    enabled: bool = True
    #: free text for people reading the config (the Keeptrusts templates write one)
    description: str | None = None

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, v: Any) -> Any:
        # YAML files keep the version as written (yamlpos.VERBATIM); a float from elsewhere
        # has lost it (1.10 is 1.1), an int has not
        if isinstance(v, float):
            raise ValueError("must be text, not a number: quote it (version: '1.10')")
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v


class Policies(Strict):
    chain: list[str]


TenantSource = Literal["xfcc", "l5d-client-id", "header", "api_key"]


class Tenants(Strict):
    #: an authenticated API key's tenant wins over a tenant header by default
    sources: list[TenantSource] = Field(default=["api_key", "header"])
    trust_mesh_headers: bool = False
    header: str = "x-keeptrusts-tenant"
    #: `known`: a header names a tenant only if it is listed (`header_selectable()`);
    #: `any`: any well-formed value is a tenant (a caller then picks its own limits and budget)
    header_tenants: Literal["known", "any"] = "known"
    #: tenants a header may name (besides `default`); tenants of `api_keys` and `identities`
    #: need their key or certificate, so a header cannot claim them unless listed here too
    known: list[str] = Field(default_factory=list)
    api_keys: dict[str, str] = Field(default_factory=dict)
    identities: dict[Glob, str] = Field(default_factory=dict)
    default: str = "anonymous"

    def header_selectable(self) -> frozenset[str]:
        """The tenants a header may select (`header_tenants: known`): `known` and `default`."""
        return frozenset([*self.known, self.default])

    def named_tenants(self) -> frozenset[str]:
        """Every tenant the config names (the bounded set of metric labels)."""
        return frozenset(
            [*self.known, *self.api_keys.values(), *self.identities.values(), self.default]
        )

    @field_validator("api_keys")
    @classmethod
    def _hashed_keys(cls, keys: dict[str, str]) -> dict[str, str]:
        for name in keys:
            key_id(name)
        return keys


def key_id(name: str) -> str:
    """An API key as `tenants.api_keys` and `model-allowlist.api_keys` name it,
    `sha256:<64 hex digits>` in any case, folded to the lower case requests carry.

    Anything else (such as the key itself) is a ValueError that does not repeat it."""
    hexpart = name[7:] if name.lower().startswith("sha256:") else ""
    if len(hexpart) != 64 or any(c not in "0123456789abcdefABCDEF" for c in hexpart):
        raise ValueError(
            "keys must be 'sha256:<64 hex digits>' of the API key, never the key itself "
            "(echo -n KEY | sha256sum)"
        )
    return "sha256:" + hexpart.lower()


class Price(Strict):
    input_per_mtok: float = Field(ge=0)
    output_per_mtok: float = Field(ge=0)
    cached_input_per_mtok: float | None = Field(None, ge=0)


class State(Strict):
    backend: Literal["memory", "redis"] = "memory"
    url: OneLineUrl | None = None
    #: the environment variable holding the URL instead (its password stays in a Secret)
    url_env: EnvName | None = None
    key_prefix: str = "kt"

    def redis_url(self) -> str | None:
        """`url`, or the value of `url_env` in the environment (None when it is unset)."""
        if self.url_env is not None:
            return os.environ.get(self.url_env) or None
        return self.url


class Server(Strict):
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024)
    #: request-body and answer bytes worked on at once; past it a request gets 503 `overloaded`
    #: (each body costs several times its size while the policies run: docs/config.md)
    max_inflight_body_bytes: int = Field(32 * 1024 * 1024, ge=1024)
    #: a provider's JSON answer larger than this is refused (502): parsed and governed, one
    #: costs about seven times its size (docs/config.md); its bytes also count in flight above
    max_response_bytes: int = Field(8 * 1024 * 1024, ge=1024)
    max_connections: int = Field(4096, ge=1)
    #: a request whose headers take longer than this gets 408 (every request of a connection)
    header_read_timeout_seconds: float = Field(10.0, gt=0)
    #: a client that takes longer than this to send its body gets 408
    body_read_timeout_seconds: float = Field(30.0, gt=0)
    #: env var with the bearer token for /keeptrusts/* admin endpoints (read at start-up and reload)
    admin_token_env: str = "KEEPTRUSTS_ADMIN_TOKEN"
    #: a direct caller on 127.0.0.1 / ::1 with no proxy or mesh header needs no admin token;
    #: false: every admin call needs the token (behind a sidecar that forwards from loopback)
    admin_loopback: bool = True
    drain_delay_seconds: float = Field(0.0, ge=0)
    drain_timeout_seconds: float = Field(25.0, ge=0)


class Events(Strict):
    #: where decision events go: the control-plane API (when KEEPTRUSTS_API_URL is set), stdout
    #: as JSON lines, and/or a JSON-lines file
    sinks: list[Literal["api", "stdout", "file"]] = Field(default=["api"])
    file: str | None = None
    spool_dir: str | None = None
    spool_max_bytes: int = Field(256 * 1024 * 1024, ge=1024)
    batch_size: int = Field(200, ge=1, le=10000)
    flush_interval_seconds: float = Field(0.5, gt=0)
    queue_size: int = Field(10000, ge=1)
    #: not supported: events never carry prompt or completion text. Accepted only as `false`
    #: (a no-op), so a config asking for text fails loudly instead of being silently ignored.
    include_text: bool = False
    #: a POST to the control-plane API slower than this counts as failed (the batch is spooled)
    delivery_timeout_seconds: float = Field(5.0, gt=0)

    @field_validator("include_text")
    @classmethod
    def _no_text(cls, v: bool) -> bool:
        if v:
            raise ValueError(
                "not supported: decision events never carry prompt or completion text "
                "(remove the key)"
            )
        return v


class Logging(Strict):
    #: None: keep the start-up level (`$KEEPTRUSTS_LOG_LEVEL`, else info)
    level: Literal["debug", "info", "warning", "error"] | None = None
    access_log: bool = True


class Config(Strict):
    pack: Pack
    providers: Providers | None = None
    policies: Policies
    #: kind -> its settings; a kind written with nothing after it (`pii-detector:`) is None
    #: and takes its defaults, as `{}` does
    policy: dict[str, dict[str, Any] | None] = Field(default_factory=dict)
    tenants: Tenants = Tenants()
    pricing: dict[str, Price] = Field(default_factory=dict)
    state: State = State()
    events: Events = Events()
    server: Server = Server()
    logging: Logging = Logging()
    cors: Cors | None = None
    ip_allowlist: IpAllowlist | None = None
