"""Invisible characters, and the text as it reads without them.

Zero-width spaces and joiners, soft hyphens, bidi controls and variation selectors render as
nothing: `4111\u200b1111\u200b1111\u200b1111` reads as a card number and `pro\u00adject atlas`
as a blocked term. `Visible.of` drops them and remembers where each kept character was, so a
span found in the visible text is mapped back to the text as written (the span then covers the
invisible characters inside it too), and so is a stream's hold point.

Text without them (all ASCII text, and most other text: one character-class scan, linear)
costs nothing more: its `Visible` is the text itself.

For `pii-detector` (`Visible.of(text, numbers=True)`), ASCII and Latin characters also lose
what is drawn on them: combining marks (`4\u0301155552671` shows the digits with an accent, a
keycap `4\ufe0f\u20e3` a digit in a box, and decomposed text writes `José` as `Jose\u0301`),
and an emoji loses its skin tone and the rest of its sequence (`lookalikes` reads an emoji
between digits as a space: `415\U0001f44d\U0001f3fd555 0132` reads as `415 555 0132`).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass

from keeptrusts.detect.engine import Encoded, compile_pattern

#: code points that render as nothing (Unicode tag characters are handled by `normalize`)
CODEPOINTS = [
    0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180E, 0x3164, 0xFEFF, 0xFFA0,
    *range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x2070),
    *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0), *range(0xE0000, 0xE0080),
    *range(0xFFF9, 0xFFFC), *range(0x1BCA0, 0x1BCA4),
]  # fmt: skip
#: runs of them: one character class, so the scan cannot backtrack
_RUNS = re.compile("[" + "".join(re.escape(chr(c)) for c in CODEPOINTS) + "]+")
_INVISIBLE = "".join(f"\\x{{{c:X}}}" for c in CODEPOINTS)
_ON = rf"[{_INVISIBLE}\p{{M}}\x{{1F3FB}}-\x{{1F3FF}}]"
#: invisible runs (no group); after a space (an emoji `lookalikes` made one), what joins the
#: rest of an emoji sequence to it (group 1); or what stands on an ASCII or Latin character
#: (group 2): marks, invisible characters, skin tones. RE2: linear.
_NUMBER_RUNS = compile_pattern(
    rf"[{_INVISIBLE}]+| ((?:\x{{200D}} |{_ON})+)|[\x00-\x7F\p{{Latin}}]({_ON}+)"
)


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
    def of(cls, text: str, numbers: bool = False) -> Visible:
        """`text` without its invisible characters; `numbers`: also without what is drawn on
        or joined to a number's digits and separators (see the module docstring)."""
        if text.isascii():
            return cls(text, len(text))
        runs = _number_runs(text) if numbers else [m.span() for m in _RUNS.finditer(text)]
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


def _number_runs(text: str) -> list[tuple[int, int]]:
    """Character spans of the runs `Visible.of(text, numbers=True)` drops (one RE2 pass; byte
    offsets become character offsets in one walk)."""
    enc = Encoded(text)
    data = enc.data
    runs: list[tuple[int, int]] = []
    byte = char = 0
    for spans in _NUMBER_RUNS.iter(enc):
        start, end = next(g for g in (spans[1], spans[2], spans[0]) if g[0] >= 0)
        char += len(data[byte:start].decode("utf-8", "surrogatepass"))
        width = len(data[start:end].decode("utf-8", "surrogatepass"))
        runs.append((char, char + width))
        byte, char = end, char + width
    return runs


def hold_from(text: str, hold: Callable[[str], int], numbers: bool = False) -> int:
    """A stream's hold point in `text` by `hold`, and no later than where `hold` puts it in
    the text as it shows (a match may also be arriving across invisible characters;
    `numbers`: as `Visible.of` reads numbers)."""
    at = hold(text)
    seen = Visible.of(text, numbers)
    if seen.changed:
        at = min(at, seen.index(hold(seen.text)))
    return at
