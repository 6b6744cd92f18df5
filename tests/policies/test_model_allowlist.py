"""model-allowlist: defaults, tenants, API keys, and the block it returns."""

from __future__ import annotations

from keeptrusts.errors import PolicyViolation
from keeptrusts.pipeline.verdict import Result
from keeptrusts.policies.model_allowlist import ModelAllowlist, Settings
from tests.policies.exchange import exchange

#: an API key id as requests carry it (`sha256:` + the key's hex digest)
KEY_ID = "sha256:" + "ab" * 32

POLICY = ModelAllowlist(
    Settings(
        models=["gpt-4o-mini*"],
        tenants={"data-science": ["gpt-4o*", "claude-*"]},
        api_keys={KEY_ID: ["gpt-4.1"]},
    )
)


async def test_default_globs() -> None:
    assert (await POLICY.on_request(exchange({"model": "gpt-4o-mini"}))).result is Result.ALLOW
    d = await POLICY.on_request(exchange({"model": "gpt-4o"}))
    assert d.result is Result.BLOCK
    assert d.reason_code == "model.not_allowed"
    assert isinstance(d.error, PolicyViolation)
    assert d.error.status == 409
    assert d.error.code == "input_blocked"
    assert d.error.policy == "model-allowlist"


async def test_tenant_and_key_override_default() -> None:
    ds = exchange({"model": "claude-3-5-sonnet"}, tenant="data-science")
    assert (await POLICY.on_request(ds)).result is Result.ALLOW
    key = exchange({"model": "gpt-4.1"}, tenant="data-science", api_key_id=KEY_ID)
    assert (await POLICY.on_request(key)).result is Result.ALLOW
    key_other = exchange({"model": "gpt-4o"}, tenant="data-science", api_key_id=KEY_ID)
    assert (await POLICY.on_request(key_other)).result is Result.BLOCK


async def test_default_allows_everything() -> None:
    p = ModelAllowlist(Settings())
    assert (await p.on_request(exchange({"model": "anything"}))).result is Result.ALLOW
