"""YAML loading that remembers where every key came from (file and line).

PyYAML's composer gives nodes with marks; we build plain Python values from them and record
`path -> (file, line)` so a validation error can name the line. YAML 1.1's `on/off/yes/no`
booleans are turned off: `fallback: {on: [...]}` must stay the string key "on".

A policy config comes from a ConfigMap anyone with edit rights can change, and the gateway and
the control plane parse it while serving, so the subset read is deliberately small:
- aliases (`*name`) are refused: expanding them is what makes a few hundred bytes of
  "billion laughs" cost gigabytes; a policy config can always write the value out;
- merge keys (`<<:`), custom tags (`!env`) and duplicate keys are refused (a duplicate key
  would silently drop the first value: a whole `policies:` chain, say);
- nesting is bounded (`MAX_DEPTH`), so composing never runs out of stack.
A few keys are text whatever they look like (`VERBATIM`): `pack.version: 1.10` is the version
"1.10" as written, not the float 1.1 (nor `010` the octal number 8).
Each refusal is a `YamlError` naming the file, the line and the key path. With libyaml (in
PyYAML's wheels) the text is scanned in C, about ten times faster than pure Python.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import yaml
from yaml.composer import Composer, ComposerError
from yaml.constructor import SafeConstructor
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

Path = tuple[str | int, ...]

#: deeper than any sensible policy config; bounds the composer's recursion
MAX_DEPTH = 64

_STD = "tag:yaml.org,2002:"
MAP_TAG, SEQ_TAG, MERGE_TAG = _STD + "map", _STD + "seq", _STD + "merge"
SCALAR_TAGS = frozenset(_STD + t for t in ("str", "int", "float", "bool", "null", "timestamp"))
#: plain scalars YAML would turn into numbers or dates; under a `VERBATIM` key they stay text
_TEXT_LIKE = frozenset(_STD + t for t in ("int", "float", "timestamp"))
#: keys whose value is kept as written: a version is text (`1.10` is not `1.1`)
VERBATIM: frozenset[Path] = frozenset({("pack", "version")})


ONE_DOCUMENT = (
    "a policy config file holds one YAML document; remove this '---' "
    "(layer more files instead: later files override earlier ones)"
)


class _Resolver(Resolver):
    """Implicit types of YAML 1.1, except that booleans are only true/false (YAML 1.2 style)."""


_Resolver.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != _STD + "bool"]
    for key, resolvers in Resolver.yaml_implicit_resolvers.copy().items()
}
_Resolver.add_implicit_resolver(
    _STD + "bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class _Alias(yaml.ScalarNode):
    """Where an alias (`*name`) was written; `_build` refuses it with its path."""


class _BoundedComposer(Composer):
    """PyYAML's composer, with aliases kept as `_Alias` markers (never expanded) and a depth cap."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        events: Any = self  # the parser half of the loader (pure Python or libyaml)
        if events.check_event(yaml.AliasEvent):
            event = events.get_event()
            return _Alias("alias", event.anchor, event.start_mark, event.end_mark)
        if self._depth >= MAX_DEPTH:
            mark = events.peek_event().start_mark
            raise ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _PyLoader(Reader, Scanner, Parser, _BoundedComposer, SafeConstructor, _Resolver):
    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        _BoundedComposer.__init__(self)
        SafeConstructor.__init__(self)
        _Resolver.__init__(self)


class _Loading(Protocol):
    def get_single_node(self) -> yaml.Node | None: ...
    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any: ...
    def dispose(self) -> None: ...


_Loader: Callable[[str], _Loading] = _PyLoader
try:
    from yaml._yaml import CParser

    class _CLoader(_BoundedComposer, CParser, SafeConstructor, _Resolver):
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            _BoundedComposer.__init__(self)
            SafeConstructor.__init__(self)
            _Resolver.__init__(self)

    _Loader = _CLoader
except ImportError:  # pragma: no cover - PyYAML's wheels include libyaml
    pass


@dataclass
class Located:
    """A loaded document and the position of every path in it."""

    data: Any
    positions: dict[Path, tuple[str, int]] = field(default_factory=dict)


class YamlError(ValueError):
    """A file that is not valid YAML (or uses a refused feature), with file and line."""


@dataclass
class _Doc:
    """What `_build` needs while it walks one document."""

    filename: str
    positions: dict[Path, tuple[str, int]]
    loader: _Loading

    def error(self, node: yaml.Node, path: Path, problem: str) -> YamlError:
        key = f"{dotted(path)}: " if path else ""
        return YamlError(f"{self.filename}:{node.start_mark.line + 1}: {key}{problem}")


def load(text: str, filename: str) -> Located:
    loader = _Loader(text)
    out = Located(data={})
    try:
        node = loader.get_single_node()
        if node is None or _empty_document(node):  # errors still name the file
            out.positions[()] = (filename, 1)
        else:
            out.data = _build(node, (), _Doc(filename, out.positions, loader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        if problem == "but found another document":  # get_single_node: a second `---`
            problem = ONE_DOCUMENT
        elif mark is not None and _char_at(text, mark.line, mark.column) == "\t":
            problem = (
                f"a tab character (column {mark.column + 1}): YAML indents with spaces only; "
                "replace it with spaces"
            )
        raise YamlError(f"{filename}:{line}: invalid YAML: {problem}") from exc
    finally:
        loader.dispose()
    return out


def _char_at(text: str, line: int, column: int) -> str:
    lines = text.splitlines()
    return lines[line][column : column + 1] if 0 <= line < len(lines) else ""


def _empty_document(node: yaml.Node) -> bool:
    """A document that is only `---` (and comments): empty like a comment-only file. A written
    `null` or `~` is not empty: it is a value, and not a mapping."""
    return (
        isinstance(node, yaml.ScalarNode)
        and node.tag == _STD + "null"
        and node.value == ""
        and not node.style  # plain (None in PyYAML, "" in libyaml), not a quoted ""
    )


def _build(node: yaml.Node, path: Path, doc: _Doc) -> Any:
    doc.positions[path] = (doc.filename, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        _check_tag(node, MAP_TAG, path, doc)
        return _mapping(node, path, doc)
    if isinstance(node, yaml.SequenceNode):
        _check_tag(node, SEQ_TAG, path, doc)
        return [_build(item, (*path, i), doc) for i, item in enumerate(node.value)]
    return _scalar(node, path, doc)


def _mapping(node: yaml.MappingNode, path: Path, doc: _Doc) -> dict[Any, Any]:
    result: dict[Any, Any] = {}
    first_line: dict[Any, int] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise doc.error(key_node, path, "keys must be scalars")
        key = _scalar(key_node, (*path, key_node.value), doc)
        child = (*path, key)
        if key in first_line:
            raise doc.error(key_node, child, f"duplicate key (first at line {first_line[key]})")
        first_line[key] = key_node.start_mark.line + 1
        result[key] = _build(value_node, child, doc)
        doc.positions[child] = (doc.filename, first_line[key])
    return result


def _scalar(node: yaml.Node, path: Path, doc: _Doc) -> Any:
    if isinstance(node, _Alias):
        raise doc.error(
            node, path, f"YAML aliases (*{node.value}) are not supported; write the value out"
        )
    if node.tag == MERGE_TAG:
        raise doc.error(node, path, "YAML merge keys (<<) are not supported; write the keys out")
    if node.tag not in SCALAR_TAGS:
        raise doc.error(node, path, _unsupported(node.tag))
    if path in VERBATIM and node.tag in _TEXT_LIKE and isinstance(node.value, str):
        return node.value
    try:
        return doc.loader.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError) as exc:  # e.g. `!!int x`
        problem = getattr(exc, "problem", None) or str(exc)
        raise doc.error(node, path, f"not a valid {_short(node.tag)}: {problem}") from exc


def _check_tag(node: yaml.Node, expected: str, path: Path, doc: _Doc) -> None:
    if node.tag != expected:
        raise doc.error(node, path, _unsupported(node.tag))


def _unsupported(tag: str) -> str:
    return f"the YAML tag {_short(tag)} is not supported (plain values only)"


def _short(tag: str) -> str:
    return "!!" + tag[len(_STD) :] if tag.startswith(_STD) else tag


def dotted(path: tuple[Any, ...]) -> str:
    """`("policy", "pii", "entities", 1)` -> `policy.pii.entities[1]`."""
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def where(positions: dict[Path, tuple[str, int]], path: Path) -> tuple[str, int] | None:
    """The position of the longest prefix of `path` that was written in a file."""
    for n in range(len(path), -1, -1):
        hit = positions.get(path[:n])
        if hit is not None:
            return hit
    return None
