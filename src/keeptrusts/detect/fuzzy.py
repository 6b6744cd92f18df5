"""Bounded edit distance, and word windows of a text to compare with blocked terms."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator

import ahocorasick


def within(a: str, b: str, limit: int) -> bool:
    """True when the Levenshtein distance of `a` and `b` is at most `limit`.

    Only a band of width 2*limit+1 is computed, and the scan stops as soon as every cell
    in a row exceeds the limit: O(len * limit).
    """
    if abs(len(a) - len(b)) > limit:
        return False
    if a == b:
        return True
    if limit == 0:
        return False
    big = limit + 1
    prev = [j if j <= limit else big for j in range(len(b) + 1)]
    for i in range(1, len(a) + 1):
        lo = max(1, i - limit)
        hi = min(len(b), i + limit)
        cur = [big] * (len(b) + 1)
        cur[0] = i if i <= limit else big
        best = cur[0]
        ca = a[i - 1]
        for j in range(lo, hi + 1):
            cost = 0 if ca == b[j - 1] else 1
            v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            cur[j] = v if v <= limit else big
            best = min(best, cur[j])
        if best > limit:
            return False
        prev = cur
    return prev[len(b)] <= limit


def words(text: str) -> list[tuple[int, int]]:
    """(start, end) of each whitespace-separated word, edge punctuation trimmed."""
    out: list[tuple[int, int]] = []
    pos = 0
    for token in text.split():
        start = text.find(token, pos)
        end = start + len(token)
        pos = end
        a, b = start, end
        while a < b and not text[a].isalnum():
            a += 1
        while b > a and not text[b - 1].isalnum():
            b -= 1
        if a < b:
            out.append((a, b))
    return out


def windows(spans: list[tuple[int, int]], count: int) -> Iterator[tuple[int, int]]:
    """Spans covering `count` consecutive words."""
    for i in range(len(spans) - count + 1):
        yield spans[i][0], spans[i + count - 1][1]


def pieces(term: str, count: int) -> list[str]:
    """`term` cut into `count` nearly equal, non-empty consecutive pieces (fewer if short)."""
    count = max(1, min(count, len(term)))
    size, extra = divmod(len(term), count)
    out: list[str] = []
    pos = 0
    for i in range(count):
        n = size + (1 if i < extra else 0)
        out.append(term[pos : pos + n])
        pos += n
    return out


#: every character `str.split()` splits on (`str.isspace`), checked by a test
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def _fragments(piece: str) -> tuple[str, ...]:
    """What is certain to appear of a piece that a text holds unchanged. A text may hold any
    whitespace run where the term has a space, so: the longest space-free part of the piece
    (`" atlas"` -> `"atlas"`), or, for a piece that is only spaces, any one whitespace
    character."""
    longest = max(piece.split(" "), key=len)
    return (longest,) if longest else tuple(WHITESPACE)


class FuzzyTerms:
    """Word windows within `limit` edits of a term, found without comparing every window.

    Pigeonhole: cut a term into limit+1 pieces; a string within `limit` edits of it contains
    at least one piece unchanged. One Aho-Corasick pass finds the pieces (the longest
    space-free part of each: the words of a window may be apart by any whitespace run); only
    the word windows around a hit are compared (banded edit distance), with their whitespace
    runs as single spaces. Terms are case-folded.
    """

    def __init__(self, terms: list[str], limit: int, *, same_length: bool = False) -> None:
        self.terms = terms
        self.limit = limit
        #: only windows as long as the term (substitutions only, no insertion or deletion)
        self.same_length = same_length
        self.words = [len(t.split()) for t in terms]
        index: dict[str, set[int]] = {}
        for i, term in enumerate(terms):
            for piece in pieces(term, limit + 1):
                for fragment in _fragments(piece):
                    index.setdefault(fragment, set()).add(i)
        self._automaton = ahocorasick.Automaton()
        for piece, owners in index.items():
            self._automaton.add_word(piece, tuple(sorted(owners)))
        if index:
            self._automaton.make_automaton()
        self._empty = not index

    def find(self, text: str, folded: str) -> list[tuple[int, int]]:
        """(start, end) of word windows of `text` within `limit` edits of a term."""
        if self._empty:
            return []
        spans: list[tuple[int, int]] | None = None
        starts: list[int] = []
        checked: set[tuple[int, int]] = set()
        out: list[tuple[int, int]] = []
        for end_idx, owners in self._automaton.iter(folded):
            if spans is None:
                spans = words(text)
                starts = [a for a, _ in spans]
            w = bisect_right(starts, end_idx) - 1
            if w < 0:
                continue
            for i in owners:
                count = self.words[i]
                for first in range(max(0, w - count + 1), min(w, len(spans) - count) + 1):
                    if (i, first) in checked:
                        continue
                    checked.add((i, first))
                    a, b = spans[first][0], spans[first + count - 1][1]
                    window = folded[a:b] if count == 1 else " ".join(folded[a:b].split())
                    if self.same_length and len(window) != len(self.terms[i]):
                        continue
                    if within(window, self.terms[i], self.limit):
                        out.append((a, b))
        return out
