"""YAML loading that remembers where every key came from (file and line).

PyYAML's composer gives nodes with marks; we build plain Python values from them and record
`path -> (file, line)` so a validation error can name the line. YAML 1.1's `on/off/yes/no`
booleans are turned off: `fallback: {on: [...]}` must stay the string key "on".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader whose booleans are only true/false (YAML 1.2 style)."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


@dataclass
class Located:
    """A loaded document and the position of every path in it."""

    data: Any
    positions: dict[Path, tuple[str, int]] = field(default_factory=dict)


class YamlError(ValueError):
    """A file that is not valid YAML, with file and line."""


def load(text: str, filename: str) -> Located:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise YamlError(f"{filename}:{line}: invalid YAML: {problem}") from exc
    finally:
        loader.dispose()
    out = Located(data=None)
    if node is None:
        out.data = {}
        return out
    out.data = _build(node, (), filename, out.positions, loader)
    return out


def _build(
    node: yaml.Node,
    path: Path,
    filename: str,
    positions: dict[Path, tuple[str, int]],
    loader: _Loader,
) -> Any:
    positions[path] = (filename, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if isinstance(key, list | dict):
                raise YamlError(f"{filename}:{key_node.start_mark.line + 1}: keys must be scalars")
            child = (*path, key)
            result[key] = _build(value_node, child, filename, positions, loader)
            positions[child] = (filename, key_node.start_mark.line + 1)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(item, (*path, i), filename, positions, loader)
            for i, item in enumerate(node.value)
        ]
    return loader.construct_object(node, deep=True)


def merge(base: Located, over: Located) -> Located:
    """Layer `over` on `base`: mappings merge key by key, anything else is replaced."""
    positions = dict(base.positions)
    data = _merge(base.data, over.data, (), positions, over.positions)
    return Located(data=data, positions=positions)


def _merge(
    a: Any,
    b: Any,
    path: Path,
    positions: dict[Path, tuple[str, int]],
    over_pos: dict[Path, tuple[str, int]],
) -> Any:
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for key, value in b.items():
            child = (*path, key)
            if key in out:
                out[key] = _merge(out[key], value, child, positions, over_pos)
            else:
                out[key] = value
                _copy_positions(child, positions, over_pos)
            positions[child] = over_pos.get(child, positions.get(child, ("?", 0)))
        return out
    for stale in [p for p in positions if p[: len(path)] == path]:
        del positions[stale]
    _copy_positions(path, positions, over_pos)
    return b


def _copy_positions(
    prefix: Path, positions: dict[Path, tuple[str, int]], src: dict[Path, tuple[str, int]]
) -> None:
    n = len(prefix)
    for p, where in src.items():
        if p[:n] == prefix:
            positions[p] = where


def where(positions: dict[Path, tuple[str, int]], path: Path) -> tuple[str, int] | None:
    """The position of the longest prefix of `path` that was written in a file."""
    for n in range(len(path), -1, -1):
        hit = positions.get(path[:n])
        if hit is not None:
            return hit
    return None
