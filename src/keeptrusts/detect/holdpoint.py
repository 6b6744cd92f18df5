"""Where a PII value that is still arriving could start, so a stream holds back only that tail.

Every built-in entity is either one whitespace-free token (e-mail, card or SSN with dashes,
IP, key, token, JWT) or a run of short number-like groups separated by single spaces (a card,
phone number or IBAN written in groups), or a private-key block whose BEGIN line has spaces.
So text before the last such run can no longer become part of a match; the tail from the
run's start is held. Never more than `cap` characters are held (the policy's `holdback`).
"""

from __future__ import annotations

_NOT_NUMBERISH = str.maketrans("", "", "0123456789+()-./")  # deletes the number-like
_NOT_PUNCT = str.maketrans("", "", "+()-./")  # keeps the digits of a number-like token
_NOT_GROUP = str.maketrans("", "", "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
BEGIN = "-----BEGIN"


def pending_start(text: str, cap: int) -> int:
    """The earliest index at which an unfinished match could start (`len(text)` if none)."""
    n = len(text)
    floor = max(0, n - cap)
    i = _token_start(text, floor, n)  # the last (possibly partial) token
    while i > floor:  # earlier tokens that could belong to the same grouped number
        j = i - 1
        if text[j] != " " or j == 0 or text[j - 1].isspace():
            break
        k = _token_start(text, floor, j)
        if not _grouped(text[k:j]):
            break
        i = k
    return min(i, _open_key_block(text, floor))


def _token_start(text: str, floor: int, end: int) -> int:
    """Where the whitespace-free run ending at `end` starts (not before `floor`)."""
    if end <= floor or text[end - 1].isspace():
        return end
    # str.rsplit splits on exactly the characters str.isspace() accepts
    return end - len(text[floor:end].rsplit(None, 1)[-1])


def _grouped(token: str) -> bool:
    if token and not token.translate(_NOT_NUMBERISH) and token.translate(_NOT_PUNCT):
        return True  # only number-like characters, at least one digit
    return 0 < len(token) <= 4 and not token.translate(_NOT_GROUP)


def _open_key_block(text: str, floor: int) -> int:
    """A `-----BEGIN ...-----` header still being written (once complete, the detector itself
    matches the block through the end of the text until its END line arrives)."""
    at = text.rfind(BEGIN, floor)
    if at < 0:
        return len(text)
    header_rest = text[at + len(BEGIN) :].split("\n", 1)[0]
    return len(text) if "-----" in header_rest else at
