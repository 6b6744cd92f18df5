"""Config texts for integration tests."""

from __future__ import annotations


def openai_config(
    *targets: tuple[str, str],
    chain: str = "[dlp-filter]",
    policy: str = 'dlp-filter: {blocked_terms: ["project atlas"], action: block}',
    extra: str = "",
    provider: str = "openai",
    fallback: str = "{on: [connect_error, timeout, 5xx, 429], max_attempts: 3}",
) -> str:
    lines = ["pack: {name: test, version: 1.0.0}", "providers:", "  targets:"]
    for tid, url in targets:
        lines += [
            f"    - id: {tid}",
            f"      provider: {provider}",
            f"      base_url: {url}",
            "      secret_key_ref: {env: FAKE_PROVIDER_KEY}",
            '      models: ["gpt-4o*", "claude*", "text-embedding-3-small", "gpt-3.5-turbo-instruct"]',
            "      timeouts: {connect: 2, first_byte: 5, total: 30}",
        ]
    lines += [f"  fallback: {fallback}", "policies:", f"  chain: {chain}", "policy:", f"  {policy}"]
    return "\n".join(lines) + "\n" + extra


PROVIDER_KEY = "sk-upstream-test-key-0123456789"
ENV = {"FAKE_PROVIDER_KEY": PROVIDER_KEY}
