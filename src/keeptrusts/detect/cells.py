"""A payment card split across the cells of a markdown table: `| 4111 1111 | 1111 1111 |`,
`| card | 4111 | 1111 | 1111 | 1111 |`.

`gaps` closes a cell border between two digits (`1111 | 1111`: up to four spaces or tabs, `|`,
up to four more) to one space, as it closes a wide gap, so the number scanners read the
groups on both sides as one run. Tables are full of numbers (quantities, prices, years), so
what is read across a border is the narrowest thing that is still a card (`card_across`):

- a card only (a known scheme's prefix and length, and the Luhn check, as the scanner checks
  every card), never a phone number, an SSN or an IBAN;
- its digit groups in a layout cards are printed in (`LAYOUTS`: 4-4-4-4, Amex's 4-6-5,
  Diners' 4-6-4, 4-4-4-4-3 for 19 digits, 4-4-5 for 13), so a row of years or of 3-digit
  prices is none;
- in whole cells of one row: no line break inside, and at each end a cell border (or the
  row's edge) with no number in the cell on its other side; a row of five numbers is a table
  of numbers, not a card and one more (so a card with its CVV in the next cell is not read
  either; with its expiry date, `| 12/27 |`, it is).

A paragraph break never joins a value (`4111 1111⏎⏎1111 1111`: two values), across cells or not.
A card found across cells is redacted cell by cell (`parts`), so the table keeps its columns.
"""

from __future__ import annotations

#: digit-group lengths of the card layouts read across cell borders
LAYOUTS = frozenset({(4, 4, 4, 4), (4, 6, 5), (4, 6, 4), (4, 4, 4, 4, 3), (4, 4, 5)})
#: how far the cells next to a value are read (within what a stream reads back: `CONTEXT`)
_EDGE = 24
_BREAKS = "\r\n"


def card_across(text: str, start: int, end: int) -> bool:
    """Whether the card found at `start:end` of `text`, across cell borders, is read as one
    (see the module docstring)."""
    value = text[start:end]
    if any(c in value for c in _BREAKS) or _layout(value) not in LAYOUTS:
        return False
    before = text[max(0, start - _EDGE) : start][::-1]
    return _at_edge(before) and _at_edge(text[end : end + _EDGE])


def parts(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The spans of a value at `start:end` in each cell it covers (one span without borders)."""
    out: list[tuple[int, int]] = []
    a = start
    while (bar := text.find("|", a, end)) >= 0:
        out.append((a, a + len(text[a:bar].rstrip(" \t"))))
        a = bar + 1
        a += len(text[a:end]) - len(text[a:end].lstrip(" \t"))
    out.append((a, end))
    return out


def _layout(value: str) -> tuple[int, ...]:
    return tuple(len(g) for g in "".join(c if c.isdigit() else " " for c in value).split())


def _at_edge(side: str) -> bool:
    """Whether a value ends at a cell's edge, `side` being the text next to it read outward:
    spaces, then the text's end, a line break, or a border before a cell that holds no number
    (`| 12/27 |` and `| Visa |` hold none, `| 123 |` one)."""
    rest = side.lstrip(" \t")
    if not rest or rest[0] in _BREAKS:
        return True
    if rest[0] != "|":
        return False
    return not _number(rest[1:].split("|", 1)[0].split("\n", 1)[0])


def _number(cell: str) -> bool:
    """A cell that holds digit groups only (as far as `_EDGE` reads it)."""
    groups = cell.split()
    return bool(groups) and all(g.isdigit() for g in groups)
