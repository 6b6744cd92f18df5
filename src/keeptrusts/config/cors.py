"""The `cors:` section: which browser origins may call the API (`/v1/*`) cross-origin.

No section: the gateway neither answers preflights nor adds `Access-Control-*` headers (a
mesh ingress may do CORS itself: Istio's `corsPolicy`). A section turns CORS on unless it says
`enabled: false`; requests from origins it does not list are then refused (403) before any
policy or provider runs. The field names are those of the Keeptrusts reference.
"""

from __future__ import annotations

from typing import Annotated

import yarl
from pydantic import AfterValidator, Field, field_validator, model_validator

from keeptrusts.config.fields import Strict

#: the gateway's own response headers, and those the official SDKs read (their retry logic reads
#: `retry-after`; the request id is `_request_id`): readable by browser code unless narrowed
DEFAULT_EXPOSE = [
    "x-request-id",
    "x-keeptrusts-decision",
    "x-keeptrusts-overhead-ms",
    "x-keeptrusts-config-version",
    "retry-after",
]
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_text(value: str) -> str:
    """An origin as browsers send it (`https://app.example.com`, `http://localhost:3000`):
    scheme and host lower-case, a default port left out. `*` allows any origin, and
    `https://*.example.com` any subdomain of example.com (not example.com itself)."""
    if value == "*":
        return value
    wildcard = "://*." in value
    try:
        url = yarl.URL(value.replace("://*.", "://wildcard.", 1) if wildcard else value)
    except ValueError as exc:
        raise ValueError(f"not an origin: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host or url.raw_path not in ("", "/"):
        raise ValueError(
            "must be an origin: scheme, host and port only (https://app.example.com, "
            "http://localhost:3000), `*`, or https://*.example.com for its subdomains"
        )
    if url.query_string or url.fragment or url.user is not None:
        raise ValueError("must be an origin: no path, query, fragment or user")
    host = _host(url)
    if wildcard:
        host = "*" + host.removeprefix("wildcard")
    port = url.explicit_port
    default = port is None or port == _DEFAULT_PORTS[url.scheme]
    return f"{url.scheme}://{host}" + ("" if default else f":{port}")


def _host(url: yarl.URL) -> str:
    """The host as browsers write it in `Origin`: lower-case, a non-ASCII name in its `xn--`
    form, an IPv6 address in brackets."""
    host = (url.raw_host or "").lower()
    return f"[{host}]" if ":" in host else host


def _token(value: str) -> str:
    if not value or any(not (c.isalnum() or c in "-_") for c in value):
        raise ValueError("must be an HTTP header or method name (letters, digits, - and _)")
    return value


Origin = Annotated[str, AfterValidator(origin_text)]
Token = Annotated[str, AfterValidator(_token)]


class Cors(Strict):
    enabled: bool = True
    allow_origins: list[Origin] = Field(min_length=1)
    allow_methods: list[Token] = Field(default=["GET", "POST", "OPTIONS"])
    #: None: the headers a preflight asks for are allowed (the official SDKs send headers of
    #: their own, `x-stainless-*`, which a short list would refuse)
    allow_headers: list[Token] | None = None
    expose_headers: list[Token] = Field(default_factory=lambda: list(DEFAULT_EXPOSE))
    allow_credentials: bool = False
    max_age_seconds: int = Field(86400, ge=0, le=86400)

    @field_validator("allow_methods")
    @classmethod
    def _upper(cls, methods: list[str]) -> list[str]:
        return [m.upper() for m in methods]

    @model_validator(mode="after")
    def _credentials_need_named_origins(self) -> Cors:
        if self.allow_credentials and "*" in self.allow_origins:
            raise ValueError(
                "allow_credentials: true needs the origins named: browsers refuse credentials "
                "with `*` (list the origins in allow_origins, or set allow_credentials: false)"
            )
        return self
