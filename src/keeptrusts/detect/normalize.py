"""Undo the usual evasions before matching injection patterns.

The injection scanner looks at lower-cased UTF-8 renderings of one text:

1. the text itself; non-ASCII text first loses invisible characters (zero-width spaces and
   joiners, soft hyphens, bidi controls, variation selectors), has Unicode tag characters
   (an invisible copy of ASCII) turned back into ASCII, is NFKC-normalised (full-width
   and mathematical letters, ligatures, circled letters become plain letters), and loses
   the combining marks on Latin, Greek, Cyrillic and common (digits, punctuation) characters
   (`I\u0301gnore`, `ìgnórè` -> `ignore`; `strip_marks`): other scripts (Devanagari, Arabic,
   Hangul, kana...) keep their marks, which are part of their spelling;
2. the same with homoglyphs folded (Cyrillic `о`, Greek `ο` -> Latin `o`, ...) when that
   changes anything, kept apart so Cyrillic and Greek text still matches its own patterns;
3. the same with leetspeak folded (`1gn0r3` -> `ignore`) when that changes anything;
4. the same with letter-spacing removed (`i g n o r e` -> `ignore`) when present;
5. the decoded text of base64 runs that decode to readable UTF-8 (one level deep).

Renderings 3-5 are made only when the scan of the text saw a sign of them (a digit inside
a word, a letter-spaced run, a base64-looking run), so plain text costs one RE2 pass.
Everything is str/bytes built-ins plus RE2, linear in the text.
"""

from __future__ import annotations

import binascii
import unicodedata

from keeptrusts.detect import invisible, lookalikes
from keeptrusts.detect.engine import Encoded, compile_pattern

_STRIP: dict[int, str | None] = {cp: None for cp in invisible.CODEPOINTS}
# Unicode tag characters mirror printable ASCII invisibly ("ASCII smuggling")
_STRIP.update({0xE0000 + c: chr(c) for c in range(0x20, 0x7F)})

_HOMOGLYPHS = str.maketrans(lookalikes.HOMOGLYPHS)
_STRIP.update({ord(c): " " for c in "“”«»„"})
_STRIP.update({ord(c): "'" for c in "‘’"})
_MARKUP = bytes.maketrans(b'"*`', b"   ")
_LEET = bytes.maketrans(b"0134578@$|!", b"oieastbasii")
#: RE2 bodies the injection scanner joins to its own pass (lower-cased text)
SPACED_PATTERN = r"(?:\b[a-z][ .\-_*]{1,3}){2,}[a-z]\b"
BASE64_PATTERN = r"[a-z0-9+/_\-]{20,}={0,2}"
LEET_PATTERN = r"[a-z][0134578@$|!]+[a-z]|\b[0134578@$|][a-z]{2,}"
_BASE64 = compile_pattern(r"[A-Za-z0-9+/_\-]{20,}={0,2}")
# Combining marks of the generic blocks (accents on Latin, Greek and Cyrillic letters, marks
# for symbols, half marks) go from decomposed text whatever they are on; other scripts' own
# marks (Devanagari, Arabic, Hebrew, kana voicing...) stay, but not on Latin, Greek, Cyrillic
# or common characters (`_MARKED`)
_GENERIC_MARKS = [
    *range(0x0300, 0x0370), *range(0x0483, 0x048A), *range(0x1AB0, 0x1B00),
    *range(0x1DC0, 0x1E00), *range(0x20D0, 0x2100), *range(0xFE20, 0xFE30),
]  # fmt: skip
_MARKS: dict[int, str | None] = {cp: None for cp in _GENERIC_MARKS}
_CLEAN = {**_STRIP, **_MARKS}
_MARKED = compile_pattern(
    r"(?:[\x00-\x7f]\p{M}+)+|[\p{Latin}\p{Greek}\p{Cyrillic}\p{Common}]\p{M}+"
)
#: what can carry a mark `clean` drops: a non-ASCII Latin, Greek or Cyrillic letter (é, й, ά),
#: a generic mark, or any mark on an ASCII or common character
_MAY_CARRY_MARKS = compile_pattern(
    r"[\x{C0}-\x{24F}\x{370}-\x{52F}\x{1C80}-\x{1C8F}\x{1E00}-\x{1FFF}\x{2C60}-\x{2C7F}"
    r"\x{2DE0}-\x{2DFF}\x{A640}-\x{A69F}\x{A720}-\x{A7FF}\x{AB30}-\x{AB6F}"
    r"\x{300}-\x{36F}\x{483}-\x{489}\x{1AB0}-\x{1AFF}\x{1DC0}-\x{1DFF}\x{20D0}-\x{20FF}"
    r"\x{FE20}-\x{FE2F}]|[\x00-\x7f\p{Common}]\p{M}"
)
_NON_ASCII = bytes(range(0x80, 0x100))
#: UTF-8 sequence length by the lead byte's high nibble
_UTF8_LENGTH = (1,) * 12 + (2, 2, 3, 4)
_B64_FIX = bytes.maketrans(b"-_", b"+/")

#: decoded base64 payloads looked at per text, and their total size
MAX_PAYLOADS = 16
MAX_DECODED = 64 * 1024


def clean(text: str, *, unicode: bool = True) -> bytes:
    """Lower-cased UTF-8 text without invisible characters, NFKC-normalised and without
    combining marks on Latin, Greek, Cyrillic and common characters (non-ASCII only).

    Markup that splits words (`"`, `*`, backticks) becomes spaces: `**ignore** "all"` reads
    as `ignore all`. An ASCII text keeps its character offsets.
    """
    if text.isascii() or not unicode:
        return text.lower().encode("utf-8", "surrogatepass").translate(_MARKUP)
    composed = unicodedata.normalize("NFKC", text.translate(_STRIP))
    data = composed.encode("utf-8", "surrogatepass")
    if _MAY_CARRY_MARKS.search(Encoded.from_bytes(data)) is None:
        # no Latin, Greek or Cyrillic letter beyond ASCII and no mark that `clean` drops
        # (CJK, kana, Hangul, Devanagari, Arabic...): NFKC alone gives the same text
        return composed.lower().encode("utf-8", "surrogatepass").translate(_MARKUP)
    # NFKD, then one translation drops the invisible characters and the generic marks,
    # and NFKC composes what is left (as NFKC of the text would, without those)
    decomposed = unicodedata.normalize("NFKD", text).translate(_CLEAN)
    cleaned = unicodedata.normalize("NFKC", _drop_marks(decomposed)).lower()
    return cleaned.encode("utf-8", "surrogatepass").translate(_MARKUP)


def strip_marks(text: str) -> str:
    """`text` (NFC) without the combining marks that `clean` drops: accents, and marks
    stacked on letters to break words up. Patterns matched against `clean` text go through
    it (`règles`, `игнорируй` then match with or without their marks)."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text).translate(_MARKS)
    return unicodedata.normalize("NFC", _drop_marks(decomposed))


def _drop_marks(decomposed: str) -> str:
    """`decomposed` without the (non-generic) marks still put on a Latin, Greek, Cyrillic or
    common character (a Devanagari nukta or a Hebrew point on `i`): one RE2 pass."""
    if decomposed.isascii():
        return decomposed
    data = decomposed.encode("utf-8", "surrogatepass")
    parts: list[bytes] = []
    pos = 0
    for spans in _MARKED.iter(Encoded.from_bytes(data)):
        start, end = spans[0]
        parts.append(data[pos:start])
        if data[start] < 0x80:  # ASCII characters, each with marks: their bytes are the ASCII
            parts.append(data[start:end].translate(None, _NON_ASCII))
        else:  # one other character with its marks
            parts.append(data[start : start + _UTF8_LENGTH[data[start] >> 4]])
        pos = end
    if not parts:
        return decomposed
    parts.append(data[pos:])
    return b"".join(parts).decode("utf-8", "surrogatepass")


def fold_homoglyphs(cleaned: bytes) -> bytes:
    """`cleaned` with Cyrillic, Greek and other look-alike letters folded to Latin."""
    return (
        cleaned.decode("utf-8", "surrogatepass")
        .translate(_HOMOGLYPHS)
        .encode("utf-8", "surrogatepass")
    )


def fold_leet(data: bytes) -> bytes:
    """`1gn0r3` -> `ignore` (lower-case UTF-8 bytes in, same length out)."""
    return data.translate(_LEET)


def squeeze(data: bytes, spans: list[tuple[int, int]]) -> bytes:
    """`data` with the letter-spaced runs at `spans` (byte offsets) closed up.

    Single separators inside a run go; longer ones (`e. .p`) become one space.
    """
    parts: list[bytes] = []
    pos = 0
    for start, end in spans:
        parts.append(data[pos:start])
        run = data[start:end]
        for i, c in enumerate(run):
            if 0x61 <= c <= 0x7A:
                parts.append(run[i : i + 1])
            elif i + 1 < len(run) and not 0x61 <= run[i + 1] <= 0x7A and 0x61 <= run[i - 1] <= 0x7A:
                parts.append(b" ")
        pos = end
    parts.append(data[pos:])
    return b"".join(parts)


def decode_payload(run: str) -> str | None:
    """The readable UTF-8 text a base64 (or base64url) run encodes, or None."""
    return _decode(run)


def decoded_payloads(text: str) -> list[str]:
    """Readable text hidden in base64 runs of `text` (bounded in number and size)."""
    if not text.isascii():
        text = text.encode("ascii", "ignore").decode("ascii")
    out: list[str] = []
    budget = MAX_DECODED
    for spans in _BASE64.iter(Encoded(text)):
        start, end = spans[0]
        if len(out) >= MAX_PAYLOADS or end - start > budget:
            break
        decoded = _decode(text[start:end])
        if decoded is not None:
            out.append(decoded)
            budget -= end - start
    return out


def _decode(run: str) -> str | None:
    raw = run.encode("ascii").translate(_B64_FIX).rstrip(b"=")
    raw += b"=" * (-len(raw) % 4)
    try:
        data = binascii.a2b_base64(raw)
        text = data.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    if not text or sum(ch.isprintable() or ch.isspace() for ch in text) < 0.9 * len(text):
        return None
    return text
