"""Targets left out at start for an unset key variable (`secret_key_ref.env`) show on `/health`
with the reason; with no target left to serve anything, `/readyz` is 503."""

from __future__ import annotations

import httpx

from tests.fakes.gateway import GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.fakes.wait import wait_for
from tests.integration.configs import ENV, PROVIDER_KEY


def config(fake: FakeUpstream, *targets: tuple[str, str]) -> str:
    """Targets as (id, key variable), each serving every model from the fake."""
    lines = ["pack: {name: skipped, version: 1.0.0}", "providers:", "  targets:"]
    for tid, env in targets:
        lines += [
            f"    - id: {tid}",
            "      provider: openai",
            f"      base_url: {fake.base_url}",
            f"      secret_key_ref: {{env: {env}}}",
        ]
    return "\n".join([*lines, "policies: {chain: []}"]) + "\n"


def test_a_target_without_its_key_is_on_health_with_the_reason(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    """`/health` listed only the targets in service: one left out for want of its key did not
    show at all, and the page said `healthy`."""
    text = config(fake, ("primary", "FAKE_PROVIDER_KEY"), ("backup", "BACKUP_PROVIDER_KEY"))
    gw = gateways.start(text, env=ENV)
    r = httpx.get(gw.url + "/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "degraded"
    assert body["providers"] == {"primary": "unknown", "backup": "unreachable"}
    reason = body["skipped_targets"]["backup"]
    assert "BACKUP_PROVIDER_KEY" in reason and "secret_key_ref" in reason
    assert list(body["skipped_targets"]) == ["backup"]
    assert PROVIDER_KEY not in r.text
    assert httpx.get(gw.url + "/readyz").status_code == 200  # `primary` serves


def test_no_target_left_is_not_ready(gateways: GatewayFactory, fake: FakeUpstream) -> None:
    """Every target left out: every request is refused, yet `/readyz` said ready and a rollout
    with the secret missing replaced working pods. Now `/readyz` and `/health` are 503 naming
    the variables, and requests still get the contract's 503."""
    gw = gateways.start(config(fake, ("primary", "FAKE_PROVIDER_KEY")), env={}, wait=False)
    assert wait_for(lambda: _answers(gw.url + "/healthz"), 15)
    r = httpx.get(gw.url + "/readyz")
    assert r.status_code == 503, r.text
    assert r.json()["status"] == "not ready"
    assert "'primary'" in r.json()["reason"] and "FAKE_PROVIDER_KEY" in r.json()["reason"]
    r = httpx.get(gw.url + "/health")
    assert r.status_code == 503 and r.json()["status"] == "unhealthy"
    assert r.json()["providers"] == {"primary": "unreachable"}
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    r = httpx.post(gw.base_url + "/chat/completions", json=body)
    assert r.status_code == 503, r.text  # (it was a 404 model_not_found on a healthy gateway)
    err = r.json()["error"]
    assert err["type"] == "upstream_error" and err["code"] == "upstream_unavailable"
    assert "'primary'" in err["message"] and "secret_key_ref" in err["message"]
    assert fake.requests == []


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_reload_that_would_leave_no_target_is_refused(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    """A ConfigMap update naming a key variable the pods do not have took every replica out
    of readiness at once; it is refused (422), and the last good config keeps serving."""
    gw = gateways.start(config(fake, ("primary", "FAKE_PROVIDER_KEY")), env=ENV)
    assert gw.config is not None
    gw.config.write_text(config(fake, ("primary", "NEW_PROVIDER_KEY")).replace("1.0.0", "2.0.0"))
    r = httpx.post(gw.url + "/keeptrusts/config/reload", timeout=30)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_config"
    assert "NEW_PROVIDER_KEY" in r.json()["error"]["message"]
    assert httpx.get(gw.url + "/readyz").status_code == 200
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    assert httpx.post(gw.base_url + "/chat/completions", json=body).status_code == 200
