"""`providers`: the targets requests are routed to, and how routing, fallback and the circuit
breaker treat them (contract § Policy config)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from keeptrusts.config.fields import EnvName, Glob, HttpUrl, Strict, http_url


def _proxy_url(url: str) -> str:
    if url == "direct":
        return url
    try:
        return http_url(url)
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
    on: list[FallbackOn] = Field(default=["connect_error", "timeout", "5xx", "429"])
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
