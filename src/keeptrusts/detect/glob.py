"""Shell-style globs (`gpt-4o*`, `claude-?-*`, `[ab]x`) compiled to one RE2 alternation."""

from __future__ import annotations

from collections.abc import Iterable

import re2


def translate(glob: str) -> str:
    """A glob as an RE2 pattern body: `*` any run, `?` one char, `[...]` a class."""
    out: list[str] = []
    i, n = 0, len(glob)
    while i < n:
        c = glob[i]
        i += 1
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[":
            start = i + 1 if i < n and glob[i] in "!^" else i
            if start < n and glob[start] == "]":
                start += 1  # a `]` first in a class is one of its characters
            j = glob.find("]", start)
            if j < 0:
                out.append(re2.escape(c))
                continue
            body = glob[i:j].replace("\\", "\\\\").replace("[", "\\[")
            if body[:1] in ("!", "^"):
                body = "^" + body[1:]
            if body[:1] == "]" or body[:2] == "^]":
                body = body.replace("]", "\\]", 1)
            out.append(f"[{body}]")
            i = j + 1
        else:
            out.append(re2.escape(c))
    return "".join(out)


def check_glob(glob: str) -> str:
    """The glob itself, when it compiles; else a ValueError naming it (a config error)."""
    options = re2.Options()
    options.log_errors = False  # the error is the config's to report, not RE2's stderr
    try:
        re2.compile(translate(glob), options)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ValueError(f"{glob!r} is not a valid glob ({reason})") from None
    return glob


class GlobSet:
    """Matches a name against any of several globs with one RE2 full match."""

    def __init__(self, globs: Iterable[str]) -> None:
        self.globs = tuple(globs)
        self._any = "*" in self.globs
        self._regex = (
            re2.compile("(?s:" + "|".join(f"(?:{translate(g)})" for g in self.globs) + ")")
            if self.globs and not self._any
            else None
        )

    def match(self, name: str) -> bool:
        if self._any:
            return True
        return self._regex is not None and self._regex.fullmatch(name) is not None
