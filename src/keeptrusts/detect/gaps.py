"""Number groups split by wide gaps, and the text as it reads with each gap closed to one space.

Values are written with more than one space between their groups (`4111  1111  1111  1111`,
`+49  30  901820`, aligned in a form), with tabs (`4111\t1111\t...`, pasted from a
spreadsheet), or wrapped at the end of a line (`4111 1111\n1111 1111`). The number scanners
read groups split by single separators; `Gapped.of` closes each such gap to one space and
remembers where the removed characters were (as `invisible.Visible` does), so a value found in
the closed-up text is mapped back to the text as written, gap included.

A gap is two to four spaces, one or two tabs, or one line break (with up to four spaces or
tabs around it), between two groups of which one at least has a digit. What a gap may split
(`allowed`): cards and IBANs, whose check digits confirm the reading, across any of them but
one line break at most (a value wrapped once; a column of numbers is not one number); phone
numbers across spaces and tabs only when written internationally (`+49  30  901820`,
`0049\t30\t901820`): national numbers and SSNs split this way are columns of a table.

A markdown table's cell border between two digits (`| 4111 1111 | 1111 1111 |`) is closed the
same way, and only a card in whole cells of one row, printed in a card's layout, is read
across it (`cells`).

Texts without two spaces, a tab, a line break or a `|` next to a digit (most texts:
`may_have`, a few substring tests; when one is present, one RE2 pass) cost nothing more.
"""

from __future__ import annotations

from bisect import bisect_left

from keeptrusts.detect import cells
from keeptrusts.detect.engine import Encoded, Pattern, compile_pattern
from keeptrusts.detect.invisible import Visible

#: what a gap is (group 1 in both patterns)
_GAP = r"( {2,4}|\t{1,2}|[ \t]{0,4}\r?\n[ \t]{0,4})"
#: a markdown table's cell border between two digits (`1111 | 1111`; `cells`)
_CELL = r"([ \t]{0,4}\|[ \t]{0,4})"
#: a gap between two groups, a digit on one side at least (`GB82  WEST  1234`, `(415)  555`)
_BETWEEN = rf"[0-9]{_GAP}[(+]?[0-9A-Za-z]|[A-Za-z)]{_GAP}[(+]?[0-9]|[0-9]{_CELL}[0-9]"
_SCAN = compile_pattern(_BETWEEN)
#: (a stream's hold point) also a gap at the end of the text, before the next group arrives,
#: or one still arriving (a `\r` before its `\n`)
_HOLD = compile_pattern(rf"{_BETWEEN}|[0-9A-Za-z)](?:{_GAP}|([ \t]{{0,4}}\r))\z|[0-9]{_CELL}\z")

CREDIT_CARD = "credit_card"
CARD_OR_IBAN = frozenset((CREDIT_CARD, "iban"))
PHONE = "phone"
#: the entities `allowed` may read across a gap
WIDE_ENTITIES = CARD_OR_IBAN | {PHONE}


def may_have(text: str) -> bool:
    """Whether `text` may have a gap (cheap: the caller tests it before `Gapped.of`)."""
    # (line breaks and tabs are not printable)
    return not text.isprintable() or "  " in text or "|" in text


class Gapped:
    """A text with its wide gaps closed to one space each, and the way back."""

    __slots__ = ("gaps", "original", "seen")

    def __init__(self, original: str, seen: Visible, gaps: list[tuple[int, int]]) -> None:
        self.original = original
        self.seen = seen
        #: (start, end) of each gap in the original text, ascending
        self.gaps = gaps

    @property
    def text(self) -> str:
        return self.seen.text

    @classmethod
    def of(cls, text: str, hold: bool = False) -> Gapped | None:
        """`text` with its gaps closed, or None when it has none (`hold`: also a gap at its
        end, where a stream may still receive the next group)."""
        gaps = _gaps(text, _HOLD if hold else _SCAN)
        if not gaps:
            return None
        parts: list[str] = []
        at: list[int] = []
        shift = [0]
        prev = removed = 0
        for start, end in gaps:
            parts.append(text[prev:start])
            parts.append(" ")
            removed += end - start - 1
            at.append(end - removed)
            shift.append(removed)
            prev = end
        parts.append(text[prev:])
        seen = Visible("".join(parts), len(text), tuple(at), tuple(shift))
        return cls(text, seen, gaps)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """A span of the closed-up text as a span of the text as written."""
        return self.seen.span(start, end)

    def index(self, i: int) -> int:
        return self.seen.index(i)

    def allowed(self, start: int, end: int, entity: str) -> bool:
        """Whether a value found at `start:end` (of the text as written) may be read across
        the gaps inside it; False when it has none (the text as written already gave it)."""
        first = bisect_left(self.gaps, (start, start))
        inside = [g for g in self.gaps[first:] if g[1] <= end]
        if not inside:
            return False
        if any("|" in self.original[a:b] for a, b in inside):
            return entity == CREDIT_CARD and cells.card_across(self.original, start, end)
        breaks = sum("\n" in self.original[a:b] for a, b in inside)
        if entity in CARD_OR_IBAN:
            return breaks <= 1
        if entity != PHONE or breaks:
            return False
        head = self.original[start : start + 3].lstrip("(")
        return head.startswith(("+", "00"))


def _gaps(text: str, pattern: Pattern) -> list[tuple[int, int]]:
    """Character spans of the gaps `pattern` finds (each search resumes at a gap's end, so
    one-digit groups between gaps are read on both sides; byte offsets become character
    offsets in one walk)."""
    enc = Encoded(text)
    data = enc.data
    out: list[tuple[int, int]] = []
    pos = byte = char = 0
    while True:
        spans = pattern.search(enc, pos)
        if spans is None:
            return out
        b_start, b_end = next(g for g in spans[1:] if g[0] >= 0)
        if enc.ascii:
            out.append((b_start, b_end))
        else:  # (a gap is ASCII: as many characters as bytes)
            char += len(data[byte:b_start].decode("utf-8", "surrogatepass"))
            out.append((char, char + b_end - b_start))
            byte, char = b_end, char + b_end - b_start
        pos = b_end
