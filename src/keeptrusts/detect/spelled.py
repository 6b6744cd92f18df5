"""E-mail addresses written out against harvesters, and where a stream holds one still arriving.

`contact` reads the bracketed forms, glued or spaced (`info(at)firma.de`, `info [at] firma
[dot] de`, `(punkt)`). Here are the bare words, `info at firma dot de` (in lower or upper case),
with up to four spaces between them (`info  at  firma  dot  de`, as a form aligns it), which
prose also writes (`look at this dot com bubble`, `worked at the dot com boom`); they
count only when written out in full (`at` and at least one `dot`, or `punkt`, between
host-like words: a bare `at` before a dotted domain is prose, `available at github.com`), when
the last part is a known top-level domain, when neither the part before `at` nor the
domain's parts are common words of prose (`look`, `this`, `the`...; `stopwords`), and when the
part before `at` is no verb in -ing after a word of prose (`job hunting at acme dot com`; a
stream reads that word back: `pii.read_back`).

A stream holds back the tail that could still become a written-out address (`hold_start`):
a word and up to four spaces (`info ` may be followed by `[at]`), an `at` form or its beginning
(`info (a`), and the domain's parts and dots arriving after it.
"""

from __future__ import annotations

from keeptrusts.detect import contact, holdpoint
from keeptrusts.detect.engine import Encoded, compile_pattern
from keeptrusts.detect.findings import Finding, clear_after, clear_before
from keeptrusts.detect.stopwords import BEFORE_GERUND, PROSE, TLDS

EMAIL = "email"

_WORD = r"[\pL\pN_%+'\-]+"
_LOCAL = rf"{_WORD}(?:\.{_WORD})*"
_LABEL = r"[\pL\pN](?:[\pL\pN\-]*[\pL\pN])?"
_SP = contact.SPACES
_BARE = compile_pattern(
    rf"({_LOCAL}){_SP}(?:at|AT){_SP}((?:{_LABEL}{_SP}(?:dot|DOT|punkt|PUNKT){_SP})+)"
    r"([A-Za-z]{2,24})"
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
    name = text[local[0] : local[1]].lower()
    if name in PROSE or _gerund(text, start, name):
        return False
    labels = text[domain[0] : domain[1]].split()[::2]  # (every other word is `dot`)
    return not any(label.lower() in PROSE for label in labels)


#: how far back the word before a local part is read (`_gerund`)
_BEFORE_CHARS = 24


def _gerund(text: str, start: int, name: str) -> bool:
    """Whether the local part `name` (at `start`) is a verb in -ing after a word of prose
    (`job hunting at acme dot com`, `are hiring at ...`; not `to marketing at ...`)."""
    if len(name) < 5 or not name.endswith("ing") or "." in name:
        return False
    before = text[max(0, start - _BEFORE_CHARS) : start].rstrip(" ").rsplit(None, 1)
    return bool(before) and before[-1].lower() in BEFORE_GERUND


def _begun(atoms: list[str]) -> str:
    """A pattern for every non-empty beginning of what `atoms` match in turn (`(at)`: `(`,
    `(a`, `(at`, `(at)`)."""
    out = ""
    for atom in reversed(atoms):
        out = f"{atom}(?:{out})?" if out else atom
    return out


def _bracketed_begun(words: list[str]) -> str:
    """The beginnings of `(word)` and `[word]` (`contact.bracketed`), after an optional space."""
    forms = [
        _begun([o, " ?", *(f"(?i:{c})" for c in w), " ?", c])
        for w in words
        for o, c in ((r"\(", r"\)"), (r"\[", r"\]"))
    ]
    return " {0,4}(?:" + "|".join(forms) + ")"


def _word_begun(word: str) -> str:
    return _begun(list(word))


_AT_FULL = rf"@|{contact.bracketed('at')}|{_SP}(?:at|AT){_SP}"
_DOT_FULL = rf"\.|{contact.bracketed('dot|punkt')}|{_SP}(?:dot|DOT|punkt|PUNKT){_SP}"
#: what may still follow a local part (spaces, an `at` form begun) or a domain's label
_AT_BEGUN = rf"{_SP}|{_bracketed_begun(['at'])}|{_SP}(?:a|at|A|AT)"
_DOT_BEGUN = (
    rf"{_SP}|{_bracketed_begun(['dot', 'punkt'])}"
    + f"|{_SP}(?:"
    + "|".join(_word_begun(w) for w in ("dot", "DOT", "punkt", "PUNKT"))
    + ")"
)
_ADDRESS = compile_pattern(
    rf"[\pL\pN_%+'\-.]+(?:(?:{_AT_BEGUN})?|(?:{_AT_FULL})(?:{_LABEL}(?:{_DOT_FULL}))*"
    rf"(?:{_LABEL}(?:{_DOT_BEGUN})?)?)\z"
)


def hold_start(text: str, floor: int) -> int:
    """Where an address written with spaces (`info [at] firma (dot) de`, `info at firma dot
    de`) that may still be arriving starts in `text` (`len(text)` if none; not before
    `floor`). A few substring tests unless the text holds an `at` form (RE2)."""
    if _at_form(text):
        return _address_start(text, floor)
    return local_start(text, floor)


def local_start(text: str, floor: int) -> int:
    """(`text` holds no `at` form) Where a local part followed by spaces, or by the start of a
    bare `at`, starts at the end of `text` (`len(text)` if none: `info `, `info a`)."""
    if text[-1:] in LAST_CHARS and text.endswith(_AT_ENDINGS):
        spaced = len(text.rstrip("atAT"))
        low = max(floor, spaced - _MAX_SPACES)
        end = low + len(text[low:spaced].rstrip(" "))
        if end < spaced:
            return _local_start(text, floor, end)
    return len(text)


def _at_form(text: str) -> bool:
    """Whether `text` may hold an `at` form, whole or begun at its end (cheap tests: code
    has brackets everywhere, `(a`, `[ a` far less often)."""
    if " at " in text or " AT " in text:
        return True
    if "(" not in text and "[" not in text:
        return False
    if "@" in text:  # (a bracketed dot after an `@`: `jane@example (dot) com`)
        return True
    low = text.lower()
    return "(a" in low or "[a" in low or "( a" in low or "[ a" in low or low.endswith(_OPENS)


_OPENS = ("(", "[", "( ", "[ ")
#: how a text may end after a local part before any `at` form is whole, and its last character
_AT_ENDINGS = (" ", " a", " A", " at", " AT")
LAST_CHARS = frozenset(" aAtT")
#: the most spaces between a local part and its `at`
_MAX_SPACES = 4


def _local_start(text: str, floor: int, end: int) -> int:
    """The start of the word that ends at `end` in a local part's character (`len(text)` if
    none does: `pleasant, ` ends a clause, not an address)."""
    if end <= floor or not (text[end - 1].isalnum() or text[end - 1] in "_%+'-"):
        return len(text)
    return holdpoint.token_start(text, floor, end)


def _address_start(text: str, floor: int) -> int:
    """The earliest start of a written-out address the end of `text` may be inside (RE2)."""
    tail = text[floor:] if floor else text
    spans = _ADDRESS.search(Encoded(tail))
    if spans is None:
        return len(text)
    head = tail.encode("utf-8", "surrogatepass")[: spans[0][0]]
    return floor + len(head.decode("utf-8", "surrogatepass"))
