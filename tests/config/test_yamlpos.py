"""The YAML subset a policy config may use: refusals name the file, the line and the key path."""

from __future__ import annotations

import resource
import time

import pytest

from keeptrusts.config import yamlpos
from keeptrusts.config.load import ConfigError, load_texts


def refused(text: str) -> str:
    with pytest.raises(yamlpos.YamlError) as info:
        yamlpos.load(text, "cfg.yaml")
    return str(info.value)


def laughs(levels: int) -> str:
    """A "billion laughs" document: 10**levels strings from a few hundred bytes."""
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]")
    return "\n".join(lines) + "\n"


def test_duplicate_key_names_file_line_and_path() -> None:
    text = "pack: {name: t}\npolicies:\n  chain: [dlp-filter]\npolicies:\n  chain: []\n"
    assert refused(text) == "cfg.yaml:4: policies: duplicate key (first at line 2)"


def test_nested_duplicate_key() -> None:
    text = "policy:\n  dlp-filter:\n    action: block\n    action: redact\n"
    message = refused(text)
    assert message == "cfg.yaml:4: policy.dlp-filter.action: duplicate key (first at line 3)"


def test_duplicate_key_in_a_list_item() -> None:
    assert refused("targets:\n  - {id: a, id: b}\n").startswith("cfg.yaml:2: targets[0].id:")


def test_duplicate_key_is_a_config_error_before_validation() -> None:
    text = "pack: {name: t}\npolicies: {chain: []}\npack: {name: u}\n"
    with pytest.raises(ConfigError, match=r"cfg\.yaml:3: pack: duplicate key"):
        load_texts([("cfg.yaml", text)])


def test_billion_laughs_is_refused_at_once() -> None:
    text = laughs(6)  # 380 bytes; expanded: 10**6 strings, 300 MB and seconds of CPU
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    message = refused(text)
    assert time.perf_counter() - started < 0.5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KiB
    assert message.startswith("cfg.yaml:2: a1[0]: YAML aliases (*a0) are not supported")


def test_any_alias_is_refused_with_its_own_line() -> None:
    text = "shared: &terms [alpha, beta]\npolicy:\n  dlp-filter:\n    blocked_terms: *terms\n"
    assert refused(text).startswith("cfg.yaml:4: policy.dlp-filter.blocked_terms: YAML aliases")


def test_anchor_without_alias_is_harmless() -> None:
    assert yamlpos.load("a: &x [1, 2]\n", "cfg.yaml").data == {"a": [1, 2]}


def test_self_referencing_alias_is_refused() -> None:
    assert "YAML aliases (*a)" in refused("a: &a [*a]\n")


def test_merge_key_names_file_and_line() -> None:
    text = "pack: {name: t}\npolicies: {chain: []}\n<<: {pack: {name: u}}\n"
    assert refused(text).startswith("cfg.yaml:3: <<: YAML merge keys (<<) are not supported")


def test_nested_merge_key() -> None:
    text = "base: {a: 1}\nother:\n  <<: {a: 2}\n"
    assert refused(text).startswith("cfg.yaml:3: other.<<: YAML merge keys")


def test_custom_tag_names_file_line_and_path() -> None:
    text = "providers:\n  targets:\n    - id: a\n      base_url: !env OPENAI_BASE\n"
    message = refused(text)
    assert message.startswith("cfg.yaml:4: providers.targets[0].base_url: the YAML tag !env")
    assert "<unicode string>" not in message


@pytest.mark.parametrize(
    ("text", "path"),
    [("a: !!binary aGk=\n", "a"), ("a: !!set {x}\n", "a"), ("a: !custom {x: 1}\n", "a")],
)
def test_other_tags_are_refused(text: str, path: str) -> None:
    assert refused(text).startswith(f"cfg.yaml:1: {path}: the YAML tag ")


def test_bad_explicit_scalar_names_the_path() -> None:
    assert refused("a:\n  b: !!int x\n").startswith("cfg.yaml:2: a.b: not a valid !!int")


def test_deep_nesting_is_refused_not_a_recursion_error() -> None:
    depth = 5000
    message = refused("a: " + "[" * depth + "]" * depth + "\n")
    assert message.startswith("cfg.yaml:1: invalid YAML:") and "nest" in message


def test_plain_yaml_still_loads() -> None:
    text = "fallback: {on: [5xx, 429]}\nflag: yes\nok: true\nn: ~\nf: 2.5\nd: 2024-01-01\n"
    data = yamlpos.load(text, "cfg.yaml").data
    assert data["fallback"] == {"on": ["5xx", 429]}
    assert data["flag"] == "yes" and data["ok"] is True and data["n"] is None
    assert data["f"] == 2.5 and str(data["d"]) == "2024-01-01"


def test_both_parsers_agree() -> None:
    """libyaml scans when it is there; the pure-Python fallback gives the same values."""
    text = "a: {b: [1, two, 3.0]}\nc: on\n"
    fast = yamlpos.load(text, "cfg.yaml")
    loader = yamlpos._PyLoader(text)
    node = loader.get_single_node()
    assert node is not None
    slow = yamlpos._build(node, (), yamlpos._Doc("cfg.yaml", {}, loader))
    assert fast.data == slow == {"a": {"b": [1, "two", 3.0]}, "c": "on"}
