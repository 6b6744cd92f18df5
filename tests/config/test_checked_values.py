"""Values that look fine to YAML but could never work (or would leak): refused with file, line
and key path, never echoing a secret; and `pack.version` kept exactly as written."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from keeptrusts.config import yamlpos
from keeptrusts.config.load import ConfigError, load_files, load_texts
from keeptrusts.config.model import Pack

HEAD = "pack: {name: t}\npolicies: {chain: []}\n"
PASTED_KEY = "sk-proj-PASTEDKEYSECRET0123456789abcdefABCDEF"


def problems(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_texts([("cfg.yaml", text)])
    return str(info.value)


def target(field: str) -> str:
    return HEAD + f"providers:\n  targets:\n    - id: a\n      provider: openai\n      {field}\n"


@pytest.mark.parametrize(
    ("written", "version"),
    [
        ("1.10", "1.10"),
        ("010", "010"),
        ("2", "2"),
        ("1.0", "1.0"),
        ("1e3", "1e3"),
        ("0x1F", "0x1F"),
        ("2024-01-01", "2024-01-01"),
        ("'1.10'", "1.10"),
        ("1.4.0", "1.4.0"),
    ],
)
def test_version_is_kept_as_written(written: str, version: str) -> None:
    text = f"pack:\n  name: t\n  version: {written}\npolicies: {{chain: []}}\n"
    assert load_texts([("cfg.yaml", text)]).config.pack.version == version
    flow = f"pack: {{name: t, version: {written}}}\npolicies: {{chain: []}}\n"
    assert load_texts([("cfg.yaml", flow)]).version.startswith(f"{version}+")


def test_version_is_kept_by_the_pure_python_parser_too() -> None:
    loader = yamlpos._PyLoader("pack: {version: 1.10}\n")
    node = loader.get_single_node()
    assert node is not None
    doc = yamlpos._Doc("cfg.yaml", {}, loader)
    assert yamlpos._build(node, (), doc) == {"pack": {"version": "1.10"}}


def test_version_from_a_later_layer_is_kept_as_written() -> None:
    loaded = load_texts([("a.yaml", HEAD), ("b.yaml", "pack: {version: 1.20}\n")])
    assert loaded.config.pack.version == "1.20"


def test_other_numbers_are_still_numbers() -> None:
    data = yamlpos.load("pack: {name: 1.10}\nversion: 1.10\n", "cfg.yaml").data
    assert data == {"pack": {"name": 1.1}, "version": 1.1}


def test_version_must_be_text() -> None:
    assert "pack.version: Input should be a valid string" in problems(
        "pack: {name: t, version: true}\npolicies: {chain: []}\n"
    )
    with pytest.raises(ValidationError, match="quote it"):
        Pack.model_validate({"name": "t", "version": 1.1})  # not from YAML: the text is lost
    assert Pack.model_validate({"name": "t", "version": 3}).version == "3"


def test_embedded_default_keeps_its_version() -> None:
    assert load_files([]).config.pack.version == "1.0.0"


@pytest.mark.parametrize(
    "env", [PASTED_KEY, "OPENAI API KEY", "1PASSWORD", "", "OPENAI-KEY", "PASTED\n"]
)
def test_env_must_be_a_variable_name(env: str) -> None:
    message = problems(target(f"secret_key_ref: {{env: {env!r}}}"))
    assert message.startswith("cfg.yaml:7: providers.targets[0].secret_key_ref.env: ")
    assert "looks like a key, not a variable name" in message
    if env.strip():
        assert env.strip() not in message  # the value may be the key itself: never shown


@pytest.mark.parametrize("env", ["OPENAI_API_KEY", "_X", "key2", "A"])
def test_env_names_load(env: str) -> None:
    loaded = load_texts([("cfg.yaml", target(f"secret_key_ref: {{env: {env}}}"))])
    assert loaded.config.providers is not None
    ref = loaded.config.providers.targets[0].secret_key_ref
    assert ref is not None and ref.env == env


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("not a url", "must be an absolute http:// or https:// URL"),
        ("http://[::1", "not a valid URL: Invalid IPv6 URL"),
        ("http://h:99999/v1", "not a valid URL: Port out of range"),
        ("http://h:port/v1", "not a valid URL"),
        ("ftp://files.example/v1", "must be an absolute http:// or https:// URL"),
        ("/v1", "must be an absolute http:// or https:// URL"),
        ("vllm:8000/v1", "must be an absolute http:// or https:// URL"),
        ("http:///v1", "must be an absolute http:// or https:// URL"),
        ("http://svc:PW 2@127.0.0.1:9/v1", "contains whitespace"),
        ("http://127.0.0.1:9/v1\\n", "contains whitespace"),
    ],
)
def test_base_url_must_be_an_http_url(url: str, words: str) -> None:
    message = problems(target(f'base_url: "{url}"'))
    assert message.startswith("cfg.yaml:7: providers.targets[0].base_url: ")
    assert words in message
    assert "PW 2" not in message


@pytest.mark.parametrize(
    "url",
    [
        "https://api.openai.com/v1",
        "http://vllm.models.svc:8000/v1",
        "https://x.openai.azure.com",
        "http://[::1]:8000/v1",
        "http://user:p%20w@127.0.0.1:9/v1",
        "HTTPS://API.EXAMPLE/v1",
    ],
)
def test_base_url_accepts_http_urls(url: str) -> None:
    loaded = load_texts([("cfg.yaml", target(f'base_url: "{url}"'))])
    assert loaded.config.providers is not None
    assert loaded.config.providers.targets[0].base_url == url


@pytest.mark.parametrize(
    "url",
    [
        '"redis://:REDIS PASSWORD@127.0.0.1:1/0"',
        "|\n    redis://:FOLDEDPW@127.0.0.1:1/0",
        ">\n    redis://:FOLDEDPW@127.0.0.1:1/0",
        '"redis://127.0.0.1:1/0\\t"',
    ],
)
def test_state_url_with_whitespace_is_refused(url: str) -> None:
    message = problems(HEAD + f"state:\n  backend: redis\n  url: {url}\n")
    assert message.startswith("cfg.yaml:5: state.url: the URL contains whitespace")
    assert "PASSWORD" not in message and "FOLDEDPW" not in message


@pytest.mark.parametrize(
    ("field", "written", "value"),
    [
        ("api_version", "2024-06-01", "2024-06-01"),
        ("api_version", "2024-09-01-preview", "2024-09-01-preview"),
        ("anthropic_version", "2023-06-01", "2023-06-01"),
    ],
)
def test_provider_versions_written_unquoted_are_their_text(
    field: str, written: str, value: str
) -> None:
    """`api_version: 2024-06-01` unquoted is a YAML date: the gateway refused to start
    ('Input should be a valid string') on the way the Azure and Anthropic docs write it."""
    loaded = load_texts([("cfg.yaml", target(f"{field}: {written}"))])
    assert loaded.config.providers is not None
    assert getattr(loaded.config.providers.targets[0], field) == value
