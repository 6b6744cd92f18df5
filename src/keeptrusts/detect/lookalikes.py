"""Separators and digits that read as ASCII ones, folded to them before PII is looked for.

Chat models write numbers with Unicode spaces and dashes (`+1 415\u2011555\u20110132` with
non-breaking hyphens, `4111\u202f1111…` with narrow no-break spaces), and full-width forms
(`４１１１`) are a copy-paste away; an emoji between digits reads as a separator, and a
number written in another script's digits (`٤١٥٥٥٥٢٦٧١`) as that number. Each such
character becomes one ASCII character, so the
folded text has the same length and every position found in it is a position in the original:
the redaction applies to the text as written.
"""

from __future__ import annotations

import re
import unicodedata

#: Unicode spaces a number's groups may be split by -> " "
SPACES = (
    "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
)
#: hyphens, dashes and minus signs -> "-"
DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63"
#: full-width ASCII (U+FF01-U+FF5E: digits, letters, `@`, `.`, `+`...) -> ASCII
FULL_WIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}
#: small commercial at -> `@` (the ideographic full stops that domain names accept as dots
#: stay: they end CJK sentences; `contact` reads them in domains)
DOTS_AND_AT = {0xFE6B: "@"}
#: lower-case Cyrillic, Greek and other letters that show as Latin ones -> those
#: (prompt-injection and blocked terms read texts with them folded)
HOMOGLYPHS = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "һ": "h", "і": "i", "ї": "i", "ј": "j",
    "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t", "у": "y",
    "х": "x", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ӏ": "l", "ɡ": "g", "ɑ": "a",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o",
    "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "γ": "y", "ω": "w",
    # Latin look-alikes and IPA
    "ı": "i", "ȷ": "j", "ℓ": "l", "ɩ": "i", "ʏ": "y", "ɴ": "n", "ʀ": "r", "ꜱ": "s",
}  # fmt: skip

#: emoji and pictographs -> " ": one between digits reads as a separator to whoever reads
#: the number (`415\U0001f44d555 0132`); skin-tone modifiers (U+1F3FB-U+1F3FF) are left to
#: `invisible`, which drops them with the rest of an emoji sequence
PICTOGRAPHS = [
    *range(0x2600, 0x27C0), *range(0x2B00, 0x2C00),
    *range(0x1F000, 0x1F3FB), *range(0x1F400, 0x1FB00),
]  # fmt: skip

_TABLE: dict[int, str | int] = {
    **{ord(c): " " for c in SPACES},
    **{ord(c): "-" for c in DASHES},
    **FULL_WIDTH,
    **DOTS_AND_AT,
    **dict.fromkeys(PICTOGRAPHS, " "),
}
#: one character class: a linear scan, and most non-ASCII text has none of these
_ANY = re.compile(
    f"[{SPACES}{DASHES}\uff01-\uff5e\ufe6b\u2600-\u27bf\u2b00-\u2bff"
    "\U0001f000-\U0001f3fa\U0001f400-\U0001faff]"
)


#: a decimal digit of another script (Arabic-Indic `٤١٥`, Devanagari `४१५`, mathematical
#: `𝟒𝟏𝟓`): numbers are written in them, and read as the same number. A character class
#: (Unicode `\d` without ASCII digits): linear
_OTHER_DIGIT = re.compile(r"[^\D0-9]")


def fold(text: str) -> str:
    """`text` with look-alike separators, full-width characters, emoji and other scripts'
    decimal digits made ASCII (same length)."""
    if text.isascii():
        return text
    if _ANY.search(text) is not None:
        text = text.translate(_TABLE)
    if _OTHER_DIGIT.search(text) is not None:
        text = _OTHER_DIGIT.sub(_ascii_digit, text)
    return text


def _ascii_digit(m: re.Match[str]) -> str:
    return str(unicodedata.decimal(m.group()))
