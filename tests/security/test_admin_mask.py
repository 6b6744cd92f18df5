"""`GET /keeptrusts/config` masks secrets wherever a config can hold them."""

from __future__ import annotations

import httpx

from keeptrusts.config.masking import mask, mask_url
from tests.fakes.gateway import GatewayFactory

SECRETS = ("RedisQueryPW", "AzureKeyInQuery", "CookieSecret", "sk-x", "SasSig", "UserPass")


def test_mask_covers_query_params_and_upstream_headers() -> None:
    cfg = {
        "state": {
            "url": "rediss://redis.internal:6380/0?password=RedisQueryPW",
            "key_prefix": "kt",
        },
        "providers": {
            "targets": [
                {
                    "id": "azure",
                    "base_url": "https://x.openai.azure.com/openai?api-version=2024-06-01"
                    "&api-key=AzureKeyInQuery&sig=SasSig",
                    "headers": {
                        "Authorization": "Bearer sk-x",
                        "Cookie": "session=CookieSecret",
                        "X-Custom": "UserPass",
                        "OpenAI-Organization": "org-1",
                    },
                    "secret_key_ref": {"env": "AZURE_KEY"},
                }
            ]
        },
    }
    text = repr(mask(cfg))
    for secret in SECRETS:
        assert secret not in text, secret
    out = mask(cfg)
    target = out["providers"]["targets"][0]
    assert target["base_url"] == (
        "https://x.openai.azure.com/openai?api-version=2024-06-01&api-key=***&sig=***"
    )
    assert target["headers"] == {
        "Authorization": "***",
        "Cookie": "***",
        "X-Custom": "***",
        "OpenAI-Organization": "org-1",
    }
    assert target["secret_key_ref"] == {"env": "AZURE_KEY"}  # env var names stay visible
    assert out["state"] == {
        "url": "rediss://redis.internal:6380/0?password=***",
        "key_prefix": "kt",
    }


def test_mask_url_forms() -> None:
    assert mask_url("redis://:pw@h:6379/0") == "redis://***@h:6379/0"
    assert mask_url("redis://u:p@ss@h/0?db=1") == "redis://***@h/0?db=1"
    assert mask_url("https://h/cb#access_token=T&x=1") == "https://h/cb#access_token=***&x=1"
    assert mask_url("https://api.openai.com/v1") == "https://api.openai.com/v1"
    assert mask_url("https://h/p?token=&a=b") == "https://h/p?token=&a=b"
    # text that merely contains "://" (a pattern, a sentence) is left alone
    assert mask("see https?://x and key=1", "pattern") == "see https?://x and key=1"


def test_running_config_is_masked(gateways: GatewayFactory) -> None:
    config = (
        "pack: {name: t, version: 1.0.0}\n"
        "providers:\n  targets:\n"
        "    - id: echo\n      provider: echo\n"
        "      base_url: 'https://x.example/openai?api-key=AzureKeyInQuery'\n"
        "      headers: {Cookie: session=CookieSecret, X-Custom: UserPass}\n"
        "policies: {chain: []}\n"
    )
    gw = gateways.start(config)
    shown = httpx.get(gw.url + "/keeptrusts/config").text
    assert "x.example" in shown and "Cookie" in shown
    for secret in SECRETS:
        assert secret not in shown, secret


def test_a_password_holding_url_delimiters_is_still_masked() -> None:
    """`?`, `/` or `#` unescaped in a password do not end the user info early."""
    assert mask_url("redis://u:p?x@h:6379/0") == "redis://***@h:6379/0"
    assert mask_url("postgresql://u:a/b#c@db/kt?sslmode=require") == (
        "postgresql://***@db/kt?sslmode=require"
    )
