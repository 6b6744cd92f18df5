"""Invisible characters, and the text as it reads without them.

Zero-width spaces and joiners, soft hyphens, bidi controls and variation selectors render as
nothing: `4111\u200b1111\u200b1111\u200b1111` reads as a card number and `pro\u00adject atlas`
as a blocked term. `Visible.of` drops them and remembers where each kept character was, so a
span found in the visible text is mapped back to the text as written (the span then covers the
invisible characters inside it too), and so is a stream's hold point.

Text without them (all ASCII text, and most other text: one character-class scan, linear)
costs nothing more: its `Visible` is the text itself.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass

#: code points that render as nothing (Unicode tag characters are handled by `normalize`)
CODEPOINTS = [
    0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180E, 0x3164, 0xFEFF, 0xFFA0,
    *range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x2070),
    *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0), 0xE0000, 0xE0001, 0xE007F,
]  # fmt: skip
#: runs of them: one character class, so the scan cannot backtrack
_RUNS = re.compile("[" + "".join(re.escape(chr(c)) for c in CODEPOINTS) + "]+")


@dataclass(frozen=True, slots=True)
class Visible:
    """A text without its invisible characters, and the way back to the text as written."""

    text: str
    #: the length of the text as written
    length: int
    #: visible index at which each removed run was, ascending
    at: tuple[int, ...] = ()
    #: characters removed before `at[k]`, for k+1 runs: shift[0] == 0
    shift: tuple[int, ...] = (0,)

    @classmethod
    def of(cls, text: str) -> Visible:
        if text.isascii():
            return cls(text, len(text))
        runs = [m.span() for m in _RUNS.finditer(text)]
        if not runs:
            return cls(text, len(text))
        parts, at, shift, prev, removed = [], [], [0], 0, 0
        for start, end in runs:
            parts.append(text[prev:start])
            removed += end - start
            at.append(end - removed)
            shift.append(removed)
            prev = end
        parts.append(text[prev:])
        return cls("".join(parts), len(text), tuple(at), tuple(shift))

    @property
    def changed(self) -> bool:
        return bool(self.at)

    def index(self, i: int) -> int:
        """Where visible character `i` stands in the text as written (`len(text)` past the end)."""
        if i >= len(self.text):
            return self.length
        return i + self.shift[bisect_right(self.at, i)]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """A visible span as a span of the text as written (invisible characters inside it
        included)."""
        if end <= start:
            at = self.index(start)
            return at, at
        return self.index(start), self.index(end - 1) + 1


def hold_from(text: str, hold: Callable[[str], int]) -> int:
    """A stream's hold point in `text` by `hold`, and no later than where `hold` puts it in
    the text as it shows (a match may also be arriving across invisible characters)."""
    at = hold(text)
    seen = Visible.of(text)
    if seen.changed:
        at = min(at, seen.index(hold(seen.text)))
    return at
