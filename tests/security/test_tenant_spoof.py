"""A caller cannot pick its own tenant with the tenant header (per-tenant limits hold).

The real gateway runs as a subprocess with the echo provider and a per-tenant rate limit of
one request a minute; a second request of the same tenant must be refused, whatever tenant
header it carries.
"""

from __future__ import annotations

import hashlib

import httpx

from tests.fakes.gateway import Gateway, GatewayFactory

KEY = "sk-team-a-key"
DIGEST = "sha256:" + hashlib.sha256(KEY.encode()).hexdigest()
BODY = {"model": "x", "messages": [{"role": "user", "content": "hi"}]}


def config(tenants: str = "") -> str:
    return (
        "pack: {name: t, version: 1.0.0}\n"
        "providers: {targets: [{id: echo, provider: echo}]}\n"
        "tenants:\n"
        f'  api_keys: {{"{DIGEST}": team-a}}\n'
        "  known: [team-b]\n"
        f"{tenants}"
        "policies: {chain: [rate-limit]}\n"
        "policy:\n"
        "  rate-limit: {rules: [{scope: tenant, requests_per_minute: 1}]}\n"
    )


def chat(gw: Gateway, tenant: str | None = None, key: str | None = None) -> int:
    headers = {"x-keeptrusts-tenant": tenant} if tenant else {}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    r = httpx.post(gw.base_url + "/chat/completions", json=BODY, headers=headers, timeout=10)
    return r.status_code


def requests_of(gw: Gateway, tenant: str) -> int:
    report = httpx.get(gw.url + "/keeptrusts/limits", params={"tenant": tenant}).json()
    [rule] = report["limits"]
    return int(rule["requests_last_minute"])


def test_api_key_tenant_wins_over_any_header(gateways: GatewayFactory) -> None:
    gw = gateways.start(config())
    assert chat(gw, key=KEY) == 200
    # a fresh or another known tenant in the header does not escape team-a's limit
    for tenant in ("x1", "x2", "team-b", "team-a"):
        assert chat(gw, tenant, KEY) == 429, tenant
    assert requests_of(gw, "team-b") == 0  # nothing was charged to team-b
    assert requests_of(gw, "team-a") == 1


def test_invented_header_tenants_share_the_default_tenant(gateways: GatewayFactory) -> None:
    gw = gateways.start(config())
    assert chat(gw, "fresh-0") == 200
    assert [chat(gw, f"fresh-{i}") for i in range(1, 4)] == [429, 429, 429]
    assert requests_of(gw, "anonymous") == 1
    # a tenant the config knows may still be named by the header
    assert chat(gw, "team-b") == 200
    assert chat(gw, "team-b") == 429


def test_any_header_tenant_only_when_the_operator_opts_in(gateways: GatewayFactory) -> None:
    gw = gateways.start(config("  sources: [header, api_key]\n  header_tenants: any\n"))
    assert [chat(gw, f"free-{i}", KEY) for i in range(3)] == [200, 200, 200]
