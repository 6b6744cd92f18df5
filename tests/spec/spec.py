"""The shipped OpenAPI description, and the 'gateway view' of it that the fuzz tests use.

`x-keeptrusts-passthrough: true` marks request fields the gateway forwards unchecked (the
provider validates them). The gateway view replaces each marked subschema with `{}` (any
JSON value) and drops it from `required`, so that:
- negative generation only breaks what the gateway itself promises to reject, and
- positive generation throws arbitrary JSON into the passthrough fields, which the
  gateway must forward (or refuse with a documented 4xx), never crash on.
"""

from __future__ import annotations

import copy
from importlib import resources
from typing import Any

import yaml

MARK = "x-keeptrusts-passthrough"


def load_spec() -> dict[str, Any]:
    text = resources.files("keeptrusts").joinpath("data/openapi.yaml").read_text()
    spec: dict[str, Any] = yaml.safe_load(text)
    return spec


def gateway_view(spec: dict[str, Any]) -> dict[str, Any]:
    view: dict[str, Any] = _strip(copy.deepcopy(spec))
    return view


def _strip(node: Any) -> Any:
    if isinstance(node, list):
        return [_strip(v) for v in node]
    if not isinstance(node, dict):
        return node
    if node.get(MARK) is True:
        return {"description": "passthrough: any JSON value reaches the provider"}
    props = node.get("properties")
    if isinstance(props, dict) and isinstance(node.get("required"), list):
        loose = {k for k, v in props.items() if isinstance(v, dict) and v.get(MARK) is True}
        node["required"] = [r for r in node["required"] if r not in loose]
    return {k: _strip(v) for k, v in node.items()}


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]
