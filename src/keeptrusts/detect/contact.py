"""E-mail addresses, and the validators of IBAN and IPv6 candidates."""

from __future__ import annotations

import ipaddress
from functools import cache

from keeptrusts.detect.checksums import IBAN_LENGTHS, iban_ok
from keeptrusts.detect.engine import Encoded, Pattern, compile_pattern
from keeptrusts.detect.findings import Finding, clear_after, clear_before

EMAIL = "email"
IBAN = "iban"
IP_ADDRESS = "ip_address"

#: RFC 5321: an address is at most 254 characters
EMAIL_MAX = 254


#: the spaces a written-out address may have around its words and brackets (`info  [at]
#: firma`, as a form aligns it): up to four, as a wide gap (`gaps`)
SPACES = " {1,4}"


def bracketed(words: str) -> str:
    """`(word)` or `[word]` in any case, up to four spaces on either side (`info  [at]  firma`)
    and one inside the brackets (`[ at ]`)."""
    return rf" {{0,4}}(?:\( ?(?i:{words}) ?\)|\[ ?(?i:{words}) ?\]) {{0,4}}"


#: `@`, or `(at)` / `[at]` as addresses are written against harvesters (`info(at)firma.de`,
#: common on German and French sites), also with spaces on either side (`info [at]
#: firma.de`); a bare word (`info at firma dot de`) is `spelled`'s
_AT = rf"(?:@|{bracketed('at')})"
#: a domain's dot written the same way (`info(at)firma(dot)de`, `(punkt)` in German)
_DOT = rf"(?:\.|{bracketed('dot|punkt')})"


#: how an `at` in brackets ends (`_written_at`)
_AT_ENDS = ("t)", "t]", "T)", "T]", "t )", "t ]", "T )", "T ]")


def _email_pattern(word: str, alpha: str, dots: str = "") -> str:
    label = rf"[{word}](?:[{word}\-]*[{word}])?"
    # (`dots`: other characters read as a domain's dots, before a Latin top-level domain)
    tld = rf"{_DOT}[{alpha}]{{2,63}}" + (rf"|[{dots}][A-Za-z]{{2,63}}" if dots else "")
    dot = rf"(?:{_DOT}|[{dots}])" if dots else _DOT
    return (
        rf"[{word}_%+\-]+(?:[.'][{word}_%+\-]+)*"
        rf"{_AT}(?:{label}{dot})*{label}(?:{tld})"
    )


# ASCII text gets the ASCII pattern: Unicode classes make RE2's automaton far larger (about
# 7 MiB and 50 ms to compile), so that one is compiled only when a non-ASCII text has an "@"
_EMAIL_ASCII = compile_pattern(_email_pattern("A-Za-z0-9", "A-Za-z"))


@cache
def _email_unicode() -> Pattern:
    # a domain's dots may be ideographic full stops (IDNA reads `example。com` as example.com);
    # one that ends a sentence (`jane@example.com。谢谢`) is no dot
    return compile_pattern(_email_pattern(r"\pL\pN", r"\pL", r"\x{3002}\x{FF61}"))


def _written_at(text: str) -> bool:
    """Whether `text` may hold an `(at)` or `[at]`, also `[ at ]` (a cheap test before the
    pattern runs: most texts have neither bracket)."""
    if ")" not in text and "]" not in text:
        return False
    return any(end in text for end in _AT_ENDS)


#: groups split by single spaces, dashes or dots (`DE89 3704 ...`, `DE89-3704-...`,
#: `DE89.3704. ...`), and in capitals, a space after the country code (`DE 89 3704 ...`; in
#: lower case, `de 20 jaar ...` is prose)
IBAN_PATTERN = (
    r"(?i:[a-z]{2}[0-9]{2}(?:[ .\-]?[a-z0-9]){11,32})|[A-Z]{2} [0-9]{2}(?:[ .\-]?[A-Z0-9]){11,32}"
)
IPV6_PATTERN = (
    r"(?i:(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}"
    r"|(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6})?::(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6})?"
    r"(?::(?:[0-9]{1,3}\.){3}[0-9]{1,3})?)"
)


def emails(enc: Encoded, out: list[Finding]) -> None:
    text = enc.text
    if "@" not in text and not _written_at(text):
        return
    pattern = _EMAIL_ASCII if enc.ascii else _email_unicode()
    pos = 0
    while (spans := pattern.search(enc, pos)) is not None:
        start, end = enc.span(spans[0])
        pos = spans[0][1]
        if _at_next(text, end):
            # `info [at] firma [dot] debob@acme.com`: what read as the top-level domain may be
            # the local part of the next address; it is read from there too (overlapping), as
            # a stream reading back from a later point reads it
            tld = len(text[start:end].rstrip(_LETTERS))
            pos = spans[0][0] + len(text[start : start + tld].encode("utf-8", "surrogatepass"))
        if not _remote_path(text, start, end):
            out.append(Finding(start, end, EMAIL))


_AT_NEXT = compile_pattern(rf"\A(?:{_AT})")
#: the longest `at` form (`    [ at ]`: four spaces before the brackets, one inside)
_AT_NEXT_CHARS = 12


def _at_next(text: str, end: int) -> bool:
    """Whether an `at` form (`@`, `(at)`, ` [ at ]`) follows `end`."""
    if end >= len(text) or text[end] not in "@([ ":
        return False
    return _AT_NEXT.search(Encoded(text[end : end + _AT_NEXT_CHARS])) is not None


_PATH_START = frozenset("/~._-")
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _remote_path(text: str, start: int, end: int) -> bool:
    """`git@github.com:org/repo.git`, `deploy@host.example.com:/srv`: an SSH/scp remote (a
    login at a host, then `:` and a path), not a mailbox. A `user:password@host:port` in a URL
    still counts (the local part follows a `:`), so a password is never let through."""
    if end + 1 >= len(text) or text[end] != ":":
        return False
    after = text[end + 1]
    if not (after.isalnum() or after in _PATH_START):
        return False
    return start == 0 or text[start - 1] != ":"


def iban_end(text: str, start: int, end: int) -> int | None:
    """End of the IBAN starting at `start` (its country's length), if it checks out."""
    length = IBAN_LENGTHS.get(text[start : start + 2].upper())
    if length is None:
        return None
    compact: list[str] = []
    i = start
    while i < end and len(compact) < length:
        if text[i] not in " -.":
            compact.append(text[i].upper())
        i += 1
    if len(compact) != length or not iban_ok("".join(compact)):
        return None
    return i if clear_after(text, i) else None


def ipv6_ok(text: str, start: int, end: int) -> bool:
    if not clear_before(text, start, ":") or not clear_after(text, end, ":"):
        return False
    # `a::b::c`, `dead::beef`: C++/Rust/Ruby paths made of hex letters; an address in a log
    # or a config has digits (`fe80::1`, `2001:db8::8a2e`)
    if text.startswith("::", end) or text.endswith("::", 0, start):
        return False
    candidate = text[start:end]
    if not any(c.isdigit() for c in candidate):
        return False
    if sum(1 for p in candidate.split(":") if p) < 2:
        return False
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return True
