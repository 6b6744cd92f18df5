"""Check digits and validity ranges: Luhn (cards), ISO 13616 mod-97 (IBAN), US SSN ranges."""

from __future__ import annotations

# ISO 13616 IBAN lengths by country (SWIFT IBAN registry; a few widely used non-registry ones).
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip

IBAN_MAX = max(IBAN_LENGTHS.values())


def luhn_ok(digits: str) -> bool:
    """True when the digit string passes the Luhn (mod 10) check."""
    total = 0
    double = False
    for ch in reversed(digits):
        d = ord(ch) - 48
        if double:
            d *= 2
            if d > 9:
                d -= 9
        total += d
        double = not double
    return total % 10 == 0


def card_brand(digits: str) -> str | None:
    """The card scheme an issuer prefix and length belong to, or None when no scheme fits.

    Prefixes compare as strings: equal-length digit strings order like their numbers.
    """
    n = len(digits)
    two, three, four = digits[:2], digits[:3], digits[:4]
    if digits[0] == "4" and n in (13, 16, 19):
        return "visa"
    if n == 16 and ("51" <= two <= "55" or "2221" <= four <= "2720"):
        return "mastercard"
    if n == 15 and two in ("34", "37"):
        return "amex"
    if 16 <= n <= 19 and (four == "6011" or two == "65" or "644" <= three <= "649"):
        return "discover"
    if 16 <= n <= 19 and "3528" <= four <= "3589":
        return "jcb"
    if 14 <= n <= 19 and ("300" <= three <= "305" or two in ("36", "38", "39")):
        return "diners"
    if 16 <= n <= 19 and two == "62":
        return "unionpay"
    if 12 <= n <= 19 and two in ("50", "56", "57", "58", "63", "67"):
        return "maestro"
    return None


def card_ok(digits: str) -> bool:
    """A plausible payment card number: 13-19 digits, a known scheme prefix, Luhn-valid."""
    return 13 <= len(digits) <= 19 and card_brand(digits) is not None and luhn_ok(digits)


def iban_ok(compact: str) -> bool:
    """`compact` (upper case, no spaces) is an IBAN of its country's length passing mod-97."""
    if len(compact) < 15 or IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    if not (compact[2:4].isdigit() and compact.isalnum() and compact.isascii()):
        return False
    rearranged = compact[4:] + compact[:4]
    remainder = 0
    for ch in rearranged:
        value = ord(ch) - 48 if ch <= "9" else ord(ch) - 55
        remainder = (remainder * (100 if value > 9 else 10) + value) % 97
    return remainder == 1


def ssn_ok(area: str, group: str, serial: str) -> bool:
    """A US SSN that could be issued: area not 000, 666 or 900-999; group and serial non-zero."""
    if len(area) != 3 or len(group) != 2 or len(serial) != 4:
        return False
    a = int(area)
    return a != 0 and a != 666 and a < 900 and group != "00" and serial != "0000"
