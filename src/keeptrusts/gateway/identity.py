"""Who is calling: a request's tenant from its mesh identity, a tenant header or an API key.

`TenantResolver` is compiled once per config (`tenants:` section) and answers per request with
an `Identity`. Evidence is weighed in this order:

1. The SPIFFE id of a client certificate the gateway verified itself (native mTLS). It is
   always trusted and is tried first, whatever `tenants.sources` says.
2. `tenants.sources`, in the configured order, first match wins:
   - `xfcc`: Istio/Envoy's `X-Forwarded-Client-Cert`. The LAST element is the one the
     gateway's own sidecar appended for the immediate client (earlier elements come from
     further away, or from the caller itself under Istio's default `APPEND_FORWARD`); its
     first `URI=spiffe://...` value is the identity.
   - `l5d-client-id`: Linkerd's `<sa>.<ns>.serviceaccount.identity.<control-ns>.<domain>`,
     rewritten as `spiffe://<domain>/ns/<ns>/sa/<sa>` so one `identities` glob such as
     `spiffe://cluster.local/ns/data-science/*` covers Istio and Linkerd callers alike.
   - `header`: the value of `tenants.header`, taken as the tenant name only if it is listed
     in `tenants.known` or is `tenants.default` (unless `tenants.header_tenants: any`); any
     other name, a key's or a certificate's tenant included, falls through to the next source.
     The header is not authenticated: without this check a caller could pick a fresh tenant
     (fresh rate limits and budget) on every request.
   - `api_key`: the bearer token (or `x-api-key`), hashed with SHA-256 and looked up in
     `tenants.api_keys` (`sha256:<hex>` -> tenant).
3. `tenants.default`.

The default order is `[api_key, header]`: an authenticated key's tenant wins over a header.

Mesh headers are ignored unless `tenants.trust_mesh_headers` is true: without a sidecar that
sets them, any client could forge them. A mesh identity that matches no `identities` glob
does not decide the tenant (the next source is tried), but it is kept as the principal.
Globs are shell-style (`*` also crosses `/`), case-sensitive, tried in config order, and
compiled into one RE2 pattern (no backtracking). Parsed mesh headers and glob results are
memoised per config in small bounded dicts: a caller's sidecar sends the same value on every
request, so the per-request cost is a dict lookup.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import re2

from keeptrusts.config.load import ConfigError
from keeptrusts.config.model import Tenants
from keeptrusts.detect.glob import translate
from keeptrusts.gateway.mesh_headers import (
    is_spiffe,
    linkerd_principal,
    xfcc_client,
)

XFCC = "x-forwarded-client-cert"
XFCC_SOURCE = "xfcc"
L5D_SOURCE = "l5d-client-id"
L5D_CLIENT_ID = "l5d-client-id"
#: tenant names from a header are at most this long
MAX_TENANT = 128
_TENANT_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._:@/")
_HEX = frozenset("0123456789abcdef")
#: distinct mesh header values / principals remembered per config (callers repeat the same
#: few values), and the longest one worth remembering: the caches stay well under 1 MiB
CACHE_SIZE = 1024
CACHE_VALUE_MAX = 512
_MISS = object()

log = logging.getLogger("keeptrusts.gateway")


class Identity(NamedTuple):
    """The caller of one request, as far as the gateway can tell."""

    tenant: str
    #: what decided the tenant: `mtls`, `xfcc`, `l5d-client-id`, `header`, `api_key`, `default`
    source: str
    #: an authenticated workload identity (SPIFFE id), when one was presented and trusted
    principal: str | None = None
    #: `sha256:<hex of the key>`, the form `tenants.api_keys` and `model-allowlist` use;
    #: a digest, never the key
    api_key_id: str | None = None

    @property
    def api_key_label(self) -> str | None:
        """A short form of `api_key_id` for logs: `sha256:` + 12 hex digits."""
        return self.api_key_id[:19] if self.api_key_id else None


def api_key_id(api_key: str) -> str:
    """`sha256:<hex>` of an API key: how `tenants.api_keys` names it."""
    return "sha256:" + hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """All values of a header joined with `,` (a repeated header is one list, RFC 9110)."""
    getall: Callable[[str, list[str]], list[str]] | None = getattr(headers, "getall", None)
    if getall is not None:
        values = getall(name, [])
        return ",".join(values) if values else None
    return headers.get(name)


class IdentityGlobs:
    """`identities` (glob -> tenant) as one RE2 alternation; the first glob in order wins."""

    def __init__(self, identities: Mapping[str, str]) -> None:
        self._tenants = tuple(identities.values())
        body = "|".join(f"({translate(g)})" for g in identities)
        self._regex: Any = re2.compile(f"(?s:{body})") if identities else None
        #: principal -> tenant; a call into RE2 costs far more than a dict lookup
        self._cache: dict[str, str | None] = {}

    def tenant(self, principal: str) -> str | None:
        cached = self._cache.get(principal, _MISS)
        if cached is not _MISS:
            return cached  # type: ignore[return-value]
        tenant = self._match(principal)
        _remember(self._cache, principal, tenant)
        return tenant

    def _match(self, principal: str) -> str | None:
        if self._regex is None:
            return None
        m = self._regex.fullmatch(principal)
        if m is None or m.lastindex is None:
            return None
        return self._tenants[m.lastindex - 1]  # type: ignore[no-any-return]


def _header_selects_nothing(tenants: Tenants) -> bool:
    """An explicit `header` source that can select no tenant but the default."""
    return (
        "sources" in tenants.model_fields_set
        and "header" in tenants.sources
        and tenants.header_tenants == "known"
        and not [t for t in tenants.known if t != tenants.default]
    )


class TenantResolver:
    """Compiled `tenants:` config; `resolve` maps one request's evidence to an `Identity`."""

    def __init__(self, tenants: Tenants) -> None:
        self.tenants = tenants
        self._default = tenants.default
        self._header_name = tenants.header.lower()
        #: tenants a header may name; None: any well-formed name (`header_tenants: any`)
        self._header_tenants = (
            None if tenants.header_tenants == "any" else tenants.header_selectable()
        )
        if _header_selects_nothing(tenants):
            log.warning(
                "tenants.sources lists 'header' but tenants.known is empty: the %s header can "
                "only select the default tenant; list the tenants it may name in tenants.known "
                "(or set tenants.header_tenants: any behind a proxy you trust)",
                tenants.header,
            )
        self._globs = IdentityGlobs(tenants.identities)
        self._api_keys = _compile_api_keys(tenants.api_keys)
        self._key_ids: dict[str, str] = {}
        #: header value -> principal, per mesh source: one sidecar writes the same value for
        #: every request of a caller, so parsing is paid once per distinct value
        self._seen: dict[str, dict[str, str | None]] = {XFCC_SOURCE: {}, L5D_SOURCE: {}}
        mesh = tenants.trust_mesh_headers
        self._sources = tuple(
            s for s in dict.fromkeys(tenants.sources) if mesh or s not in (XFCC_SOURCE, L5D_SOURCE)
        )

    def _key_id(self, api_key: str) -> str:
        """`api_key_id`, remembered (bounded): hashing every request's key is wasted work."""
        hit = self._key_ids.get(api_key)
        if hit is None:
            hit = api_key_id(api_key)
            if len(self._key_ids) < 4096 and len(api_key) <= 512:
                self._key_ids[api_key] = hit
        return hit

    def resolve(
        self, headers: Mapping[str, str], peer_spiffe_id: str | None, api_key: str | None
    ) -> Identity:
        """The caller's tenant; `headers` is case-insensitive or has lower-case keys."""
        key_id = self._key_id(api_key) if api_key else None
        principal: str | None = None
        if peer_spiffe_id and is_spiffe(peer_spiffe_id):
            principal = peer_spiffe_id
            tenant = self._globs.tenant(peer_spiffe_id)
            if tenant is not None:
                return Identity(tenant, "mtls", principal, key_id)
        for source in self._sources:
            if source in (XFCC_SOURCE, L5D_SOURCE):
                mesh_id = self._mesh_identity(source, headers)
                if mesh_id is None:
                    continue
                principal = principal or mesh_id
                tenant = self._globs.tenant(mesh_id)
                if tenant is not None:
                    return Identity(tenant, source, mesh_id, key_id)
            elif source == "header":
                tenant = self._header_tenant(headers)
                if tenant is not None:
                    return Identity(tenant, source, principal, key_id)
            elif key_id is not None:
                tenant = self._api_keys.get(key_id)
                if tenant is not None:
                    return Identity(tenant, source, principal, key_id)
        return Identity(self._default, "default", principal, key_id)

    def _header_tenant(self, headers: Mapping[str, str]) -> str | None:
        """The tenant header's value, if well formed and (by default) a tenant the config knows."""
        tenant = _tenant_name(headers.get(self._header_name))
        if tenant is None or self._header_tenants is None or tenant in self._header_tenants:
            return tenant
        return None

    def _mesh_identity(self, source: str, headers: Mapping[str, str]) -> str | None:
        value = _header(headers, XFCC) if source == XFCC_SOURCE else headers.get(L5D_CLIENT_ID)
        if not value:
            return None
        cache = self._seen[source]
        if value in cache:
            return cache[value]
        principal = xfcc_client(value) if source == XFCC_SOURCE else linkerd_principal(value)
        _remember(cache, value, principal)
        return principal


def _remember(cache: dict[str, str | None], key: str, value: str | None) -> None:
    """Bounded memo: a caller sending ever-new values only costs a re-parse, never memory."""
    if len(key) > CACHE_VALUE_MAX:
        return
    if len(cache) >= CACHE_SIZE:
        cache.clear()
    cache[key] = value


def _tenant_name(value: str | None) -> str | None:
    """A tenant header value, if it is a plausible name (bounded, no spaces or controls)."""
    if value is None:
        return None
    name = value.strip()
    if not name or len(name) > MAX_TENANT or not set(name) <= _TENANT_CHARS:
        return None
    return name


def _compile_api_keys(api_keys: Mapping[str, str]) -> dict[str, str]:
    """`tenants.api_keys` with the digests lower-cased; a malformed digest is a config error."""
    out: dict[str, str] = {}
    problems: list[str] = []
    for digest, tenant in api_keys.items():
        algo, _, hexpart = digest.partition(":")
        hexpart = hexpart.lower()
        if algo.lower() != "sha256" or len(hexpart) != 64 or not set(hexpart) <= _HEX:
            problems.append(
                f"tenants.api_keys: {digest[:24]!r} is not 'sha256:<64 hex digits>' "
                "(store the SHA-256 of the key, never the key)"
            )
            continue
        out["sha256:" + hexpart] = tenant
    if problems:
        raise ConfigError(problems)
    return out
