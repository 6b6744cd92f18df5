"""The texts of a JSON schema (a tool's `parameters`, a structured output's `schema`), which a
provider shows the model: every string value but the structural keywords', and every string
inside the allowed and example values. Property names are identifiers, not read."""

from __future__ import annotations

from typing import Any

from keeptrusts.pipeline.joined import Slot

#: schema keywords whose string values are structure, not text (rewriting one would break the
#: schema): every other string value is read (`description`, `title`, `pattern`, `$comment`,
#: `x-...` notes: the provider shows the model the schema)
SCHEMA_STRUCTURE = frozenset(
    {"type", "format", "$ref", "$schema", "$id", "$anchor", "$dynamicRef", "$dynamicAnchor"}
)
#: schema keywords whose values the model is shown (allowed or example values): every string
#: in them is read, at any depth
SCHEMA_VALUES = frozenset({"enum", "examples", "default", "const"})


def schema_texts(schema: Any, slots: list[Slot]) -> None:
    """The string values of a JSON schema's keywords (but structural ones: `SCHEMA_STRUCTURE`),
    and the strings inside `enum`, `examples`, `default` and `const`, at any depth (walked
    without recursion: nesting is bounded only by the body size). Property names are
    identifiers, not read."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key in SCHEMA_VALUES:
                    _value_strings(node, key, slots)
                elif isinstance(value, str):
                    if key not in SCHEMA_STRUCTURE:
                        slots.append((node, key))
                elif isinstance(value, dict | list):
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(item for item in node if isinstance(item, dict | list))


def _value_strings(container: Any, key: Any, slots: list[Slot]) -> None:
    """Every string in `container[key]`, at any depth (without recursion)."""
    stack: list[Slot] = [(container, key)]
    while stack:
        c, k = stack.pop()
        value = c[k]
        if isinstance(value, str):
            slots.append((c, k))
        elif isinstance(value, dict):
            stack.extend((value, name) for name in value)
        elif isinstance(value, list):
            stack.extend((value, i) for i in range(len(value)))
