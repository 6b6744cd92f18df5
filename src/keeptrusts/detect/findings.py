"""What a detector reports: a character span of the scanned text and the entity it holds."""

from __future__ import annotations

from typing import NamedTuple


class Finding(NamedTuple):
    start: int
    end: int
    entity: str


def word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def clear_before(text: str, i: int, joiners: str = "") -> bool:
    """True when the span starting at `i` is not glued to a word on its left.

    A `joiner` (e.g. `-` or `.`) just before the span counts as glue when a word
    character precedes it (`INV-2024...`, `v1.2...`).
    """
    if i <= 0:
        return True
    ch = text[i - 1]
    if word_char(ch):
        return False
    return not (ch in joiners and i >= 2 and word_char(text[i - 2]))


def clear_after(text: str, i: int, joiners: str = "") -> bool:
    """True when the span ending at `i` is not glued to a word on its right."""
    if i >= len(text):
        return True
    ch = text[i]
    if word_char(ch):
        return False
    return not (ch in joiners and i + 1 < len(text) and word_char(text[i + 1]))
