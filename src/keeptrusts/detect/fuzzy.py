"""Bounded edit distance, and word windows of a text to compare with blocked terms."""

from __future__ import annotations

from collections.abc import Iterator


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
