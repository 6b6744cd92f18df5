"""An image's URL as a text the policies read (a chat `image_url` part's `url`; the Responses
API's `input_image` and Anthropic's URL images arrive as such parts).

A URL carries text as a prompt does: `https://x/y?email=jane@acme.com&key=sk-...`. The policies
read it as the server that fetches it reads it: its ASCII percent-escapes decoded
(`jane%40acme.com` is `jane@acme.com`) and, after the `?`, `+` as a space. A redaction replaces
the characters of the URL as written that the match covers (an escape whole). A `data:` URL is
read up to its first comma, its media type and parameters: what follows is the image's bytes
(base64), not text, and may be megabytes. Escapes of non-ASCII characters stay as written.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from keeptrusts.pipeline.joined import Reading, Slot
from keeptrusts.pipeline.textscan import apply
from keeptrusts.pipeline.verdict import Match

#: an ASCII percent-escape's two hex digits (either case) -> its character
ESCAPES = {f"{c:02{x}}": chr(c) for c in range(0x80) for x in "xX"}


def url_slots(part: dict[str, Any], slots: list[Slot]) -> None:
    """The URL of an `image_url` part, if it has one."""
    image = part.get("image_url") if part.get("type") == "image_url" else None
    if isinstance(image, dict) and isinstance(image.get("url"), str) and image["url"]:
        slots.append((UrlText(image), "url"))


class UrlText(Reading):
    """`image["url"]` as the policies read it (see the module's docstring)."""

    __slots__ = ("_read", "image")

    def __init__(self, image: dict[str, Any]) -> None:
        self.image = image
        self._read = ("", "")

    def __getitem__(self, _: Any) -> str:
        raw = self.image["url"]
        if self._read[0] is not raw:  # read again after a policy rewrote it
            self._read = (raw, decoded(_readable(raw)))
        return self._read[1]

    def redact(self, matches: list[Match]) -> None:
        raw = self.image["url"]
        marks = moves(_readable(raw))
        if marks:  # positions in the decoded text -> in the URL as written
            at = [d for d, _ in marks]
            matches = [
                m._replace(start=_raw(marks, at, m.start), end=_raw(marks, at, m.end))
                for m in matches
            ]
        self.image["url"] = apply(raw, matches)


def _readable(url: str) -> str:
    """The URL's text: a `data:` URL's up to its first comma (its payload is not text)."""
    if url[:5].lower() == "data:":
        comma = url.find(",")
        return url if comma < 0 else url[:comma]
    return url


def decoded(text: str) -> str:
    """`text` with its ASCII escapes decoded, and `+` a space after `?` (a URL's query)."""
    query = text.find("?")
    if query >= 0 and "+" in text:  # (same length: no position moves)
        text = text[:query] + text[query:].replace("+", " ")
    if "%" not in text:
        return text
    first, *rest = text.split("%")
    pieces = [first]
    for piece in rest:
        char = ESCAPES.get(piece[:2])
        pieces.append("%" + piece if char is None else char + piece[2:])
    return "".join(pieces)


def moves(text: str) -> list[tuple[int, int]]:
    """Where the positions of `decoded(text)` move: (decoded position, position as written)
    at each escape decoded and after it (only redactions need them)."""
    if "%" not in text:
        return []
    first, *rest = text.split("%")
    marks: list[tuple[int, int]] = []
    written = read = len(first)
    for piece in rest:
        if piece[:2] in ESCAPES:
            marks += [(read, written), (read + 1, written + 3)]
            read -= 2
        written += 1 + len(piece)
        read += 1 + len(piece)
    return marks


def _raw(marks: list[tuple[int, int]], at: list[int], pos: int) -> int:
    k = bisect_right(at, pos) - 1
    return pos if k < 0 else marks[k][1] + pos - marks[k][0]
