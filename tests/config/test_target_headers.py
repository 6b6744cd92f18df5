"""`providers.targets[].headers`: a header the target's key already sets, or one that frames
the HTTP message, is refused at load with the file, line and key path."""

from __future__ import annotations

import pytest

from keeptrusts.config.load import ConfigError, load_texts

HEAD = "pack: {name: t}\npolicies: {chain: []}\n"


def load(kind: str, headers: str, key: bool = True) -> str | None:
    text = HEAD + f"providers:\n  targets:\n    - id: a\n      provider: {kind}\n"
    if key:
        text += "      secret_key_ref: {env: PROVIDER_KEY}\n"
    try:
        load_texts([("cfg.yaml", text + f"      headers: {headers}\n")])
    except ConfigError as exc:
        return str(exc)
    return None


@pytest.mark.parametrize(
    ("kind", "header"),
    [("openai", "Authorization"), ("openai-compatible", "authorization"),
     ("azure-openai", "Api-Key"), ("anthropic", "X-API-Key")],
)  # fmt: skip
def test_a_header_the_key_sets_is_refused_beside_secret_key_ref(kind: str, header: str) -> None:
    """The key from `secret_key_ref` silently replaced the header written here: a user who
    meant this header to be sent never learnt it was not."""
    msg = load(kind, f'{{{header}: "Bearer other"}}')
    assert msg is not None and "cfg.yaml:8: providers.targets[0].headers: " in msg
    assert f"{header} is the header" in msg and "secret_key_ref" in msg and "other" not in msg
    assert load(kind, f'{{{header}: "Bearer other"}}', key=False) is None  # no key: it is sent


@pytest.mark.parametrize(
    "header", ["Content-Length", "transfer-encoding", "Connection", "Proxy-Authorization"]
)
def test_a_header_that_frames_the_message_is_refused(header: str) -> None:
    """`Content-Length: 5` was sent as written before a longer body (the provider read five
    bytes, then the rest as the next request); `Proxy-Authorization` went to the provider."""
    msg = load("openai", f'{{{header}: "5"}}')
    assert msg is not None and f"providers.targets[0].headers: {header} cannot be set" in msg
    assert load("openai", '{X-Team: "5", User-Agent: ours}') is None
