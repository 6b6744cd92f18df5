"""Blocked terms: one case folding for terms and texts, whitespace runs, stream hold points.

- `fold` case-folds a text without changing its length, so offsets in the folded text are
  offsets in the text; `spellings` gives the folded forms of a term that texts are matched
  against (`straße` -> `straße` and `strasse`, so both spellings of the word match).
- A space in a term stands for any run of Unicode whitespace in a text (`Project\\n\\nAtlas`
  matches `project atlas`): `BlockedTerms` finds a multi-word term through its longest word
  and compares the others around each hit, across whitespace runs.
- `hold_start` is where a term still arriving in a stream could start, when a whitespace run
  inside a term counts as one character.

One Aho-Corasick pass per text, str built-ins around its (few) hits.
"""

from __future__ import annotations

from unicodedata import combining, normalize

import ahocorasick

from keeptrusts.detect.lookalikes import FULL_WIDTH, HOMOGLYPHS

#: spellings of one term at most (words with `ß`, `ﬁ`, `İ` have two each)
MAX_SPELLINGS = 16
#: letters folded to the Latin ones they show as (one for one: offsets stay offsets)
_SHOWN: dict[int, int | str] = {**FULL_WIDTH, **{ord(k): v for k, v in HOMOGLYPHS.items()}}
#: characters held at most for a term whose words are spread by long whitespace runs
MAX_HOLD = 8192


def fold(text: str) -> str:
    """Case-folded `text` of the same length: a character whose case folding is longer
    (`ß` -> `ss`) is lower-cased instead (`ẞ` -> `ß`), or kept when that is longer too; then
    letters that show as Latin ones (Cyrillic `о`, full-width `ａ`) are made Latin."""
    folded = text.casefold()
    if len(folded) != len(text):
        folded = "".join(_fold_char(c) for c in text)
    return _shown(folded)


def _shown(folded: str) -> str:
    return folded if folded.isascii() else folded.translate(_SHOWN)


def _fold_char(c: str) -> str:
    if len(f := c.casefold()) == 1:
        return f
    return f if len(f := c.lower()) == 1 else c


def spellings(term: str) -> set[str]:
    """The folded forms of `term` a text is matched against, whitespace runs as one space
    (empty for a blank term): each word as a text folds it and fully case-folded, composed
    and decomposed (`café` is also `cafe` + U+0301, as macOS and some models write it), in
    every combination (`große straße` also matches `GROSSE Straße`), at most MAX_SPELLINGS."""
    forms = [""]
    for word in term.split():
        variants = _variants(word)
        if len(forms) * len(variants) > MAX_SPELLINGS:
            return {" ".join(v.split()) for v in _variants(term)}
        forms = [f"{form} {v}" if form else v for form in forms for v in variants]
    return set(forms) - {""}


def _variants(text: str) -> dict[str, None]:
    """`text` folded and fully case-folded, in its composed and decomposed forms."""
    forms = dict.fromkeys((text, normalize("NFC", text), normalize("NFD", text)))
    return dict.fromkeys(v for f in forms for v in (fold(f), _shown(f.casefold())))


Spaced = tuple[tuple[str, ...], int]  # a multi-word term's words, and its anchor's index


class BlockedTerms:
    """Case-folded terms found with one Aho-Corasick pass, on word boundaries.

    A one-word term is a key of the automaton. A multi-word term is found through its
    longest word (its anchor): around each hit of it, the other words are compared, each
    across a whitespace run of any length. Text without hits costs the pass alone.
    """

    def __init__(self, forms: list[str]) -> None:
        whole: set[str] = set()
        anchored: dict[str, list[Spaced]] = {}
        for form in forms:
            words = tuple(form.split(" "))
            if len(words) == 1:
                whole.add(form)
            else:
                at = max(range(len(words)), key=lambda i: len(words[i]))
                anchored.setdefault(words[at], []).append((words, at))
        self._automaton = ahocorasick.Automaton()
        for key in whole | set(anchored):
            self._automaton.add_word(key, (len(key), key in whole, tuple(anchored.get(key, ()))))
        self.empty = not forms
        if forms:
            self._automaton.make_automaton()

    def spans(self, folded: str) -> list[tuple[int, int]]:
        """(start, end) of every term in `folded` (a `fold`ed text), left to right."""
        out: list[tuple[int, int]] = []
        if self.empty:
            return out
        for end_idx, (length, whole, spaced) in self._automaton.iter(folded):
            start, end = end_idx - length + 1, end_idx + 1
            if whole and _edge(folded, start - 1) and _edge(folded, end):
                out.append((start, end))
            for words, at in spaced:
                span = _around(folded, start, end, words, at)
                if span is not None:
                    out.append(span)
        return sorted(set(out)) if len(out) > 1 else out


def _around(
    text: str, start: int, end: int, words: tuple[str, ...], at: int
) -> tuple[int, int] | None:
    """The span of `words`, whitespace runs between them, whose word `at` is
    text[start:end], when it stands on word boundaries; else None."""
    for word in reversed(words[:at]):
        gap = _run_start(text, start)
        if gap == start or not text.endswith(word, 0, gap):
            return None
        start = gap - len(word)
    for word in words[at + 1 :]:
        gap = _run_end(text, end)
        if gap == end or not text.startswith(word, gap):
            return None
        end = gap + len(word)
    if _edge(text, start - 1) and _edge(text, end):
        return start, end
    return None


def _run_start(text: str, i: int) -> int:
    """Where the whitespace run ending at `i` starts (`i` when there is none)."""
    while i > 0 and text[i - 1].isspace():
        i -= 1
    return i


def _run_end(text: str, i: int) -> int:
    """Where the whitespace run starting at `i` ends (`i` when there is none)."""
    n = len(text)
    while i < n and text[i].isspace():
        i += 1
    return i


def _edge(text: str, i: int) -> bool:
    """A word boundary: no letter, digit or combining mark (`cafe` + U+0301 is `café`)."""
    return i < 0 or i >= len(text) or not (text[i].isalnum() or combining(text[i]))


def hold_start(text: str, units: int, cap: int = MAX_HOLD) -> int:
    """The earliest index where a match of at most `units` characters, a whitespace run
    counting as one, could still be arriving at the end of `text`: the start of the last
    `units` such characters, never more than `cap` characters back."""
    n = len(text)
    if n <= units:
        return 0
    tail = text[n - units :]
    if _single_spaced(tail):
        return n - units  # no whitespace run longer than one character: plain count
    floor = max(0, n - cap)
    i = n
    while i > floor and units > 0:
        units -= 1
        if text[i - 1].isspace():
            i = floor + len(text[floor:i].rstrip())  # the whole run, in C
        else:
            i -= 1
    return i


def _single_spaced(text: str) -> bool:
    """True when no whitespace run in (non-empty) `text` is longer than one character."""
    if text.isprintable():  # no whitespace but ASCII spaces
        return "  " not in text
    return len(" ".join(text.split())) + text[0].isspace() + text[-1].isspace() == len(text)
