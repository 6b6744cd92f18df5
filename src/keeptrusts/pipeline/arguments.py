"""Tool-call arguments read as the values they hold, as the caller's JSON decoder will.

Arguments are a JSON text: `jane.doe\\u0040example.com` decodes to `jane.doe@example.com`,
`project\\natlas` to two words on two lines. Read as written, escapes hide a value from the
policies, and a redaction spliced into the text can break it (a phone number written as a JSON
number would become `[REDACTED:PHONE]` unquoted). So arguments that are JSON are parsed, and
every object key, string value and integer value in them is a slot of its own; a rewrite
re-encodes the whole arguments text (a redacted integer becomes a string). Arguments that are
not JSON, or nest deeper than `MAX_DEPTH`, stay one slot read as written.
"""

from __future__ import annotations

from typing import Any

import orjson

#: below orjson's encoding limit (254 levels), so a rewrite can always be encoded
MAX_DEPTH = 200

Slot = tuple[Any, Any]


class _Arguments:
    """The parsed arguments of one call; a rewrite re-encodes them into the call."""

    __slots__ = ("fn", "root")

    def __init__(self, fn: dict[str, Any], root: Any) -> None:
        self.fn = fn
        self.root = root

    def save(self) -> None:
        self.fn["arguments"] = orjson.dumps(self.root).decode()


class _Values:
    """The string and integer values of one object or array (integers read as text)."""

    __slots__ = ("args", "inner", "renamed")

    def __init__(self, args: _Arguments, inner: Any, renamed: dict[str, str]) -> None:
        self.args = args
        self.inner = inner
        self.renamed = renamed  # keys renamed by a redaction: old -> new

    def __getitem__(self, key: Any) -> str:
        return str(self.inner[self.renamed.get(key, key)])

    def __setitem__(self, key: Any, text: str) -> None:
        self.inner[self.renamed.get(key, key)] = text
        self.args.save()


class _Keys:
    """The keys of one object; a rewrite renames the key in place (order kept)."""

    __slots__ = ("args", "inner", "renamed")

    def __init__(self, args: _Arguments, inner: dict[str, Any], renamed: dict[str, str]) -> None:
        self.args = args
        self.inner = inner
        self.renamed = renamed

    def __getitem__(self, key: str) -> str:
        return self.renamed.get(key, key)

    def __setitem__(self, key: str, text: str) -> None:
        current = self.renamed.get(key, key)
        items = list(self.inner.items())
        self.inner.clear()
        self.inner.update((text if k == current else k, v) for k, v in items)
        self.renamed[key] = text
        self.args.save()


def argument_slots(fn: dict[str, Any]) -> list[Slot] | None:
    """A slot per key and value in `fn["arguments"]`; None when it is not JSON to walk."""
    try:
        root = orjson.loads(fn["arguments"])
    except orjson.JSONDecodeError:
        return None
    if isinstance(root, str):
        return [(_RootString(fn, [root]), 0)]
    if not isinstance(root, dict | list):
        return None
    args = _Arguments(fn, root)
    slots: list[Slot] = []
    stack: list[tuple[Any, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return None
        renamed: dict[str, str] = {}
        values = _Values(args, node, renamed)
        if isinstance(node, dict):
            keys = _Keys(args, node, renamed)
            slots.extend((keys, k) for k in node)
        for key, value in node.items() if isinstance(node, dict) else enumerate(node):
            if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
                slots.append((values, key))
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
