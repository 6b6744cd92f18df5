"""`providers.targets[].base_url` pasted as a whole request URL (the endpoint's path, an Azure
deployment, `api-version`) is refused at load, saying what to write instead."""

from __future__ import annotations

import pytest

from keeptrusts.config.load import ConfigError, load_texts

HEAD = "pack: {name: t}\npolicies: {chain: []}\n"


def load(kind: str, url: str) -> str | None:
    text = (
        HEAD
        + f'providers:\n  targets:\n    - id: a\n      provider: {kind}\n      base_url: "{url}"\n'
    )
    try:
        load_texts([("cfg.yaml", text)])
    except ConfigError as exc:
        return str(exc)
    return None


@pytest.mark.parametrize(
    ("kind", "url", "says"),
    [
        ("openai", "https://api.openai.com/v1/chat/completions", "https://api.openai.com/v1"),
        ("openai-compatible", "http://vllm:8000/v1/completions/", "http://vllm:8000/v1"),
        ("openai-compatible", "http://vllm:8000/v1/embeddings?x=1", "http://vllm:8000/v1"),
        ("anthropic", "https://api.anthropic.com/v1/messages", "https://api.anthropic.com/v1"),
        ("azure-openai", "https://r.openai.azure.com/openai/deployments/gpt-4o/chat/completions",
         "https://r.openai.azure.com"),
        ("azure-openai", "https://r.openai.azure.com?api-version=2024-06-01", "api_version"),
    ],
)  # fmt: skip
def test_a_request_url_pasted_as_base_url_is_refused(kind: str, url: str, says: str) -> None:
    """The endpoint's path was appended again (`/v1/chat/completions/chat/completions`), so
    every request was a 404 the log blamed on the provider."""
    msg = load(kind, url)
    assert msg is not None and "cfg.yaml:7: providers.targets[0].base_url: " in msg, msg
    assert says in msg


@pytest.mark.parametrize(
    ("kind", "url"),
    [
        ("openai", "https://api.openai.com/v1/"),
        ("openai-compatible", "http://gateway.corp/team/chat/v1?key-id=7"),
        ("azure-openai", "https://r.openai.azure.com/openai/v1"),
        ("anthropic", "https://proxy.corp/anthropic/v1"),
    ],
)
def test_api_roots_are_accepted(kind: str, url: str) -> None:
    assert load(kind, url) is None
