"""Where a PII value that is still arriving could start, so a stream holds back only that tail.

Every built-in entity is either one whitespace-free token (e-mail, card or SSN with dashes,
IP, key, token, JWT) or a run of short number-like groups separated by single spaces (a card,
phone number or IBAN written in groups), or a private-key block whose BEGIN line has spaces.
So text before the last such run can no longer become part of a match; the tail from the
run's start is held. Never more than `cap` characters are held (the policy's `holdback`).
"""

from __future__ import annotations

_NUMBERISH = frozenset("0123456789+()-./")
_GROUP = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
BEGIN = "-----BEGIN"


def pending_start(text: str, cap: int) -> int:
    """The earliest index at which an unfinished match could start (`len(text)` if none)."""
    n = len(text)
    floor = max(0, n - cap)
    i = n
    while i > floor and not text[i - 1].isspace():  # the last (possibly partial) token
        i -= 1
    while i > floor:  # earlier tokens that could belong to the same grouped number
        j = i - 1
        if text[j] != " " or j == 0 or text[j - 1].isspace():
            break
        k = j
        while k > floor and not text[k - 1].isspace():
            k -= 1
        if not _grouped(text[k:j]):
            break
        i = k
    return min(i, _open_key_block(text, floor))


def _grouped(token: str) -> bool:
    if token and all(c in _NUMBERISH for c in token) and any(c.isdigit() for c in token):
        return True
    return 0 < len(token) <= 4 and all(c in _GROUP for c in token)


def _open_key_block(text: str, floor: int) -> int:
    """A `-----BEGIN ...-----` header still being written (once complete, the detector itself
    matches the block through the end of the text until its END line arrives)."""
    at = text.rfind(BEGIN, floor)
    if at < 0:
        return len(text)
    header_rest = text[at + len(BEGIN) :].split("\n", 1)[0]
    return len(text) if "-----" in header_rest else at
