"""The stream hold point against a plain character-by-character statement of the rule."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from keeptrusts.detect.holdpoint import BEGIN, pending_start

NUMBERISH = set("0123456789+()-./")
ALNUM = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
GROUPABLE = ALNUM | NUMBERISH


def _digit(token: str) -> bool:
    return any(c in "0123456789" for c in token)


def _grouped(token: str, right_digit: bool) -> bool:
    if token and all(c in NUMBERISH for c in token) and _digit(token):
        return True
    if not (0 < len(token) <= 4 and all(c in ALNUM for c in token)):
        return False
    return right_digit or token.isupper() or _digit(token)


def _tail(token: str) -> str:
    cut = len(token)
    while cut > 0 and token[cut - 1] in GROUPABLE:
        cut -= 1
    return token[cut:]


def _after_country(text: str, floor: int, k: int, token: str) -> bool:
    if not (0 < len(token) <= 4 and all(c in ALNUM for c in token)) or _digit(token):
        return False
    j = k - 1
    if j <= floor or text[j] != " " or text[j - 1].isspace():
        return False
    start = j
    while start > floor and not text[start - 1].isspace():
        start -= 1
    first = _tail(text[start:j])
    return len(first) == 4 and first[:2].isalpha() and first[2:].isdigit()


def _reference(text: str, cap: int) -> int:
    n = len(text)
    floor = max(0, n - cap)
    i = n
    while i > floor and not text[i - 1].isspace():
        i -= 1
    if i == floor and floor > 0 and not text[floor - 1].isspace():  # a token past the bound
        s = n
        while s > max(0, n - 8192) and not text[s - 1].isspace():
            s -= 1
        if text[s:].startswith("eyJ"):
            i = s
    right_digit = _digit(text[i:n])
    while i > floor:
        j = i - 1
        if text[j] != " " or j == 0 or text[j - 1].isspace():
            break
        k = j
        while k > floor and not text[k - 1].isspace():
            k -= 1
        token = text[k:j]
        slash = token in ("/", "-") and (right_digit or i == n)  # `030 / 901820`, `4111 - 1111`
        if slash or _grouped(token, right_digit) or _after_country(text, floor, k, token):
            i, right_digit = k, _digit(token)
            continue
        cut = len(token)  # a group glued to what precedes it (`"4111`, `card:4111`)
        while cut > 0 and token[cut - 1] in GROUPABLE:
            cut -= 1
        cuts = [cut]
        for kept in (NUMBERISH, ALNUM):  # or a number or a group glued to letters or brackets
            cut = len(token)
            while cut > 0 and token[cut - 1] in kept:
                cut -= 1
            cuts.append(cut)
        found = [c for c in cuts if 0 < c < len(token) and _grouped(token[c:], right_digit)]
        if found:
            i = k + min(found)
        break
    at = text.rfind(BEGIN, floor)
    if at >= 0 and "-----" not in text[at + len(BEGIN) :].split("\n", 1)[0]:
        i = min(i, at)
    return i


ALPHABET = st.sampled_from(
    [
        *'0123456789+()-./ABCDxyz@:_"',
        " / ",
        " - ",
        " ",
        "  ",
        "\n",
        "\t",
        "\u00a0",
        "\u2003",
        "-----BEGIN",
        "eyJ",
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(ALPHABET, max_size=60).map("".join), st.integers(min_value=1, max_value=40))
def test_pending_start_follows_the_rule(text: str, cap: int) -> None:
    assert pending_start(text, cap) == _reference(text, cap)


def test_examples() -> None:
    # a short word right before a group with a digit may be a group (`gb82 west 1234`): held
    assert pending_start("call me at +1 415 555", 256) == len("call me ")
    assert pending_start('pay to "4111 1111 1111 1', 256) == len('pay to "')
    assert pending_start("my iban gb82 west 1234 5", 256) == len("my ")
    assert pending_start("this is a pen", 256) == len("this is a ")
    jwt = "see eyJ" + "a" * 400
    assert pending_start(jwt, 256) == len("see ")
    assert pending_start("winter flowers", 256) == len("winter ")
    assert pending_start("ends with a space ", 256) == len("ends with a space ")
    assert pending_start("a card 4111 1111 11", 256) == len("a ")
    assert pending_start("Tel. 030 / 9018", 256) == len("Tel. ")
    assert pending_start("Tel. 030 / ", 256) == len("Tel. ")
    assert pending_start("this and / or that", 256) == len("this and / or ")
    # before: a number glued to letters and a bracket or slash was released as it arrived
    assert pending_start("(x)+33 6 1", 256) == len("(x")
    assert pending_start("IBAN DE89.3704.0044.0532.0130.00/+49 30 9", 256) == len("IBAN DE")
    assert pending_start("(x)DE 89 3704 0", 256) == len("(x)")
    assert pending_start("(x)DE89 3704 0", 256) == len("(x)")
