"""Where a PII value that is still arriving could start, so a stream holds back only that tail.

Every built-in entity is either one whitespace-free token (e-mail, card, SSN or IBAN with dashes,
IP, key, token, JWT) or a run of short number-like groups separated by single spaces (a card,
phone number or IBAN written in groups, or `030 / 901820`), or a private-key block whose
BEGIN line has spaces.
So text before the last such run can no longer become part of a match; the tail from the
run's start is held. Never more than `cap` characters are held (the policy's `holdback`).
"""

from __future__ import annotations

import re

_NUMBERISH = "0123456789+()-./"
_NOT_NUMBERISH = str.maketrans("", "", _NUMBERISH)  # deletes the number-like
_NOT_PUNCT = str.maketrans("", "", "+()-./")  # keeps the digits of a number-like token
_DIGITS = "0123456789"
_ALNUM = _DIGITS + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_NOT_GROUP = str.maketrans("", "", _ALNUM)
#: what a grouped value's first group is made of: the rest of a token glued to it (`"4111`,
#: `Card:4111`) cannot belong to the value
_GROUPABLE = _ALNUM + "+()-./"
_DIGIT = re.compile("[0-9]")  # a character class: linear
BEGIN = "-----BEGIN"
#: a JWT's header (`eyJ...`) cannot match before its payload arrives; it is held whole up to
#: this many characters, like a private-key block (headers with certificate chains are long)
JWT_PREFIX = "eyJ"
LONG_TOKEN_CAP = 8192


def pending_start(text: str, cap: int) -> int:
    """The earliest index at which an unfinished match could start (`len(text)` if none)."""
    n = len(text)
    floor = max(0, n - cap)
    i = token_start(text, floor, n)  # the last (possibly partial) token
    if i == floor and floor > 0 and not text[floor - 1].isspace():
        i = _long_token(text, n, floor)
    digits = _has_digit(text[i:n])  # whether the group to the right holds a digit
    while i > floor:  # earlier tokens that could belong to the same grouped number
        j = i - 1
        if text[j] != " " or j == 0 or text[j - 1].isspace():
            break
        k = token_start(text, floor, j)
        token = text[k:j]
        # a lone slash or dash joins groups (`030 / 901820`, `4111 - 1111`) before a digit or
        # before the end
        slash = (token == "/" or token == "-") and (digits or i == n)
        if (
            slash
            or _grouped(token, digits)
            or (len(token) <= 4 and _after_country(text, floor, k, token))
        ):
            i, digits = k, _has_digit(token)
            continue
        glued = _glued_group(token, digits)  # a first group glued to other text
        if glued < len(token):
            i = k + glued
        break
    return min(i, _open_key_block(text, floor))


def _has_digit(token: str) -> bool:
    return _DIGIT.search(token) is not None


def token_start(text: str, floor: int, end: int) -> int:
    """Where the whitespace-free run ending at `end` starts (not before `floor`)."""
    if end <= floor or text[end - 1].isspace():
        return end
    # str.rsplit splits on exactly the characters str.isspace() accepts
    return end - len(text[floor:end].rsplit(None, 1)[-1])


def _long_token(text: str, n: int, floor: int) -> int:
    """The last token runs on past the hold-back bound: held from its start when it is a JWT
    header still arriving (at most `LONG_TOKEN_CAP` characters), else from the bound."""
    start = token_start(text, max(0, n - LONG_TOKEN_CAP), n)
    return start if text.startswith(JWT_PREFIX, start) else floor


def _grouped(token: str, digits: bool) -> bool:
    """A group of a grouped value: number-like characters with a digit (`4111`, `+1`,
    `(415)`), or up to 4 letters and digits (`GB82`, `WEST`, `gb82`; letters alone in lower or
    mixed case only right before a group with a digit (`west 1234`), so short words of prose
    are not held). `digits`: the group to its right holds a digit."""
    if token and not token.translate(_NOT_NUMBERISH) and token.translate(_NOT_PUNCT):
        return True  # only number-like characters, at least one digit
    if not 0 < len(token) <= 4 or token.translate(_NOT_GROUP):
        return False
    return digits or token.isupper() or _has_digit(token)


def _glued_group(token: str, digits: bool) -> int:
    """Where a group glued to the end of `token` starts (`len(token)` if none): the earliest of
    the part after the last character no group holds, the number-like part after the last
    letter (`(x)+33`, `DE89.3704.0044.0532.0130.00/+49`: a number may start after a bracket or
    a slash) and the letters and digits after the last other character (`(x)DE89`, `(x)DE`),
    that is a group."""
    n = len(token)
    tail = _groupable_tail(token)  # the earliest of the three: when it is a group, it wins
    if tail == n:  # (ends in a character no group holds: so do the other two)
        return n
    if tail and _grouped(token[tail:], digits):
        return tail
    best = n
    cut = len(token.rstrip(_NUMBERISH))
    if 0 < cut < n and _grouped(token[cut:], digits):
        best = cut
    cut = len(token.rstrip(_ALNUM))
    # (letters and digits make a group only when all digits or at most 4: `_grouped`; most
    # words of prose are longer, and this runs on nearly every streamed delta)
    if 0 < cut < best and (n - cut <= 4 or token[cut:].isdigit()):
        best = cut if _grouped(token[cut:], digits) else best
    return best


def _groupable_tail(token: str) -> int:
    """Where the run of group characters at the end of `token` starts."""
    return len(token.rstrip(_GROUPABLE))


def _after_country(text: str, floor: int, k: int, token: str) -> bool:
    """A group of letters right after an IBAN's first group (`gb82 west`, `"GB82 West`): held
    before the digit groups that would make it one arrive."""
    if not (0 < len(token) <= 4 and not token.translate(_NOT_GROUP)) or _has_digit(token):
        return False
    j = k - 1
    if j <= floor or text[j] != " " or text[j - 1].isspace():
        return False
    before = text[token_start(text, floor, j) : j]
    first = before[_groupable_tail(before) :]
    return len(first) == 4 and first[:2].isalpha() and first[2:].isdigit()


def _open_key_block(text: str, floor: int) -> int:
    """A `-----BEGIN ...-----` header still being written (once complete, the detector itself
    matches the block through the end of the text until its END line arrives)."""
    at = text.rfind(BEGIN, floor)
    if at < 0:
        return len(text)
    header_rest = text[at + len(BEGIN) :].split("\n", 1)[0]
    return len(text) if "-----" in header_rest else at
