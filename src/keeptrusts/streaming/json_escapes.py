"""Decode the `\\uXXXX` escapes of streamed JSON text (tool-call arguments) where JSON allows
the character written plainly, so the stream guard reads what the caller's decoder will read.

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
