"""The validated shape of a policy config (contract § Policy config).

Every model forbids unknown keys. Per-kind policy settings live beside each policy
(`keeptrusts.policies.*`) and are validated by `config.load` through the policy registry.
"""

from __future__ import annotations

import os
import re
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yarl
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from keeptrusts.detect.glob import check_glob


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: a shell-style glob (`gpt-4o*`, `spiffe://cluster.local/ns/*/sa/app`), checked when loaded
Glob = Annotated[str, AfterValidator(check_glob)]


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


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _env_name(name: str) -> str:
    # never echo the value: what was written here may be the key itself
    if not _ENV_NAME.fullmatch(name):
        raise ValueError(
            "must name an environment variable (letters, digits and _, e.g. OPENAI_API_KEY); "
            "this looks like a key, not a variable name: put the key in the environment "
            "and write the variable's name here"
        )
    return name


def _one_line(url: str) -> str:
    # never echo the URL: it may hold a password
    if any(c.isspace() for c in url):
        raise ValueError(
            "the URL contains whitespace (a space, tab or line break): write it on one line "
            "(not as a | or > block) and percent-encode a space in a password as %20"
        )
    return url


def _http_url(url: str) -> str:
    try:
        parsed = yarl.URL(url)
    except ValueError as exc:  # yarl's reasons name the part, never the password
        raise ValueError(f"not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError("must be an absolute http:// or https:// URL (http://vllm:8000/v1)")
    return _one_line(url)


#: `secret_key_ref.env`: the name of the variable holding a key, never the key
EnvName = Annotated[str, AfterValidator(_env_name)]
#: a URL written on one line (`state.url`; whitespace would hide a password from masking)
OneLineUrl = Annotated[str, AfterValidator(_one_line)]
#: `base_url`: an absolute http(s) URL, as aiohttp will use it
HttpUrl = Annotated[str, AfterValidator(_http_url)]


def _proxy_url(url: str) -> str:
    if url == "direct":
        return url
    try:
        return _http_url(url)
    except ValueError as exc:
        raise ValueError(f"{exc}, or direct (no proxy, whatever HTTPS_PROXY says)") from None


#: `proxy`: an http(s) proxy URL, or `direct`
ProxyUrl = Annotated[str, AfterValidator(_proxy_url)]


class SecretRef(Strict):
    env: EnvName


class Timeouts(Strict):
    # (finite: aiohttp rounds deadlines to whole seconds, which an infinite one cannot be)
    connect: float = Field(5.0, gt=0, allow_inf_nan=False)
    first_byte: float = Field(60.0, gt=0, allow_inf_nan=False)
    total: float = Field(600.0, gt=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _within_total(self) -> Timeouts:
        # `total` ends every request: a longer `first_byte` (raised for long answers, as the
        # docs advise) or `connect` would never apply, and the 504 would name neither
        for name in ("connect", "first_byte"):
            value = getattr(self, name)
            if value > self.total:
                raise ValueError(
                    f"{name} ({value:g} s) is longer than total ({self.total:g} s), which ends "
                    f"every request first: raise total too, or lower {name}"
                )
        return self


ProviderKind = Literal["openai", "azure-openai", "anthropic", "openai-compatible", "echo"]
#: the paths adapters append to a base_url (a base_url ending in one is a request's URL)
ENDPOINT_PATHS = ("/chat/completions", "/completions", "/embeddings", "/messages")
#: the header each kind sends its `secret_key_ref` key in
KEY_HEADERS = {
    "openai": "authorization",
    "openai-compatible": "authorization",
    "azure-openai": "api-key",
    "anthropic": "x-api-key",
}
#: headers that frame the message or the connection, never taken from `headers`: a
#: `Content-Length` sent as written before a longer body desynchronised the connection, a
#: `Proxy-Authorization` went to the provider through the proxy's tunnel
FRAMING_HEADERS = frozenset(
    {
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
        "proxy-authorization",
        "proxy-connection",
    }
)


class Target(Strict):
    id: str
    provider: ProviderKind
    base_url: HttpUrl | None = None
    secret_key_ref: SecretRef | None = None
    models: list[Glob] = Field(default_factory=lambda: ["*"])
    model: str | None = None
    #: azure-openai: the `api-version` query parameter; deployments come from `model`/the request.
    api_version: str | None = None
    #: anthropic: the `anthropic-version` header.
    anthropic_version: str = "2023-06-01"
    weight: int = Field(1, ge=0)
    timeouts: Timeouts = Timeouts()
    #: extra static headers sent upstream (never secrets: use secret_key_ref)
    headers: dict[str, str] = Field(default_factory=dict)
    #: the egress proxy (`http://proxy:3128`), or `direct`; unset: HTTPS_PROXY / HTTP_PROXY /
    #: NO_PROXY decide (`providers.egress`)
    proxy: ProxyUrl | None = None

    @field_validator("base_url")
    @classmethod
    def _api_root(cls, url: str | None, info: ValidationInfo) -> str | None:
        # a whole request URL pasted here gets the endpoint's path appended again: every
        # request would be a 404 (the URL is shown without its query, which may hold a key)
        if url is None:
            return url
        parts = urlsplit(url)
        path = parts.path.rstrip("/")
        root = f"{parts.scheme}://{parts.netloc}"
        if info.data.get("provider") == "azure-openai":
            if "/deployments/" in path:
                raise ValueError(
                    f"write the resource endpoint ({root}), not a deployment's URL: the "
                    "deployment is the target's model (or the request's)"
                )
            if "api-version=" in parts.query:
                raise ValueError("write the api-version as the target's api_version, not here")
        for endpoint in ENDPOINT_PATHS:
            if path.endswith(endpoint):
                api = root + path.removesuffix(endpoint)
                raise ValueError(
                    f"write the API's root ({api}), not an endpoint's URL: the gateway "
                    f"appends {endpoint} and the other paths itself"
                )
        return url

    @field_validator("headers")
    @classmethod
    def _headers_sendable(cls, headers: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        # (never echo a value: it may be a credential)
        keyed = info.data.get("secret_key_ref") is not None
        key_header = KEY_HEADERS.get(info.data.get("provider", ""))
        for name in headers:
            low = name.lower()
            if low in FRAMING_HEADERS:
                raise ValueError(
                    f"{name} cannot be set here: the gateway frames each request itself "
                    f"(and {', '.join(sorted(FRAMING_HEADERS))} are never sent as written)"
                )
            if keyed and low == key_header:
                raise ValueError(
                    f"{name} is the header this target's key is sent in, from secret_key_ref: "
                    "remove it here (or remove secret_key_ref to send this value instead)"
                )
        return headers

    @field_validator("api_version", "anthropic_version", mode="before")
    @classmethod
    def _date_as_text(cls, v: Any) -> Any:
        # `api_version: 2024-10-21` unquoted is a YAML date: its text is the version
        return v.isoformat() if isinstance(v, date) else v


FallbackOn = Literal["connect_error", "timeout", "5xx", "429"]


class Routing(Strict):
    strategy: Literal["ordered", "weighted", "round_robin", "lowest_latency"] = "ordered"


class Fallback(Strict):
    on: list[FallbackOn] = ["connect_error", "timeout", "5xx", "429"]
    max_attempts: int = Field(3, ge=1, le=10)
    #: the most a provider's `Retry-After` on a 429 counts: how long its target goes last,
    #: and what the client is told (a provider answering `Retry-After: 86400` is not believed)
    max_retry_after_seconds: float = Field(60.0, ge=1, le=86400)

    @field_validator("on", mode="before")
    @classmethod
    def _status_as_text(cls, v: Any) -> Any:
        # `on: [5xx, 429]` reads 429 as an integer
        return [str(x) if isinstance(x, int) else x for x in v] if isinstance(v, list) else v


class CircuitBreaker(Strict):
    failure_threshold: int = Field(5, ge=1)
    cooldown_seconds: float = Field(30.0, gt=0)


class Providers(Strict):
    targets: list[Target]
    routing: Routing = Routing()
    fallback: Fallback = Fallback()
    circuit_breaker: CircuitBreaker = CircuitBreaker()

    @field_validator("targets")
    @classmethod
    def _unique_ids(cls, targets: list[Target]) -> list[Target]:
        seen: set[str] = set()
        for t in targets:
            if t.id in seen:
                raise ValueError(f"duplicate target id {t.id!r}")
            seen.add(t.id)
        return targets


class Policies(Strict):
    chain: list[str]


TenantSource = Literal["xfcc", "l5d-client-id", "header", "api_key"]


class Tenants(Strict):
    #: an authenticated API key's tenant wins over a tenant header by default
    sources: list[TenantSource] = ["api_key", "header"]
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
    sinks: list[Literal["api", "stdout", "file"]] = ["api"]
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
