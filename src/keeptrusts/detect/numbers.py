"""Numbers that identify someone: payment cards, US SSNs, phone numbers and IPv4 addresses.

One RE2 pass finds runs of digits joined by single separators (space, `.`, `-`, `/`, and the
parentheses of `(415) 555-2671`). Each run is split into digit groups and read at group
boundaries, longest window first, so `Order 12 4111 1111 1111 1111` still yields the
card. A window is an SSN (3-2-4 with valid ranges), a card (known scheme prefix, Luhn),
a phone number (libphonenumber), or, for a run made of four dotted octets (or a list of
them, or CIDR notation: `ipv4`), an IPv4 address. Runs glued to words (`INV-2024-0001`,
UUIDs, hashes, `v1.2.3`) or to a currency sign (`$4155552671`) are skipped.
"""

from __future__ import annotations

from collections.abc import Collection

from keeptrusts.detect import ipv4, labels, phone_layout
from keeptrusts.detect.checksums import card_ok, ssn_ok
from keeptrusts.detect.engine import Encoded, compile_pattern
from keeptrusts.detect.findings import Finding, clear_after, clear_before
from keeptrusts.detect.phone import PhoneValidator

CREDIT_CARD = "credit_card"
SSN = "ssn"
PHONE = "phone"
IP_ADDRESS = "ip_address"

#: the longest window read as one number (19-digit cards; phones are at most 15 digits)
MAX_WINDOW_DIGITS = 19
MIN_WINDOW_DIGITS = 7
#: the longest run that is read at all (longer runs are tables of numbers, read in pieces)
MAX_RUN_CHARS = 4096

# group 1 is the run; the character before it is matched too, so runs glued to a word on
# their left (`a456-4266...` in a UUID, `INV-2024-0001`, `v1.2.3.4`) are never reported
# (group 2: an international number right after a slash, which ends a list of numbers when
# it follows one: `030 901820/+49 30 901821`)
_DIGITS_AFTER = r"\d(?:(?: [/\-] |[ .\-/]|\)[ .\-/]?|[ .\-]?\()?\d){6,}"
_RUN = compile_pattern(
    r"(?:^|[^\w$.\-/+(]|(?:^|[^\w])[.\-/])"
    rf"((?:\(?\+|\+?\()?{_DIGITS_AFTER}"
    r"|\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,2})?)"
    rf"|/(\(?\+{_DIGITS_AFTER})"
)
_SEPARATORS = bytes.maketrans(b".-()+/", b"      ")
_CURRENCY = "$€£¥₹"
_DATE_SEPS = b"-./ "


class NumberScanner:
    """Finds the enabled number entities in a text."""

    def __init__(self, entities: Collection[str], phones: PhoneValidator | None) -> None:
        self.cards = CREDIT_CARD in entities
        self.ssns = SSN in entities
        self.phones = phones if PHONE in entities else None
        self.ipv4 = IP_ADDRESS in entities
        self.windows = self.cards or self.ssns or self.phones is not None

    def scan(self, enc: Encoded, out: list[Finding]) -> None:
        text = enc.text
        data = enc.data
        for spans in _RUN.iter(enc):
            listed = spans[1][0] < 0  # (group 2: after a slash that ends a number)
            b_start, b_end = spans[2] if listed else spans[1]
            if b_end - b_start == 10 and _date_bytes(data, b_start):
                continue
            start, end = enc.span((b_start, b_end))
            if end - start > MAX_RUN_CHARS:
                end = start + MAX_RUN_CHARS
            if text[start] in "+(" and not clear_before(text, start):
                continue
            # (after a slash, only a number ends a list: `acme/+49 ...` is glued to a word)
            listed = listed and start >= 2 and text[start - 2] in "0123456789"
            if not (listed or clear_before(text, start, ".-/")) or not clear_after(
                text, end, ".-/"
            ):
                continue
            if start > 0 and text[start - 1] in _CURRENCY:
                continue
            self._run(text, start, end, out)

    def _run(self, text: str, start: int, end: int, out: list[Finding]) -> None:
        run = text[start:end]
        if run.isdigit():
            entity = self._digits(run)
            if self.ssns and len(run) == 9 and labels.ssn_labelled(text, start, run):
                entity = SSN
            if entity == PHONE and (
                labels.labelled_id(text, start) or labels.quantity(text, start, end)
            ):
                return
            if entity is not None:
                out.append(Finding(start, end, entity))
            return
        if len(run) < MIN_WINDOW_DIGITS and run.count(".") != 3:
            return
        if self.ipv4 and run.count(".") >= 3:
            hosts = ipv4.addresses(text, start, end)
            if hosts is not None:
                out.extend(Finding(a, b, IP_ADDRESS) for a, b in hosts)
                return
        groups = _groups(run)
        if not self.windows:
            return
        if " " not in run:
            # no space inside: the run is one number or none (the common case, read fast)
            self._whole(run, groups, start, end, out)
            return
        digits = [run[a:b] for a, b in groups]
        # a window starts and ends where a space (or the run's edge) splits the groups:
        # `15.01.2024 415-555-2671` is read as a date and a phone, never as `2024 415-555`
        glued = [_glued(run, groups, k) for k in range(len(groups) - 1)]
        glued.append(False)
        remaining = sum(map(len, digits))
        i = 0
        while i < len(groups) and remaining >= MIN_WINDOW_DIGITS:
            j, entity = (
                (-1, None) if i and glued[i - 1] else self._window(run, groups, digits, glued, i)
            )
            if entity is None:
                remaining -= len(digits[i])
                i += 1
                continue
            a = groups[i][0]
            if i == 0:
                a = 0
            elif run[a - 1] == "(":
                a -= 1
            out.append(Finding(start + a, start + groups[j][1], entity))
            remaining -= sum(map(len, digits[i : j + 1]))
            i = j + 1

    def _digits(self, run: str) -> str | None:
        """A run of bare digits: a card or a phone number, or nothing."""
        n = len(run)
        if self.cards and 13 <= n <= MAX_WINDOW_DIGITS and card_ok(run):
            return CREDIT_CARD
        if self.phones is not None and self.phones.ok(run, run):
            return PHONE
        return None

    def _whole(
        self, run: str, groups: list[tuple[int, int]], start: int, end: int, out: list[Finding]
    ) -> None:
        digits = [run[a:b] for a, b in groups]
        total = sum(map(len, digits))
        if MIN_WINDOW_DIGITS <= total <= MAX_WINDOW_DIGITS:
            entity = self._classify(run, groups, digits, 0, len(groups) - 1, total)
            if entity is not None:
                out.append(Finding(start, end, entity))

    def _window(
        self,
        run: str,
        groups: list[tuple[int, int]],
        digits: list[str],
        glued: list[bool],
        i: int,
    ) -> tuple[int, str | None]:
        """The last group and entity of the longest entity starting at group `i`."""
        total = 0
        last = i - 1
        for k in range(i, len(groups)):
            if total + len(digits[k]) > MAX_WINDOW_DIGITS:
                break
            total += len(digits[k])
            last = k
        for j in range(last, i - 1, -1):
            if total < MIN_WINDOW_DIGITS:
                break
            entity = None if glued[j] else self._classify(run, groups, digits, i, j, total)
            if entity is not None:
                return j, entity
            total -= len(digits[j])
        return -1, None

    def _classify(
        self,
        run: str,
        groups: list[tuple[int, int]],
        digits: list[str],
        i: int,
        j: int,
        total: int,
    ) -> str | None:
        joined = "".join(digits[i : j + 1])
        window = run[groups[i][0] : groups[j][1]]
        if self.ssns and total == 9 and j - i == 2 and _ssn(window, digits[i : j + 1]):
            return SSN
        if (
            self.cards
            and total >= 13
            and _card_layout(window, digits[i : j + 1])
            and card_ok(joined)
        ):
            return CREDIT_CARD
        if (
            self.phones is not None
            and total <= 15
            and phone_layout.separators_ok(run, groups, i, j)
        ):
            a = 0 if i == 0 else groups[i][0]
            if i > 0 and run[a - 1] == "(":
                a -= 1
            # `(+44) 20 ...`, `(0044) 20 ...`: a country code may be written in brackets
            lead = a + 1 if run[a] == "(" else a
            plus = run[lead] == "+" or run.startswith("00", lead)
            if (
                phone_layout.groups_ok(
                    phone_layout.without_extension(run, groups, digits, i, j), plus
                )
                and phone_layout.slashes_ok(run, groups, i, j, joined, plus)
                and self.phones.ok(run[a : groups[j][1]], joined)
            ):
                return PHONE
        return None


def _groups(run: str) -> list[tuple[int, int]]:
    """(start, end) of each digit group in a run (runs are ASCII)."""
    out: list[tuple[int, int]] = []
    pos = 0
    for part in run.encode("ascii").translate(_SEPARATORS).split(b" "):
        if part:
            out.append((pos, pos + len(part)))
        pos += len(part) + 1
    return out


def _date_bytes(data: bytes, i: int) -> bool:
    """2024-01-15, 15.01.2024 and the like: no entity is written 4-2-2 or 2-2-4."""
    sep = data[i + 4] if data[i + 4] in _DATE_SEPS else data[i + 2]
    if sep not in _DATE_SEPS:
        return False
    if data[i + 4] == sep:
        return data[i + 7] == sep and data[i + 2] != sep
    return data[i + 5] == sep and data[i + 2] == sep


def _glued(run: str, groups: list[tuple[int, int]], k: int) -> bool:
    """Whether groups `k` and `k + 1` belong to one number (no space between them), unless a
    slash between a number's last group and a trunk prefix starts the next number
    (`030 901820/030 901821`; not `15/01/2024`: a date's groups are short)."""
    a, b = groups[k][1], groups[k + 1][0]
    sep = run[a:b]
    if " " in sep:
        return False
    if sep != "/" or run[b] != "0":
        return True
    return groups[k][1] - groups[k][0] < 4 or groups[k + 1][1] - b < 3


def _ssn(window: str, parts: list[str]) -> bool:
    if [len(p) for p in parts] != [3, 2, 4]:
        return False
    sep1, sep2 = window[3], window[6]
    if sep1 != sep2 or sep1 not in "- ":
        return False
    return ssn_ok(parts[0], parts[1], parts[2])


def _card_layout(window: str, parts: list[str]) -> bool:
    """Cards are written whole or in groups of 4+ (the last may be shorter) split by ' ', '-'
    or ' - ', mixed (`4111-1111 1111-1111`, as forms print them),
    or by dots in groups of four (`4111.1111.1111.1111`, as some European forms print them;
    never a version or an address, whose parts are shorter)."""
    if len(parts) == 1:
        return True
    if "." in window:
        return window.count(".") == len(parts) - 1 and all(len(p) == 4 for p in parts)
    if any(c in window for c in "()/"):
        return False
    return all(len(p) >= 4 for p in parts[:-1]) and len(parts[-1]) >= 3
