"""Plain prose: a text that none of `pii-detector`'s readings but its token scan can be waiting
on, told in one pass.

A stream's held text is read on every delta: for a number's groups and those split by wide
gaps or table cells (digits), an address (`@`, `(at)`, `[at]`, ` at `), what a value's marks,
invisible characters or look-alikes hide (non-ASCII, control characters). Each reading has
its own cheap test, and together they were about a dozen substring scans per delta. Most
deltas of an answer are plain prose: ASCII text with no digit, no `@`, no bracket `()[]`, no
`|` and no bare ` at ` (markdown's `*`, `#`, `_`, backticks, line breaks and tabs are plain:
every reading that looks at gaps needs a digit next to them). `plain` tells them apart with
one scan of a character class (a class cannot backtrack) and two substring tests, and they
skip every other reading at once. Keys and tokens (`sk-…`, `eyJ…`, `-----BEGIN`) may be
plain: their scan always runs.
"""

from __future__ import annotations

import re

#: any character plain prose has not: all but printable ASCII, tabs and line breaks, and of
#: those digits, `@`, `(`, `)`, `[`, `]` and `|` (a character class: linear)
_NOT_PLAIN = re.compile(r"[^\t\n\r !-'*-/:-?A-Z\\^-{}~]")


def plain(text: str) -> bool:
    """Whether `text` is plain prose (see the module docstring)."""
    return _NOT_PLAIN.search(text) is None and " at " not in text and " AT " not in text
