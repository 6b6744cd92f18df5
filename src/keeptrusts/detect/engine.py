"""A thin, fast wrapper over RE2 for scanning one text with several compiled patterns.

`re2`'s Pythonic `finditer` re-encodes the text and rebuilds offset maps on every call;
on the request path that costs more than the match itself. Here a text is encoded once
(`Encoded`), patterns run on the UTF-8 bytes through RE2's own `Match`, and byte offsets
become character offsets only for the few spans that matched (free for ASCII text).
RE2 runs in time linear in the text and never backtracks.
"""

from __future__ import annotations

from collections.abc import Iterator

import re2

_UNANCHORED = re2._Anchor.UNANCHORED
_BOTH = re2._Anchor.ANCHOR_BOTH
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False

Span = tuple[int, int]


class PatternError(ValueError):
    """A pattern RE2 cannot compile (with RE2's reason)."""


class Encoded:
    """One text and its UTF-8 bytes, with byte -> character offset conversion."""

    __slots__ = ("ascii", "data", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.data = text.encode("utf-8", "surrogatepass")
        self.ascii = len(self.data) == len(text)

    @classmethod
    def from_bytes(cls, data: bytes) -> Encoded:
        """Wrap UTF-8 bytes already encoded (offsets of matches are then byte offsets)."""
        enc = cls.__new__(cls)
        enc.text = ""
        enc.data = data
        enc.ascii = True
        return enc

    def char(self, offset: int) -> int:
        if self.ascii:
            return offset
        return len(self.data[:offset].decode("utf-8", "surrogatepass"))

    def span(self, span: Span) -> Span:
        if self.ascii:
            return span
        start = self.char(span[0])
        return start, start + len(self.data[span[0] : span[1]].decode("utf-8", "surrogatepass"))


def compile_pattern(pattern: str) -> Pattern:
    """Compile `pattern` with RE2, raising PatternError with RE2's message when invalid."""
    return Pattern(pattern)


class Pattern:
    """A compiled RE2 pattern scanning `Encoded` texts."""

    __slots__ = ("_regexp", "groups", "pattern")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        try:
            compiled = re2.compile(pattern, _OPTIONS)
        except re2.error as exc:
            msg = exc.args[0] if exc.args else str(exc)
            if isinstance(msg, bytes):
                msg = msg.decode("utf-8", "replace")
            raise PatternError(str(msg)) from None
        self._regexp = compiled._regexp
        self.groups: int = compiled.groups

    def search(self, enc: Encoded, pos: int = 0) -> list[Span] | None:
        """The byte spans of the first match at or after byte `pos` (group 0 first)."""
        spans: list[Span] = self._regexp.Match(_UNANCHORED, enc.data, pos, len(enc.data))
        return None if spans[0][0] < 0 else spans

    def iter(self, enc: Encoded) -> Iterator[list[Span]]:
        """Every non-overlapping match, left to right, as byte spans."""
        data = enc.data
        end = len(data)
        pos = 0
        match = self._regexp.Match
        while pos <= end:
            spans: list[Span] = match(_UNANCHORED, data, pos, end)
            start, stop = spans[0]
            if start < 0:
                return
            yield spans
            pos = stop if stop > start else stop + 1

    def fullmatch_bytes(self, data: bytes) -> bool:
        spans: list[Span] = self._regexp.Match(_BOTH, data, 0, len(data))
        return spans[0][0] >= 0
