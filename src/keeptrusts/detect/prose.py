"""Plain prose: a text that none of `pii-detector`'s readings but its token scan can be waiting
on, told in one pass.

A stream's held text is read on every delta: for a number's groups and those split by wide
gaps or table cells (digits), an address (`@`, `(at)`, `[at]`, ` at `), what a value's marks,
invisible characters or look-alikes hide (non-ASCII, control characters). Each reading has
its own cheap test, and together they were about a dozen substring scans per delta. Most
deltas of an answer are plain prose: ASCII text with no digit, no `@`, no bracket `()[]`, no
`|` and no bare ` at ` (markdown's `*`, `#`, `_`, backticks, line breaks and tabs are plain:
every reading that looks at gaps needs a digit next to them). `plain` tells them apart in one
pass over the text's bytes (deleting the bytes plain prose is made of, in C: a third of a
character-class scan's time) and two substring tests, and they skip every other reading at
once. Keys and tokens (`sk-…`, `eyJ…`, `-----BEGIN`) may be plain: their scan always runs.
"""

from __future__ import annotations

#: the bytes plain prose is made of: printable ASCII, tabs and line breaks, but digits, `@`,
#: `(`, `)`, `[`, `]` and `|` (a byte of a non-ASCII character is never one)
_PLAIN = bytes(
    c
    for c in range(128)
    if (0x20 <= c < 0x7F or chr(c) in "\t\n\r") and chr(c) not in "0123456789@()[]|"
)


def plain(text: str, data: bytes | None = None) -> bool:
    """Whether `text` is plain prose (see the module docstring); `data`: its UTF-8 bytes, when
    the caller has them."""
    if data is None:
        data = text.encode("utf-8", "surrogatepass")
    if data.translate(None, _PLAIN):
        return False
    return " at " not in text and " AT " not in text
