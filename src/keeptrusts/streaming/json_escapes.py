"""Streamed JSON text (tool-call arguments) as the caller's decoder will read it.

`view` decodes every escape, for the policies to read (`project\\natlas` holds a line break),
with a map back to the text as written. `decode` rewrites the `\\uXXXX` escapes of the text
itself where JSON allows the character written plainly:

`jane.doe\\u0040example.com` becomes `jane.doe@example.com`: equivalent JSON, so the caller
decodes the same value. Escapes JSON requires stay: quotes, backslashes and control characters
(`\\n`, `\\"`, `\\\\`, `\\u0000`...), and lone surrogates. Decoding is idempotent, so the guard may
run it again over text it already decoded and holds. An escape cut by a chunk boundary is
reported, so the guard holds it until the rest arrives.
"""

from __future__ import annotations

_HEX = frozenset("0123456789abcdefABCDEF")


def decode(text: str) -> tuple[str, int]:
    """`text` with its escapes decoded, and where an escape cut at its end starts (its length
    when none is)."""
    if "\\" not in text:
        return text, len(text)
    out: list[str] = []
    i, n = 0, len(text)
    while True:
        j = text.find("\\", i)
        if j < 0:
            out.append(text[i:])
            break
        out.append(text[i:j])
        step, char = _escape(text, j)
        if step == 0:  # cut at the end
            done = "".join(out)
            return done + text[j:], len(done)
        out.append(char if char is not None else text[j : j + step])
        i = j + step
        if i >= n:
            break
    decoded = "".join(out)
    return decoded, len(decoded)


def _escape(text: str, j: int) -> tuple[int, str | None]:
    """The escape at `j`: its length (0 when the text ends inside it) and the character to
    write instead (None: keep it as it is)."""
    if j + 1 >= len(text):
        return 0, None
    if text[j + 1] != "u":
        return 2, None
    code = _hex4(text, j + 2)
    if code is None:
        return (0, None) if j + 6 > len(text) else (2, None)
    if 0xD800 <= code < 0xDC00:  # a high surrogate: the pair is one character
        if j + 12 > len(text):
            return (0, None) if text.startswith("\\u"[: len(text) - j - 6], j + 6) else (6, None)
        low = _hex4(text, j + 8) if text.startswith("\\u", j + 6) else None
        if low is None or not 0xDC00 <= low < 0xE000:
            return 6, None
        return 12, chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00))
    if code < 0x20 or code in (0x22, 0x5C) or 0xDC00 <= code < 0xE000:
        return 6, None
    return 6, chr(code)


def _hex4(text: str, at: int) -> int | None:
    digits = text[at : at + 4]
    if len(digits) < 4 or not set(digits) <= _HEX:
        return None
    return int(digits, 16)


#: what each two-character escape stands for
_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", '"': '"', "\\": "\\", "/": "/"}


def view(text: str, mapped: bool = True) -> tuple[str, list[int]]:
    """`text` with every escape decoded (what the policies read: `project\\natlas` has a line
    break), and where each of its characters starts in `text` (one more entry: the end; none
    unless `mapped`: a whole answer maps only what it redacts). An escape cut at the end stays
    as written."""
    out: list[str] = []
    starts: list[int] = []
    i, n = 0, len(text)
    while i < n:
        j = text.find("\\", i)
        if j < 0:
            j = n
        out.append(text[i:j])
        if mapped:
            starts.extend(range(i, j))
        if j >= n:
            break
        char, step = _any_escape(text, j)
        out.append(char)
        if mapped:  # (an escape kept as written maps character by character)
            starts.extend((j,) if len(char) == 1 else range(j, j + step))
        i = j + step
    starts.append(n)
    return "".join(out), starts


def _any_escape(text: str, j: int) -> tuple[str, int]:
    """The character an escape at `j` stands for (quotes and control characters too), and its
    length; an escape cut by the end of the text stands for itself."""
    if j + 1 >= len(text):
        return text[j:], len(text) - j
    kind = text[j + 1]
    if kind != "u":
        return _SIMPLE.get(kind, text[j : j + 2]), 2
    code = _hex4(text, j + 2)
    if code is None:
        return text[j : j + 2], 2
    if 0xD800 <= code < 0xDC00 and text.startswith("\\u", j + 6):
        low = _hex4(text, j + 8)
        if low is not None and 0xDC00 <= low < 0xE000:
            return chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)), 12
    return chr(code), 6


def in_string(text: str, pos: int, opened: bool = False) -> bool:
    """Whether position `pos` of JSON text is inside a string (`opened`: the text begins inside
    one). Quotes inside strings are escaped, so only the unescaped ones toggle."""
    inside = opened
    i = 0
    while True:
        q = text.find('"', i, pos)
        b = text.find("\\", i, pos) if inside else -1
        if b >= 0 and (q < 0 or b < q):
            i = b + 2  # an escape: its next character is not a quote that counts
            continue
        if q < 0:
            return inside
        inside = not inside
        i = q + 1
