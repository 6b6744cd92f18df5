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
            j = glob.find("]", i + 1 if i < n and glob[i] in "!^" else i)
            if j < 0:
                out.append(re2.escape(c))
                continue
            body = glob[i:j].replace("\\", "\\\\")
            if body[:1] in ("!", "^"):
                body = "^" + body[1:]
            out.append(f"[{body}]")
            i = j + 1
        else:
            out.append(re2.escape(c))
    return "".join(out)


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
