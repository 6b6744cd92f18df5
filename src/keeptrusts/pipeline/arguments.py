"""Tool-call arguments read as the strings they hold, with JSON escapes decoded.

Arguments are a JSON text that the caller (or the provider) decodes: `jane.doe\\u0040example.com`
becomes `jane.doe@example.com`, `project\\natlas` a line break between two words. Scanned as
written, escapes hide a value from the policies; so an arguments text holding a backslash is
parsed, and each string value in it is a slot of its own. A rewrite (a redaction) re-encodes
the arguments (equivalent JSON, escapes decoded where JSON allows). Arguments that are not JSON,
or nest deeper than `MAX_DEPTH`, stay one slot scanned as written.
"""

from __future__ import annotations

from typing import Any

import orjson

#: below orjson's encoding limit (254 levels), so a rewrite can always be encoded
MAX_DEPTH = 200


class ArgumentStrings:
    """One container of parsed arguments (an object or an array) whose strings are slots;
    writing one re-encodes the whole arguments text into the function call."""

    __slots__ = ("fn", "inner", "root")

    def __init__(self, fn: dict[str, Any], root: Any, inner: Any) -> None:
        self.fn = fn
        self.root = root
        self.inner = inner

    def __getitem__(self, key: Any) -> str:
        value: str = self.inner[key]
        return value

    def __setitem__(self, key: Any, text: str) -> None:
        self.inner[key] = text
        self.fn["arguments"] = orjson.dumps(self.root).decode()


def argument_slots(fn: dict[str, Any]) -> list[tuple[Any, Any]] | None:
    """A slot per string value in `fn["arguments"]`; None when it is not JSON to walk."""
    try:
        root = orjson.loads(fn["arguments"])
    except orjson.JSONDecodeError:
        return None
    if isinstance(root, str):
        return [(_RootString(fn, [root]), 0)]
    slots: list[tuple[Any, Any]] = []
    stack: list[tuple[Any, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return None
        items = (
            node.items()
            if isinstance(node, dict)
            else enumerate(node)
            if isinstance(node, list)
            else ()
        )
        view: ArgumentStrings | None = None
        for key, value in items:
            if isinstance(value, str):
                view = view or ArgumentStrings(fn, root, node)
                slots.append((view, key))
            elif isinstance(value, dict | list):
                stack.append((value, depth + 1))
    return slots


class _RootString:
    """Arguments that are one JSON string."""

    __slots__ = ("fn", "holder")

    def __init__(self, fn: dict[str, Any], holder: list[str]) -> None:
        self.fn = fn
        self.holder = holder

    def __getitem__(self, key: Any) -> str:
        return self.holder[0]

    def __setitem__(self, key: Any, text: str) -> None:
        self.holder[0] = text
        self.fn["arguments"] = orjson.dumps(text).decode()
