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


def _email_pattern(word: str, alpha: str) -> str:
    return (
        rf"[{word}_%+\-]+(?:\.[{word}_%+\-]+)*"
        rf"@(?:[{word}](?:[{word}\-]*[{word}])?\.)+[{alpha}]{{2,63}}"
    )


# ASCII text gets the ASCII pattern: Unicode classes make RE2's automaton far larger (about
# 7 MiB and 50 ms to compile), so that one is compiled only when a non-ASCII text has an "@"
_EMAIL_ASCII = compile_pattern(_email_pattern("A-Za-z0-9", "A-Za-z"))


@cache
def _email_unicode() -> Pattern:
    return compile_pattern(_email_pattern(r"\pL\pN", r"\pL"))


IBAN_PATTERN = r"(?i:[a-z]{2}[0-9]{2}(?: ?[a-z0-9]){11,32})"
IPV6_PATTERN = (
    r"(?i:(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}"
    r"|(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6})?::(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6})?"
    r"(?::(?:[0-9]{1,3}\.){3}[0-9]{1,3})?)"
)


def emails(enc: Encoded, out: list[Finding]) -> None:
    if "@" not in enc.text:
        return
    for spans in (_EMAIL_ASCII if enc.ascii else _email_unicode()).iter(enc):
        start, end = enc.span(spans[0])
        out.append(Finding(start, end, EMAIL))


def iban_end(text: str, start: int, end: int) -> int | None:
    """End of the IBAN starting at `start` (its country's length), if it checks out."""
    length = IBAN_LENGTHS.get(text[start : start + 2].upper())
    if length is None:
        return None
    compact: list[str] = []
    i = start
    while i < end and len(compact) < length:
        if text[i] != " ":
            compact.append(text[i].upper())
        i += 1
    if len(compact) != length or not iban_ok("".join(compact)):
        return None
    return i if clear_after(text, i) else None


def ipv6_ok(text: str, start: int, end: int) -> bool:
    if not clear_before(text, start, ":") or not clear_after(text, end, ":"):
        return False
    candidate = text[start:end]
    if sum(1 for p in candidate.split(":") if p) < 2:
        return False
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return True
