"""Texts a provider or a client reads as one: how the policies read them joined, and how a
redaction found on the joined text goes back into the texts it covers (`texts.py` builds the
runs while it walks a body)."""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from keeptrusts.pipeline.textscan import apply
from keeptrusts.pipeline.verdict import Match

#: `(container, key)` with `container[key]` a str: a policy's rewrite is one assignment
Slot = tuple[Any, Any]


class Reading:
    """A text the policies read that is not one `container[key]` string as it stands: its
    redactions go back through `redact` (texts read joined, tool-call arguments)."""

    __slots__ = ()

    def __getitem__(self, _: Any) -> str:
        raise NotImplementedError

    def redact(self, matches: list[Match]) -> None:
        raise NotImplementedError


class JoinedParts(Reading):
    """Texts a provider or a client reads as one text, in one reading: `seps[i]` stands between
    slot `i` and slot `i + 1` (nothing, a line break, a blank line). Each text stays its own
    slot: redactions found on the joined text are applied text by text (`redact`): a span
    within a text is replaced there; a span across texts puts its replacement in the text
    where it starts and cuts the rest from the texts it covers. Other texts stay as they are."""

    __slots__ = ("seps", "slots")

    def __init__(self, slots: list[Slot], seps: list[str]) -> None:
        self.slots = slots
        self.seps = seps

    def __getitem__(self, _: Any) -> str:
        (container, key), *rest = self.slots
        out = [container[key]]
        for sep, (container, key) in zip(self.seps, rest, strict=True):
            out += (sep, container[key])
        return "".join(out)

    def redact(self, matches: list[Match]) -> None:
        """Apply redactions found on the joined text to the texts they cover (each match
        visits only the texts it covers: many texts with many matches stay linear)."""
        starts: list[int] = []  # where each text starts in the joined text
        at = 0
        for (container, key), sep in zip(self.slots, [*self.seps, ""], strict=True):
            starts.append(at)
            at += len(container[key]) + len(sep)
        clipped: dict[int, list[Match]] = {}
        for m in matches:
            n = max(0, bisect_right(starts, m.start) - 1)
            replacement = m.replacement  # goes in the first text covered; the rest are cut
            while n < len(starts) and starts[n] < m.end:
                container, key = self.slots[n]
                lo, hi = starts[n], starts[n] + len(container[key])
                if m.start < hi and m.end > lo:
                    piece = m._replace(
                        start=max(m.start, lo) - lo,
                        end=min(m.end, hi) - lo,
                        replacement=replacement,
                    )
                    clipped.setdefault(n, []).append(piece)
                    replacement = ""
                n += 1
        for n, pieces in clipped.items():
            container, key = self.slots[n]
            container[key] = apply(container[key], pieces)


class Run:
    """Texts read as one while the body is walked, and what stands between them in the text a
    provider or a client reads: `gap` is what stands before the next one ("" by default)."""

    __slots__ = ("gap", "seps", "slots")

    def __init__(self) -> None:
        self.slots: list[Slot] = []
        self.seps: list[str] = []
        self.gap = ""

    def add(self, slot: Slot) -> None:
        if not slot[0][slot[1]]:
            return  # nothing to read; translators drop empty texts, their gap stays
        if self.slots:
            self.seps.append(self.gap)
        self.slots.append(slot)
        self.gap = ""

    def emit(self, out: list[Slot], also: list[Slot] | None = None) -> None:
        """Add the run's readings to `out` (and to `also`), and start a new run."""
        slots = self.slots
        if len(slots) == 1:  # the common case: one text on its own
            out.append(slots[0])
            if also is not None:
                also.append(slots[0])
            slots.clear()
        elif slots:
            readings = [(JoinedParts(slots, self.seps), "text")]
            if "" in self.seps:
                # a line break where nothing stands, read first: what it finds is redacted
                # before the reading joined with nothing, where a match could run on into the
                # next text's first word
                lines = [sep or "\n" for sep in self.seps]
                readings.insert(0, (JoinedParts(slots, lines), "text"))
            out += readings
            if also is not None:
                also += readings
            self.slots, self.seps = [], []
        self.gap = ""
