"""Layered files: positions follow the layer that wrote each value, in linear time; an empty
layer still names its file."""

from __future__ import annotations

import time
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from keeptrusts.config import layering, yamlpos
from keeptrusts.config.load import ConfigError, load_texts

HEAD = "pack: {name: t}\npolicies: {chain: []}\n"


def problems(*texts: tuple[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_texts(list(texts))
    return info.value.problems


@pytest.mark.parametrize("text", ["", "# only a comment\n", "\n\n"])
def test_empty_file_errors_name_the_file(text: str) -> None:
    assert problems(("empty.yaml", text)) == [
        "empty.yaml:1: pack: required key is missing",
        "empty.yaml:1: policies: required key is missing",
    ]


def test_empty_layer_changes_nothing() -> None:
    loaded = load_texts([("a.yaml", HEAD), ("b.yaml", "# nothing here yet\n")])
    assert loaded.config.pack.name == "t" and loaded.sources == ("a.yaml", "b.yaml")


def test_errors_name_the_layer_that_wrote_the_value() -> None:
    base = (
        HEAD
        + "pricing:\n  m1: {input_per_mtok: 1, output_per_mtok: 1}\n  m2: {input_per_mtok: 1, output_per_mtok: 1}\n"
    )
    over = "pricing:\n  m2: {input_per_mtok: -1, output_per_mtok: 1}\n"
    assert problems(("a.yaml", base), ("b.yaml", over)) == [
        "b.yaml:2: pricing.m2.input_per_mtok: Input should be greater than or equal to 0"
    ]
    bad_base = base.replace("m1: {input_per_mtok: 1", "m1: {input_per_mtok: -1")
    assert problems(("a.yaml", bad_base), ("b.yaml", over.replace("-1", "2"))) == [
        "a.yaml:4: pricing.m1.input_per_mtok: Input should be greater than or equal to 0"
    ]


def test_a_replaced_list_forgets_the_old_items() -> None:
    base = HEAD + "policy:\n  dlp-filter:\n    blocked_terms:\n      - a\n      - b\n      - c\n"
    over = "policy:\n  dlp-filter:\n    blocked_terms: [x]\n"
    merged = layering.merge(yamlpos.load(base, "a.yaml"), yamlpos.load(over, "b.yaml"))
    terms = ("policy", "dlp-filter", "blocked_terms")
    assert merged.data["policy"]["dlp-filter"]["blocked_terms"] == ["x"]
    assert merged.positions[(*terms, 0)] == ("b.yaml", 3)
    assert (*terms, 1) not in merged.positions and (*terms, 2) not in merged.positions


def test_a_mapping_replaced_by_a_scalar_forgets_its_keys() -> None:
    base = "a:\n  b:\n    c: 1\n    d: [1, 2]\n"
    merged = layering.merge(yamlpos.load(base, "a.yaml"), yamlpos.load("a: {b: 7}\n", "b.yaml"))
    assert merged.data == {"a": {"b": 7}}
    assert merged.positions == {(): ("a.yaml", 1), ("a",): ("b.yaml", 1), ("a", "b"): ("b.yaml", 1)}


def _old_merge(base: yamlpos.Located, over: yamlpos.Located) -> dict[Any, Any]:
    """The positions the quadratic merge recorded (by scanning every path), for comparison."""
    positions = dict(base.positions)

    def copy(prefix: yamlpos.Path) -> None:
        for p, w in over.positions.items():
            if p[: len(prefix)] == prefix:
                positions[p] = w

    def merge(a: Any, b: Any, path: yamlpos.Path) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key, value in b.items():
                child = (*path, key)
                if key in a:
                    merge(a[key], value, child)
                else:
                    copy(child)
                positions[child] = over.positions.get(child, positions.get(child, ("?", 0)))
            return
        for stale in [p for p in positions if p[: len(path)] == path]:
            del positions[stale]
        copy(path)

    merge(base.data, over.data, ())
    return positions


_keys = st.sampled_from(["a", "b", "c"])
_leaf = st.one_of(st.integers(0, 3), st.sampled_from(["x", "y"]))
_values = st.recursive(
    _leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_keys, inner, max_size=3)),
    max_leaves=12,
)
_docs = st.dictionaries(_keys, _values, max_size=3)


def _text(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, default_flow_style=False, sort_keys=False)


@settings(max_examples=150, deadline=None)
@given(_docs, _docs)
def test_merge_positions_match_the_scanning_merge(a: dict[str, Any], b: dict[str, Any]) -> None:
    base, over = yamlpos.load(_text(a), "a.yaml"), yamlpos.load(_text(b), "b.yaml")
    expected = _old_merge(base, over)
    assert layering.merge(base, over).positions == expected


def test_two_large_layers_merge_in_linear_time() -> None:
    n = 3000  # the scanning merge took ~15 s here; linear, it is a few milliseconds
    rows = "".join(f"  m{i}: {{input_per_mtok: 1, output_per_mtok: 1}}\n" for i in range(n))
    base = yamlpos.load(HEAD + "pricing:\n" + rows, "a.yaml")
    over = yamlpos.load("pricing:\n" + rows.replace(": 1", ": 2"), "b.yaml")
    started = time.perf_counter()
    merged = layering.merge(base, over)
    assert time.perf_counter() - started < 3.0
    assert merged.data["pricing"][f"m{n - 1}"] == {"input_per_mtok": 2, "output_per_mtok": 2}
    assert merged.positions[("pricing", "m5", "output_per_mtok")] == ("b.yaml", 7)
