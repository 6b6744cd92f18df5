"""An image's URL as a text the policies read (a chat `image_url` part's `url`; the Responses
API's `input_image` and Anthropic's URL images arrive as such parts).

A URL carries text as a prompt does: `https://x/y?email=jane@acme.com&key=sk-...`. The policies
read it as the server that fetches it reads it: its percent-escapes decoded (`jane%40acme.com`
is `jane@acme.com`, `m%C3%BCller` is `müller`; an escaped byte that is not UTF-8 is read as
U+FFFD) and, after the `?`, `+` as a space. A redaction replaces the characters of the URL as
written that the match covers (an escaped character whole). A `data:` URL is read up to its
first comma, its media type and parameters: what follows is the image's bytes (base64), not
text, and may be megabytes. A URL whose readable part is longer than `MAX_URL_CHARS` is refused
(400): HTTP servers refuse request lines a fraction of that size, and reading it whole bounds
what decoding its escapes costs (each costs Python work, unlike the policies' C engines).
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any
from urllib.parse import unquote

from keeptrusts.errors import ValidationFailed
from keeptrusts.pipeline.joined import Reading, Slot
from keeptrusts.pipeline.textscan import apply
from keeptrusts.pipeline.verdict import Match

#: an ASCII percent-escape's two hex digits (either case) -> its character
ESCAPES = {f"{c:02{x}}": chr(c) for c in range(0x80) for x in "xX"}
HEX_PAIRS = frozenset(a + b for a in "0123456789abcdefABCDEF" for b in "0123456789abcdefABCDEF")
#: the longest readable part of an image URL (a `data:` URL's payload does not count)
MAX_URL_CHARS = 32 * 1024
#: the bytes that are not UTF-8, as `surrogateescape` decodes them -> U+FFFD
_NOT_UTF8 = {c: "\ufffd" for c in range(0xDC80, 0xDD00)}


def url_slots(part: dict[str, Any], slots: list[Slot]) -> None:
    """The URL of an `image_url` part, if it has one."""
    image = part.get("image_url") if part.get("type") == "image_url" else None
    if isinstance(image, dict) and isinstance(image.get("url"), str) and image["url"]:
        if len(_readable(image["url"])) > MAX_URL_CHARS:
            raise ValidationFailed(
                f"an image_url.url is longer than {MAX_URL_CHARS} characters, more than the "
                "policies read: send the image as a data: URL (base64), or a shorter link"
            )
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
    """`text` with its escapes decoded, and `+` a space after `?` (a URL's query)."""
    text = _spaced(text)
    if "%" not in text:
        return text
    # (as `_pieces` reads it, at a fraction of the cost: each byte that is not UTF-8 is U+FFFD)
    return unquote(text, errors="surrogateescape").translate(_NOT_UTF8)


def moves(text: str) -> list[tuple[int, int]]:
    """Where the positions of `decoded(text)` move: (decoded position, position as written)
    at each character an escape (or a run of them) stood for, and after it (only redactions
    need them)."""
    text = _spaced(text)
    if "%" not in text:
        return []
    marks: list[tuple[int, int]] = []
    read = written = 0
    for piece, length in _pieces(text):
        if len(piece) != length:  # (an escaped character)
            marks += [(read, written), (read + 1, written + length)]
        read += len(piece)
        written += length
    return marks


def _spaced(text: str) -> str:
    query = text.find("?")
    if query >= 0 and "+" in text:  # (same length: no position moves)
        return text[:query] + text[query:].replace("+", " ")
    return text


def _pieces(text: str) -> list[tuple[str, int]]:
    """`text` as (what is read, its length as written) pieces: an escaped character is one
    piece (an ASCII escape, or the escapes of one UTF-8 character)."""
    first, *rest = text.split("%")
    out = [(first, len(first))]
    run = bytearray()  # (escapes of non-ASCII bytes, not yet decoded)
    for piece in rest:
        code = piece[:2]
        byte = int(code, 16) if len(code) == 2 and code in HEX_PAIRS else -1
        if byte >= 0x80:
            run.append(byte)
            if len(piece) == 2:
                continue  # (the run may go on)
        _flush(run, out)
        if 0 <= byte < 0x80:
            out.append((ESCAPES[code], 3))
        elif byte < 0:
            out.append(("%" + piece, 1 + len(piece)))
            continue
        if len(piece) > 2:
            out.append((piece[2:], len(piece) - 2))
    _flush(run, out)
    return out


def _flush(run: bytearray, out: list[tuple[str, int]]) -> None:
    """A run of escaped non-ASCII bytes: its UTF-8 characters, each byte that is not one
    read as U+FFFD."""
    if run:
        for char in run.decode(errors="surrogateescape"):
            if "\udc80" <= char <= "\udcff":  # (a byte that is not UTF-8)
                out.append(("\ufffd", 3))
            else:
                out.append((char, 3 * len(char.encode())))
        run.clear()


def _raw(marks: list[tuple[int, int]], at: list[int], pos: int) -> int:
    k = bisect_right(at, pos) - 1
    return pos if k < 0 else marks[k][1] + pos - marks[k][0]
