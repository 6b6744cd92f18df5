"""`base_url` as people write it: trailing slashes, a query string a gateway in front of the
provider needs on every request (an API management tenant, a routing key), Azure deployment
names with dots."""

from __future__ import annotations

import httpx

from tests.fakes.gateway import GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV


def config(*targets: tuple[str, str, str, str]) -> str:
    """Targets as (id, provider kind, base_url, models glob)."""
    lines = ["pack: {name: urls, version: 1.0.0}", "providers:", "  targets:"]
    for tid, kind, url, models in targets:
        lines += [f"    - id: {tid}", f"      provider: {kind}", f'      base_url: "{url}"']
        lines += ["      secret_key_ref: {env: FAKE_PROVIDER_KEY}", f'      models: ["{models}"]']
    return "\n".join([*lines, "policies: {chain: []}"]) + "\n"


def test_a_query_in_base_url_is_kept_after_the_path(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    """`base_url: http://llm/v1/?team=7`: the path was appended after the query
    (`/v1/?team=7/chat/completions`), so every request went to `/v1/` and failed."""
    root = fake.base_url.removesuffix("/v1")
    gw = gateways.start(
        config(
            ("compat", "openai-compatible", f"{fake.base_url}/?team=7&region=eu", "gpt-*"),
            ("az", "azure-openai", f"{root}/?team=8", "az-*"),
            ("claude", "anthropic", f"{root}?team=9", "claude-*"),
        ),
        env=ENV,
    )
    messages = [{"role": "user", "content": "hi"}]
    for model in ("gpt-4o", "az-gpt-3.5-turbo", "claude-3-5-sonnet"):
        body = {"model": model, "messages": messages}
        r = httpx.post(gw.base_url + "/chat/completions", json=body, timeout=15)
        assert r.status_code == 200, r.text
    compat, az, claude = fake.requests
    assert (compat.path, compat.query) == ("/v1/chat/completions", "team=7&region=eu")
    assert az.path == "/openai/deployments/az-gpt-3.5-turbo/chat/completions"
    assert az.query == "api-version=2024-10-21&team=8"
    # an Anthropic base_url with no path gets /v1, and its query goes after /messages
    assert (claude.path, claude.query) == ("/v1/messages", "team=9")
