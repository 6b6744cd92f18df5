"""Layering: a config file over the ones before it (`--policy-config a.yaml b.yaml`, a
ConfigMap's overlay). Mappings merge key by key, anything else is replaced, and every value
keeps the file and line it was written at, so an error in the merged config names the file
that set the value.
"""

from __future__ import annotations

from typing import Any

from keeptrusts.config.yamlpos import Located, Path


def merge(base: Located, over: Located) -> Located:
    """Layer `over` on `base`: mappings merge key by key, anything else is replaced.

    Linear in the size of both: the positions a replaced value drops, and those its
    replacement brings, are found by walking the two values, not by scanning every position.
    """
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
                _copy_positions(child, value, positions, over_pos)
            positions[child] = over_pos.get(child, positions.get(child, ("?", 0)))
        return out
    for stale in _paths(a, path):
        positions.pop(stale, None)
    _copy_positions(path, b, positions, over_pos)
    return b


def _copy_positions(
    prefix: Path,
    value: Any,
    positions: dict[Path, tuple[str, int]],
    src: dict[Path, tuple[str, int]],
) -> None:
    """Copy from `src` the positions of `value` (found at `prefix`) and of all it holds."""
    for p in _paths(value, prefix):
        hit = src.get(p)
        if hit is not None:
            positions[p] = hit


def _paths(value: Any, prefix: Path) -> list[Path]:
    """`prefix` and the path of everything inside `value` (keys and list items, any depth)."""
    out: list[Path] = []
    todo: list[tuple[Path, Any]] = [(prefix, value)]
    while todo:
        path, item = todo.pop()
        out.append(path)
        if isinstance(item, dict):
            todo.extend(((*path, k), v) for k, v in item.items())
        elif isinstance(item, list):
            todo.extend(((*path, i), v) for i, v in enumerate(item))
    return out
