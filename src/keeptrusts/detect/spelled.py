"""E-mail addresses written out against harvesters, and where a stream holds one still arriving.

`contact` reads the bracketed forms, glued or spaced (`info(at)firma.de`, `info [at] firma
[dot] de`, `(punkt)`). Here are the bare words, `info at firma dot de` (in lower or upper case),
which prose also writes (`look at this dot com bubble`, `worked at the dot com boom`); they
count only when written out in full (`at` and at least one `dot`, or `punkt`, between
host-like words: a bare `at` before a dotted domain is prose, `available at github.com`), when
the last part is a known top-level domain, and when neither the part before `at` nor the
domain's parts are common words of prose (`look`, `this`, `the`...; `stopwords`).

A stream holds back the tail that could still become a written-out address (`hold_start`):
a word and a space (`info ` may be followed by `[at]`), an `at` form or its beginning
(`info (a`), and the domain's parts and dots arriving after it.
"""

from __future__ import annotations

from keeptrusts.detect import holdpoint
from keeptrusts.detect.engine import Encoded, compile_pattern
from keeptrusts.detect.findings import Finding, clear_after, clear_before
from keeptrusts.detect.stopwords import PROSE, TLDS

EMAIL = "email"

_WORD = r"[\pL\pN_%+'\-]+"
_LOCAL = rf"{_WORD}(?:\.{_WORD})*"
_LABEL = r"[\pL\pN](?:[\pL\pN\-]*[\pL\pN])?"
_BARE = compile_pattern(
    rf"({_LOCAL}) (?:at|AT) ((?:{_LABEL} (?:dot|DOT|punkt|PUNKT) )+)([A-Za-z]{{2,24}})"
)


def _may_have_words(text: str) -> bool:
    """Cheap: a written-out address needs a bare ` at ` and ` dot ` (or ` punkt `)."""
    if " at " not in text and " AT " not in text:
        return False
    return " dot " in text or " DOT " in text or "punkt " in text or "PUNKT " in text


def emails(enc: Encoded, out: list[Finding]) -> None:
    """Addresses written out in bare words (see the module docstring)."""
    text = enc.text
    if not _may_have_words(text):
        return
    pos = 0
    while True:
        spans = _BARE.search(enc, pos)
        if spans is None:
            return
        start, end = enc.span(spans[0])
        local = enc.span(spans[1])
        domain = enc.span(spans[2])
        tld = enc.span(spans[3])
        if _address(text, start, end, local, domain, tld):
            out.append(Finding(start, end, EMAIL))
            pos = spans[0][1]
        else:  # (resume after the local part: the domain may start another address)
            pos = spans[1][1] + 1


def _address(
    text: str,
    start: int,
    end: int,
    local: tuple[int, int],
    domain: tuple[int, int],
    tld: tuple[int, int],
) -> bool:
    if not (clear_before(text, start, ".") and clear_after(text, end, ".-")):
        return False
    if text[tld[0] : tld[1]].lower() not in TLDS:
        return False
    if text[local[0] : local[1]].lower() in PROSE:
        return False
    labels = text[domain[0] : domain[1]].split()[::2]  # (every other word is `dot`)
    return not any(label.lower() in PROSE for label in labels)


def _prefixes(word: str) -> str:
    """A pattern for every non-empty beginning of `word` (`(at)`: `(`, `(a`, `(at`, `(at)`)."""
    out = ""
    for ch in reversed(word):
        escaped = "\\" + ch if not ch.isalnum() else f"(?i:{ch})"
        out = f"{escaped}(?:{out})?" if out else escaped
    return out


def _either(words: list[str], prefix: bool) -> str:
    if prefix:
        return "|".join(_prefixes(w) for w in words)
    return "|".join("".join("\\" + c if not c.isalnum() else c for c in w) for w in words)


_AT_BRACKETS = ["(at)", "[at]"]
_DOT_BRACKETS = ["(dot)", "[dot]", "(punkt)", "[punkt]"]
_AT_FULL = rf"@| ?(?i:{_either(_AT_BRACKETS, False)}) ?| (?:at|AT) "
_DOT_FULL = rf"\.| ?(?i:{_either(_DOT_BRACKETS, False)}) ?| (?:dot|DOT|punkt|PUNKT) "
#: what may still follow a local part (a space, an `at` form begun) or a domain's label
_AT_BEGUN = rf" | ?(?:{_either(_AT_BRACKETS, True)})| (?:a|at|A|AT)"
_DOT_BEGUN = rf" | ?(?:{_either(_DOT_BRACKETS, True)})| (?:{_prefixes('dot')}|{_prefixes('punkt')})"
_ADDRESS_BEGUN = compile_pattern(
    rf"[\pL\pN_%+'\-.]+(?:(?:{_AT_BEGUN})?|(?:{_AT_FULL})(?:{_LABEL}(?:{_DOT_FULL}))*"
    rf"(?:{_LABEL}(?:{_DOT_BEGUN})?)?)\z"
)


def hold_start(text: str, floor: int) -> int:
    """Where an address written with spaces (`info [at] firma (dot) de`, `info at firma dot
    de`) that may still be arriving starts in `text` (`len(text)` if none; not before
    `floor`). A few substring tests unless the text holds a bracket or a bare `at`."""
    if "(" in text or "[" in text or " at " in text or " AT " in text:
        return _begun(text, floor)
    # (no `at` form yet: only a local part and a space, or the start of a bare `at`)
    if text[-1:] in _LAST and text.endswith(_AT_ENDINGS):
        end = len(text.rstrip("atAT")) - 1
        if text[end] == " ":
            return _local_start(text, floor, end)
    return len(text)


#: how a text may end after a local part before any `at` form is whole, and its last character
_AT_ENDINGS = (" ", " a", " A", " at", " AT")
_LAST = frozenset(" aAtT")


def _local_start(text: str, floor: int, end: int) -> int:
    """The start of the word that ends at `end` in a local part's character (`len(text)` if
    none does: `pleasant, ` ends a clause, not an address)."""
    if end <= floor or not (text[end - 1].isalnum() or text[end - 1] in "_%+'-"):
        return len(text)
    return holdpoint.token_start(text, floor, end)


def _begun(text: str, floor: int) -> int:
    """The earliest start of a written-out address the end of `text` may be inside (RE2)."""
    tail = text[floor:] if floor else text
    spans = _ADDRESS_BEGUN.search(Encoded(tail))
    if spans is None:
        return len(text)
    head = tail.encode("utf-8", "surrogatepass")[: spans[0][0]]
    return floor + len(head.decode("utf-8", "surrogatepass"))
